"""Hybrid retrieval: dense (Chroma) and keyword (BM25) candidates fused by reciprocal rank fusion.

Dense search finds paraphrases ("institutes that link research and production"); keyword search
finds exact names and numbers ("Manufacturing Innovation 3.0", "370,000"). RRF needs no score
calibration between the two: each list contributes 1 / (k + rank).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import zip_longest

from assistant.indexing.embeddings import Embedder
from assistant.indexing.index import KeywordSearch, VectorIndex
from assistant.indexing.records import SAME_LANGUAGE_OFFSET
from assistant.models import Passage, SearchFilter
from assistant.reading.text import question_language
from assistant.retrieval.glossary import Glossary

_ROUTED_BRIEFS = 10  # briefs the multilingual route ranks per question (its chunks join the fusion)
# Route similarity to fusion weight: each 0.01 of cosine behind the best routed brief costs a factor e
# (see `Retriever._fuse`); rank fusion alone would make routed ranks 1 and 2 differ by 2%.
_ROUTE_SCALE = 0.01
# An English question whose best English passage is at least this close (MiniLM cosine) skips the
# multilingual route: the e5 embedding it needs is most of a search's time (about 15 of 25 ms on
# 2 cores), and such a question is about an English brief. Measured on the development sets (221
# English questions, 42 briefs, 19 of them about a Korean brief, whose best English passage is at
# most 0.64): from 0.58 to 0.65 no question's hit@1 or hit@5 changes and 69% to 48% skip the route;
# at 0.55 one question loses its brief. `python -m benchmarks.mixed` reports the time.
ROUTE_SKIP_COSINE = 0.6
# An English question with no close English passage (`ROUTE_SKIP_COSINE`) has its passages ranked
# twice by dense similarity, by the index model (MiniLM) and by the multilingual one (e5, over every
# brief's passages, `VectorIndex.nearest_passages`); the second ranking joins the fusion with this
# weight. Dev sets, 335 English questions, hit@1 / hit@5 of the right brief: without it 0.863 /
# 0.961; with it 0.869 / 0.961 (English briefs 0.904 / 1.000 -> 0.900 / 0.993, Korean briefs 0.648 /
# 0.759 -> 0.704 / 0.796). For every English question it measured 0.884 / 0.964, but its e5
# question embedding then costs every question about 25 ms (search p50 2.3x the tutorial pipeline's
# on the real corpus, over the 1.5x target); close questions skip it as they skip the route. The
# weight was chosen among 0.5, 1, 1.5 and 2 (with every question; 1.5 and 2 lose hit@5). 0: off.
# A Korean question's English translation is searched the same way (dev sets, 101 Korean questions
# about English briefs: 0.871 / 0.960 -> 0.891 / 0.980; in a sweep, weights 1 to 2 measured alike,
# 0.5 lost hit@5, and e5 of the Korean question itself instead of its translation measured 0.881 /
# 0.980).
MULTILINGUAL_PASSAGE_WEIGHT = 1.0
# When a translated question's ranking and the question's own take turns, each brief brings its best
# few chunks in its turn (the rest come after every brief's best): the answer's judge weighs the top
# passages and a few briefs, and a brief with many close chunks would otherwise push the next out.
_TURN_CHUNKS = 3
# A question's glossary terms put into the other language (`glossary.Glossary`) are searched in the
# keyword index among that language's briefs, and the ranking joins the fusion with this weight, for
# a question in another language than some indexed briefs and, if it is in English, with no close
# English passage (`ROUTE_SKIP_COSINE`, as for the route). Only terms that say what a question is
# about count: some token of the term is in at most `GLOSS_MAX_SHARE` of all chunks ("vacant
# house", not "city" or "regional policy", which drew Korean briefs on every topic). Chosen on the
# dev sets (335 English questions: 281 about English briefs, 54 about Korean ones), by a rule set
# before the sweep: English -> English may not lose (0.907 / 1.000 hit@1 / hit@5), then the best
# English -> Korean. Weight 1 / 1.5 / 2 and share 1 / 0.2 / 0.1 / 0.05 / 0.02, hit@1 / hit@5:
#   every term (share 1): en-en 0.893 / 0.996, 0.890 / 0.996, 0.875 / 0.993;
#                         en-ko 0.778 / 0.833, 0.796 / 0.870, 0.815 / 0.907 (0.2: the same)
#   share 0.1:  en-en 0.900 / 1.000, 0.900 / 1.000, 0.893 / 1.000; en-ko 0.759 / 0.815, 0.778 / 0.852,
#               0.796 / 0.870
#   share 0.05: en-en 0.907 / 1.000, 0.907 / 1.000, 0.904 / 1.000; en-ko 0.741 / 0.815, 0.759 / 0.852,
#               0.778 / 0.852 (chosen: 1.5 and 0.05; all English 0.869 / 0.967 -> 0.884 / 0.976)
#   share 0.02: en-en 0.907 / 1.000, 0.907 / 1.000, 0.904 / 1.000; en-ko 0.722 / 0.815, 0.741 / 0.852,
#               0.759 / 0.852
# Without the glossary: en-en 0.907 / 1.000, en-ko 0.667 / 0.796. Korean questions with a translation
# are unchanged: their English briefs are searched by the translation. Used when `Settings.glossary`
# is on (the default since the policy was refitted with it: docs/STATUS.md, seventeenth session).
GLOSSARY_WEIGHT = 1.5
GLOSS_MAX_SHARE = 0.05

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Where a search spent its time, in milliseconds."""

    embed_ms: float = 0.0
    dense_ms: float = 0.0
    keyword_ms: float = 0.0
    fuse_ms: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return self.embed_ms + self.dense_ms + self.keyword_ms + self.fuse_ms + sum(self.extra.values())


