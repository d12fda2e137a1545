"""The reader seam: a model that reads an excerpt and says how likely it is to state the answer.

`Reader.answers(question, excerpts)` gives, per excerpt, the probability that it states the answer
to the question (the first token of a YES/NO reply); `Reader.extracts(question, excerpts)` asks the
model to answer from the excerpt alone or reply NOT STATED, and gives the probability that it began
with NOT and how much of what it wrote is the excerpt's own words (a made-up figure is not). The two
are separate conversations on purpose: asked as the next turn after the model's own answer (which
would reuse its reading of the excerpt, 0.8 s instead of 1.8 s), the YES/NO question only repeated
that answer (5-fold cross-validation on the dev sets over 11 fold splits, 2026-12-04: right
0.72-0.74, as without it at all, against 0.75-0.77 asked separately);
`Reader.probes(question, excerpts)` reads the YES/NO prompt another way: the log-odds a fitted linear
probe gives the model's hidden state at its end (`probe.py`; only the local model has one);
`Reader.supports(claim, passage)` the probability that a passage supports a claim;
`Reader.render(...)` one sentence in the question's language saying what quotes in another language
say (used only when `render_across_languages` is set: half of the packaged model's lines misread the
quotes, added to them or said nothing, docs/renderings-review.md); `Reader.translate(text,
language)` a question put into another language, for searching briefs written in it. Backends: the
local GGUF model (`local`, the default), any OpenAI-compatible server that returns log-probabilities
(`openai`), and `none` (no model: the answer policy then uses the lexical and embedding evidence
alone).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.answering.probe import Probe, load_probe
from assistant.answering.prompts import Prompt, load_prompt
from assistant.answering.runtime import (
    MODEL_NAME,
    LocalModel,
    Message,
    ModelError,
    TokenChoice,
    chat_prompt,
    shared_model,
)
from assistant.config import Settings
from assistant.errors import ConfigError, registered
from assistant.indexing.keyword import tokenize
from assistant.reading.text import question_language

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}
PLAIN_NAMES = {"en": "English", "ko": "Korean"}
_YES = frozenset({"yes", "예", "네"})
_NO = frozenset({"no", "아니", "아니요", "아니오"})


@dataclass(frozen=True)
class Extraction:
    """What the model wrote when asked to answer from an excerpt: the probability that it began with
    "NOT STATED", and how much of what it wrote instead is the excerpt's own words."""

    not_stated: float
    grounded: float  # share of the reply's content words found in the excerpt (0 for NOT STATED)
    text: str


@dataclass(frozen=True)
class Excerpt:
    """What the reader is shown of one brief: who it is, and its sentences most relevant to the question."""

    brief: str  # e.g. 'vol.697 "Measures to create an innovative ecosystem ..."'
    text: str


