"""Staff evaluation: test sets, the same question path users take, metrics, reports, gates, comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answering.qa import Assistant
from assistant.evaluation.metrics import (
    LOWER_IS_BETTER,
    QuestionResult,
    compute_metrics,
    intervals,
    metrics_by_group,
)
from assistant.evaluation.runner import EvalProgress, run_cases
from assistant.evaluation.stages import stage_table
from assistant.evaluation.testset import LineError, TestCase, load_testset

__all__ = [
    "EvalRun",
    "Gate",
    "LineError",
    "QuestionResult",
    "TestCase",
    "check_gates",
    "evaluate",
    "load_testset",
    "parse_gate",
]


@dataclass
class EvalRun:
    testset: str
    results: list[QuestionResult]
    errors: list[LineError]
    metrics: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # 95% bootstrap
    stages: dict[str, Any] = field(default_factory=dict)  # --explain: see `stages.stage_table`

    def to_dict(self) -> dict[str, Any]:
        return {
            "testset": self.testset,
            "settings": self.settings,
            "metrics": self.metrics,
            "intervals_95": {name: list(bounds) for name, bounds in self.intervals.items()},
            "metrics_by_group": self.groups,
            **({"stages": self.stages} if self.stages else {}),
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
            "questions": [r.to_dict() for r in self.results],
        }


def evaluate(
    path: Path,
    assistant: Assistant,
    *,
    top_k: int = 5,
    depth: int = 30,
    answer: bool = True,
    progress: EvalProgress | None = None,
    settings: dict[str, Any] | None = None,
    explain: bool = False,
) -> EvalRun:
    cases, errors = load_testset(path)
    results = run_cases(
        cases, assistant, top_k=top_k, depth=depth, answer=answer, progress=progress, explain=explain
    )
    return EvalRun(
        str(path),
        results,
        errors,
        compute_metrics(results),
        settings or {},
        metrics_by_group(results),
        intervals(results),
        stage_table(results) if explain else {},
    )


@dataclass(frozen=True)
class Gate:
    metric: str
    threshold: float

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    def check(self, metrics: dict[str, Any]) -> str | None:
        """None when the gate holds, else a sentence saying how it failed."""
        value = metrics.get(self.metric)
        if value is None:
            return f"{self.metric} could not be measured on this test set (n/a)"
        if self.lower_is_better and value > self.threshold:
            return f"{self.metric} = {value:.4g} is above the limit {self.threshold:.4g}"
        if not self.lower_is_better and value < self.threshold:
            return f"{self.metric} = {value:.4g} is below the required {self.threshold:.4g}"
        return None


def parse_gate(text: str, *, known: set[str], lower: bool) -> Gate:
    """'hit@5=0.95' -> Gate; ValueError with the valid names when the metric is unknown."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep:
        raise ValueError(f"'{text}' is not METRIC=VALUE")
    if name not in known:
        raise ValueError(f"unknown metric '{name}'; known: {', '.join(sorted(known))}")
    if lower != (name in LOWER_IS_BETTER):
        flag = "--fail-over" if name in LOWER_IS_BETTER else "--fail-under"
        raise ValueError(
            f"'{name}' is gated with {flag} ({'lower' if name in LOWER_IS_BETTER else 'higher'} is better)"
        )
    try:
        threshold = float(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a number") from exc
    return Gate(name, threshold)


def check_gates(gates: list[Gate], metrics: dict[str, Any]) -> list[str]:
    return [problem for gate in gates if (problem := gate.check(metrics))]