@dataclass(frozen=True)
class _Lists:
    dense: list[tuple[str, float]]
    lexical: list[tuple[str, float]]
    routed: list[tuple[str, float]]
    route_weight: float
    keyword_weight: float
    route_best: float = 0.0  # the route's best similarity, over every brief it ranked
    # The route's best similarity among English briefs and among the others (those it ranked): which
    # side a question translated for searching is put first on (see `Retriever.search`).
    route_english: float = -1.0
    route_others: float = -1.0
    # The multilingual model's nearest passages of any brief (for English text only: a question or a
    # translation, with no close English passage), with the same-language bonus taken off: a second
    # dense ranking beside the index model's. Its e5 question vector is the route's too (cached).
    passages: list[tuple[str, float]] = field(default_factory=list)
    # The keyword index's ranking of the other language's passages for the question's glossary
    # terms put into that language (`Glossary.render`).
    glossed: list[tuple[str, float]] = field(default_factory=list)


class Retriever:
    """Ranks passages for a question; `mode` selects dense, keyword or hybrid (the default)."""

    def __init__(
        self,
        store: VectorIndex,
        embedder: Embedder,
        keyword: KeywordSearch | None,
        *,
        candidates: int = 40,
        rrf_k: int = 60,
        mode: str = "hybrid",
        keyword_weight: float = 1.0,
        router: Embedder | None = None,
        route_weights: tuple[float, float, float] = (3.0, 1.0, 3.0),
        glossary: Callable[[], Glossary] | None = None,
    ) -> None:
        if mode not in ("hybrid", "dense", "keyword"):
            raise ValueError(f"unknown retrieval mode {mode!r}")
        self.store = store
        self.embedder = embedder
        self.keyword = keyword
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.keyword_weight = keyword_weight
        self.router = router
        # (route weight for a question in another language than English, keyword weight for such a
        # question, route weight for an English question when some briefs are in another language)
        self.route_weights = route_weights
        self.mode = mode if keyword is not None else "dense"
        self.route_others_only = True
        self.route_skip_cosine = ROUTE_SKIP_COSINE
        self.passage_weight = MULTILINGUAL_PASSAGE_WEIGHT
        # Loaded on first use (about 2 s: its Korean terms are segmented as the index's are), so
        # that an index in one language never pays for it.
        self.glossary = glossary
        self.gloss_weight = GLOSSARY_WEIGHT
        self.gloss_max_share = GLOSS_MAX_SHARE

    def search(
        self,
        query: str,
        k: int,
        flt: SearchFilter | None = None,
        timings: Timings | None = None,
        *,
        translation: str | None = None,
        added: set[str] | None = None,
    ) -> list[Passage]:
        """The `k` best passages for `query`, restricted by `flt`; `score` is the fused score in (0, 1].
        Passages the glossary ranks come on top of the `k` the other stages rank (`_adding`), and
        their chunk ids go into `added` (when given), so that whoever takes a head of the ranking can
        take them on top of it too.

        `translation`: the question put into English by a language model, for a question in another
        language. The English briefs are then ranked by the translation, as an English question ranks
        them (index model, keywords, and the multilingual passage ranking when no English passage is
        close), and the other briefs by the question itself (keywords in its
        language and the multilingual route); the two rankings take turns brief by brief, starting
        with the side whose best brief the multilingual route finds closer. A question's own words
        reach briefs in its language best, and a translation reaches English briefs far better than
        one multilingual vector per brief does (Korean questions about English briefs, dev sets: the
        right brief first 0.51 -> 0.79, in the top 3 0.65 -> 0.91).
        """
        t = timings if timings is not None else Timings()
        n = max(self.candidates, k)
        lists = self._lists(query, n, flt, t, gloss=not translation)
        start = time.perf_counter()
        if not translation:
            fused = self._fuse(lists, k)
            if added is not None:
                added.update(cid for cid, _ in lists.glossed)
            t.fuse_ms += _ms(start)
            return fused
        own = [(cid, s) for cid, s in self._scores(lists) if self._language(cid) != "en"]
        t.fuse_ms += _ms(start)
        english = self._lists(translation, n, flt, t, routes=False, gloss=False)
        start = time.perf_counter()
        translated = [(cid, s) for cid, s in self._scores(english) if self._language(cid) == "en"]
        english_first = lists.route_english > lists.route_others
        first, second = (translated, own) if english_first else (own, translated)
        order = _take_turns(first, second)[:k]
        known = self.store.get_passages([cid for cid, _ in order])
        fused = [replace(known[cid], score=score) for cid, score in order if cid in known]
        t.fuse_ms += _ms(start)
        return fused

    def explain(
        self, query: str, k: int, flt: SearchFilter | None = None, *, translation: str | None = None
    ) -> dict[str, list[str]]:
        """The briefs each stage ranks for `query`, best first: `dense` (the index model), `keyword`
        (BM25), `routes` (multilingual vectors of briefs; empty when not used), `multilingual` (the
        multilingual model's passage ranking: of the question, or of its translation among English
        briefs; empty when not used), `translated` (the English briefs as the translation ranks them;
        empty without one), `glossary` (the other language's briefs as the question's glossary terms
        rank them by keywords; empty when not used) and `fused` (what `search` returns). A brief's
        place in a stage is that of its best passage there."""
        lists = self._lists(query, max(self.candidates, k), flt, Timings(), gloss=not translation)
        translated: list[str] = []
        multilingual = _briefs(lists.passages)
        if translation:
            english = self._lists(
                translation, max(self.candidates, k), flt, Timings(), routes=False, gloss=False
            )
            translated = [d for d in _briefs(self._scores(english)) if self.store.language_of(d) == "en"]
            multilingual = [d for d in _briefs(english.passages) if self.store.language_of(d) == "en"]
        fused = self.search(query, k, flt, translation=translation)
        return {
            "dense": _briefs(lists.dense),
            "keyword": _briefs(lists.lexical),
            "routes": _briefs(lists.routed),
            "multilingual": multilingual,
            "translated": translated,
            "glossary": _briefs(lists.glossed),
            "fused": list(dict.fromkeys(p.doc_id for p in fused)),
        }

    def closeness(self, query: str, doc_ids: tuple[str, ...]) -> tuple[float, float] | None:
        """How close `query` on its own comes to the briefs `doc_ids` and to any brief: the index
        model's best cosine with one of their passages, and with any passage. None when the index
        model cannot read the question or those briefs (it reads English)."""
        if question_language(query) != "en" or any(self.store.language_of(d) != "en" for d in doc_ids):
            return None
        vector = self.embedder.embed_question(query)
        within = self.store.nearest(vector, 1, SearchFilter(doc_ids=doc_ids))
        best = self.store.nearest(vector, 1)
        if not within or not best:
            return None
        return within[0][1], max(best[0][1], within[0][1])

    def _language(self, chunk_id: str) -> str:
        return self.store.language_of(chunk_id.rsplit(":", 2)[0])

    def _lists(
        self,
        query: str,
        n: int,
        flt: SearchFilter | None,
        t: Timings,
        *,
        routes: bool = True,
        gloss: bool = True,
    ) -> _Lists:
        """Each stage's ranked (chunk id, score) candidates and the weights fusion gives them.
        `routes=False` (a translation's search) leaves out the multilingual route of briefs, not the
        multilingual passage ranking; `gloss=False` leaves out the glossary's ranking (a question
        whose other-language briefs its translation searches, and the translation itself)."""
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        language = question_language(query)
        # The dense model reads English only: for a question in another language, the multilingual
        # route replaces it (when there is one).
        if self.mode in ("hybrid", "dense") and not (language != "en" and self.router is not None):
            start = time.perf_counter()
            vector = self.embedder.embed_question(query)
            t.embed_ms += _ms(start)
            start = time.perf_counter()
            dense = self.store.nearest(vector, n, flt)
            t.dense_ms += _ms(start)
        if self.mode in ("hybrid", "keyword") and self.keyword is not None:
            start = time.perf_counter()
            self.keyword.sync(self.store)
            # The keyword index is derived data: its hits count only as the store's committed chunks.
            lexical = self.store.only_committed(self.keyword.search(query, n, flt))
            t.keyword_ms += _ms(start)
        routed: list[tuple[str, float]] = []
        passages: list[tuple[str, float]] = []
        route_weight = route_best = 0.0
        route_english = route_others = -1.0
        if self.router is not None and self.keyword is not None and self.mode == "hybrid":
            cross = language != "en"
            close = bool(dense) and dense[0][1] >= self.route_skip_cosine
            if not cross and not close and self.passage_weight:
                start = time.perf_counter()
                passages = self._multilingual_passages(query, n, flt, language)
                t.extra["route_ms"] = t.extra.get("route_ms", 0.0) + _ms(start)
            if routes and (cross or (not close and any(lang != "en" for lang in self.store.languages()))):
                start = time.perf_counter()
                vector = self.router.embed_question(query)
                briefs = self.store.route(vector, _ROUTED_BRIEFS, flt, language=language)
                route_best = max((score for _, score in briefs), default=0.0)
                english = [score for doc, score in briefs if self.store.language_of(doc) == "en"]
                others = [score for doc, score in briefs if self.store.language_of(doc) != "en"]
                route_english, route_others = max(english, default=-1.0), max(others, default=-1.0)
                if not cross and self.route_others_only:
                    # An English question reaches English briefs through the index model and the
                    # keyword index; the route is there for the briefs those cannot read, weighed
                    # against the best brief of all (a Korean brief far behind an English one adds
                    # next to nothing).
                    briefs = [(doc, score) for doc, score in briefs if self.store.language_of(doc) != "en"]
                chunks = self.keyword.chunk_ids_of([doc for doc, _ in briefs])
                routed = [(cid, score) for doc, score in briefs for cid in chunks.get(doc, [])]
                route_weight = self.route_weights[0] if cross else self.route_weights[2]
                t.extra["route_ms"] = t.extra.get("route_ms", 0.0) + _ms(start)
        glossed: list[tuple[str, float]] = []
        if (
            gloss
            and self.glossary is not None
            and self.keyword is not None
            and self.mode == "hybrid"
            and self.gloss_weight
            and not (language == "en" and dense and dense[0][1] >= self.route_skip_cosine)
            and any(lang != language for lang in self.store.languages())
        ):
            start = time.perf_counter()
            text = self.glossary().render(query, language, keep=self.specific_term)
            if text:
                hits = self.store.only_committed(self.keyword.search(text, n, flt))
                glossed = [(cid, s) for cid, s in hits if self._language(cid) != language]
            t.extra["glossary_ms"] = t.extra.get("glossary_ms", 0.0) + _ms(start)
        keyword_weight = self.route_weights[1] if routed and language != "en" else self.keyword_weight
        return _Lists(
            dense,
            lexical,
            routed,
            route_weight,
            keyword_weight,
            route_best,
            route_english,
            route_others,
            passages,
            glossed,
        )

    def specific_term(self, tokens: tuple[str, ...]) -> bool:
        """Whether a glossary term found in a question says what it is about: some token of it is in
        at most `gloss_max_share` of all chunks ("vacant house": "vacant" is rare), unlike terms
        that every brief uses ("city", "regional policy")."""
        assert self.keyword is not None
        shares = self.keyword.shares(list(tokens))
        return min(shares.values(), default=1.0) <= self.gloss_max_share

    def _multilingual_passages(
        self, query: str, n: int, flt: SearchFilter | None, language: str
    ) -> list[tuple[str, float]]:
        """The `n` passages nearest to `query` by the multilingual model, each similarity less the
        same-language bonus when the passage's brief is in the question's language, best first."""
        assert self.router is not None
        # The n nearest of each side, so that taking the bonus off one side cannot let in a passage
        # that was not fetched.
        hits = self.store.nearest_passages(self.router.embed_question(query), n, flt, language=language)
        scored = [
            (cid, score - (SAME_LANGUAGE_OFFSET if self._language(cid) == language else 0.0))
            for cid, score in hits
        ]
        return sorted(scored, key=lambda item: -item[1])[:n]

    def _fuse(self, lists: _Lists, k: int) -> list[Passage]:
        order = self._scores(lists)
        order = _adding(order, self._scores(replace(lists, glossed=[])), k) if lists.glossed else order[:k]
        known = self.store.get_passages([cid for cid, _ in order])  # texts only for those returned
        return [replace(known[cid], score=score) for cid, score in order if cid in known]

    def _scores(self, lists: _Lists) -> list[tuple[str, float]]:
        """Every candidate chunk with its fused score in (0, 1], best first."""
        dense, lexical, routed = lists.dense, lists.lexical, lists.routed
        route_weight, keyword_weight = lists.route_weight, lists.keyword_weight
        scores: dict[str, float] = {}
        passage_weight = self.passage_weight if lists.passages else 0.0
        gloss_weight = self.gloss_weight if lists.glossed else 0.0
        for ranked, weight in (
            (dense, 1.0),
            (lexical, keyword_weight),
            (lists.passages, passage_weight),
            (lists.glossed, gloss_weight),
        ):
            for rank, (chunk_id, _) in enumerate(ranked):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (self.rrf_k + rank + 1)
        # A routed brief lends its score to all of its chunks (the route knows briefs, not passages).
        # Rank fusion would flatten the route's order (rank 1 and 2 differ by 2% at k=60), so the
        # route's own similarity decides: each 0.01 of cosine behind the best brief costs a factor e.
        if routed:
            best = lists.route_best  # over every brief the route ranked, kept or not
            for chunk_id, score in routed:
                share = math.exp((score - best) / _ROUTE_SCALE)
                scores[chunk_id] = scores.get(chunk_id, 0.0) + route_weight * share / (self.rrf_k + 1)
        weights = (1.0 if dense else 0.0) + (keyword_weight if lexical else 0.0) + route_weight
        weights = weights + passage_weight + gloss_weight or 1.0
        best_possible = weights / (self.rrf_k + 1)
        order = sorted(scores, key=lambda cid: -scores[cid])
        return [(cid, round(scores[cid] / best_possible, 6)) for cid in order]


