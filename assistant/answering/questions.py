"""What makes a question usable: text that decodes, without control characters, not empty, not too
long. Failing that is a `QuestionError` (a usage error, exit code 2), never a traceback."""

from __future__ import annotations

import re

from assistant.errors import AssistantError

_UNDECODABLE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class QuestionError(AssistantError):
    """The question itself cannot be used (empty, too long)."""

    exit_code = 2


def require_text(text: str, what: str) -> None:
    """Invalid UTF-8 from a terminal (kept as lone surrogates) or a lone surrogate sent to the API is
    a usage error, not a traceback from deep in the tokenizer."""
    if _UNDECODABLE.search(text):
        raise QuestionError(
            f"the {what} holds bytes that are not UTF-8 text",
            hint=f"retype the {what}, or save it as UTF-8 before pasting it",
        )


def tidy(question: str) -> str:
    """The question with control characters and runs of white space made single spaces."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", question)).strip()


def clean_question(question: str, max_chars: int) -> str:
    """The question without control characters; empty, over-long or undecodable questions are errors."""
    require_text(question, "question")
    text = tidy(question)
    if not text:
        raise QuestionError("the question is empty", hint="type a question about the briefs")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {max_chars:,}",
            hint="ask a shorter question (ASSISTANT_MAX_QUESTION_CHARS sets the limit)",
        )
    return text
