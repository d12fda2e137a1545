"""Reader probe: does another reader prompt tell answering excerpts from the rest better, before a refit?

A refit of the policy (`benchmarks.fit_policy`) with a new reader prompt reads every excerpt again
(about 7 s a question: most of an hour). This asks the reader again only about the excerpts the last
fit read, with the YES/NO prompt in `--prompts` (a folder holding `reader-answers.txt`, written as
`assistant/templates/reader-answers.txt` is), and reports for each direction of question and excerpt
language ("ko-en": a Korean question, an English excerpt):

- the AUROC of P(YES) between the excerpts of briefs that answer and the rest, for the fitted prompt
  (its replies as the fit recorded them) and for the new one;
- the policy's cross-validated figures (`fit_policy.cross_validate`, several fold splits averaged)
  with the new P(YES) in place of the old and every other feature as fitted, on the questions whose
  read excerpts were all asked again (all of them without `--directions` and `--limit`). The
  extraction's features are not asked again, so this tells whether a prompt is worth a refit, not
  what it gives. Judge a prompt by this line, not by its AUROC alone: a reply can separate better
  on its own and add nothing to the policy's other features (the excerpt before the question did).

    .venv/bin/python -m benchmarks.reader_probe --prompts DIR [--directions ko-ko ko-en] [--limit N]

The excerpt of a fitted row is found in `reader-replies.jsonl` by its question, its brief and the
reply recorded in the features (the replies file keeps every excerpt any earlier fit read). The new
replies are kept in `--out`, so a stopped probe goes on where it stopped. Never give it a blind set:
it reads only the fit's rows, which are the dev sets'.

Measured with it (2026-12-06, docs/STATUS.md): the YES/NO prompt in Korean for Korean questions, and
the excerpt before the question; neither was kept.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.answering.policy import log_odds
from assistant.answering.reader import Excerpt, Reader, settings_reader
from assistant.config import Settings
from assistant.reading.text import question_language
from benchmarks import fit_policy

RESULTS = Path("benchmarks/results")
TOLERANCE = 1e-6  # how close a recorded reply's log-odds must be to the feature to be its excerpt


def direction(question: str, excerpt: str) -> str:
    return f"{question_language(question)}-{question_language(excerpt)}"


def read_rows(features: Sequence[dict[str, Any]], replies: Iterable[str]) -> list[dict[str, Any]]:
    """The fitted rows the reader read, each with the brief label and excerpt it was shown."""
    shown: dict[str, list[tuple[str, str, float]]] = {}
    for line in replies:
        record = json.loads(line)
        parts = record["key"].split("\x1f")
        if "p" in record and len(parts) == 3:
            shown.setdefault(parts[0], []).append((parts[1], parts[2], log_odds(record["p"])))
    found = []
    for row in features:
        value = row["features"].get("reader")
        if value is None:
            continue
        match = next(
            (
                (brief, text)
                for brief, text, logit in shown.get(row["question"], [])
                if abs(logit - value) <= TOLERANCE and _names(brief, row["doc_id"])
            ),
            None,
        )
        if match is not None:
            brief, text = match
            found.append(
                {**row, "brief": brief, "excerpt": text, "direction": direction(row["question"], text)}
            )
    return found


def _names(label: str, doc_id: str) -> bool:
    """Whether a brief's label ("vol.697 “…”", or the file's name for an unnumbered brief) is doc_id's."""
    head = label.split(" ", 1)[0]
    return head in (f"vol.{doc_id}", doc_id)


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(a random positive scores above a random negative), ties counting half."""
    if not positives or not negatives:
        return math.nan
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def separation(scored: Sequence[tuple[float, int]]) -> float:
    """The AUROC of (score, label) pairs."""
    return auroc([v for v, y in scored if y], [v for v, y in scored if not y])


def ask_again(reader: Reader, rows: Sequence[dict[str, Any]], out: Path) -> dict[tuple[str, str, str], float]:
    """P(YES) of the new prompt per (question, brief, excerpt), asked only where `out` has none."""
    known: dict[tuple[str, str, str], float] = {}
    if out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            known[(record["question"], record["brief"], record["excerpt"])] = record["p"]
    with out.open("a", encoding="utf-8") as sink:
        for row in rows:
            key = (row["question"], row["brief"], row["excerpt"])
            if key in known:
                continue
            replies = reader.answers(row["question"], [Excerpt(row["brief"], row["excerpt"])])
            if replies is None:
                raise SystemExit("the reader gave no reply: is ASSISTANT_READER=none set?")
            known[key] = replies[0]
            record = {"question": key[0], "brief": key[1], "excerpt": key[2], "p": replies[0]}
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
    return known


def with_new_replies(
    features: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], new: dict[tuple[str, str, str], float]
) -> list[dict[str, Any]]:
    """The fitted rows with the new prompt's reader feature where it was asked."""
    replaced = {
        (r["set"], r["line"], r["doc_id"]): log_odds(new[(r["question"], r["brief"], r["excerpt"])])
        for r in rows
        if (r["question"], r["brief"], r["excerpt"]) in new
    }
    out = []
    for row in features:
        value = replaced.get((row["set"], row["line"], row["doc_id"]))
        out.append(row if value is None else {**row, "features": {**row["features"], "reader": value}})
    return out


