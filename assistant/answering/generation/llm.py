"""Answers written by a language model (any langchain chat model), prompted to cite numbered passages.

The model only drafts: refusal is decided before it is asked, and every sentence it writes goes
through the same verification as the extractive answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.answering.generation.evidence import Evidence
from assistant.answering.prompts import Prompt, load_prompt
from assistant.models import Passage

if TYPE_CHECKING:  # importing it costs every command about 1 s; a chat model brings it along itself
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}
NOT_IN_BRIEFS = "NOT IN BRIEFS"
_PASSAGE_CHARS = 1200  # of each passage in the prompt: a 200-token chunk fits, five of them fit the context


class ChatGenerator:
    """Drafts an answer with a chat model; `condense` rewrites follow-up questions."""

    quotes = False  # the model writes its own sentences: each is verified, removals are reported

    def __init__(
        self, model: BaseChatModel, *, name: str, answer: Prompt | None = None, condense: Prompt | None = None
    ) -> None:
        self.model = model
        self.name = name
        self.answer_prompt = answer or load_prompt("answer")
        self.condense_prompt = condense or load_prompt("condense")

    def draft(
        self, question: str, passages: list[Passage], evidence: Evidence, language: str
    ) -> Iterator[str]:
        numbered = "\n\n".join(
            f"[{i}] ({p.label}, {p.title}; section: {p.section})\n{p.text[:_PASSAGE_CHARS]}"
            for i, p in enumerate(passages, start=1)
        )
        system, user = self.answer_prompt.render(
            language=LANGUAGE_NAMES.get(language, "English"), passages=numbered, question=question
        )
        for chunk in self.model.stream(_messages(system, user)):
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                yield text

    def condense(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        lines = "\n".join(f"User: {q}\nAssistant: {a[:400]}" for q, a in history)
        system, user = self.condense_prompt.render(history=lines, question=question)
        reply = self.model.invoke(_messages(system, user))
        text = reply.content if isinstance(reply.content, str) else ""
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        return text if 3 <= len(text) <= 500 else question


def _messages(system: str, user: str) -> list[BaseMessage]:
    return [SystemMessage(content=system), HumanMessage(content=user)]
