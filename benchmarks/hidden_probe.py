"""Hidden-state probe: does the reader model's internal state tell answering excerpts apart better than
its YES/NO reply does?

The reader asks the 1.5B model "does this search result contain the information the user asked for?"
and keeps P(YES) of its first token. This measures another way of reading the same prompt: the model's
last hidden state at the point where it would reply (1,536 numbers, from llama.cpp in embedding mode
with last-token pooling), weighed by a logistic regression fitted on labelled excerpts (a "linear
probe"). It measured whether the probe was worth building (2026-12-07); the assistant's own probe
is fitted by `benchmarks.fit_policy` (assistant/answering/probe.py), and this stays as the
excerpt-level measure of it on a set held out.

    .venv/bin/python -m benchmarks.hidden_probe --features F [--vectors V] [--test-set NAME] [--limit N]

- Rows: for each question in `--features` (written by `benchmarks.fit_policy`), the excerpt `ask`
  reads: the read row the shipped policy's lexical model ranks first. Its excerpt is found in the
  `reader-replies.jsonl` beside the features file, as `benchmarks.reader_probe` finds it.
- Hidden states are collected once into `--vectors` (about 3 s an excerpt here with the cores to
  itself: llama.cpp's embedding mode reuses no cached prompt; the 1,019 of 2026-12-07 took 92 minutes
  with other work running). A stopped run goes on where it stopped, and `--limit` stops after that
  many new ones. Rows are taken in a fixed shuffled order, so a partial collection is a random sample.
- Training rows are every set but `--test-set`; the probe's L2 penalty is chosen by 5-fold
  cross-validation over training questions only. Reported, for the training rows cross-validated and
  for the test set (a set nothing was chosen on; never a blind set):
  - AUROC of the reader's P(YES) against the probe's score, answering excerpts against the rest;
  - a logistic regression over the answer policy's twelve reader features, with and without the
    probe's score, and with the probe in place of the two extraction features (`COMBINATIONS`; the
    threshold placed where the training rows' cross-validated balanced accuracy is best): AUROC and
    balanced accuracy, with 95% bootstrap intervals over the test rows, and paired intervals of each
    gain (the same resampled rows scored both ways).

Measured with it (2026-12-07): README, "Measured, not yet built: the reader's hidden state".
"""

from __future__ import annotations

import argparse
import functools
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.policy import EXTRACT_FEATURES, READER_FEATURES, load_policy
from assistant.answering.prompts import Prompt, load_prompt
from assistant.answering.runtime import LocalModel, chat_prompt, model_file
from assistant.config import Settings
from assistant.percentiles import interval
from benchmarks.fit_policy import choose_penalty, fit, fit_wide, out_of_fold
from benchmarks.reader_probe import auroc, read_rows

POLICY_L2 = 1.0  # the answer policy's own penalty (fit_policy.L2)


def runtime_rows(features: Sequence[dict[str, Any]], replies: Sequence[str]) -> list[dict[str, Any]]:
    """One read row per question, the one `ask` reads (the lexical model's first), in a fixed shuffle."""
    lexical = load_policy().lexical_model
    questions: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in read_rows(features, replies):
        questions.setdefault((row["set"], row["line"]), []).append(row)
    chosen = [max(rows, key=lambda r: lexical.probability(r["features"])) for rows in questions.values()]
    random.Random(0).shuffle(chosen)
    return chosen


def key(row: dict[str, Any]) -> tuple[str, int, str]:
    return (row["set"], row["line"], row["doc_id"])


class HiddenStates:
    """The joined model as the assistant loads it (`LocalModel`, embedding mode): the last token's
    hidden state of a prompt."""

    def __init__(self, threads: int = 2) -> None:
        self._model = LocalModel(model_file(Settings(_env_file=None).model_dir), threads=threads)

    def __call__(self, prompt: str) -> list[float]:
        return self._model.hidden_state(prompt)


@functools.cache
def _yes_no_prompt() -> Prompt:
    return load_prompt("reader-answers")  # read once, not once a row


def reader_prompt(row: dict[str, Any]) -> str:
    """The YES/NO prompt exactly as the reader sends it for this row's excerpt."""
    messages = _yes_no_prompt().messages(question=row["question"], brief=row["brief"], excerpt=row["excerpt"])
    return chat_prompt(messages)


