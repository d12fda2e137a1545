"""The reader probe's bookkeeping (`benchmarks/reader_probe.py`): which excerpt each fitted row was
shown, the new replies put in place of the old, and a folder of prompts replacing only its own."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.answering.policy import log_odds
from assistant.answering.reader import Excerpt, Message, PromptedReader
from assistant.answering.runtime import TokenChoice
from benchmarks.reader_probe import auroc, covered, read_rows, with_new_replies

QUESTION = "How many shrinking cities are there?"


def _row(line: int, doc_id: str, p: float | None, label: int) -> dict[str, object]:
    features = {"cosine": 0.5} if p is None else {"cosine": 0.5, "reader": log_odds(p)}
    return {
        "set": "dev.jsonl",
        "line": line,
        "question": QUESTION,
        "doc_id": doc_id,
        "label": label,
        "features": features,
    }


def _reply(brief: str, excerpt: str, p: float) -> str:
    return json.dumps({"key": "\x1f".join((QUESTION, brief, excerpt)), "p": p})


def test_each_read_row_finds_the_excerpt_its_reply_came_from() -> None:
    features = [_row(1, "616", 0.8, 1), _row(1, "krihs_ko_soc", 0.3, 0), _row(1, "700", None, 0)]
    replies = [
        _reply("vol.616 “City Diet”", "An older excerpt of vol.616.", 0.4),  # an earlier fit's excerpt
        _reply("vol.616 “City Diet”", "Shrinking cities number 20.", 0.8),
        _reply("krihs_ko_soc “생활SOC”", "축소도시는 스무 곳이다.", 0.3),
        _reply("vol.7001 “Another”", "Shrinking cities number 20.", 0.8),  # another brief, same reply
        json.dumps({"key": "\x1f".join(("translate", "en", QUESTION)), "translation": "x"}),
    ]
    rows = read_rows(features, replies)
    assert [(r["doc_id"], r["excerpt"], r["direction"]) for r in rows] == [
        ("616", "Shrinking cities number 20.", "en-en"),
        ("krihs_ko_soc", "축소도시는 스무 곳이다.", "en-ko"),
    ]


def test_the_new_replies_replace_the_reader_feature_and_nothing_else() -> None:
    features = [_row(1, "616", 0.8, 1), _row(1, "700", None, 0)]
    rows = read_rows(features, [_reply("vol.616 “City Diet”", "Shrinking cities number 20.", 0.8)])
    changed = with_new_replies(
        features, rows, {(QUESTION, "vol.616 “City Diet”", "Shrinking cities number 20."): 0.1}
    )
    assert changed[0]["features"] == {"cosine": 0.5, "reader": log_odds(0.1)}
    assert changed[1] == features[1] and features[0]["features"]["reader"] == log_odds(0.8)


def test_auroc_counts_ties_as_half_and_needs_both_groups() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([0.1], [0.9, 0.05]) == 0.5
    assert auroc([], [0.3]) != auroc([], [0.3])  # nan


def test_a_prompts_folder_replaces_only_the_templates_it_holds(tmp_path: Path) -> None:
    (tmp_path / "reader-answers.txt").write_text(
        "### system\nJudge the result.\n\n### user\nQ={question} B={brief} E={excerpt}\n", encoding="utf-8"
    )
    seen: list[Sequence[Message]] = []

    def first_token(messages: Sequence[Message]) -> list[TokenChoice]:
        seen.append(messages)
        return [TokenChoice("YES", -0.1), TokenChoice("NO", -2.5)]

    def write(messages: Sequence[Message], max_tokens: int, start: str) -> str:
        seen.append(messages)
        return "English question: How many?"

    reader = PromptedReader("probe", first_token, write, lambda m, n: ("", []), tmp_path)
    expected = math.exp(-0.1) / (math.exp(-0.1) + math.exp(-2.5))
    assert reader.answers("Q?", [Excerpt("vol.1", "E.")]) == [pytest.approx(expected)]
    assert seen[0] == [("system", "Judge the result."), ("user", "Q=Q? B=vol.1 E=E.")]
    reader.translate("몇 개인가요?", "en")  # not in the folder: the package's template
    assert "translator" in seen[-1][0][1]


def test_a_partial_probe_is_cross_validated_only_on_questions_asked_again_whole() -> None:
    """A question with a read excerpt left out would mix the two prompts' replies in one fit."""
    features = [
        _row(1, "616", 0.8, 1),
        _row(2, "616", 0.7, 1),
        _row(2, "700", 0.2, 0),
        _row(3, "616", None, 0),
    ]
    rows = read_rows(
        features,
        [_reply("vol.616 “City Diet”", "Shrinking cities number 20.", p) for p in (0.8, 0.7)]
        + [_reply("vol.700 “Other”", "Something else.", 0.2)],
    )
    asked = [r for r in rows if not (r["line"] == 2 and r["doc_id"] == "700")]
    assert [(r["line"], r["doc_id"]) for r in covered(features, asked)] == [(1, "616"), (3, "616")]
    assert covered(features, rows) == features
