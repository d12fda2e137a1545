"""Excerpt recall: how often the reader is shown the sentence that answers.

The reader judges a brief by its excerpt, the brief's best sentences by the evidence ranking
(`policy.BriefCase.excerpt`). When the answering sentence is not among them, the reader says NO to a
brief that does answer. For every answerable question of some test sets that quotes its evidence and
is not a later turn of a conversation, this retrieves and weighs as `ask` does (`Assistant.candidates`,
without the reader) and counts, for the expected brief, where the evidence stands:

- `excerpt`: in the excerpt the reader is shown;
- `candidates`: among the brief's candidate sentences, ranked below the excerpt;
- `absent`: in none of its retrieved sentences;
- `not weighed`: the brief is not among the briefs the judge weighs (retrieval's miss).

    .venv/bin/python -m benchmarks.excerpt_recall --store .fit-index ../shared/briefs/qa-dev.jsonl ...

A sentence counts as the evidence when it holds more than `SHARED_WORDS` of the evidence's words
(two-brief questions quote one sentence per brief, so they rarely count: they are listed apart).
Never give it a blind set.

What it is for: telling, for a refused question, whether the reader was shown the answer at all. It
is not a measure to rank sentences by. On the dev sets (2026-12-06), with the reader's replies of
the policy's fit, an answerable question whose brief was read first was refused 14 times in 281
when the excerpt held the evidence and 28 times in 93 when it did not. This script found the
evidence in the excerpt for 300 of 405 questions (0.74); ranking a sentence lower by 0.3 of its
cosine with its brief's title (and an English sentence for a Korean question by the question's
English translation) raised that to about 0.78 in a scratch run, and made the cross-validated policy
worse (right 0.800 -> 0.777, false refusals 0.193 -> 0.224, unanswerable
refused 0.861 -> 0.851): the sentence that says what a brief is about helps the reader judge it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.library import Library

SHARED_WORDS = 0.6
PLACES = ("excerpt", "candidates", "absent", "not weighed")


def _words(text: str) -> set[str]:
    return set(re.sub(r"\W+", " ", text).lower().split())


def _holds(wanted: set[str], text: str) -> bool:
    """Whether `text` holds more than `SHARED_WORDS` of the evidence's words."""
    return len(wanted & _words(text)) > SHARED_WORDS * len(wanted)


def measure(store: Path, sets: list[Path]) -> dict[str, Counter[str]]:
    """Where the evidence stands, counted per question kind (and "all")."""
    places: dict[str, Counter[str]] = defaultdict(Counter)
    with Library.open(Settings(store_dir=store)) as library:
        assistant = library.assistant()
        for path in sets:
            cases, _ = load_testset(path)
            for case in cases:
                if not case.expected or not case.evidence or case.extra.get("conversation") is not None:
                    continue
                weighed = assistant.candidates(case.question, read=False)
                wanted = _words(case.evidence)
                mine = next((c for c in weighed if c.doc_id in case.expected), None)
                if mine is None:
                    place = "not weighed"
                elif _holds(wanted, mine.excerpt.text):
                    place = "excerpt"
                elif any(_holds(wanted, c.text) for c in mine.candidates):
                    place = "candidates"
                else:
                    place = "absent"
                kind = str(case.extra.get("kind") or case.extra.get("pair") or "unlabelled")
                if kind == "two-brief":  # not in "all" (see above)
                    places["two-brief (not in all)"][place] += 1
                else:
                    places[kind][place] += 1
                    places["all"][place] += 1
    return places


def table(places: dict[str, Counter[str]]) -> str:
    lines = ["| kind | questions | " + " | ".join(PLACES) + " |", "|---|---|" + "---|" * len(PLACES)]
    for kind in sorted(places, key=lambda k: (k != "all", k)):
        counts = places[kind]
        total = sum(counts.values())
        cells = " | ".join(f"{counts[p]} ({counts[p] / total:.2f})" for p in PLACES)
        lines.append(f"| {kind} | {total} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("sets", type=Path, nargs="+")
    args = parser.parse_args(argv)
    print(table(measure(args.store, args.sets)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
