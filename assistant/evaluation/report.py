"""Reports a person reads: the metric table, a chart of hit@k and latency, and the failed questions."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import HIT_KS, QuestionResult, intervals
from assistant.evaluation.stages import stage_lines

METRIC_LABELS = {
    "questions": "questions",
    "answerable": "answerable questions",
    "unanswerable": "questions the briefs don't answer",
    "hit@1": "hit@1 (right brief ranked first)",
    "hit@3": "hit@3",
    "hit@5": "hit@5",
    "mrr": "MRR (document level)",
    "all@5": "all expected briefs in top 5 (multi-brief questions)",
    "evidence_recall": "evidence recall (quote inside a top-5 passage)",
    "citation_precision": "citation precision (cited briefs that are expected)",
    "citation_recall": "citation recall (expected briefs that are cited)",
    "refusal_precision": "refusal precision",
    "refusal_recall": "refusal recall (unanswerable questions refused)",
    "false_refusal_rate": "false-refusal rate (answerable questions refused)",
    "answer_support_rate": "answer support rate (sentences backed by a cited passage)",
    "pass_rate": "pass rate",
    "search_p50_ms": "search latency p50 (ms)",
    "search_p95_ms": "search latency p95 (ms)",
    "answer_p50_ms": "answer latency p50 (ms)",
    "answer_p95_ms": "answer latency p95 (ms)",
}


def format_value(name: str, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if name.endswith("_ms"):
        return f"{value:.1f}"
    if isinstance(value, int) or name in ("questions", "answerable", "unanswerable"):
        return str(int(value))
    return f"{value:.3f}"


def metric_rows(
    metrics: dict[str, Any], intervals: dict[str, tuple[float, float]] | None = None
) -> list[tuple[str, str, str]]:
    """(name, label, value) per metric; the value carries its 95% interval when one is given."""
    rows = []
    for name, value in metrics.items():
        shown = format_value(name, value)
        if intervals and name in intervals:
            low, high = intervals[name]
            shown += f" [{low:.2f}, {high:.2f}]"
        rows.append((name, METRIC_LABELS.get(name, name), shown))
    return rows


def metric_table(metrics: dict[str, Any], intervals: dict[str, tuple[float, float]] | None = None) -> str:
    """The metrics as an aligned plain-text table (for the terminal), 95% intervals in brackets."""
    rows = metric_rows(metrics, intervals)
    width = max(len(label) for _, label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value:>8}" for _, label, value in rows)


def write_chart(metrics: dict[str, Any], results: list[QuestionResult], path: Path) -> Path:
    """A PNG with hit@k (and MRR) bars on the left and the latency distribution on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = [f"hit@{k}" for k in HIT_KS] + ["mrr"]
    values = [metrics.get(n) or 0.0 for n in names]
    bars = left.bar(names, values, color=["#2b6cb0", "#3182ce", "#63b3ed", "#805ad5"])
    left.bar_label(bars, labels=[f"{v:.2f}" for v in values])
    left.set_ylim(0, 1.1)
    left.set_title("Finding the right brief")
    search = [r.search_ms for r in results]
    answer = [r.answer_ms for r in results if r.answer_ms is not None]
    right.hist(search, bins=20, alpha=0.7, label="search", color="#2b6cb0")
    if answer:
        right.hist(answer, bins=20, alpha=0.6, label="answer", color="#dd6b20")
    right.set_xlabel("milliseconds per question")
    right.set_title("Latency")
    right.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _failed(results: list[QuestionResult]) -> list[QuestionResult]:
    return [r for r in results if r.passed is False]


def _retrieved_summary(result: QuestionResult, n: int = 3) -> str:
    return (
        "; ".join(f"{p['doc_id']} ({p['section']}, {p['score']:.2f})" for p in result.retrieved[:n])
        or "nothing"
    )


def _asked(result: QuestionResult) -> str:
    """The question, and how it was searched when that differs (a follow-up rewritten to stand alone)."""
    if result.standalone:
        return f"{result.question} (searched as: {result.standalone})"
    return result.question


