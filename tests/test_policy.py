"""The answer policy: the shipped fit, how it decides, and the fitting arithmetic (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.generation.evidence import answer_type_missing
from assistant.answering.policy import (
    LEXICAL_FEATURES,
    READER_FEATURES,
    BriefCase,
    Model,
    Policy,
    load_policy,
    with_reader,
)
from assistant.answering.reader import extraction, grounding, whole_sentences, yes_probability
from assistant.answering.runtime import TokenChoice
from assistant.errors import ConfigError
from benchmarks.fit_policy import (
    _by_question,
    _matrix,
    _probabilities,
    best_threshold,
    cross_validate,
    fit,
    split_spread,
    train,
)


def case(doc_id: str, **features: float) -> BriefCase:
    return BriefCase(doc_id, f"vol.{doc_id}", "title", "en", 1, (), dict(features))


def test_the_shipped_policy_was_fitted_with_its_data_and_command() -> None:
    policy = load_policy()
    used = policy.reader_model.features
    assert set(used) <= set(READER_FEATURES)
    dropped = [n for n in READER_FEATURES if n not in used]  # left out by the command that fitted it
    dropped_by_command = policy.source["command"].split("--drop")[-1].split("--")[0].split()
    assert dropped in ([], ["probe"]) or dropped_by_command == dropped
    if policy.first is not None:  # the probe asked first: its model and band, fitted by the same command
        assert "--first probe" in policy.source["command"]
        assert set(policy.first.model.features) == {"probe", *LEXICAL_FEATURES}
        low, high = policy.first.band
        assert 0.0 < low <= policy.first.model.threshold <= high < 1.0
        assert 0.0 < policy.source["cross_validated"]["reader"]["second_reading_asked"] < 0.5
    if "probe" in used:  # then a model for a reader without hidden states (a server) too
        assert policy.plain_model is not None
        assert policy.plain_model.features == tuple(n for n in READER_FEATURES if n != "probe")
    assert policy.lexical_model.features == LEXICAL_FEATURES
    assert "fit_policy" in policy.source["command"] and policy.source["questions"] >= 200
    assert "blind" not in " ".join(policy.source["sets"])  # the blind set only measures
    assert 0.0 < policy.reader_model.threshold < 1.0 and 0.0 <= policy.screen < policy.reader_model.threshold


def test_it_cites_every_brief_over_the_threshold_and_refuses_when_none_is() -> None:
    model = Model(("reader",), (1.0,), 0.0, 0.5)
    policy = Policy(model, Model(("cosine",), (1.0,), -10.0, 0.5), screen=0.0)
    both = policy.decide([case("616", reader=3.0), case("586", reader=1.0), case("697", reader=-2.0)])
    assert both.cited == ("616", "586") and both.answer
    none = policy.decide([case("616", reader=-1.0), case("586", reader=-3.0)])
    assert not none.answer and none.cited == ()
    assert not policy.decide([]).answer


def test_briefs_the_screen_rules_out_are_not_read_and_not_cited() -> None:
    lexical = Model(("cosine",), (10.0,), -5.0, 0.5)
    policy = Policy(Model(("reader",), (1.0,), 0.0, 0.5), lexical, screen=0.1)
    cases = [case("616", cosine=0.8), case("586", cosine=0.1)]
    assert policy.to_read(cases) == [True, False]
    decision = policy.decide([case("616", cosine=0.8, reader=2.0), case("586", cosine=0.1)])
    assert decision.cited == ("616",) and decision.probabilities["586"] < 0.1


def test_a_damaged_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"reader": {"features": ["reader"]}}))
    with pytest.raises(ConfigError, match=r"policy\.json cannot be used"):
        load_policy(bad)


def test_yes_probability_reads_the_first_tokens_either_way_they_are_spelt() -> None:
    choices = [
        TokenChoice("YES", np.log(0.6)),
        TokenChoice(" no", np.log(0.2)),
        TokenChoice("Yes", np.log(0.1)),
    ]
    assert yes_probability(choices) == pytest.approx(0.7 / 0.9)
    assert yes_probability([TokenChoice("Maybe", 0.0)]) == 0.5  # neither: no information


def test_an_answer_copied_from_the_excerpt_is_grounded_and_a_made_up_one_is_not() -> None:
    excerpt = "Housing approvals reached 770,000 in 2015 as builders hurried before the correction."
    first = [TokenChoice("Housing", np.log(0.7)), TokenChoice("NOT", np.log(0.2)), TokenChoice("NOTE", -9.0)]
    copied = extraction("Housing approvals reached 770,000 in 2015", first, excerpt)
    assert copied.not_stated == pytest.approx(0.2 + np.exp(-9.0)) and copied.grounded == 1.0
    invented = extraction("Seoul and Busan, in 1950", first, excerpt)
    assert invented.grounded == 0.0  # no word of it stands in the excerpt
    refused = extraction("NOT STATED.", [TokenChoice("NOT", np.log(0.9))], excerpt)
    assert refused.not_stated == pytest.approx(0.9) and refused.grounded == 0.0


def test_a_short_figure_or_korean_reply_is_grounded_by_its_own_words() -> None:
    # The reply "20" to "How many cities ...?" counted as no words at all, so as ungrounded.
    excerpt = "20 cities in Korea are classified as shrinking cities; 78.1% of them lost residents."
    assert grounding("20", excerpt) == 1.0 and grounding("78.1%", excerpt) == 1.0
    assert grounding("35", excerpt) == 0.0  # a figure the excerpt does not hold
    korean = "도시의 기능, 밀도, 입지 개념을 새로 정의한다."
    assert grounding("기능, 밀도, 입지 개념", korean) == 1.0
    assert grounding("교통, 주택", korean) == 0.0


def test_a_read_brief_is_weighed_by_the_reader_model_whichever_reading_it_had() -> None:
    reader = Model(("reader", "extract", "grounded"), (1.0, 1.0, 2.0), 0.0, 0.5)
    policy = Policy(reader, Model(("cosine",), (1.0,), -10.0, 0.5), screen=0.0)
    assert policy.asks == {"answers", "extracts"}
    only_extract = Policy(Model(("extract",), (1.0,), 0.0, 0.5), policy.lexical_model)
    assert only_extract.asks == {"extracts"}
    decision = policy.decide([case("616", extract=1.0, grounded=1.0), case("586", cosine=0.9)])
    assert decision.cited == ("616",) and decision.threshold == 0.5


def test_questions_asking_for_a_figure_a_year_or_a_name_need_one_in_the_brief() -> None:
    missing = answer_type_missing("How many cities are shrinking?", ["Cities shrink as people leave."])
    assert missing == (1.0, 0.0, 0.0)
    assert answer_type_missing("How many cities are shrinking?", ["20 cities are shrinking."]) == (
        0.0,
        0.0,
        0.0,
    )
    assert answer_type_missing("In what year will it open?", ["It opens soon."]) == (0.0, 1.0, 0.0)
    assert answer_type_missing("빈집은 몇 개인가요?", ["빈집이 늘고 있다."]) == (1.0, 0.0, 0.0)
    assert answer_type_missing("Which cities were studied?", ["Four cities were studied."]) == (0.0, 0.0, 1.0)
    assert answer_type_missing("Which cities were studied?", ["Busan and Daegu were studied."]) == (
        0.0,
        0.0,
        0.0,
    )


def test_a_number_written_out_is_a_figure_but_one_as_a_pronoun_is_not() -> None:
    stages = "Gentrification should be classified into four stages."
    assert answer_type_missing("How many stages does it classify?", [stages])[0] == 0.0
    assert answer_type_missing("How much more?", ["Demand is twice as high."])[0] == 0.0
    assert answer_type_missing("몇 단계로 나누나요?", ["네 단계로 구분한다."])[0] == 0.0
    assert answer_type_missing("How many cities?", ["The one with the most decline."])[0] == 1.0
    assert answer_type_missing("How many cities?", ["Cities are classified by decline."])[0] == 1.0


def test_when_asks_for_a_date_as_a_question_word_not_as_a_conjunction() -> None:
    undated = ["Introduce conditional licences for daytime driving."]
    assert answer_type_missing("When do the conditional licences start?", undated)[1] == 1.0
    assert answer_type_missing("Since when have factories come back?", undated)[1] == 1.0
    assert answer_type_missing("What did KRIHS find when it analysed the plans?", undated)[1] == 0.0
    assert answer_type_missing("Is there any upside when a neighbourhood gentrifies?", undated)[1] == 0.0


def test_an_extracted_reply_without_the_date_or_figure_asked_for_is_not_grounded() -> None:
    excerpt = "Introduce conditional licences that allow daytime driving within a set distance of home."
    first = [TokenChoice("Introduce", np.log(0.95)), TokenChoice("NOT", np.log(0.05))]
    reply = extraction("Introduce conditional licences that allow daytime driving", first, excerpt)
    assert reply.grounded == 1.0  # every word is the excerpt's ...
    when = with_reader(case("952"), None, reply, "When do the conditional licences start?")
    what = with_reader(case("952"), None, reply, "What kind of licence does it propose?")
    assert when.features["grounded"] == 0.0  # ... but it does not say when
    assert what.features["grounded"] == 1.0 and when.features["extract"] == what.features["extract"]


def test_the_fit_recovers_a_separable_rule_and_places_the_threshold_between_the_groups() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    weights, bias = fit(x, y, l2=0.01)
    predicted = (x @ weights + bias > 0).astype(float)
    assert (predicted == y).mean() > 0.97 and weights[0] > 0 > weights[1]
    questions = [
        [{"doc_id": "a", "expected": ["a"], "answerable": True, "kind": None}],
        [{"doc_id": "b", "expected": [], "answerable": False, "kind": None}],
    ]
    threshold = best_threshold(questions, [[0.8], [0.3]])
    assert 0.3 < threshold <= 0.8


def test_a_rendered_line_cut_at_the_token_limit_ends_at_a_full_sentence() -> None:
    cut = "연구소는 혁신 거점이다. 또한 지역 산업과 협력하여 새로운"
    assert whole_sentences(cut) == "연구소는 혁신 거점이다."
    assert whole_sentences("The institutes link research and") == "The institutes link research and …"
    assert whole_sentences("The institutes link research and production.") == (
        "The institutes link research and production."
    )
    assert whole_sentences("") == ""


def _synthetic_rows(seed: int, questions: int = 120) -> list[dict[str, object]]:
    """Two candidate briefs a question; the first is read (it has the reader's feature), the second
    not. The reader's feature alone says which brief answers; unanswerable questions have neither."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for line in range(questions):
        answerable = line % 3 != 0
        for rank, doc in enumerate(("a", "b"), start=1):
            label = int(answerable and doc == "a")
            features = {name: 0.0 for name in LEXICAL_FEATURES}
            features.update(cosine=0.5 + rng.normal(scale=0.05), rank=1.0 / rank)
            if rank == 1:
                features.update(reader=(3.0 if label else -3.0) + rng.normal(), extract=0.0, grounded=0.0)
            rows.append(
                {
                    "set": "synthetic",
                    "line": line,
                    "doc_id": doc,
                    "label": label,
                    "expected": ["a"] if answerable else [],
                    "answerable": answerable,
                    "kind": None,
                    "features": features,
                }
            )
    return rows


def test_the_reader_model_is_fitted_and_used_only_on_the_briefs_the_reader_read() -> None:
    rows = _synthetic_rows(0)
    grouped = list(_by_question(rows).values())  # type: ignore[arg-type]
    fitted = train(grouped, with_reader=True)
    assert fitted.reader is not None
    reader_weight = float(fitted.reader[0][list(READER_FEATURES).index("reader")])
    assert reader_weight > 1.0  # learnt from the read briefs alone, where it separates them
    fitted.screen = 0.0
    # A brief the lexical model now ranks first but the reader never read keeps the lexical model's
    # probability (the reader model would read its missing feature as "neither YES nor NO").
    unread = {**grouped[1][1], "features": {**grouped[1][1]["features"], "rank": 1.0, "cosine": 0.9}}  # type: ignore[dict-item]
    read = {**grouped[1][0], "features": {**grouped[1][0]["features"], "rank": 0.5}}  # type: ignore[dict-item]
    lexical = _probabilities(_matrix([unread, read], LEXICAL_FEATURES), *fitted.lexical)
    assert lexical[0] > lexical[1]  # the reading mask would pick the unread brief
    assert fitted.predict([unread, read])[0] == pytest.approx(lexical[0])
    right = [r["right"] for r in cross_validate(rows, True, folds=5)]  # type: ignore[arg-type]
    assert sum(right) / len(right) > 0.9


def test_the_fit_reports_how_much_its_figures_move_with_the_split_into_folds() -> None:
    rows = _synthetic_rows(1)
    spread = split_spread(rows, True, folds=5, splits=4)  # type: ignore[arg-type]
    assert spread["splits"] == 4
    for name in ("right", "false_refusal_rate", "refusal_recall"):
        low, high = spread[name]
        assert 0.0 <= low <= high <= 1.0, (name, spread)
    assert spread["right"][0] > 0.9  # the reader's feature separates these rows under every split


def test_the_first_reading_decides_the_clear_briefs_and_leaves_the_doubtful_to_the_whole_model() -> None:
    """`--first`: a feature that is clear for most briefs and silent for some (here `reader`), and
    one that is always clear (`extract`): the first model settles the clear ones, inside its band the
    whole model decides, and the decisions stay right."""
    rows = _synthetic_rows(2, questions=150)
    rng = np.random.default_rng(3)
    for row in rows:
        features = row["features"]
        if "reader" in features:  # type: ignore[operator]
            sign = 1.0 if row["label"] else -1.0
            doubtful = int(row["line"]) % 5 == 0  # type: ignore[call-overload]
            features["reader"] = rng.normal(scale=0.3) if doubtful else sign * 3 + rng.normal()  # type: ignore[index]
            features["extract"] = sign * 3 + rng.normal()  # type: ignore[index]
    names = ("reader", "extract", *LEXICAL_FEATURES)
    held = cross_validate(rows, True, folds=5, names=names, first=("reader",))  # type: ignore[arg-type]
    asked = sum(r["second"] for r in held) / len(held)
    right = sum(r["right"] for r in held) / len(held)
    assert 0.1 < asked < 0.5, asked  # the doubtful fifth (and a few more), not every question
    assert right > 0.9
    fitted = train(list(_by_question(rows).values()), True, names, ("reader",))  # type: ignore[arg-type]
    low, high = fitted.band
    assert 0.0 < low <= fitted.first_threshold <= high < 1.0
