"""Compare two evaluation runs (`--json` outputs): which questions got better or worse."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