def _why(result: QuestionResult, n: int = 2) -> str:
    """Why the question failed, with the policy's probabilities for the briefs it weighed first."""
    judged = ", ".join(f"{j['doc_id']} {j['probability']:.2f}" for j in result.judged[:n])
    return f"{result.reason} (judged: {judged})" if judged else result.reason


def group_table(groups: dict[str, dict[str, Any]]) -> str:
    """Per-group metrics as a plain-text table (empty when the test set has no groups)."""
    if not groups:
        return ""
    columns = list(next(iter(groups.values())))
    head = f"{'group':<12}" + "".join(f"{c:>20}" for c in columns)
    rows = [
        f"{g:<12}" + "".join(f"{format_value(c, v):>20}" for c, v in m.items()) for g, m in groups.items()
    ]
    return "\n".join([head, *rows])


def _group_markdown(groups: dict[str, dict[str, Any]]) -> list[str]:
    if not groups:
        return []
    columns = list(next(iter(groups.values())))
    lines = ["## By group", "", "| group | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [
        f"| {g} | " + " | ".join(format_value(c, v) for c, v in m.items()) + " |" for g, m in groups.items()
    ]
    return [*lines, ""]


def write_report(
    path: Path,
    metrics: dict[str, Any],
    results: list[QuestionResult],
    *,
    title: str,
    notes: list[str],
    groups: dict[str, dict[str, Any]] | None = None,
    stages: dict[str, Any] | None = None,
) -> Path:
    """Write a Markdown (`.md`) or HTML (`.html`) report with its chart beside it (or inline for HTML);
    with `stages` (from `--explain`), the Markdown report has the per-stage table."""
    chart = write_chart(metrics, results, path.with_suffix(".png"))
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(_html(metrics, results, chart, title, notes), encoding="utf-8")
    else:
        text = _markdown(metrics, results, chart, title, notes, groups or {}, stages or {})
        path.write_text(text, encoding="utf-8")
    return path


def _markdown(
    metrics: dict[str, Any],
    results: list[QuestionResult],
    chart: Path,
    title: str,
    notes: list[str],
    groups: dict[str, dict[str, Any]],
    stages: dict[str, Any],
) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- {note}" for note in notes] + [""]
    lines += ["| metric | value [95% bootstrap interval] |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for _, label, value in metric_rows(metrics, intervals(results))]
    lines += ["", f"![hit@k and latency]({chart.name})", ""]
    lines += _group_markdown(groups)
    lines += stage_lines(stages, markdown=True)
    failed = _failed(results)
    lines += [f"## Failed questions ({len(failed)} of {len(results)})", ""]
    if failed:
        lines += [
            "| line | question | expected | why | retrieved instead (top 3) |",
            "|---:|---|---|---|---|",
        ]
        for r in failed:
            expected = ", ".join(r.expected) if r.expected else "refusal"
            cells = [str(r.line), _asked(r), expected, _why(r), _retrieved_summary(r)]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _html(
    metrics: dict[str, Any], results: list[QuestionResult], chart: Path, title: str, notes: list[str]
) -> str:
    e = html.escape
    image = base64.b64encode(chart.read_bytes()).decode("ascii")
    rows = "".join(
        f"<tr><td>{e(label)}</td><td>{e(value)}</td></tr>"
        for _, label, value in metric_rows(metrics, intervals(results))
    )
    failed = _failed(results)
    fail_rows = "".join(
        f"<tr><td>{r.line}</td><td>{e(_asked(r))}</td>"
        f"<td>{e(', '.join(r.expected) if r.expected else 'refusal')}</td>"
        f"<td>{e(_why(r))}</td><td>{e(_retrieved_summary(r))}</td></tr>"
        for r in failed
    )
    note_items = "".join(f"<li>{e(n)}</li>" for n in notes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>"
        f"</head><body><h1>{e(title)}</h1><ul>{note_items}</ul><table><tr><th>metric</th><th>value</th></tr>"
        f"{rows}</table><p><img alt='hit@k and latency' src='data:image/png;base64,{image}'></p>"
        f"<h2>Failed questions ({len(failed)} of {len(results)})</h2>"
        "<table><tr><th>line</th><th>question</th><th>expected</th><th>why</th>"
        "<th>retrieved instead</th></tr>"
        f"{fail_rows}</table></body></html>"
    )