def _adding(
    ranked: list[tuple[str, float]], without: list[tuple[str, float]], k: int
) -> list[tuple[str, float]]:
    """The head of `ranked` that holds its first `k` chunks and every one of the first `k` of
    `without` (the same ranking before a stage added its candidates): a stage that lifts other
    briefs' passages in (the glossary) adds them to what the answer weighs and displaces nothing."""
    kept = {cid for cid, _ in without[:k]}
    head: list[tuple[str, float]] = []
    for item in ranked:
        if len(head) >= k and not kept:
            break
        head.append(item)
        kept.discard(item[0])
    return head


def _take_turns(
    first: list[tuple[str, float]], second: list[tuple[str, float]], per_brief: int = _TURN_CHUNKS
) -> list[tuple[str, float]]:
    """Two rankings of chunks (of different briefs) merged brief by brief: the first ranking's best
    brief, then the second's, and so on, each with its best `per_brief` chunks in its ranking's order;
    the rest of every brief's chunks follow in the same order."""
    chunks: dict[str, list[tuple[str, float]]] = {}
    orders: list[list[str]] = [[], []]
    for order, ranking in zip(orders, (first, second), strict=True):
        for cid, score in ranking:
            doc = cid.rsplit(":", 2)[0]
            if doc not in chunks:
                order.append(doc)
                chunks[doc] = []
            chunks[doc].append((cid, score))
    merged = [doc for pair in zip_longest(*orders) for doc in pair if doc is not None]
    head = [c for doc in merged for c in chunks[doc][:per_brief]]
    tail = [c for doc in merged for c in chunks[doc][per_brief:]]
    return head + tail


