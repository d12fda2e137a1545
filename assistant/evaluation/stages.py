"""Where retrieval loses the right brief: each stage's rank of it, per question and per stage.

With `assistant eval --explain`, every answerable question is also ranked by each stage on its own
(dense: the index model; keyword: BM25; routes: multilingual vectors of briefs, used for
questions or briefs not in English; multilingual: the multilingual model's nearest passages, for
English questions and, among English briefs, for another language's translation; translated: the
English briefs ranked by the question's English translation, for questions in another language;
glossary: the other language's briefs ranked by keywords for the question's terms put into that
language by the planning glossary) and
by the fused ranking users get. The table says how often each stage alone puts an expected brief
first and in the top 5, and, for the questions the fused ranking gets wrong, whether some stage had
it first (fusion lost it) or none did (no stage found it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.evaluation.metrics import QuestionResult, first_rank

STAGES = ("dense", "keyword", "routes", "multilingual", "translated", "glossary", "fused")


def stage_ranks(rankings: dict[str, list[str]], expected: Sequence[str]) -> dict[str, int | None]:
    """The 1-based rank of the first expected brief in each stage that ran (None: not found there).
    A stage that did not run for the question (no ranking: the route for an English question over
    English briefs, the English model for a Korean question) is left out."""
    return {
        stage: first_rank(rankings.get(stage, []), expected)
        for stage in STAGES
        if rankings.get(stage) or stage == "fused"
    }


def stage_table(results: list[QuestionResult]) -> dict[str, Any]:
    """Per stage: questions it ranked (it ran for them), hit@1 and hit@5 over those; plus where the
    fused ranking's misses at rank 1 come from."""
    explained = [r for r in results if r.stages is not None and r.answerable]
    table: dict[str, Any] = {"questions": len(explained), "stages": {}}
    for stage in STAGES:
        ranks = [r.stages[stage] for r in explained if r.stages and stage in r.stages]
        table["stages"][stage] = {
            "questions": len(ranks),
            "hit@1": _share(ranks, 1),
            "hit@5": _share(ranks, 5),
            "found": _share(ranks, None),
        }
    missed = [r for r in explained if r.stages and r.stages.get("fused") != 1]
    lost = [r for r in missed if r.stages and any(r.stages.get(s) == 1 for s in STAGES if s != "fused")]
    table["fused_misses"] = len(missed)
    table["fusion_lost"] = len(lost)  # some stage alone had an expected brief first
    table["no_stage_first"] = len(missed) - len(lost)
    return table


def _share(ranks: list[int | None], within: int | None) -> float | None:
    if not ranks:
        return None
    hits = sum(1 for rank in ranks if rank is not None and (within is None or rank <= within))
    return hits / len(ranks)


def stage_lines(table: dict[str, Any], *, markdown: bool) -> list[str]:
    """The table as Markdown (for reports) or plain aligned text (for the terminal)."""
    if not table.get("questions"):
        return []
    rows = []
    for stage, row in table["stages"].items():
        cells = [_pct(row["hit@1"]), _pct(row["hit@5"]), _pct(row["found"])]
        rows.append((stage, str(row["questions"]), *cells))
    summary = (
        f"fused ranking missed rank 1 for {table['fused_misses']} of {table['questions']} questions: "
        f"{table['fusion_lost']} had an expected brief first in some stage (lost in fusion), "
        f"{table['no_stage_first']} in none"
    )
    if markdown:
        lines = [
            "## Where retrieval loses the brief (--explain)",
            "",
            "| stage | questions | hit@1 | hit@5 | found (top 30) |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return [*lines, "", summary, ""]
    lines = [f"{'stage':<10} {'questions':>9} {'hit@1':>6} {'hit@5':>6} {'found':>6}"]
    lines += [f"{s:<10} {q:>9} {a:>6} {b:>6} {c:>6}" for s, q, a, b, c in rows]
    return [*lines, summary]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