def covered(features: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fitted rows of the questions none of whose read excerpts was left out of `rows` (questions
    with nothing read come too: they are the same for either prompt). A policy fitted on old and new
    replies mixed would weigh two scales as one; a partial probe is cross-validated on these alone."""
    asked = {(r["set"], r["line"], r["doc_id"]) for r in rows}
    return [
        row
        for question in fit_policy._by_question(list(features)).values()
        if all((r["set"], r["line"], r["doc_id"]) in asked for r in question if "reader" in r["features"])
        for row in question
    ]


def cross_validated(rows: list[dict[str, Any]], folds: int, splits: int) -> dict[str, float]:
    found = [fit_policy.figures(fit_policy.cross_validate(rows, True, folds, seed)) for seed in range(splits)]
    return {name: round(statistics.mean(f[name] for f in found), 3) for name in found[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=Path, required=True, help="folder with the new reader-answers.txt")
    parser.add_argument("--features", type=Path, default=RESULTS / "policy-features.jsonl")
    parser.add_argument("--directions", nargs="*", help="only these (e.g. ko-ko ko-en); all by default")
    parser.add_argument("--limit", type=int, help="ask about a random sample of this many excerpts (seed 0)")
    parser.add_argument("--out", type=Path, help="the new replies (default: beside --prompts)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--splits", type=int, default=5)
    args = parser.parse_args(argv)
    features = [json.loads(line) for line in args.features.read_text(encoding="utf-8").splitlines()]
    replies = args.features.with_name("reader-replies.jsonl").read_text(encoding="utf-8").splitlines()
    rows = read_rows(features, replies)
    skipped = sum(1 for r in features if "reader" in r["features"]) - len(rows)
    if args.directions:
        rows = [r for r in rows if r["direction"] in args.directions]
    if args.limit and args.limit < len(rows):
        rows = random.Random(0).sample(rows, args.limit)
    reader = settings_reader(Settings(_env_file=None), args.prompts)
    new = ask_again(reader, rows, args.out or args.prompts / "probe-replies.jsonl")
    print(f"{len(rows)} excerpts read again ({skipped} fitted rows whose excerpt was not found)")
    print("| direction | excerpts | answering | AUROC fitted prompt | AUROC new prompt |")
    print("|---|---|---|---|---|")
    for name in [*sorted({r["direction"] for r in rows}), "all"]:
        group = [r for r in rows if name in ("all", r["direction"])]
        fresh = [log_odds(new[(r["question"], r["brief"], r["excerpt"])]) for r in group]
        before = separation([(r["features"]["reader"], r["label"]) for r in group])
        after = separation([(v, r["label"]) for v, r in zip(fresh, group, strict=True)])
        answering = sum(r["label"] for r in group)
        print(f"| {name} | {len(group)} | {answering} | {before:.3f} | {after:.3f} |")
    kept = covered(features, rows)
    questions = len(fit_policy._by_question(kept))
    print(f"policy, cross-validated on the {questions} questions whose every read excerpt was asked again:")
    print("  fitted prompt:", cross_validated(kept, args.folds, args.splits))
    changed = with_new_replies(kept, rows, new)
    print("  new prompt:   ", cross_validated(changed, args.folds, args.splits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
