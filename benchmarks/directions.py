"""Retrieval by language direction: hit@1, hit@5 and "every expected brief in the top 5" for each
pair of question language and brief language, over the answerable questions of some test sets that
are not later turns of a conversation, retrieved as a user's question is (filters read from it, a
Korean question's English translation by the reader's model).

    .venv/bin/python -m benchmarks.directions --store .fit-index ../shared/briefs/qa-dev.jsonl ...

A question's direction is its own language and that of its first expected brief ("en-ko": an English
question about a Korean brief). Test sets label only some questions with a kind; this counts every
one. Rows can be written with `--out` for comparing two runs question by question.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.library import Library
from assistant.reading.text import question_language

DEPTH = 30  # passages retrieved: the briefs among them are ranked by their best passage


def measure(store: Path, sets: list[Path]) -> list[dict[str, Any]]:
    rows = []
    with Library.open(Settings(store_dir=store)) as library:
        assistant = library.assistant()
        for path in sets:
            cases, _ = load_testset(path)
            for case in cases:
                if not case.expected or case.extra.get("conversation") is not None:
                    continue
                found = assistant.retrieve(case.question, k=DEPTH)
                ranking = list(dict.fromkeys(p.doc_id for p in found.passages))
                expected = set(case.expected)
                brief_language = library.store.language_of(case.expected[0])
                rows.append(
                    {
                        "set": path.name,
                        "question": case.question,
                        "expected": sorted(expected),
                        "direction": f"{question_language(case.question)}-{brief_language}",
                        "rank": next((i for i, d in enumerate(ranking, start=1) if d in expected), None),
                        "all_in_top5": expected <= set(ranking[:5]),
                        "top5": ranking[:5],
                    }
                )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        groups[row["direction"]].append(row)
        if len(row["expected"]) > 1:
            groups["two or more briefs"].append(row)
    lines = ["| questions | n | hit@1 | hit@5 | all expected in top 5 |", "|---|---|---|---|---|"]
    for name in [
        "all",
        *sorted(g for g in groups if g not in ("all", "two or more briefs")),
        "two or more briefs",
    ]:
        group = groups.get(name, [])
        if not group:
            continue
        hit1 = sum(r["rank"] == 1 for r in group) / len(group)
        hit5 = sum(r["rank"] is not None and r["rank"] <= 5 for r in group) / len(group)
        every = sum(r["all_in_top5"] for r in group) / len(group)
        lines.append(f"| {name} | {len(group)} | {hit1:.3f} | {hit5:.3f} | {every:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument(
        "--store", type=Path, required=True, help="index folder with every brief the sets ask about"
    )
    parser.add_argument("--out", type=Path, help="also write one JSON line per question here")
    args = parser.parse_args()
    rows = measure(args.store, args.sets)
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(table(rows))


if __name__ == "__main__":
    main()
