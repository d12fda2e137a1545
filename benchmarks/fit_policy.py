"""Fit the answer policy (assistant/answering/policy.json) to labelled questions, by cross-validation.

    .venv/bin/python -m benchmarks.fit_policy --store STORE SET.jsonl ... [--reader local|none]

1. Features: every question goes through retrieval and evidence exactly as in `ask`; for each of its
   top briefs the policy's features are recorded in --features, with the reader's replies for the
   `FIT_READS` briefs the current policy would read first (the reader's replies are cached beside it
   in reader-replies.jsonl, so a refit asks the model only about excerpts it has not read). Label:
   the brief is one the line expects. The reader model is fitted on the briefs read.
   The model's hidden states for those excerpts are kept too (reader-states.jsonl.gz, about 3 s each
   to gather), and the reader's probe (assistant/answering/probe.py) is fitted on them first: each read
   row's `probe` feature is the score of a probe fitted on the other questions' rows (5 folds by
   question, the penalty chosen by the same folds), so the policy learns to trust it as much as it
   deserves on questions it did not see; the probe fitted on all the rows is written to --probe-out.
2. Cross-validation: the questions are split into k folds (whole questions, never briefs of one
   question apart); on each, a logistic regression is fitted on the other folds, its threshold is
   placed where the balanced accuracy on those folds is best (answerable questions answered from an
   expected brief, unanswerable ones refused), and the held-out fold is decided with both. The
   figures printed are those held-out decisions, with 95% bootstrap intervals.
3. The final model is fitted on all questions and written, with the data, the command and the
   cross-validated figures, to --out (by default the package's policy.json). --drop leaves reader
   features out (e.g. `--drop extract grounded`: the model is then not asked to write at all).

With `--first probe` (as `make fit-policy` runs it), a model over the probe and the lexical features
is fitted too, with a band of its probabilities outside which it decides alone (`BAND_SHARE`): `ask`
then asks for the extraction only for briefs inside the band. The cross-validated figures are those of
this two-step decision, with the share of questions that needed the second reading.

The probe's rows also shape the folds of step 2 a little: a held-out question's probe score comes
from a probe that never saw it, but the training rows' scores come from probes that may have.

Never give it a blind set (tests/data/blind/, tests/data/blind2/): they measure what this fit produces.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.policy import LEXICAL_FEATURES, PROBE_FEATURES, READER_FEATURES, reading_mask
from assistant.answering.probe import PROBE_FILE, Probe, clipped, prompt_digest
from assistant.answering.prompts import load_prompt
from assistant.answering.reader import EXTRACT_TOKENS, Extraction, grounding
from assistant.answering.runtime import MODEL_NAME
from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.library import Library
from assistant.percentiles import interval

POLICY = Path(__file__).resolve().parents[1] / "assistant" / "answering" / "policy.json"
PROBE = POLICY.with_name(PROBE_FILE)
L2 = 1.0
PENALTIES = (30.0, 100.0, 300.0, 1000.0, 3000.0)  # L2 penalties tried for the probe
PROBE_FOLDS = 5
# The model's hidden states for the excerpts read, beside reader-replies.jsonl (gzip: 1,536 numbers each).
STATES_FILE = "reader-states.jsonl.gz"
# The extraction's reply depends on how many tokens it may write: replies cached under another limit
# are not reused ("extract" alone was the 32-token limit, before 2026-12-04).
_EXTRACT_KEY = "extract" if EXTRACT_TOKENS == 32 else f"extract-{EXTRACT_TOKENS}"
# Briefs read per question: the likeliest by the current policy's lexical model that pass its screen.
# `ask` reads one (MAX_READS); the runner-up is read too, so that a fold whose lexical model ranks the
# two the other way still finds the reader's features, and the reader model sees the near misses.
FIT_READS = 2


class CachedReader:
    """The configured reader, its replies kept on disk by (question, brief, excerpt): a refit after a
    change of features or evidence asks the model only about excerpts it has not read yet."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self.states_path = path.with_name(STATES_FILE)
        self.hidden: dict[str, list[float]] = {}
        if self.states_path.exists():
            with gzip.open(self.states_path, "rt", encoding="utf-8") as rows:
                for line in rows:
                    row = json.loads(line)
                    self.hidden[row["key"]] = row["state"]
        self.known: dict[str, float] = {}
        self.translated: dict[str, str | None] = {}
        self.extracted: dict[str, Extraction] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if "translation" in row:
                    self.translated[row["key"]] = row["translation"]
                elif "extraction" in row:  # grounded afresh: its rule may have changed since
                    found = row["extraction"]
                    excerpt = row["key"].rsplit("\x1f", 1)[-1]
                    self.extracted[row["key"]] = Extraction(
                        found["not_stated"], grounding(found["text"], excerpt), found["text"]
                    )
                else:
                    self.known[row["key"]] = row["p"]

    def answers(self, question: str, excerpts: Sequence[Any]) -> list[float] | None:
        keys = ["\x1f".join((question, e.brief, e.text)) for e in excerpts]
        missing = [e for e, k in zip(excerpts, keys, strict=True) if k not in self.known]
        if missing:
            fresh = self.inner.answers(question, missing) or []
            with self.path.open("a", encoding="utf-8") as out:
                for e, p in zip(missing, fresh, strict=True):
                    key = "\x1f".join((question, e.brief, e.text))
                    self.known[key] = p
                    out.write(json.dumps({"key": key, "p": p}, ensure_ascii=False) + "\n")
        return [self.known[k] for k in keys]

    def extracts(self, question: str, excerpts: Sequence[Any]) -> list[Extraction] | None:
        keys = ["\x1f".join((_EXTRACT_KEY, question, e.brief, e.text)) for e in excerpts]
        missing = [e for e, k in zip(excerpts, keys, strict=True) if k not in self.extracted]
        if missing:
            fresh = self.inner.extracts(question, missing) or []
            with self.path.open("a", encoding="utf-8") as out:
                for e, found in zip(missing, fresh, strict=True):
                    key = "\x1f".join((_EXTRACT_KEY, question, e.brief, e.text))
                    self.extracted[key] = found
                    row = {"key": key, "extraction": dataclasses.asdict(found)}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return [self.extracted[k] for k in keys]

    def states(self, question: str, excerpts: Sequence[Any]) -> list[list[float]] | None:
        """The model's hidden states at the end of the YES/NO prompts; None for a reader without any."""
        keys = [_state_key(question, e) for e in excerpts]
        missing = [e for e, k in zip(excerpts, keys, strict=True) if k not in self.hidden]
        if missing:
            gather = getattr(self.inner, "states", None)
            fresh = gather(question, missing) if gather is not None else None
            if fresh is None:
                return None
            with gzip.open(self.states_path, "at", encoding="utf-8") as out:
                for e, state in zip(missing, fresh, strict=True):
                    key = _state_key(question, e)
                    self.hidden[key] = [round(v, 4) for v in state]
                    out.write(json.dumps({"key": key, "state": self.hidden[key]}) + "\n")
        return [self.hidden[k] for k in keys]

    def probes(self, question: str, excerpts: Sequence[Any]) -> list[float] | None:
        """Stand-ins (0): here only the hidden states are gathered; each read row is given its
        probe's score afterwards, by a probe that never saw its question (`cross_fit_probe`)."""
        states = self.states(question, excerpts)
        return None if states is None else [0.0] * len(states)

    def state_of(self, question: str, excerpt: Any) -> list[float] | None:
        return self.hidden.get(_state_key(question, excerpt))

    def supports(self, claim: str, brief: str, passage: str) -> float | None:
        return self.inner.supports(claim, brief, passage)

    def render(self, question: str, brief: str, quotes: Sequence[str], language: str) -> str | None:
        return self.inner.render(question, brief, quotes, language)

    def translate(self, text: str, language: str) -> str | None:
        key = "\x1f".join(("translate", language, text))
        if key not in self.translated:
            self.translated[key] = self.inner.translate(text, language)
            with self.path.open("a", encoding="utf-8") as out:
                row = {"key": key, "translation": self.translated[key]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return self.translated[key]


def _state_key(question: str, excerpt: Any) -> str:
    return "\x1f".join(("state", question, excerpt.brief, excerpt.text))


def collect(store: Path, sets: list[Path], features: Path, reader_name: str) -> list[dict[str, Any]]:
    """One row per (question, candidate brief), written afresh to `features`.

    Retrieval and evidence run again on every fit (they are cheap, and a change to either must reach
    the fit); only the reader's replies are cached, by the text it was shown. A read row whose
    hidden state the model gave holds it under "state" (kept out of `features`: 1,536 numbers).
    """
    settings = Settings(_env_file=None, store_dir=store, reader=reader_name)  # type: ignore[call-arg]
    rows: list[dict[str, Any]] = []
    with Library.open(settings) as library, features.open("w", encoding="utf-8") as out:
        assistant = library.assistant()
        cached = CachedReader(assistant.judge.reader, features.with_name("reader-replies.jsonl"))
        assistant.judge.reader = cached
        for path in sets:
            cases, _ = load_testset(path)
            started = time.perf_counter()
            for n, case in enumerate(cases, start=1):
                if "conversation" in case.extra:
                    continue  # a turn's features depend on the conversation before it
                found = assistant.candidates(case.question, reads=FIT_READS)
                expected = set(case.expected or ())
                base = {
                    "set": path.name,
                    "line": case.line,
                    "question": case.question,
                    "kind": case.extra.get("kind", case.extra.get("group")),
                    "answerable": case.answerable,
                    "expected": sorted(expected),
                    "found": any(c.doc_id in expected for c in found),
                }
                if not found:  # nothing retrieved: a row that the policy can only refuse
                    found_rows = [{**base, "doc_id": None, "label": 0, "features": {}}]
                else:
                    found_rows = [
                        {
                            **base,
                            "doc_id": c.doc_id,
                            "label": int(c.doc_id in expected),
                            "features": c.features,
                        }
                        for c in found
                    ]
                    for row, c in zip(found_rows, found, strict=True):
                        state = cached.state_of(case.question, c.excerpt) if "probe" in c.features else None
                        if state is not None:
                            row["state"] = state
                for row in found_rows:
                    out.write(json.dumps(_without_state(row), ensure_ascii=False) + "\n")
                out.flush()
                rows += found_rows
                if n % 10 == 0:
                    rate = (time.perf_counter() - started) / n
                    print(f"  {path.name}: {n}/{len(cases)} ({rate:.1f} s a question)", file=sys.stderr)
    return rows


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (features standardised inside)."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w, b = newton((x - mean) / scale, y, l2)
    weights = w / scale
    bias = float(b - (w * mean / scale).sum())
    return weights, bias


def newton(z: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Logistic regression of y on z with an L2 penalty on the weights (not the bias), by Newton."""
    a = np.hstack([np.ones((len(z), 1)), z])
    w = np.zeros(a.shape[1])
    penalty = np.eye(a.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        gradient = a.T @ (p - y) + penalty @ w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0])


def folds_of(groups: Sequence[str], folds: int = PROBE_FOLDS) -> list[np.ndarray]:
    """Row indices of each fold; a question's rows stay together (fixed seed)."""
    names = sorted(set(groups))
    random.Random(0).shuffle(names)
    fold = {name: i % folds for i, name in enumerate(names)}
    return [np.array([i for i, g in enumerate(groups) if fold[g] == k], dtype=int) for k in range(folds)]


def fit_wide(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """`fit` for more features than rows, solved in the rows' span: an L2-penalised solution lies
    there, so the same weights come out of a Newton step over as many numbers as rows instead of
    1,536 (about 20 times faster here)."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    if z.shape[1] <= z.shape[0]:
        w, b = newton(z, y, l2)
    else:
        _, _, basis = np.linalg.svd(z, full_matrices=False)  # orthonormal rows spanning z's rows
        beta, b = newton(z @ basis.T, y, l2)
        w = basis.T @ beta
    return w / scale, float(b - (w * mean / scale).sum())


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: Sequence[str], l2: float) -> np.ndarray:
    """Each row's score (log-odds) from a model fitted on the other folds (`folds_of`)."""
    out = np.zeros(len(y))
    for test in folds_of(groups):
        train = np.setdiff1d(np.arange(len(y)), test)
        weights, bias = fit_wide(x[train], y[train], l2)
        out[test] = x[test] @ weights + bias
    return out


def rank_auroc(y: np.ndarray, s: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counting half."""
    positives, negatives = s[y == 1], s[y == 0]
    if not len(positives) or not len(negatives):
        return math.nan
    above = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (
        positives[:, None] == negatives[None, :]
    ).sum()
    return float(above / (len(positives) * len(negatives)))


def choose_penalty(x: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> tuple[float, dict[float, float]]:
    """The probe's L2 penalty with the best out-of-fold AUROC, and the AUROC of each tried."""
    found = {l2: rank_auroc(y, out_of_fold(x, y, groups, l2)) for l2 in PENALTIES}
    return max(found, key=lambda l2: found[l2]), found


def cross_fit_probe(rows: list[dict[str, Any]]) -> Probe | None:
    """Fit the reader's probe on the read rows' hidden states ("state"); each such row's `probe`
    feature becomes the score of the probe fitted without its question's fold. The probe fitted on
    all the rows is returned (None when no row has a state: a reader without hidden states)."""
    read = [r for r in rows if "state" in r]
    if not read:
        return None
    x = np.array([r["state"] for r in read], dtype=float)
    y = np.array([r["label"] for r in read], dtype=float)
    groups = [f"{r['set']}:{r['line']}" for r in read]
    l2, by_penalty = choose_penalty(x, y, groups)
    for row, score in zip(read, out_of_fold(x, y, groups, l2), strict=True):
        row["features"]["probe"] = round(clipped(float(score)), 6)
    weights, bias = fit_wide(x, y, l2)
    source = {
        "command": "python -m benchmarks.fit_policy (with the policy)",
        "rows": len(read),
        "answering": int(y.sum()),
        "penalty": l2,
        "auroc_out_of_fold": {str(k): round(v, 4) for k, v in by_penalty.items()},
        "fitted": time.strftime("%Y-%m-%d"),
    }
    prompt = load_prompt("reader-answers")
    return Probe(tuple(float(w) for w in weights), bias, MODEL_NAME, prompt_digest(prompt), source)


def _without_state(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "state"}


def _matrix(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> np.ndarray:
    return np.array([[float(r["features"].get(n, 0.0)) for n in names] for r in rows])


Questions = dict[tuple[str, int], list[dict[str, Any]]]  # (set, line) -> the question's rows


def _by_question(rows: list[dict[str, Any]]) -> Questions:
    grouped: Questions = {}
    for row in rows:
        grouped.setdefault((row["set"], row["line"]), []).append(row)
    return grouped


def outcomes(
    questions: list[list[dict[str, Any]]],
    probabilities: list[list[float]],
    threshold: float | Sequence[float],
) -> list[dict[str, Any]]:
    """Per question: answered?, right?, and the cited briefs, for a threshold (one for all questions,
    or each question's own)."""
    thresholds = [threshold] * len(questions) if isinstance(threshold, float | int) else list(threshold)
    results = []
    for rows, probs, cut in zip(questions, probabilities, thresholds, strict=True):
        cited = {r["doc_id"] for r, p in zip(rows, probs, strict=True) if r["doc_id"] and p >= cut}
        expected = set(rows[0]["expected"])
        answerable = rows[0]["answerable"]
        right = bool(cited) and cited <= expected if answerable else not cited
        results.append(
            {
                "answerable": answerable,
                "answered": bool(cited),
                "right": right,
                "precision": len(cited & expected) / len(cited) if cited else None,
                "kind": rows[0]["kind"],
            }
        )
    return results


def balanced(results: list[dict[str, Any]]) -> float:
    good = [r["right"] for r in results if r["answerable"]]
    bad = [not r["answered"] for r in results if not r["answerable"]]
    parts = [sum(v) / len(v) for v in (good, bad) if v]
    return sum(parts) / len(parts) if parts else 0.0


def best_threshold(questions: list[list[dict[str, Any]]], probabilities: list[list[float]]) -> float:
    candidates = sorted({round(p, 4) for probs in probabilities for p in probs} | {0.5})
    scored = [(balanced(outcomes(questions, probabilities, t)), -abs(t - 0.5), t) for t in candidates]
    return max(scored)[2]


SCREEN_RECALL = 0.99  # share of answering briefs the screen must still let the reader see
# The cheaper reading first (`--first`): its model decides alone when its probability lies outside a
# band, placed on the training rows so that at most this share of the briefs the whole model accepts
# (below the band) or refuses (above it) is decided the other way by it.
BAND_SHARE = 0.02


@dataclass
class Fitted:
    """A fitted policy: the lexical model, and with `reader`, the reader model and the screen; with
    `first`, the model over the first reading alone and the band of its probabilities outside which it
    decides without the second."""

    lexical: tuple[np.ndarray, float]
    reader: tuple[np.ndarray, float] | None = None
    screen: float = 0.0
    threshold: float = 0.5
    names: tuple[str, ...] = READER_FEATURES  # the reader model's features
    first: tuple[np.ndarray, float] | None = None
    first_names: tuple[str, ...] = ()
    first_threshold: float = 0.5
    band: tuple[float, float] = (0.0, 1.0)

    def read_mask(self, rows: list[dict[str, Any]], lexical: list[float] | None = None) -> list[bool]:
        """Which rows `ask` would read: the likeliest by the lexical model (its probabilities, if
        already computed) that pass the screen and were read."""
        lexical = self._lexical(rows) if lexical is None else lexical
        return [m and _was_read(r) for m, r in zip(reading_mask(lexical, self.screen), rows, strict=True)]

    def predict(self, rows: list[dict[str, Any]], first: bool = False) -> list[float]:
        """Each row's probability: by the reader model (the first reading's, with `first`) for the
        brief read, else by the lexical model."""
        if not rows[0]["doc_id"]:
            return [0.0 for _ in rows]
        lexical = self._lexical(rows)
        if self.reader is None:
            return lexical
        return self._read_or_lexical(rows, lexical, self.read_mask(rows, lexical), first)

    def decide(self, rows: list[dict[str, Any]]) -> tuple[list[float], float, bool]:
        """The probabilities and threshold a question is decided with, and whether the second reading
        was needed: with `first`, the first model's when every brief read lies outside its band."""
        if not rows[0]["doc_id"]:
            return self.predict(rows), self.threshold, False
        if self.first is None:
            return self.predict(rows), self.threshold, self.reader is not None
        lexical = self._lexical(rows)
        mask = self.read_mask(rows, lexical)
        early = self._read_or_lexical(rows, lexical, mask, first=True)
        low, high = self.band
        if all(not (low <= p <= high) for p, m in zip(early, mask, strict=True) if m):
            return early, self.first_threshold, False
        return self._read_or_lexical(rows, lexical, mask, first=False), self.threshold, True

    def _lexical(self, rows: list[dict[str, Any]]) -> list[float]:
        return _probabilities(_matrix(rows, LEXICAL_FEATURES), *self.lexical)

    def _read_or_lexical(
        self, rows: list[dict[str, Any]], lexical: list[float], mask: list[bool], first: bool
    ) -> list[float]:
        names, model = (self.first_names, self.first) if first else (self.names, self.reader)
        assert model is not None
        read = _probabilities(_matrix(rows, names), *model)
        return [r if wanted else lex for r, lex, wanted in zip(read, lexical, mask, strict=True)]


def _was_read(row: dict[str, Any]) -> bool:
    return any(name in row["features"] for name in ("reader", "extract", *PROBE_FEATURES))


def _probabilities(x: np.ndarray, weights: np.ndarray, bias: float) -> list[float]:
    return [float(v) for v in 1.0 / (1.0 + np.exp(-(x @ weights + bias)))]


def train(
    questions: list[list[dict[str, Any]]],
    with_reader: bool,
    names: tuple[str, ...] = READER_FEATURES,
    first: tuple[str, ...] = (),
) -> Fitted:
    """The policy fitted on `questions`; `first`: the reader features asked first (see `Fitted`)."""
    flat = [r for q in questions for r in q if r["doc_id"]]
    labels = np.array([r["label"] for r in flat], dtype=float)
    fitted = Fitted(fit(_matrix(flat, LEXICAL_FEATURES), labels), names=names)
    if with_reader:
        read = [r for r in flat if _was_read(r)]  # the reader models are fitted on the briefs read
        read_labels = np.array([r["label"] for r in read], dtype=float)
        fitted.reader = fit(_matrix(read, names), read_labels)
        positives = sorted(
            p
            for p, r in zip(
                _probabilities(_matrix(flat, LEXICAL_FEATURES), *fitted.lexical), flat, strict=True
            )
            if r["label"]
        )
        fitted.screen = positives[int((1 - SCREEN_RECALL) * len(positives))] if positives else 0.0
    predicted = [fitted.predict(q) for q in questions]
    fitted.threshold = best_threshold(questions, predicted)
    if with_reader and first:
        fitted.first_names = (*first, *LEXICAL_FEATURES)
        fitted.first = fit(_matrix(read, fitted.first_names), read_labels)
        early = [fitted.predict(q, first=True) for q in questions]
        fitted.first_threshold = best_threshold(questions, early)
        whole, alone = [], []  # the read briefs: whole model accepts?, first model's probability
        for q, probs, full_probs in zip(questions, early, predicted, strict=True):
            if q[0]["doc_id"]:
                for p, full, m in zip(probs, full_probs, fitted.read_mask(q), strict=True):
                    if m:
                        whole.append(full >= fitted.threshold)
                        alone.append(p)
        accepted, probs_alone = np.array(whole, dtype=bool), np.array(alone)
        low = float(np.quantile(probs_alone[accepted], BAND_SHARE)) if accepted.any() else 0.0
        high = float(np.quantile(probs_alone[~accepted], 1 - BAND_SHARE)) if (~accepted).any() else 1.0
        fitted.band = (min(low, fitted.first_threshold), max(high, fitted.first_threshold))
    return fitted


def held_out(
    target: Questions,
    with_reader: bool,
    folds: int,
    seed: int = 0,
    extra: Questions | None = None,
    names: tuple[str, ...] = READER_FEATURES,
    first: tuple[str, ...] = (),
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each question of `target` decided by a fit on its other folds (plus all of `extra`, if given);
    each result says whether the second reading was asked (`second`)."""
    keys = list(target)
    order = list(range(len(keys)))
    random.Random(seed).shuffle(order)
    decided: dict[tuple[str, int], dict[str, Any]] = {}
    for fold in range(folds):
        test = [keys[i] for i in order[fold::folds]]
        train_set = [target[keys[i]] for j, i in enumerate(order) if j % folds != fold]
        fitted = train(train_set + list((extra or {}).values()), with_reader, names, first)
        made = [fitted.decide(target[k]) for k in test]
        decisions = outcomes([target[k] for k in test], [m[0] for m in made], [m[1] for m in made])
        for key, decision, m in zip(test, decisions, made, strict=True):
            decided[key] = {**decision, "second": m[2]}
    return decided


def cross_validate(
    rows: list[dict[str, Any]],
    with_reader: bool,
    folds: int,
    seed: int = 0,
    names: tuple[str, ...] = READER_FEATURES,
    first: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    return list(held_out(_by_question(rows), with_reader, folds, seed, names=names, first=first).values())


def figures(sample: list[dict[str, Any]]) -> dict[str, float]:
    """Citation precision, false refusals, refusals of unanswerable questions and right answers."""
    answerable = [r for r in sample if r["answerable"]]
    unanswerable = [r for r in sample if not r["answerable"]]
    precisions = [r["precision"] for r in answerable if r["precision"] is not None]
    return {
        "citation_precision": float(np.mean(precisions)) if precisions else math.nan,
        "false_refusal_rate": float(np.mean([not r["answered"] for r in answerable]))
        if answerable
        else math.nan,
        "refusal_recall": float(np.mean([not r["answered"] for r in unanswerable]))
        if unanswerable
        else math.nan,
        "right": float(np.mean([r["right"] for r in sample])) if sample else math.nan,
    }


def summary(results: list[dict[str, Any]], seed: int = 0, rounds: int = 1000) -> dict[str, Any]:
    """The figures the issue asks for, each with a 95% bootstrap interval over questions."""

    point = figures(results)
    rng = random.Random(seed)
    draws = [figures([rng.choice(results) for _ in results]) for _ in range(rounds)]
    out: dict[str, Any] = {"questions": len(results)}
    for name, value in point.items():
        low, high = interval(d[name] for d in draws if not math.isnan(d[name])) or (math.nan, math.nan)
        out[name] = {"value": round(value, 3), "ci95": [round(low, 3), round(high, 3)]}
    return out


def split_spread(
    rows: list[dict[str, Any]],
    with_reader: bool,
    folds: int,
    splits: int,
    names: tuple[str, ...] = READER_FEATURES,
    first: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The headline figures under `splits` other random assignments of questions to folds: which
    questions share a fold moves them by about a point, so two fits closer than this spread are
    not told apart by these data (the bootstrap intervals cover the questions, not the split)."""
    measures = ("right", "false_refusal_rate", "refusal_recall")
    found = [
        figures(cross_validate(rows, with_reader, folds, seed, names, first)) for seed in range(1, splits + 1)
    ]
    return {
        "splits": splits,
        **{m: [round(min(f[m] for f in found), 3), round(max(f[m] for f in found), 3)] for m in measures},
    }


def final_model(
    rows: list[dict[str, Any]],
    with_reader: bool,
    names: tuple[str, ...] = READER_FEATURES,
    first: tuple[str, ...] = (),
) -> dict[str, Any]:
    fitted = train(list(_by_question(rows).values()), with_reader, names, first)

    def model(names: Sequence[str], weights: np.ndarray, bias: float, threshold: float) -> dict[str, Any]:
        return {
            "features": list(names),
            "weights": {n: round(float(w), 6) for n, w in zip(names, weights, strict=True)},
            "bias": round(bias, 6),
            "threshold": round(threshold, 4),
        }

    if fitted.reader is None:
        return {"model": model(LEXICAL_FEATURES, *fitted.lexical, fitted.threshold)}
    found = {"model": model(names, *fitted.reader, fitted.threshold), "screen": round(fitted.screen, 4)}
    if fitted.first is not None:
        found["first"] = {
            **model(fitted.first_names, *fitted.first, fitted.first_threshold),
            "band": [round(v, 4) for v in fitted.band],
        }
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--features", type=Path, default=Path("benchmarks/results/policy-features.jsonl"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--splits", type=int, default=10, help="other random fold splits, for how much the figures move"
    )
    parser.add_argument("--out", type=Path, default=POLICY)
    parser.add_argument("--probe-out", type=Path, default=PROBE, help="where the fitted probe is written")
    parser.add_argument(
        "--drop", nargs="*", default=[], choices=READER_FEATURES, help="reader features left out of the fit"
    )
    parser.add_argument(
        "--first",
        nargs="*",
        default=[],
        choices=READER_FEATURES,
        help="reader features asked first: their model decides alone outside its band (e.g. probe)",
    )
    args = parser.parse_args(argv)
    if any("blind" in str(p) for p in args.sets):
        parser.error("the blind set is for measuring, never for fitting")
    args.features.parent.mkdir(parents=True, exist_ok=True)
    rows = collect(args.store, args.sets, args.features, "local")
    probe = cross_fit_probe(rows)
    dropped = set(args.drop) | (set() if probe is not None else set(PROBE_FEATURES))
    names = tuple(n for n in READER_FEATURES if n not in dropped)
    if probe is not None:  # the rows again, with the probe's cross-fitted scores
        args.features.write_text(
            "".join(json.dumps(_without_state(r), ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    report: dict[str, Any] = {}
    models: dict[str, Any] = {}
    first = tuple(n for n in args.first if n in names)
    fits = [("reader", True, names), ("lexical", False, names)]
    if any(n in names for n in PROBE_FEATURES):  # and a model for readers without hidden states
        fits.append(
            ("reader_without_probe", True, tuple(n for n in READER_FEATURES if n not in PROBE_FEATURES))
        )
    for name, reads, chosen in fits:
        staged = first if name == "reader" else ()
        held = cross_validate(rows, reads, args.folds, names=chosen, first=staged)
        report[name] = {
            "all": summary(held),
            "other_splits": split_spread(rows, reads, args.folds, args.splits, chosen, staged),
        }
        if staged:
            report[name]["second_reading_asked"] = round(float(np.mean([r["second"] for r in held])), 3)
        for kind in sorted({str(r["kind"]) for r in held}):
            report[name][kind] = summary([r for r in held if str(r["kind"]) == kind])
        final = final_model(rows, reads, chosen, staged)
        models[name] = final["model"]
        if "screen" in final and name == "reader":
            models["screen"] = final["screen"]
        if "first" in final:
            models["first"] = final["first"]
    questions = _by_question(rows)
    source = {
        "command": "python -m benchmarks.fit_policy --store STORE " + " ".join(p.name for p in args.sets),
        "sets": [p.name for p in args.sets],
        "questions": len(questions),
        "answerable": sum(1 for q in questions.values() if q[0]["answerable"]),
        "rows": len(rows),
        "rows_read": sum(1 for r in rows if r["doc_id"] and _was_read(r)),
        "folds": args.folds,
        "cross_validated": report,
        "fitted": time.strftime("%Y-%m-%d"),
    }
    if args.drop:
        source["command"] += " --drop " + " ".join(args.drop)
    if first:
        source["command"] += " --first " + " ".join(first)
    if probe is not None:
        probe.source.update(command=source["command"], sets=source["sets"])
        source["probe"] = probe.source
        args.probe_out.write_text(json.dumps(probe.to_json()) + "\n", encoding="utf-8")
    args.out.write_text(
        json.dumps({**models, "source": source}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