def collect(
    rows: Sequence[dict[str, Any]], out: Path, state: Callable[[str], list[float]], limit: int | None = None
) -> None:
    """Append the hidden state of each row's prompt to `out`, skipping rows it already holds."""
    done = set()
    if out.exists():
        done = {key(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines()}
    added = 0
    with out.open("a", encoding="utf-8") as sink:
        for row in rows:
            if key(row) in done or (limit is not None and added >= limit):
                continue
            vector = state(reader_prompt(row))
            record = {
                "set": row["set"],
                "line": row["line"],
                "doc_id": row["doc_id"],
                "label": row["label"],
                "direction": row["direction"],
                "state": [round(v, 4) for v in vector],
            }
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            added += 1
            if added % 50 == 0:
                print(f"  {added} hidden states collected", flush=True)


def scores(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return x @ weights + bias


def separation(y: np.ndarray, s: np.ndarray) -> float:
    return auroc([float(v) for v in s[y == 1]], [float(v) for v in s[y == 0]])


def balanced(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    said = s >= threshold
    return 0.5 * (float(said[y == 1].mean()) + float((~said[y == 0]).mean()))


def best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    return max(np.unique(s), key=lambda t: balanced(y, s, float(t)))


Measure = Callable[[np.ndarray, np.ndarray], float]


def bootstrap(
    y: np.ndarray, s: np.ndarray, measure: Measure, rounds: int = 1000, other: np.ndarray | None = None
) -> tuple[float, float] | None:
    """95% interval of `measure` over resampled rows; with `other`, of measure(s) - measure(other) on
    the same resampled rows (a paired interval: does one score beat the other on these rows?)."""
    pick = random.Random(0)
    draws = []
    for _ in range(rounds):
        rows = np.array([pick.randrange(len(y)) for _ in range(len(y))])
        if 0 < y[rows].sum() < len(rows):
            value = measure(y[rows], s[rows])
            draws.append(value if other is None else value - measure(y[rows], other[rows]))
    return interval(draws)


def by_direction(
    rows: Sequence[dict[str, Any]], y: np.ndarray, reader: np.ndarray, probe: np.ndarray
) -> dict[str, dict[str, Any]]:
    """AUROC of the reader and of the probe for each direction (question language - excerpt language)
    that has both answering and other excerpts."""
    found = {}
    for name in sorted({r["direction"] for r in rows}):
        idx = np.array([i for i, r in enumerate(rows) if r["direction"] == name])
        if len(set(y[idx].tolist())) == 2:
            found[name] = {
                "rows": len(idx),
                "auroc_reader": round(separation(y[idx], reader[idx]), 3),
                "auroc_probe": round(separation(y[idx], probe[idx]), 3),
            }
    return found


def by_kind(
    rows: Sequence[dict[str, Any]],
    features: dict[tuple[str, int, str], dict[str, Any]],
    y: np.ndarray,
    reader: np.ndarray,
    probe: np.ndarray,
    least: int = 10,
) -> dict[str, dict[str, Any]]:
    """For each kind of question no brief answers (near-miss, off-topic: the set's `kind`), the AUROC
    of the reader and of the probe between answering excerpts (all, then each kind of answerable
    question with at least `least` of them) and that kind's excerpts: can it tell a paraphrase the
    brief answers from a near-miss on the same brief?"""
    kinds = [str(features[key(r)].get("kind")) for r in rows]
    answerable = [bool(features[key(r)].get("answerable")) for r in rows]
    found: dict[str, dict[str, Any]] = {}
    for refused in sorted({k for k, a in zip(kinds, answerable, strict=True) if not a}):
        negatives = [
            i
            for i, (k, a) in enumerate(zip(kinds, answerable, strict=True))
            if k == refused and not a and not y[i]
        ]
        if len(negatives) < least:
            continue
        groups = {"answering": [i for i in range(len(rows)) if y[i] == 1]}
        for kind in sorted(set(kinds)):
            chosen = [i for i in groups["answering"] if kinds[i] == kind]
            if len(chosen) >= least:
                groups[f"answering {kind}"] = chosen
        found[refused] = {
            name: {
                "rows": [len(positives), len(negatives)],
                "auroc_reader": round(auroc(reader[positives].tolist(), reader[negatives].tolist()), 3),
                "auroc_probe": round(auroc(probe[positives].tolist(), probe[negatives].tolist()), 3),
            }
            for name, positives in groups.items()
        }
    return found


# The combinations weighed by a logistic regression like the policy's: its reader features, the same
# with the probe's score, and the probe in place of the extraction (which costs a second model call).
WITHOUT_EXTRACTION = tuple(n for n in READER_FEATURES if n not in EXTRACT_FEATURES)
COMBINATIONS = {
    "policy_features": (READER_FEATURES, False),
    "policy_features_and_probe": (READER_FEATURES, True),
    "probe_instead_of_extraction": (WITHOUT_EXTRACTION, True),
}


def paired_balanced(
    y: np.ndarray, s: np.ndarray, cut: float, base: np.ndarray, base_cut: float
) -> tuple[float, float] | None:
    """95% interval of the balanced accuracy of `s` at `cut` minus that of `base` at `base_cut`."""
    offset = base_cut - cut  # both decided at one cut: move `s` onto `base`'s
    return bootstrap(y, s + offset, lambda yy, v: balanced(yy, v, base_cut), other=base)


def analyse(
    records: Sequence[dict[str, Any]], features: dict[tuple[str, int, str], dict[str, Any]], test_set: str
) -> dict[str, Any]:
    """The figures described in the module's docstring."""
    train = [r for r in records if r["set"] != test_set]
    test = [r for r in records if r["set"] == test_set]

    def arrays(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        states = np.array([r["state"] for r in rows], dtype=float)
        labels = np.array([int(r["label"]) for r in rows])
        return states, labels, [f"{r['set']}:{r['line']}" for r in rows]

    def policy(rows: list[dict[str, Any]], names: Sequence[str], probe: np.ndarray | None) -> np.ndarray:
        x = np.array([[features[key(r)]["features"].get(n, 0.0) for n in names] for r in rows])
        return x if probe is None else np.c_[x, probe]

    xs, ys, gs = arrays(train)
    l2, by_penalty = choose_penalty(xs, ys, gs)
    probe_cv = out_of_fold(xs, ys, gs, l2)
    reader_train = policy(train, ["reader"], None)[:, 0]
    cross_validated = {"auroc_reader": separation(ys, reader_train), "auroc_probe": separation(ys, probe_cv)}
    held: dict[str, np.ndarray] = {}
    for name, (names, with_probe) in COMBINATIONS.items():
        held[name] = out_of_fold(policy(train, names, probe_cv if with_probe else None), ys, gs, POLICY_L2)
        cross_validated[f"{name}_auroc"] = separation(ys, held[name])
        cross_validated[f"{name}_balanced"] = balanced(ys, held[name], best_threshold(ys, held[name]))
    report: dict[str, Any] = {
        "train_rows": len(train),
        "train_answering": int(ys.sum()),
        "penalties": {str(k): round(v, 3) for k, v in by_penalty.items()},
        "penalty": l2,
        "cross_validated": {k: round(v, 3) for k, v in cross_validated.items()},
    }
    if not test:
        return report
    xt, yt, _ = arrays(test)
    probe_test = scores(xt, *fit_wide(xs, ys, l2))
    reader_test = policy(test, ["reader"], None)[:, 0]

    def with_interval(s: np.ndarray, measure: Measure) -> dict[str, Any]:
        low_high = bootstrap(yt, s, measure)
        return {
            "value": round(measure(yt, s), 3),
            "ci95": [round(v, 3) for v in low_high] if low_high else None,
        }

    found: dict[str, Any] = {
        "set": test_set,
        "rows": len(test),
        "answering": int(yt.sum()),
        "auroc_reader": with_interval(reader_test, separation),
        "auroc_probe": with_interval(probe_test, separation),
    }
    tested: dict[str, np.ndarray] = {}
    cuts: dict[str, float] = {}
    for name, (names, with_probe) in COMBINATIONS.items():
        model = fit(policy(train, names, probe_cv if with_probe else None), ys, POLICY_L2)
        s = tested[name] = scores(policy(test, names, probe_test if with_probe else None), *model)
        cut = cuts[name] = best_threshold(ys, held[name])  # placed on the training rows, never the test's
        found[f"{name}_auroc"] = with_interval(s, separation)
        found[f"{name}_balanced"] = with_interval(s, lambda y, v, cut=cut: balanced(y, v, cut))
    found["by_direction"] = by_direction(test, yt, reader_test, probe_test)
    found["by_kind"] = by_kind(test, features, yt, reader_test, probe_test)
    gain = bootstrap(yt, probe_test, separation, other=reader_test)
    found["auroc_probe_minus_reader_ci95"] = [round(v, 3) for v in gain] if gain else None
    for name, model_scores in tested.items():
        if name != "policy_features":
            cut, base_cut = cuts[name], cuts["policy_features"]
            gain = paired_balanced(yt, model_scores, cut, tested["policy_features"], base_cut)
            found[f"{name}_minus_policy_features_balanced_ci95"] = (
                [round(v, 3) for v in gain] if gain else None
            )
    report["test"] = found
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--features", type=Path, required=True, help="fit_policy's --features file")
    parser.add_argument("--vectors", type=Path, help="hidden states (default: beside --features)")
    parser.add_argument("--test-set", default="qa-train-users3.jsonl", help="the set held out (file name)")
    parser.add_argument("--limit", type=int, help="collect at most this many new hidden states")
    parser.add_argument("--no-collect", action="store_true", help="analyse the states already collected")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    vectors = args.vectors or args.features.with_name("hidden-states.jsonl")
    features = [json.loads(line) for line in args.features.read_text(encoding="utf-8").splitlines()]
    replies = args.features.with_name("reader-replies.jsonl").read_text(encoding="utf-8").splitlines()
    rows = runtime_rows(features, replies)
    if not args.no_collect:
        print(f"{len(rows)} excerpts the assistant reads; collecting their hidden states into {vectors}")
        collect(rows, vectors, HiddenStates(), args.limit)
    records = [json.loads(line) for line in vectors.read_text(encoding="utf-8").splitlines()]
    by_key = {key(r): r for r in features}
    wanted = {key(r) for r in rows}
    report = analyse([r for r in records if key(r) in wanted], by_key, args.test_set)
    report["collected"] = f"{len(records)} of {len(rows)}"
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
