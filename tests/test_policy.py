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
from assistant.answering.reader import extraction, whole_sentences, yes_probability
from assistant.answering.runtime import TokenChoice
from assistant.errors import ConfigError
from benchmarks.fit_policy import best_threshold, fit


def case(doc_id: str, **features: float) -> BriefCase:
    return BriefCase(doc_id, f"vol.{doc_id}", "title", "en", 1, (), dict(features))


def test_the_shipped_policy_was_fitted_with_its_data_and_command() -> None:
    policy = load_policy()
    assert policy.reader_model.features == READER_FEATURES
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
