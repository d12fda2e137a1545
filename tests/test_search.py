"""Search over the real briefs: ranking, the JSON contract, filters, and keyword/dense agreement."""

from __future__ import annotations

import pytest

from assistant.answering.qa import _answer_passages
from assistant.library import Library
from assistant.models import Passage, SearchFilter
from assistant.retrieval.search import _adding, _take_turns

CONTRACT = {"doc_id", "volume", "title", "date", "section", "source", "page", "text", "score"}


@pytest.mark.shared
def test_us_manufacturing_institutes_question_ranks_vol697_first(briefs_library: Library) -> None:
    passages = briefs_library.search("manufacturing innovation institutes in the USA", k=5)
    top = passages[0]
    assert top.doc_id == "697"
    assert top.title.startswith("Measures to create an innovative ecosystem")
    assert top.date == "2019-11-22"
    assert top.section and top.source == "vol_697.txt"
    assert set(top.to_dict()) >= CONTRACT
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("query", "volume"),
    [
        ("elderly drivers traffic deaths", "586"),
        ("shrinking cities city diet", "616"),
        ("gentrification indicators stages", "713"),
        ("housing approvals forecast 2016", "571"),
        ("industrial complexes factory land growth", "686"),
        ("cyber-physical systems smart Korea", "640"),
        ("urban regeneration committee coordination", "559"),
    ],
)
def test_each_brief_is_found_by_its_topic(briefs_library: Library, query: str, volume: str) -> None:
    assert briefs_library.search(query, k=3)[0].doc_id == volume


@pytest.mark.shared
def test_volume_filter_restricts_results(briefs_library: Library) -> None:
    passages = briefs_library.search("manufacturing", k=10, flt=SearchFilter(doc_ids=("686",)))
    assert passages and {p.doc_id for p in passages} == {"686"}


@pytest.mark.shared
@pytest.mark.parametrize(
    ("flt", "allowed"),
    [
        (SearchFilter(date_from="2019-01-01"), {"686", "697", "713"}),
        (SearchFilter(date_to="2016-12-31"), {"559", "571", "586"}),
        (SearchFilter(date_from="2017-01-01", date_to="2017-12-31"), {"616", "640"}),
        (SearchFilter(volume_min=600, volume_max=700), {"616", "640", "686", "697"}),
    ],
)
def test_date_and_volume_range_filters(briefs_library: Library, flt: SearchFilter, allowed: set[str]) -> None:
    passages = briefs_library.search("policy proposals for cities and industry", k=30, flt=flt)
    assert passages and {p.doc_id for p in passages} <= allowed


@pytest.mark.shared
def test_keyword_index_finds_exact_names(briefs_library: Library) -> None:
    hits = briefs_library.keyword.search("Manufacturing Innovation 3.0", 5)
    top = briefs_library.store.get_passages([hits[0][0]])[hits[0][0]]
    assert top.doc_id == "697" and "Manufacturing Innovation 3.0" in top.text


def test_keyword_tokens_are_the_same_from_many_threads_at_once() -> None:
    """The app answers on several worker threads; stemming on them at once must neither fail nor mix
    words up (a shared snowball stemmer did both: "string index out of range")."""
    import threading

    from assistant.indexing import keyword

    ends = ("ing", "es", "ed", "ers", "ations", "ingly", "ness", "ful")
    # Words no cache has seen, different on every thread, so that each thread stems all of them.
    batches = [
        [
            f"{stem}{n}{t}{end}"
            for n in range(300)
            for stem in ("manufactur", "classif", "connect")
            for end in ends
        ]
        for t in "abcdefgh"
    ]
    seen: dict[int, list[list[str]]] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            seen[i] = [keyword.tokenize(word) for word in batches[i]]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
    keyword._stem.cache_clear()
    assert all(seen[i] == [keyword.tokenize(word) for word in batch] for i, batch in enumerate(batches))


def test_two_rankings_take_turns_brief_by_brief() -> None:
    """A translated question's ranking of the English briefs and the question's own ranking of the
    others alternate by brief, each brief bringing its best chunks in its turn."""
    first = [("a:h:0", 0.9), ("a:h:1", 0.8), ("a:h:2", 0.7), ("a:h:3", 0.6), ("b:h:0", 0.5)]
    second = [("x:h:0", 0.95), ("y:h:0", 0.4), ("x:h:1", 0.3)]
    merged = [cid for cid, _ in _take_turns(first, second, per_brief=2)]
    assert merged == ["a:h:0", "a:h:1", "x:h:0", "x:h:1", "b:h:0", "y:h:0", "a:h:2", "a:h:3"]


def test_a_stage_that_adds_passages_displaces_none_of_the_others() -> None:
    """The glossary lifts other-language passages into the fused ranking: the ranking returned holds
    its first `k` and also every passage of the first `k` without that stage, and an answer takes the
    lifted passages beside its first `top_k`, not instead of some of them."""
    without = [("a:h:0", 0.9), ("a:h:1", 0.8), ("b:h:0", 0.7), ("a:h:2", 0.6), ("c:h:0", 0.5)]
    ranked = [
        ("a:h:0", 0.7),
        ("k:h:0", 0.65),
        ("a:h:1", 0.6),
        ("k:h:1", 0.55),
        ("b:h:0", 0.5),
        ("a:h:2", 0.4),
    ]
    assert [c for c, _ in _adding(ranked, without, 3)] == ["a:h:0", "k:h:0", "a:h:1", "k:h:1", "b:h:0"]
    assert [c for c, _ in _adding(ranked, without, 6)] == [c for c, _ in ranked]
    assert _adding(ranked, [], 2) == ranked[:2]

    def passage(chunk_id: str) -> Passage:
        doc = chunk_id.split(":")[0]
        return Passage(chunk_id, doc, None, doc, None, "", "", None, "text", 1.0)

    order = [passage(c) for c, _ in ranked] + [passage("d:h:0"), passage("e:h:0")]
    plain = [p.chunk_id for p in _answer_passages(order, 3)]
    assert plain == ["a:h:0", "k:h:0", "a:h:1", "b:h:0"]  # three, then the best of a third brief
    lifted = [p.chunk_id for p in _answer_passages(order, 3, frozenset({"k:h:0", "k:h:1"}))]
    assert lifted == ["a:h:0", "k:h:0", "a:h:1", "k:h:1", "b:h:0"]
