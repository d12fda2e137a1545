"""Answer generators behind one interface, and the factory that picks one from settings.

A generator drafts text whose sentences end in passage markers (`[2]`); verification (verify.py) then
checks every sentence and citation, whichever generator wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.answering.generation.evidence import Evidence
from assistant.answering.generation.extractive import ExtractiveGenerator
from assistant.config import Settings
from assistant.errors import ConfigError, MissingExtraError, registered
from assistant.models import Passage


class Generator(Protocol):
    name: str
    # True when every sentence drafted is a brief's own sentence (the extractive generator): then a
    # sentence verification sets aside is not reported, and no fallback is needed.
    quotes: bool

    def draft(
        self, question: str, passages: list[Passage], evidence: Evidence, language: str
    ) -> Iterator[str]:
        """Text pieces of a draft answer, streamed as they are produced."""
        ...


@runtime_checkable
class Condenser(Protocol):
    """A generator that can also rewrite a follow-up as a standalone question."""

    def condense(self, question: str, history: Sequence[tuple[str, str]]) -> str: ...


def _extractive(settings: Settings) -> Generator:
    return ExtractiveGenerator()


def _llamacpp(settings: Settings) -> Generator:
    from assistant.answering.generation.llamacpp import LocalChat
    from assistant.answering.generation.llm import ChatGenerator
    from assistant.answering.runtime import LocalModel, shared_model

    if settings.llm_model_path is not None:
        if not settings.llm_model_path.is_file():
            raise ConfigError(
                f"ASSISTANT_LLM_MODEL_PATH: {settings.llm_model_path.name} is not a file",
                hint="point it at a .gguf model, or unset it for the packaged model",
            )
        model = LocalModel(settings.llm_model_path, threads=settings.llm_threads)
    else:
        model = shared_model(settings.model_dir, threads=settings.llm_threads)
    return ChatGenerator(LocalChat(model=model), name="llamacpp")


def _openai(settings: Settings) -> Generator:
    if importlib_missing("langchain_openai"):
        raise MissingExtraError("the openai generator", "openai", "langchain-openai")
    from langchain_openai import ChatOpenAI

    from assistant.answering.generation.llm import ChatGenerator

    if not settings.openai_base_url and not settings.openai_api_key:
        raise ConfigError(
            "the openai generator needs ASSISTANT_OPENAI_BASE_URL (for a local server) "
            "or ASSISTANT_OPENAI_API_KEY"
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    model = ChatOpenAI(
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=key,
        temperature=0,
        timeout=120,
        max_retries=1,
        max_tokens=300,
    )
    return ChatGenerator(model, name="openai")


# Generators by the name settings, the CLI and the UI use: adding one is an entry here.
GENERATORS: dict[str, Callable[[Settings], Generator]] = {
    "extractive": _extractive,
    "llamacpp": _llamacpp,
    "openai": _openai,
}


def make_generator(settings: Settings) -> Generator:
    """The generator the settings name (`ASSISTANT_GENERATOR`)."""
    factory = registered(GENERATORS, settings.generator, setting="ASSISTANT_GENERATOR", what="generator")
    return factory(settings)


def importlib_missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None
