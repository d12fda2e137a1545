"""The hidden-state probe's bookkeeping and figures (`benchmarks/hidden_probe.py`): folds keep a
question's rows together, a collection goes on where it stopped, and a signal planted in the states
is found by the probe, on held-out rows, where the reader's reply carries none."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.policy import READER_FEATURES
from benchmarks.fit_policy import fit, fit_wide, folds_of, out_of_fold
from benchmarks.hidden_probe import analyse, collect, reader_prompt


def test_a_question_never_has_rows_in_two_folds() -> None:
    groups = [f"set:{i // 3}" for i in range(60)]  # three rows a question
    folds = folds_of(groups)
    assert sorted(np.concatenate(folds).tolist()) == list(range(60))
    for fold in folds:
        inside = {groups[i] for i in fold}
        outside = {groups[i] for other in folds if other is not fold for i in other}
        assert not inside & outside


def test_held_out_scores_come_from_models_that_never_saw_the_row() -> None:
    # Labels are pure noise: a model that saw its own rows would score them well; held out, it cannot.
    pick = random.Random(1)
    x = np.array([[pick.gauss(0, 1) for _ in range(40)] for _ in range(120)])
    y = np.array([pick.randrange(2) for _ in range(120)])
    groups = [f"q{i}" for i in range(120)]
    s = out_of_fold(x, y, groups, l2=0.01)
    accuracy = float(((s >= 0) == (y == 1)).mean())
    assert accuracy < 0.7


def _row(i: int, label: int) -> dict[str, Any]:
    return {
        "set": "users.jsonl" if i % 4 == 0 else "dev.jsonl",
        "line": i,
        "doc_id": "616",
        "label": label,
        "direction": "ko-en" if i % 2 else "en-en",
        "question": f"question {i}",
        "brief": "vol.616 “City Diet”",
        "excerpt": f"excerpt {i}",
    }


def test_a_signal_in_the_states_is_found_on_the_held_out_set_and_not_in_a_noisy_reply() -> None:
    pick = random.Random(2)
    rows, features = [], {}
    for i in range(240):
        label = pick.randrange(2)
        state = [pick.gauss(0, 1) for _ in range(30)]
        state[7] += 2.0 * label  # the planted direction
        rows.append({**_row(i, label), "state": state})
        values = dict.fromkeys(READER_FEATURES, 0.0) | {"reader": pick.gauss(0, 1), "cosine": pick.random()}
        kind = {"kind": "paraphrase" if label else "nearmiss", "answerable": bool(label)}
        features[(rows[-1]["set"], i, "616")] = {"features": values, **kind}
    report = analyse(rows, features, "users.jsonl")
    assert report["test"]["rows"] == 60
    assert report["test"]["auroc_probe"]["value"] > 0.8
    assert 0.3 < report["test"]["auroc_reader"]["value"] < 0.7
    assert (
        report["test"]["policy_features_and_probe_auroc"]["value"]
        > report["test"]["policy_features_auroc"]["value"]
    )
    assert report["cross_validated"]["auroc_probe"] > 0.8
    assert report["test"]["auroc_probe_minus_reader_ci95"][0] > 0  # paired: better on the same rows
    paraphrases = report["test"]["by_kind"]["nearmiss"]["answering paraphrase"]
    assert paraphrases["auroc_probe"] > 0.8 and sum(paraphrases["rows"]) == 60
    low, high = report["test"]["policy_features_and_probe_minus_policy_features_balanced_ci95"]
    assert 0 < low < high


def test_a_collection_goes_on_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "states.jsonl"
    rows = [_row(i, i % 2) for i in range(5)]
    seen: list[str] = []

    def state(prompt: str) -> list[float]:
        seen.append(prompt)
        return [float(len(prompt)), 0.5]

    collect(rows, out, state, limit=2)
    collect(rows, out, state)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in written] == [0, 1, 2, 3, 4]
    assert len(seen) == 5  # nothing asked twice
    assert "question 3" in seen[3] and "excerpt 3" in seen[3] and seen[3] == reader_prompt(rows[3])
    assert seen[3].endswith("<|im_start|>assistant\n")  # the state is read where the reply would begin


def test_the_wide_fit_gives_the_policy_fit_s_weights_from_fewer_numbers() -> None:
    pick = random.Random(3)
    x = np.array(
        [[pick.gauss(0, 1) + 0.1 * j for j in range(50)] for _ in range(20)]
    )  # more features than rows
    y = np.array([i % 2 for i in range(20)])
    x[:, 3] += y
    weights, bias = fit_wide(x, y, 5.0)
    expected, expected_bias = fit(x, y, 5.0)
    assert np.allclose(weights, expected, atol=1e-6)
    assert abs(bias - expected_bias) < 1e-6