class Reader(Protocol):
    name: str

    def answers(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        """P(the excerpt states the answer) per excerpt; None when there is no model to ask."""
        ...

    def extracts(self, question: str, excerpts: Sequence[Excerpt]) -> list[Extraction] | None:
        """Per excerpt, the model's answer from it alone (see `Extraction`); None without a model."""
        ...

    def probes(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        """Per excerpt, the probe's log-odds that it states the answer (see `probe.py`); None when the
        model gives no hidden states (no model, or a server)."""
        ...

    def supports(self, claim: str, brief: str, passage: str) -> float | None:
        """P(the passage supports the claim); None when there is no model to ask."""
        ...

    def render(self, question: str, brief: str, quotes: Sequence[str], language: str) -> str | None:
        """One sentence in `language` saying what the quotes say; None when there is no model."""
        ...

    def translate(self, text: str, language: str) -> str | None:
        """`text` (a question) in `language`; None when there is no model."""
        ...

    def stand_alone(self, question: str, previous: str, brief: str) -> str | None:
        """A follow-up rewritten to be understood without the conversation (`previous` is the question
        it follows, `brief` the brief that answered it); None when there is no model."""
        ...


def yes_probability(choices: Sequence[TokenChoice]) -> float:
    """P(YES) / (P(YES) + P(NO)) from the first token's top choices ("YES", "Yes", " yes" ... count)."""
    yes = sum(math.exp(c.logprob) for c in choices if _word(c.token) in _YES)
    no = sum(math.exp(c.logprob) for c in choices if _word(c.token) in _NO)
    if yes + no <= 0:
        return 0.5  # the model said neither: no information
    return yes / (yes + no)


def _word(token: str) -> str:
    return token.strip().strip(".,!:").lower()


NOT_STATED = "NOT STATED"


def extraction(text: str, first: Sequence[TokenChoice], excerpt: str) -> Extraction:
    """An `Extraction` from a reply and its first token's choices (any "NOT…" token counts)."""
    not_stated = sum(math.exp(c.logprob) for c in first if c.token.strip().upper().startswith("NOT"))
    return Extraction(min(1.0, not_stated), grounding(text, excerpt), text)


def grounding(text: str, excerpt: str) -> float:
    """The share of a reply's content words that are the excerpt's own (0 for NOT STATED or nothing).

    Figures count whatever their length ("20", the "78" and "1" of "78.1%"), and so do Korean words
    (two syllables, "밀도", are a whole word): only short English tokens are passed over."""
    words = [w for w in tokenize(text) if len(w) > 2 or not w.isascii() or w.isdigit()]
    if NOT_STATED in text.upper() or not words:
        return 0.0
    known = set(tokenize(excerpt))
    return sum(w in known for w in words) / len(words)


class NoReader:
    """No language model: every question is decided by the evidence the index itself gives."""

    name = "none"

    def answers(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        return None

    def extracts(self, question: str, excerpts: Sequence[Excerpt]) -> list[Extraction] | None:
        return None

    def probes(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        return None

    def supports(self, claim: str, brief: str, passage: str) -> float | None:
        return None

    def render(self, question: str, brief: str, quotes: Sequence[str], language: str) -> str | None:
        return None

    def translate(self, text: str, language: str) -> str | None:
        return None

    def stand_alone(self, question: str, previous: str, brief: str) -> str | None:
        return None


class PromptedReader:
    """A reader over any chat model that gives first-token log-probabilities."""

    def __init__(
        self,
        name: str,
        first_token: Callable[[Sequence[Message]], list[TokenChoice]],
        write: Callable[[Sequence[Message], int, str], str],
        write_scored: Callable[[Sequence[Message], int], tuple[str, list[TokenChoice]]],
        prompts: Path | None = None,
        state: Callable[[Sequence[Message]], list[float]] | None = None,
        probe: Callable[[Prompt], Probe] | None = None,
    ) -> None:
        """`prompts`: a folder whose templates replace the package's of the same name (to try other
        wording, as `benchmarks.reader_probe` does); the package's are used for the rest. `state`:
        messages -> the model's hidden state at their end, and `probe`: the YES/NO template -> the
        probe fitted on it (loaded when first needed), for a model that gives hidden states."""
        self.name = name
        self.state = state
        self._probe_for = probe
        self._probe: Probe | None = None
        self._first_token = first_token  # messages -> top first tokens of the reply
        self._write = write  # (messages, max_tokens, start of the reply) -> text
        self._write_scored = write_scored  # (messages, max_tokens) -> text, its first token's choices

        def template(name: str) -> Prompt:
            found = prompts is not None and (prompts / f"{name}.txt").is_file()
            return load_prompt(name, prompts if found else None)

        self._answers: Prompt = template("reader-answers")
        self._extract: Prompt = template("reader-extract")
        self._supports: Prompt = template("reader-supports")
        self._render: Prompt = template("render")
        self._translate: Prompt = template("translate")
        self._follow_up: Prompt = template("follow-up")

    def answers(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        # The question comes before the excerpt in the prompt, so every excerpt after the first
        # reuses the model's reading of the instructions and the question (its prompt cache).
        probabilities = []
        for excerpt in excerpts:
            chat = self._answers.messages(question=question, brief=excerpt.brief, excerpt=excerpt.text)
            probabilities.append(yes_probability(self._first_token(chat)))
        return probabilities

    def states(self, question: str, excerpts: Sequence[Excerpt]) -> list[list[float]] | None:
        """Per excerpt, the model's hidden state at the end of its YES/NO prompt (what the probe
        weighs); None when the model gives none."""
        if self.state is None:
            return None
        return [
            self.state(self._answers.messages(question=question, brief=e.brief, excerpt=e.text))
            for e in excerpts
        ]

    def probes(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        if self.state is None or self._probe_for is None:
            return None
        if self._probe is None:  # loaded (and checked) before the model's time is spent
            self._probe = self._probe_for(self._answers)
        states = self.states(question, excerpts) or []
        return [self._probe.score(s) for s in states]

    def extracts(self, question: str, excerpts: Sequence[Excerpt]) -> list[Extraction] | None:
        found = []
        for excerpt in excerpts:
            chat = self._extract.messages(question=question, brief=excerpt.brief, excerpt=excerpt.text)
            text, first = self._write_scored(chat, EXTRACT_TOKENS)
            found.append(extraction(text.strip(), first, excerpt.text))
        return found

    def supports(self, claim: str, brief: str, passage: str) -> float | None:
        return yes_probability(
            self._first_token(self._supports.messages(brief=brief, passage=passage, claim=claim))
        )

    def render(self, question: str, brief: str, quotes: Sequence[str], language: str) -> str | None:
        name = LANGUAGE_NAMES.get(language, "English")
        chat = self._render.messages(
            language=name, question=question, brief=brief, quotes="\n".join(f"- {q}" for q in quotes)
        )
        text = self._write(chat, RENDER_TOKENS, "").strip().splitlines()
        line = text[0].strip().strip('"“”') if text else ""
        return whole_sentences(line) or None

    def translate(self, text: str, language: str) -> str | None:
        source = PLAIN_NAMES.get(question_language(text), "English")
        target = PLAIN_NAMES.get(language, "English")
        chat = self._translate.messages(source=source, target=target, text=text)
        # The reply starts with the target language's name, so that a small model translates the
        # question instead of answering it (asked bare, it often answered).
        return _first_line(self._write(chat, TRANSLATE_TOKENS, f"{target} question: ")) or None

    def stand_alone(self, question: str, previous: str, brief: str) -> str | None:
        language = question_language(question)
        chat = self._follow_up.messages(previous=previous, brief=brief, question=question)
        written = self._write(chat, TRANSLATE_TOKENS, _REWRITTEN.get(language, _REWRITTEN["en"]))
        line = _NUMBERED.sub("", _first_line(written))
        # A rewrite in another language (the small model sometimes switches, even to Chinese) or one
        # that only repeats the previous question would mislead the search: the follow-up stays as asked.
        if (
            not line
            or question_language(line) != language
            or _IDEOGRAPHS.search(line)
            or line.casefold() == previous.casefold()
            or (question.rstrip().endswith("?") and not line.endswith("?"))  # it answered instead
        ):
            return None
        return line


def _first_line(written: str) -> str:
    """The first non-empty line the model wrote, without the quotation marks it sometimes adds."""
    line = next((part.strip() for part in written.strip().splitlines() if part.strip()), "")
    return line.strip('"“”')


# The start of a rewritten follow-up's reply, in its language (written in the question's language,
# the small model keeps to it).
_REWRITTEN = {"en": "Rewritten follow-up: ", "ko": "다시 쓴 질문: "}
_NUMBERED = re.compile(r"^\d+[.)]\s+")  # "1. What ..."
_IDEOGRAPHS = re.compile(r"[\u4e00-\u9fff]")

RENDER_TOKENS = 80  # about 12 s of writing on 2 cores; a longer line is cut at its last full sentence
# The answer the model copies from an excerpt; whether it starts "NOT STATED" is known at the first token,
# what it copies within a few more. 32 until 2026-12-04; 16 since: `ask` p50 4.5 -> 3.7 s and p95
# 8.3 -> 7.1 s (benchmarks.ask_latency, same session), and with the policy fitted on 32-token replies,
# its replies cut to about 16 tokens changed 5 of 681 dev decisions (3 worse, 0 better; README,
# "Ask latency with the reader"). The next refit asks the model again (see benchmarks/fit_policy.py).
EXTRACT_TOKENS = 16
TRANSLATE_TOKENS = 60  # a question; measured 1.0-2.4 s a Korean question on 2 cores


def whole_sentences(line: str) -> str:
    """A written line that stopped at the token limit, cut back to its last full sentence (or marked
    as cut with "…" when it has none), so that it never runs on into the quotes."""
    line = line.strip()
    if not line or line[-1] in ".!?。…":
        return line
    ends = [m.end() for m in re.finditer(r"[.!?。](?=\s|$)", line)]
    return line[: ends[-1]] if ends else line.rstrip(",;: ") + " …"


def local_reader(model: LocalModel | Callable[[], LocalModel], prompts: Path | None = None) -> PromptedReader:
    """The reader over the local GGUF model (first-token log-probabilities from llama.cpp); given a
    function, the model is loaded when the reader is first asked (a retrieval-only run never is).
    `prompts`: see `PromptedReader`."""
    get = model if callable(model) else (lambda: model)

    def first_token(messages: Sequence[Message]) -> list[TokenChoice]:
        return get().first_token(chat_prompt(messages))

    def write(messages: Sequence[Message], max_tokens: int, start: str) -> str:
        return get().complete(chat_prompt(messages, start), max_tokens=max_tokens, stop=["\n", "<|im_end|>"])

    def write_scored(messages: Sequence[Message], max_tokens: int) -> tuple[str, list[TokenChoice]]:
        return get().complete_scored(chat_prompt(messages), max_tokens=max_tokens, stop=["\n", "<|im_end|>"])

    def state(messages: Sequence[Message]) -> list[float]:
        return get().hidden_state(chat_prompt(messages))

    return PromptedReader(
        f"local:{MODEL_NAME}",
        first_token,
        write,
        write_scored,
        prompts,
        state,
        lambda template: load_probe(MODEL_NAME, template),
    )


def openai_reader(base_url: str | None, model: str, api_key: str, timeout: float = 60.0) -> PromptedReader:
    """The reader over an OpenAI-compatible chat endpoint that returns log-probabilities."""
    try:
        from openai import OpenAI
    except ImportError as exc:
        raise ModelError(
            "the openai reader needs the package 'openai'", hint="install it: make install"
        ) from exc
    client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)

    def ask(messages: Sequence[Message], **options: Any) -> Any:
        chat: Any = [{"role": role, "content": content} for role, content in messages]
        try:
            return client.chat.completions.create(model=model, messages=chat, temperature=0, **options)
        except Exception as exc:  # the client raises many kinds (connection, status, timeout)
            raise ModelError(
                f"the reader's server at {base_url or 'api.openai.com'} did not answer "
                f"({type(exc).__name__})",
                hint="check ASSISTANT_OPENAI_BASE_URL and that the server is running, "
                "or set ASSISTANT_READER=none",
            ) from exc

    def first_token(messages: Sequence[Message]) -> list[TokenChoice]:
        reply = ask(messages, max_tokens=1, logprobs=True, top_logprobs=10)
        content = reply.choices[0].logprobs.content if reply.choices[0].logprobs else None
        if not content:
            raise ModelError(
                f"the reader's server at {base_url} returned no log-probabilities",
                hint="use a server that supports `logprobs` (llama.cpp, vLLM, OpenAI), "
                "or set ASSISTANT_READER=none",
            )
        return [TokenChoice(t.token, float(t.logprob)) for t in content[0].top_logprobs]

    def write(messages: Sequence[Message], max_tokens: int, start: str) -> str:
        # A chat endpoint cannot be handed the start of its reply; the instructions must do.
        reply = ask(messages, max_tokens=max_tokens)
        return str(reply.choices[0].message.content or "")

    def write_scored(messages: Sequence[Message], max_tokens: int) -> tuple[str, list[TokenChoice]]:
        reply = ask(messages, max_tokens=max_tokens, logprobs=True, top_logprobs=10)
        content = reply.choices[0].logprobs.content if reply.choices[0].logprobs else None
        first = [TokenChoice(t.token, float(t.logprob)) for t in content[0].top_logprobs] if content else []
        return str(reply.choices[0].message.content or ""), first

    return PromptedReader(f"openai:{model}", first_token, write, write_scored)


def _none(settings: Settings) -> Reader:
    return NoReader()


def _openai(settings: Settings) -> Reader:
    if not settings.openai_base_url and not settings.openai_api_key:
        raise ConfigError(
            "the openai reader needs ASSISTANT_OPENAI_BASE_URL (for a local server) "
            "or ASSISTANT_OPENAI_API_KEY"
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return openai_reader(settings.openai_base_url, settings.openai_model, key)


def settings_reader(settings: Settings, prompts: Path | None = None) -> PromptedReader:
    """The local reader of `settings` (its model loaded on first use); `prompts`: see `PromptedReader`."""
    return local_reader(lambda: shared_model(settings.model_dir, threads=settings.llm_threads), prompts)


# Readers by the name `ASSISTANT_READER` uses: adding a backend is a factory and an entry here.
READERS: dict[str, Callable[[Settings], Reader]] = {
    "local": settings_reader,
    "openai": _openai,
    "none": _none,
}


def make_reader(settings: Settings) -> Reader:
    """The reader the settings name (`ASSISTANT_READER`)."""
    return registered(READERS, settings.reader, setting="ASSISTANT_READER", what="reader")(settings)
