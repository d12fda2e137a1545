"""Compare two evaluation runs (`--json` outputs): which questions got better or worse."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from assistant.errors import TestSetError
from assistant.evaluation.metrics import first_rank


@dataclass(frozen=True)
class Change:
    question: str
    before: str
    after: str
    direction: str  # better | worse | changed


def load_run(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TestSetError(
            f"{path}: not a readable evaluation result ({exc})",
            hint="write one with: assistant eval TESTSET --json > run.json",
        ) from exc
    if not isinstance(data, dict) or "questions" not in data or "metrics" not in data:
        raise TestSetError(
            f"{path}: not an evaluation result (no 'questions'/'metrics')",
            hint="write one with: assistant eval TESTSET --json > run.json",
        )
    return data


@dataclass(frozen=True)
class PairedTest:
    """One per-question outcome in two runs over the same questions, and McNemar's exact test."""

    metric: str
    questions: int  # asked in both runs and scored by this metric
    old: int  # questions with the outcome in the old run
    new: int
    worse: int  # had it before, not after
    better: int  # had it after, not before
    p_value: float

    @property
    def significant(self) -> bool:
        """Whether the difference is unlikely to be chance at this sample size (p < 0.05)."""
        return self.p_value < SIGNIFICANCE

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "significant": self.significant}


SIGNIFICANCE = 0.05


def _passed(q: dict[str, Any]) -> bool | None:
    passed = q.get("passed")
    return None if passed is None else bool(passed)


def _hit(q: dict[str, Any], k: int) -> bool | None:
    expected = q.get("expected")
    if not expected:
        return None  # hit@k is about answerable questions
    rank = first_rank(q.get("doc_ranking") or [], expected)
    return rank is not None and rank <= k


_OUTCOMES: dict[str, Callable[[dict[str, Any]], bool | None]] = {
    "pass": _passed,
    "hit@1": partial(_hit, k=1),
    "hit@5": partial(_hit, k=5),
}


def mcnemar(worse: int, better: int) -> float:
    """Two-sided exact McNemar p-value: the chance of a split at least this uneven if either run
    were as likely to win each changed question."""
    n = worse + better
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(worse, better) + 1)) / float(2**n)
    return min(1.0, 2.0 * tail)


def paired_tests(old: dict[str, Any], new: dict[str, Any]) -> list[PairedTest]:
    """Per outcome (pass, hit@1, hit@5): how many questions changed each way, and whether that is more
    than chance. Questions are paired by their text; a question in one run only is left out."""
    before = {q["question"]: q for q in old["questions"]}
    pairs = [(before[q["question"]], q) for q in new["questions"] if q["question"] in before]
    tests = []
    for name, outcome in _OUTCOMES.items():
        outcomes = [(outcome(a), outcome(b)) for a, b in pairs]
        scored = [(bool(a), bool(b)) for a, b in outcomes if a is not None and b is not None]
        worse = sum(1 for a, b in scored if a and not b)
        better = sum(1 for a, b in scored if b and not a)
        tests.append(
            PairedTest(
                name,
                len(scored),
                sum(a for a, _ in scored),
                sum(b for _, b in scored),
                worse,
                better,
                round(mcnemar(worse, better), 4),
            )
        )
    return tests


def _state(q: dict[str, Any]) -> tuple[int, str]:
    """A comparable score for one question's outcome (higher is better) and its description."""
    passed = q.get("passed")
    expected = q.get("expected") or []
    ranking = q.get("doc_ranking") or []
    rank = first_rank(ranking, expected)
    where = f"rank {rank}" if rank else ("refusal expected" if not expected else "not found")
    verdict = {True: "pass", False: "fail", None: "unscored"}[passed]
    score = (2 if passed else 0 if passed is False else 1) * 100 - (rank or 99)
    return score, f"{verdict} ({where})"


def compare_runs(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[Change], dict[str, tuple[Any, Any]]]:
    """Changed questions (matched by question text) and every metric before/after."""
    before = {q["question"]: q for q in old["questions"]}
    changes = []
    for q in new["questions"]:
        if q["question"] not in before:
            changes.append(Change(q["question"], "absent", _state(q)[1], "changed"))
            continue
        (s_old, d_old), (s_new, d_new) = _state(before[q["question"]]), _state(q)
        if s_new != s_old:
            changes.append(Change(q["question"], d_old, d_new, "better" if s_new > s_old else "worse"))
    new_questions = {q["question"] for q in new["questions"]}
    changes += [
        Change(text, _state(q)[1], "absent", "changed")
        for text, q in before.items()
        if text not in new_questions
    ]
    names = list(dict.fromkeys([*old["metrics"], *new["metrics"]]))
    metrics = {n: (old["metrics"].get(n), new["metrics"].get(n)) for n in names}
    return changes, metrics
