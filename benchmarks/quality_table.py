"""The README's quality table from an `assistant eval --out RUN.json` run: per kind of question, the
figures the answering issue asks for, each with its 95% bootstrap interval.

    .venv/bin/python -m benchmarks.quality_table reports/blind-eval.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import QuestionResult, compute_metrics, intervals

ROWS = [
    ("all answerable", lambda r: r.expected is not None),
    ("paraphrase", lambda r: r.group == "paraphrase"),
    ("keyword", lambda r: r.group == "keyword"),
    ("Korean question, English brief", lambda r: r.group == "ko-en"),
    ("English question, Korean brief", lambda r: r.group == "en-ko"),
    ("Korean question, Korean brief", lambda r: r.group == "ko"),
    ("two-brief", lambda r: r.group == "two-brief"),
    ("second turn of a conversation", lambda r: r.turn == 2),
    ("near-miss (must refuse)", lambda r: r.group == "nearmiss"),
    ("off-topic (must refuse)", lambda r: r.group == "offtopic"),
]
FIGURES = [
    ("answered", "false_refusal_rate", True),
    ("citation precision", "citation_precision", False),
    ("hit@1", "hit@1", False),
    ("refused", "refusal_recall", False),
    ("right", "pass_rate", False),
]


def load(path: Path) -> list[QuestionResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    fields = set(QuestionResult.__dataclass_fields__)
    return [QuestionResult(**{k: v for k, v in q.items() if k in fields}) for q in data["questions"]]


def cell(metrics: dict[str, Any], bounds: dict[str, tuple[float, float]], name: str, flip: bool) -> str:
    value = metrics.get(name)
    if not isinstance(value, float):
        return "–"
    low, high = bounds.get(name, (value, value))
    if flip:  # "answered" is 1 - false refusals
        value, low, high = 1 - value, 1 - high, 1 - low
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def table(results: list[QuestionResult]) -> str:
    lines = [
        "| kind | n | " + " | ".join(f for f, _, _ in FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for label, keep in ROWS:
        subset = [r for r in results if keep(r)]
        if not subset:
            continue
        metrics, bounds = compute_metrics(subset), intervals(subset)
        cells = [cell(metrics, bounds, name, flip) for _, name, flip in FIGURES]
        lines.append(f"| {label} | {len(subset)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path)
    args = parser.parse_args(argv)
    print(table(load(args.run)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
