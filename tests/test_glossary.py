"""The planning glossary: its file, and how a text's terms are put into the other language."""

from __future__ import annotations

import pytest

from assistant.retrieval.glossary import Glossary, bundled


def test_terms_are_matched_on_search_tokens_longest_first() -> None:
    glossary = Glossary(
        [
            ("빈집", "vacant house"),
            ("빈집", "empty house"),
            ("주택", "house"),
            ("도시재생", "urban regeneration"),
            ("도시", "city"),
        ]
    )
    # Stems: "houses" and "housing" meet "house"; the two-word term wins over its last word alone.
    assert glossary.render("Why are vacant houses left standing?", "en") == "빈집"
    assert glossary.render("vacant housing and houses", "en") == "빈집 주택"
    # Korean morphemes: particles and endings do not hide a term; one term, every English name.
    assert glossary.render("빈집이 늘어나는 도시는?", "ko") == "vacant house empty house city"
    assert glossary.render("도시재생 사업", "ko") == "urban regeneration"
    assert glossary.render("nothing here matches", "en") == ""
    # `keep` leaves out terms by their tokens; a left-out term's words are not matched on their own.
    assert glossary.render("vacant houses in the city", "en", keep=lambda t: t != ("citi",)) == "빈집"
    assert glossary.render("vacant houses", "en", keep=lambda t: len(t) == 1) == ""
    assert glossary.render("빈집", "fr") == ""


def test_a_malformed_line_is_named() -> None:
    with pytest.raises(ValueError, match=r"glossary.tsv, line 2: expected 'korean<TAB>english'"):
        Glossary.parse("빈집\tvacant house\n빈집 vacant house\n")
    assert Glossary.parse("# comment\n\n빈집\tvacant house\n").render("vacant houses", "en") == "빈집"


def test_the_bundled_glossary_reads_and_goes_both_ways() -> None:
    glossary = bundled()
    assert glossary.size > 1000  # both directions of some 900 pairs
    assert "개발제한구역" in glossary.render("Is building allowed in the greenbelt?", "en")
    assert "greenbelt" in glossary.render("개발제한구역 해제", "ko")
