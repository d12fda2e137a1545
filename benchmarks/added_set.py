"""What one training set adds to the answer policy's fit, from the features `fit_policy` wrote.

    .venv/bin/python -m benchmarks.added_set qa-train-users2.jsonl [--features FILE] [--splits 6]

Prints three comparisons, each from held-out decisions only:
1. the policy fitted without the set, deciding the set's questions (they are unseen by it);
2. the other questions cross-validated with and without the set in every training fold (the same
   folds both ways, several random splits averaged), and how many questions got better or worse;
3. the set's questions cross-validated with the other questions in every training fold, against 1.
No model is asked: the reader's replies are already in the features file. For a set the shipped
fit does not read, write a features file that holds it first: `python -m benchmarks.fit_policy` with
the set added, `--features` and `--out` in a scratch folder beside a copy of `reader-replies.jsonl`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.fit_policy import _by_question, balanced, figures, held_out, outcomes, train

FOLDS = 5  # as `make fit-policy` cross-validates


def line(name: str, results: list[Any]) -> str:
    f = figures(results)
    return (
        f"{name:44s} n={len(results)} right {f['right']:.3f} false refusals {f['false_refusal_rate']:.3f} "
        f"refused {f['refusal_recall']:.3f} precision {f['citation_precision']:.3f} "
        f"balanced {balanced(results):.4f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "set", help="the set's file name as fit_policy recorded it, e.g. qa-train-users2.jsonl"
    )
    parser.add_argument("--features", type=Path, default=Path("benchmarks/results/policy-features.jsonl"))
    parser.add_argument("--splits", type=int, default=6)
    args = parser.parse_args(argv)
    rows = [json.loads(text) for text in args.features.read_text(encoding="utf-8").splitlines()]
    questions = _by_question(rows)
    added = {k: v for k, v in questions.items() if k[0] == args.set}
    others = {k: v for k, v in questions.items() if k[0] != args.set}
    if not added:
        parser.error(
            f"no question of {args.set} in {args.features}: write a features file with it first"
            " (benchmarks.fit_policy with the set added; see this module's help)"
        )
    without = train(list(others.values()), True)
    unseen = dict(
        zip(
            added,
            outcomes(list(added.values()), [without.predict(q) for q in added.values()], without.threshold),
            strict=True,
        )
    )
    print(line(f"fitted without {args.set}, on it", list(unseen.values())))
    for name, target, extra, baseline in (
        ("the other questions", others, added, None),
        (args.set, added, others, unseen),
    ):
        before: list[Any] = []
        after: list[Any] = []
        better = worse = 0
        for seed in range(args.splits):
            old = baseline if baseline is not None else held_out(target, True, FOLDS, seed)
            new = held_out(target, True, FOLDS, seed, extra)
            before += list(old.values())
            after += list(new.values())
            better += sum(new[k]["right"] and not old[k]["right"] for k in old)
            worse += sum(old[k]["right"] and not new[k]["right"] for k in old)
        print(line(f"{name}: before", before))
        print(line(f"{name}: with the other side in training", after))
        print(f"  a split: {better / args.splits:.1f} questions better, {worse / args.splits:.1f} worse")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
