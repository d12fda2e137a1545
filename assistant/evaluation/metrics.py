"""Per-question results and the metric arithmetic over them (pure functions, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.percentiles import interval, percentile

HIT_KS = (1, 3, 5)
GATEABLE = frozenset(
    {
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "all@5",
        "evidence_recall",
        "citation_precision",
        "citation_recall",
        "refusal_precision",
        "refusal_recall",
        "false_refusal_rate",
        "answer_support_rate",
        "pass_rate",
        "search_p50_ms",
        "search_p95_ms",
        "answer_p50_ms",
        "answer_p95_ms",
    }
)
# Metrics where a lower value is better; `--fail-over` gates them, `--fail-under` gates the rest.
LOWER_IS_BETTER = frozenset(
    {"false_refusal_rate", "search_p50_ms", "search_p95_ms", "answer_p50_ms", "answer_p95_ms"}
)


@dataclass
class QuestionResult:
    """Everything one question produced, as written to `--json` output."""

    line: int
    question: str
    expected: list[str] | None
    retrieved: list[dict[str, Any]]
    doc_ranking: list[str]
    search_ms: float
    filter: str = "all briefs"
    evidence_found: bool | None = None
    answer: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool | None = None
    answer_sentences: int = 0
    supported_sentences: int = 0
    answer_ms: float | None = None
    passed: bool | None = None
    reason: str = ""
    group: str | None = None  # a test set's own grouping ("group", "pair" or "kind" field), e.g. "ko-en"
    conversation: str | None = None  # the conversation a line belongs to, with its turn
    turn: int | None = None
    context: list[str] = field(default_factory=list)  # briefs the answer took from earlier turns
    stages: dict[str, int | None] | None = None  # --explain: the expected brief's rank in each stage
    # What the assistant read: the question as it searched for it (a follow-up possibly rewritten to
    # stand alone) and the probability the policy gave each brief it weighed, likeliest first.
    standalone: str | None = None
    judged: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.expected is not None

    @property
    def first_relevant_rank(self) -> int | None:
        return first_rank(self.doc_ranking, self.expected)

    @property
    def cited_docs(self) -> list[str]:
        return list(dict.fromkeys(str(c["doc_id"]) for c in self.citations))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def first_rank(ranking: Sequence[str], expected: Sequence[str] | None) -> int | None:
    """The 1-based rank of the first expected brief in a document ranking."""
    if not expected:
        return None
    return next((i for i, doc in enumerate(ranking, start=1) if doc in expected), None)


def hit_at(result: QuestionResult, k: int) -> bool:
    rank = result.first_relevant_rank
    return rank is not None and rank <= k


def all_in_top(result: QuestionResult, k: int) -> bool:
    return bool(result.expected) and set(result.expected or ()) <= set(result.doc_ranking[:k])


def reciprocal_rank(result: QuestionResult) -> float:
    rank = result.first_relevant_rank
    return 1.0 / rank if rank else 0.0


_PUNCT = str.maketrans("’‘“”–—•", "''\"\"-- ")


def normalise(text: str) -> str:
    """For evidence matching: case, quotes, dashes, bullets and whitespace do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_PUNCT)
    return re.sub(r"\s+", " ", text).strip()


def evidence_parts(evidence: str) -> list[str]:
    """An evidence quote may elide text with "[...]" or "..."; each remaining part must be found."""
    parts = re.split(r"\[\s*(?:\.\.\.|…)\s*\]|\.\.\.|…", evidence)
    return [normalise(p).strip(" .,;") for p in parts if normalise(p).strip(" .,;")]