def with_briefs(passages: list[Passage], others: list[list[Passage]], keep: int, k: int) -> list[Passage]:
    """`passages` (a ranking, best first) with the best brief of each of the `others` rankings put in
    after its first `keep` briefs (unless already there), then its remaining briefs and the other
    rankings' next ones taking turns. Each brief brings its passages from the ranking that had it
    first; the first `k` passages (at least as many as `passages` held) are returned."""
    source: dict[str, list[Passage]] = {}
    orders: list[list[str]] = []
    for ranking in (passages, *others):
        order = list(dict.fromkeys(p.doc_id for p in ranking))
        for doc in order:
            if doc not in source:
                source[doc] = [p for p in ranking if p.doc_id == doc]
        orders.append(order)
    whole, rest = orders[0], orders[1:]
    merged = list(whole[:keep])
    merged += [order[0] for order in rest if order and order[0] not in merged]
    for turn in zip_longest(whole[keep:], *(order[1:] for order in rest)):
        merged += [doc for doc in dict.fromkeys(turn) if doc is not None and doc not in merged]
    return [p for doc in merged for p in source[doc]][: max(k, len(passages))]


def _briefs(ranked: list[tuple[str, float]]) -> list[str]:
    """The briefs of ranked chunk ids (`doc_id:hash:index`), each at its best chunk's place."""
    return list(dict.fromkeys(chunk_id.rsplit(":", 2)[0] for chunk_id, _ in ranked))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
