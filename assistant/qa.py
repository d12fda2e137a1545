"""The assistant: a question goes through filter parsing and retrieval, then (optionally) answering.

This is the one path every caller uses (CLI, web app, evaluation), so what staff measure is what
officials get. It knows nothing of settings or UI: it is given a retriever and a generator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from assistant.filters import filter_from_question, merge
from assistant.models import Passage, SearchFilter
from assistant.retrieval import Retriever, Timings


@dataclass
class Retrieval:
    """Passages for a question and how they were found."""

    question: str
    passages: list[Passage]
    filter: SearchFilter
    timings: Timings = field(default_factory=Timings)

    @property
    def search_ms(self) -> float:
        return self.timings.total_ms


class Assistant:
    """Retrieve passages for a question (and, with a generator, answer it with citations)."""

    def __init__(self, retriever: Retriever, *, top_k: int = 5) -> None:
        self.retriever = retriever
        self.top_k = top_k

    def retrieve(self, question: str, flt: SearchFilter | None = None, k: int | None = None) -> Retrieval:
        """Ranked passages for `question`; filters written in the question apply unless `flt` overrides."""
        effective = merge(flt or SearchFilter(), filter_from_question(question))
        timings = Timings()
        start = time.perf_counter()
        passages = self.retriever.search(question, k or self.top_k, effective, timings)
        timings.extra["other_ms"] = max(0.0, (time.perf_counter() - start) * 1000 - timings.total_ms)
        return Retrieval(question, passages, effective, timings)