def evidence_in(evidence: str, passages: list[str]) -> bool:
    texts = [normalise(t) for t in passages]
    return all(any(part in text for text in texts) for part in evidence_parts(evidence))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compute_metrics(results: list[QuestionResult]) -> dict[str, float | int | None]:
    """All metrics; a metric with no question to measure it on is None (shown as "n/a")."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    multi = [r for r in answerable if len(r.expected or ()) > 1]
    with_evidence = [r for r in answerable if r.evidence_found is not None]
    metrics: dict[str, float | int | None] = {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    for k in HIT_KS:
        metrics[f"hit@{k}"] = _mean([float(hit_at(r, k)) for r in answerable])
    metrics["mrr"] = _mean([reciprocal_rank(r) for r in answerable])
    metrics["all@5"] = _mean([float(all_in_top(r, 5)) for r in multi])
    metrics["evidence_recall"] = _mean([float(bool(r.evidence_found)) for r in with_evidence])

    answered_mode = any(r.refused is not None for r in results)
    if answered_mode:
        answered = [r for r in results if r.refused is False]
        refused = [r for r in results if r.refused]
        precisions = []
        for r in answered:
            cited = r.cited_docs
            if cited:
                precisions.append(sum(d in (r.expected or ()) for d in cited) / len(cited))
        metrics["citation_precision"] = _mean(precisions)
        metrics["citation_recall"] = _mean(
            [
                (
                    0.0
                    if r.refused
                    else sum(d in r.cited_docs for d in r.expected or ()) / len(r.expected or ())
                )
                for r in answerable
            ]
        )
        metrics["refusal_precision"] = _mean([float(not r.answerable) for r in refused])
        metrics["refusal_recall"] = _mean([float(bool(r.refused)) for r in unanswerable])
        metrics["false_refusal_rate"] = _mean([float(bool(r.refused)) for r in answerable])
        sentences = sum(r.answer_sentences for r in answered)
        metrics["answer_support_rate"] = (
            sum(r.supported_sentences for r in answered) / sentences if sentences else None
        )
    metrics["pass_rate"] = _mean([float(bool(r.passed)) for r in results if r.passed is not None])
    search = [r.search_ms for r in results]
    metrics["search_p50_ms"] = percentile(search, 50)
    metrics["search_p95_ms"] = percentile(search, 95)
    answer_times = [r.answer_ms for r in results if r.answer_ms is not None]
    if answer_times:
        metrics["answer_p50_ms"] = percentile(answer_times, 50)
        metrics["answer_p95_ms"] = percentile(answer_times, 95)
    return metrics


def intervals(
    results: list[QuestionResult], rounds: int = 1000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95% bootstrap intervals of every metric but the counts: questions drawn with replacement
    `rounds` times (the percentile method); a metric that cannot be measured on this set has none."""
    import random

    rng = random.Random(seed)
    # Every metric that is a rate, a mean or a latency (not a count) gets one.
    names = [n for n, v in compute_metrics(results).items() if isinstance(v, float)] if results else []
    draws: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds if results else 0):
        sample = [results[rng.randrange(len(results))] for _ in results]
        metrics = compute_metrics(sample)
        for name in names:
            value = metrics.get(name)
            if isinstance(value, float):
                draws[name].append(value)
    out = {}
    for name, values in draws.items():
        if len(values) >= rounds // 2:  # measurable in most resamples
            ends = interval(values)
            if ends is not None:
                out[name] = ends
    return out


GROUP_COLUMNS = ("questions", "hit@5", "mrr", "citation_precision", "refusal_recall", "false_refusal_rate")


def metrics_by_group(results: list[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    """The main metrics per group, for test sets whose lines carry a `group` (or `pair`) field."""
    groups = sorted({r.group for r in results if r.group})
    out = {}
    for group in groups:
        metrics = compute_metrics([r for r in results if r.group == group])
        out[group] = {name: metrics.get(name) for name in GROUP_COLUMNS}
    return out


def judge(result: QuestionResult, k: int = 5) -> tuple[bool | None, str]:
    """Pass/fail with a reason a person can act on."""
    expected = result.expected
    if result.refused is None:  # retrieval only
        if expected is None:
            return None, "not scored: the refusal check needs answering"
        if all_in_top(result, k):
            return True, f"expected {', '.join(expected)} found at document rank {result.first_relevant_rank}"
        return False, _missed(result, k)
    if expected is None:
        if result.refused:
            return True, "refused, as expected"
        cited = ", ".join(result.cited_docs) or "nothing"
        return False, f"answered a question the briefs do not answer (cited {cited})"
    if result.refused:
        rank = result.first_relevant_rank
        found = f"; expected brief was retrieved at rank {rank}" if rank else "; " + _missed(result, k)
        return False, "refused an answerable question" + found
    cited_docs = result.cited_docs
    wrong = [d for d in cited_docs if d not in expected]
    right = [d for d in cited_docs if d in expected]
    if not right:
        return False, f"cited {', '.join(cited_docs) or 'nothing'} instead of {', '.join(expected)}"
    if wrong:
        return False, f"cited {', '.join(wrong)} besides the expected {', '.join(right)}"
    return True, f"cited {', '.join(right)}"


def _missed(result: QuestionResult, k: int) -> str:
    got = ", ".join(result.doc_ranking[:k]) or "nothing"
    missing = [d for d in result.expected or () if d not in result.doc_ranking[:k]]
    return f"expected {', '.join(missing)} not in the top {k} briefs; retrieved {got}"
