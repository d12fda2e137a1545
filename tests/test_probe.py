"""The reader's probe: its file checked against the model and prompt it was fitted for, its fit
cross-fitted so that no row's score comes from a probe that saw its question, its hidden states cached
by the fit, and a policy that weighs it falling back to the lexical model with a reader that has none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.answering.generation.evidence import Candidate, Evidence
from assistant.answering.judge import Judge
from assistant.answering.policy import BriefCase, FirstReading, Model, Policy
from assistant.answering.probe import load_probe, prompt_digest
from assistant.answering.prompts import load_prompt
from assistant.answering.reader import Excerpt, Extraction
from assistant.answering.runtime import MODEL_NAME
from assistant.errors import ConfigError
from assistant.models import Passage
from benchmarks.fit_policy import CachedReader, cross_fit_probe, rank_auroc

TEMPLATE = load_prompt("reader-answers")


def probe_file(tmp_path: Path, **changes: Any) -> Path:
    data = {"model": MODEL_NAME, "prompt": prompt_digest(TEMPLATE), "bias": 0.5, "weights": [1.0, -1.0]}
    path = tmp_path / "probe.json"
    path.write_text(json.dumps({**data, **changes}), encoding="utf-8")
    return path


def test_a_probe_weighs_the_state_and_its_score_is_clipped_like_the_readers(tmp_path: Path) -> None:
    probe = load_probe(MODEL_NAME, TEMPLATE, probe_file(tmp_path))
    assert probe.score([2.0, 1.0]) == pytest.approx(1.5)
    assert probe.score([100.0, 0.0]) == 8.0 and probe.score([0.0, 100.0]) == -8.0
    with pytest.raises(ConfigError, match="weighs 2 numbers but the model gave 3"):
        probe.score([1.0, 2.0, 3.0])


def test_a_probe_fitted_for_another_model_or_wording_or_damaged_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fitted for another-model"):
        load_probe(MODEL_NAME, TEMPLATE, probe_file(tmp_path, model="another-model"))
    with pytest.raises(ConfigError, match=r"another wording of reader-answers\.txt"):
        load_probe(MODEL_NAME, TEMPLATE, probe_file(tmp_path, prompt="0123456789abcdef"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"model": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json cannot be used") as raised:
        load_probe(MODEL_NAME, TEMPLATE, broken)
    assert "benchmarks.fit_policy" in (raised.value.hint or "")


def test_the_shipped_probe_fits_the_packaged_model_and_prompt_and_says_how_it_was_fitted() -> None:
    probe = load_probe(MODEL_NAME, TEMPLATE)
    assert len(probe.weights) == 1536  # the model's hidden size
    assert probe.source["rows"] > 1000 and probe.source["penalty"] > 0
    assert "benchmarks.fit_policy" in probe.source["command"]


def rows_with_states(seed: int, signal: float, questions: int = 150) -> list[dict[str, Any]]:
    """Two rows a question, the first with a hidden state of 40 numbers (of which the first carries
    `signal` times the label), the second without one (a brief the fit did not read)."""
    rng = np.random.default_rng(seed)
    rows = []
    for line in range(questions):
        label = line % 2
        state = rng.normal(size=40)
        state[0] += signal * (1 if label else -1)
        read = {"set": "s", "line": line, "doc_id": "a", "label": label, "features": {"reader": 0.0}}
        rows.append({**read, "state": state.tolist()})
        rows.append({"set": "s", "line": line, "doc_id": "b", "label": 0, "features": {}})
    return rows


def test_the_fit_gives_each_read_row_the_score_of_a_probe_that_never_saw_its_question() -> None:
    rows = rows_with_states(0, signal=2.0)
    probe = cross_fit_probe(rows)
    assert probe is not None and len(probe.weights) == 40 and probe.model == MODEL_NAME
    assert probe.prompt == prompt_digest(TEMPLATE)
    read = [r for r in rows if "state" in r]
    assert all("probe" in r["features"] for r in read)
    assert not any("probe" in r["features"] for r in rows if "state" not in r)
    y = np.array([r["label"] for r in read])
    assert rank_auroc(y, np.array([r["features"]["probe"] for r in read])) > 0.85
    # With labels the states know nothing of, in-sample scores would still separate the rows (40
    # numbers, 150 rows); the cross-fitted ones must not.
    noise = rows_with_states(1, signal=0.0)
    assert cross_fit_probe(noise) is not None
    scores = np.array([r["features"]["probe"] for r in noise if "state" in r])
    assert rank_auroc(np.array([r["label"] for r in noise if "state" in r]), scores) < 0.65
    assert cross_fit_probe([r for r in rows if "state" not in r]) is None  # a reader without states


class StateModel:
    """Stands in for the language model behind the reader (its hidden states), counting its calls."""

    name = "states"

    def __init__(self) -> None:
        self.calls = 0

    def states(self, question: str, excerpts: Sequence[Excerpt]) -> list[list[float]]:
        self.calls += len(excerpts)
        return [[float(len(question)), float(len(e.text))] for e in excerpts]


def test_the_fit_keeps_hidden_states_on_disk_so_a_refit_asks_the_model_only_for_new_ones(
    tmp_path: Path,
) -> None:
    replies = tmp_path / "reader-replies.jsonl"
    model = StateModel()
    excerpts = [Excerpt("vol.1", "one"), Excerpt("vol.2", "three")]
    first = CachedReader(model, replies)
    assert first.states("why?", excerpts) == [[4.0, 3.0], [4.0, 5.0]]
    assert first.probes("why?", excerpts) == [0.0, 0.0]  # stand-ins until the cross-fit
    assert model.calls == 2
    again = CachedReader(model, replies)  # a new fit, reading the file
    assert again.state_of("why?", excerpts[1]) == [4.0, 5.0]
    assert again.states("why?", [*excerpts, Excerpt("vol.3", "four")]) is not None
    assert model.calls == 3
    (tmp_path / "other").mkdir()
    without = CachedReader(type("NoStates", (), {"name": "none"})(), tmp_path / "other" / "replies.jsonl")
    assert without.states("why?", excerpts) is None and without.probes("why?", excerpts) is None


class CountingReader:
    """A reader double: YES/NO replies always, hidden states only when `probe` is given."""

    name = "double"

    def __init__(self, probe: float | None) -> None:
        self.probe = probe
        self.asked: list[str] = []

    def answers(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        self.asked.append("answers")
        return [0.9 for _ in excerpts]

    def extracts(self, question: str, excerpts: Sequence[Excerpt]) -> list[Extraction] | None:
        self.asked.append("extracts")
        return [Extraction(0.1, 1.0, "x") for _ in excerpts]

    def probes(self, question: str, excerpts: Sequence[Excerpt]) -> list[float] | None:
        self.asked.append("probes")
        return None if self.probe is None else [self.probe for _ in excerpts]


def judged(
    reader: CountingReader, plain: Model | None = None, policy: Policy | None = None
) -> dict[str, float]:
    text = "Twenty cities are shrinking, the brief finds."
    passage = Passage("c1", "1", "1", "Shrinking cities", None, "Findings", "f.txt", None, text, 1.0)
    candidate = Candidate(1, passage, 0, len(text), text, cosine=0.6, overlap=0.5)
    evidence = Evidence((candidate,), coverage=0.5, best_cosine=0.6, terms=("shrinking", "cities"))
    policy = policy or Policy(
        Model(("reader", "probe"), (1.0, 2.0), 0.0, 0.5),
        Model(("cosine",), (1.0,), -10.0, 0.5),  # says no on its own
        plain_model=plain,
    )
    judge = Judge(policy, lambda terms: dict.fromkeys(terms, 1.0), reader)  # type: ignore[arg-type]
    cases = judge.cases("How many cities are shrinking?", "en", [passage], evidence)
    return cases[0].features


def test_a_policy_weighing_the_probe_uses_it_and_a_reader_without_one_leaves_the_lexical_model() -> None:
    with_probe = CountingReader(probe=3.0)
    features = judged(with_probe)
    assert features["probe"] == 3.0 and features["reader"] > 0
    assert "extract" not in features and "extracts" not in with_probe.asked  # not weighed, not asked
    without = CountingReader(probe=None)
    features = judged(without)
    assert "probe" not in features and "reader" not in features  # decided as if not read
    assert without.asked == ["probes"]  # and the YES/NO question was not asked for nothing


def test_a_reader_without_a_probe_is_weighed_by_the_policy_s_model_for_one() -> None:
    """A server (no hidden states) is asked what the plain model weighs, and decided by it."""
    plain = Model(("reader",), (1.0,), 0.0, 0.7)
    reader = CountingReader(probe=None)
    features = judged(reader, plain)
    assert "probe" not in features and features["reader"] > 0
    assert reader.asked == ["probes", "answers"]
    probed = BriefCase("1", "vol.1", "t", "en", 1, (), {"reader": 2.2, "probe": -3.0})
    unprobed = BriefCase("1", "vol.1", "t", "en", 1, (), {"reader": 2.2})
    policy = Policy(Model(("reader", "probe"), (1.0, 2.0), 0.0, 0.5), plain, plain_model=plain)
    assert not policy.decide([probed]).answer  # the probe says no
    decision = policy.decide([unprobed])
    assert decision.answer and decision.threshold == 0.7  # the plain model's own threshold


def test_warm_up_asks_the_model_what_the_policy_will_ask() -> None:
    policy = Policy(
        Model(("extract", "probe"), (1.0, 1.0), 0.0, 0.5),
        Model(("cosine",), (1.0,), 0.0, 0.5),
        plain_model=Model(("reader",), (1.0,), 0.0, 0.5),
    )
    probed = CountingReader(probe=1.0)
    Judge(policy, lambda terms: {}, probed).warm_up()  # type: ignore[arg-type]
    assert probed.asked == ["probes", "extracts"]  # no YES/NO call the policy does not weigh
    server = CountingReader(probe=None)
    Judge(policy, lambda terms: {}, server).warm_up()  # type: ignore[arg-type]
    assert server.asked == ["probes", "answers"]  # what the model for a reader without one weighs


def test_the_probe_alone_settles_a_clear_brief_and_the_extraction_is_asked_only_in_doubt() -> None:
    """With a first reading (`FirstReading`) the probe's model decides a brief outside its band;
    inside it the extraction is asked too and the whole reader model decides (here the extraction
    says the brief states the answer)."""
    whole = Model(("extract", "probe"), (1.0, 1.0), 0.0, 0.6)
    first = FirstReading(Model(("probe",), (1.0,), 0.0, 0.55), (0.2, 0.8))
    policy = Policy(whole, Model(("cosine",), (1.0,), -10.0, 0.5), first=first)
    for probe, asked, answer in (
        (3.0, ["probes"], True),
        (-3.0, ["probes"], False),
        (0.0, ["probes", "extracts"], True),
    ):
        reader = CountingReader(probe=probe)
        features = judged(reader, policy=policy)
        assert reader.asked == asked, probe
        assert ("extract" in features) == (len(asked) == 2)
        case = BriefCase("1", "vol.1", "t", "en", 1, (), features)
        decision = policy.decide([case])
        assert decision.answer == answer, probe
        assert decision.threshold == (0.6 if len(asked) == 2 else 0.55)  # the model that decided
