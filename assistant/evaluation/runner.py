"""Runs a test set through the assistant, one question at a time, in one process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from assistant.answering.conversation import Turn
from assistant.answering.qa import Assistant, Retrieval
from assistant.evaluation.metrics import QuestionResult, evidence_in, judge
from assistant.evaluation.stages import stage_ranks
from assistant.evaluation.testset import TestCase
from assistant.models import Answer

log = logging.getLogger(__name__)

EvalProgress = Callable[[int, int], None]


def run_cases(
    cases: list[TestCase],
    assistant: Assistant,
    *,
    top_k: int = 5,
    depth: int = 30,
    answer: bool = True,
    progress: EvalProgress | None = None,
    explain: bool = False,
) -> list[QuestionResult]:
    """Every case through the user's path; retrieval goes `depth` passages deep for the rank metrics.

    Ranking is fused and independent of depth, so the first `top_k` passages are exactly what a
    user's question would get. Lines of one `conversation` are asked in `turn` order, each with the
    earlier turns' answers as its history, as in the chat.
    """
    results = []
    histories: dict[str, list[Turn]] = {}
    for done, case in enumerate(_in_conversation_order(cases)):
        if progress:
            progress(done, len(cases))
        conversation = case.extra.get("conversation")
        history = histories.setdefault(str(conversation), []) if conversation is not None else []
        retrieval = assistant.prepare(case.question, history, k=max(depth, top_k))
        result = _retrieved(case, retrieval, top_k)
        if explain and case.expected:
            rankings = assistant.retriever.explain(
                retrieval.question,
                max(depth, top_k),
                retrieval.filter,
                translation=retrieval.translation or None,
            )
            result.stages = stage_ranks(rankings, case.expected)
        if answer:
            reply = _answer(result, case, assistant, retrieval, history, top_k)
            if conversation is not None:
                history.append(Turn(case.question, reply.standalone_question, reply))
        result.passed, result.reason = judge(result, k=top_k)
        results.append(result)
    if progress:
        progress(len(cases), len(cases))
    return results


def _retrieved(case: TestCase, retrieval: Retrieval, top_k: int) -> QuestionResult:
    """A case's result as far as retrieval: what was found, in which order, and how fast."""
    passages = retrieval.passages
    conversation = case.extra.get("conversation")
    return QuestionResult(
        line=case.line,
        question=case.question,
        expected=list(case.expected) if case.expected is not None else None,
        retrieved=[
            {
                "doc_id": p.doc_id,
                "source": p.source,
                "section": p.section,
                "score": p.score,
                "chunk_id": p.chunk_id,
            }
            for p in passages
        ],
        doc_ranking=list(dict.fromkeys(p.doc_id for p in passages)),
        search_ms=round(retrieval.search_ms, 2),
        group=_group(case),
        conversation=str(conversation) if conversation is not None else None,
        turn=case.extra.get("turn") if isinstance(case.extra.get("turn"), int) else None,
        filter=retrieval.filter.describe(),
        evidence_found=(
            evidence_in(case.evidence, [p.text for p in passages[:top_k]])
            if case.evidence and case.answerable
            else None
        ),
    )


def _in_conversation_order(cases: list[TestCase]) -> list[TestCase]:
    """The cases in file order, except that a conversation's turns follow each other by `turn`."""
    first_line: dict[str, int] = {}
    for case in cases:
        if "conversation" in case.extra:
            first_line.setdefault(str(case.extra["conversation"]), case.line)

    def key(case: TestCase) -> tuple[int, float, int]:
        conversation = case.extra.get("conversation")
        if conversation is None:
            return (case.line, 0.0, case.line)
        turn = case.extra.get("turn")
        order = float(turn) if isinstance(turn, int | float) else 0.0
        return (first_line[str(conversation)], order, case.line)

    return sorted(cases, key=key)


def _answer(
    result: QuestionResult,
    case: TestCase,
    assistant: Assistant,
    retrieval: Retrieval,
    history: list[Turn],
    top_k: int,
) -> Answer:
    """Answer through the assistant (reusing this retrieval) and re-check every claim independently."""
    start = time.perf_counter()
    events = assistant.stream(case.question, history, retrieval=retrieval)
    final = [e for e in events if e.kind == "final"][-1]
    result.answer_ms = round((time.perf_counter() - start) * 1000, 2)
    answer = final.answer
    assert answer is not None  # a final event always carries its answer
    used = final.retrieval
    if used is not None and used is not retrieval:  # a conversation's other reading answered: rank it
        ranked = _retrieved(case, used, top_k)
        result.retrieved, result.doc_ranking = ranked.retrieved, ranked.doc_ranking
        result.filter, result.evidence_found = ranked.filter, ranked.evidence_found
    result.answer = answer.text
    result.refused = answer.refused
    result.citations = [
        {"doc_id": c.doc_id, "source": c.source, "section": c.section, "quote": c.quote}
        for c in answer.citations
    ]
    result.context = [b.doc_id for b in answer.context]
    result.standalone = answer.standalone_question if answer.standalone_question != case.question else None
    result.judged = [{"doc_id": d, "probability": p} for d, p in answer.judged]  # rounded by the answer
    if answer.refused:
        return answer
    by_chunk = {p.chunk_id: p for p in answer.passages}
    for sentence in answer.sentences:
        if not sentence.claim:
            continue
        result.answer_sentences += 1
        cited = [by_chunk[c.chunk_id] for c in sentence.citations if c.chunk_id in by_chunk]
        if any(assistant.verifier.supported(sentence.text, p) for p in cited):
            result.supported_sentences += 1
    return answer


def _group(case: TestCase) -> str | None:
    value = case.extra.get("group", case.extra.get("pair", case.extra.get("kind")))
    return str(value) if value is not None else None
