"""The keyword (BM25) index: SQLite FTS5 over our own tokens, kept in step with the vector store.

Tokens: English words lower-cased and Snowball-stemmed, stop words dropped; Hangul runs segmented
into morphemes by kiwipiepy (nouns, verb and adjective stems, roots), so that "제조혁신연구소의"
matches "제조혁신연구소". The index is a derived cache of the store: `sync` compares each brief's
committed content hash with the store's manifest and re-reads only briefs that differ, so it is
updated incrementally at ingest time, survives crashes (a sync is one transaction), and can be
rebuilt from a Chroma server's documents by any replica.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.models import SearchFilter
from assistant.reading.metadata import date_key, volume_key

if TYPE_CHECKING:
    from assistant.indexing.index import Indexable, VectorIndex

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS briefs (doc_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, date_key INTEGER,
    volume_num INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
"""
_WORD = re.compile(r"[0-9a-z]+")
_PRUNE_FROM = 5000  # chunks
_COMMON_SHARE = 0.1
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3\u3130-\u318f]+")
_KEEP_TAGS = ("NNG", "NNP", "NR", "XR", "VV", "VA", "SL", "SN", "SH", "NNB")
# fmt: off
_STOP = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
    "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now",
    "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she",
    "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "your", "also", "per", "according", "brief", "briefs", "krihs", "vol", "volume",
))
# fmt: on


# Spellings that name the same thing (after lower-casing, "US" and "USA" must meet).
_SAME = {"usa": "us", "u": "us"}


_THREAD = threading.local()


def _stemmer() -> Any:
    """This thread's English stemmer. A snowball stemmer keeps the word it works on in the instance,
    so one shared by the app's worker threads mixes their words up ("string index out of range")."""
    stemmer = getattr(_THREAD, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _THREAD.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


@lru_cache(maxsize=1)
def _kiwi() -> Any:
    from kiwipiepy import Kiwi  # loaded only when Hangul text is seen

    return Kiwi()


def needs_korean_tokenizer(text: str) -> bool:
    """Whether tokenizing `text` loads the Korean tokenizer (it has Hangul)."""
    return _HANGUL_RUN.search(unicodedata.normalize("NFKC", text)) is not None


def tokenize(text: str) -> list[str]:
    """Search tokens for English and Korean text (the same function for passages and questions)."""
    return list(_tokens(text))


@lru_cache(maxsize=8192)  # answering and verification tokenize the same sentences often
def _tokens(text: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    if _HANGUL_RUN.search(text):
        for token in _kiwi().tokenize(text):
            tag = str(token.tag).split("-")[0]
            if tag.startswith(_KEEP_TAGS):
                form = str(token.form)
                if _WORD.fullmatch(form):
                    if form not in _STOP:
                        tokens.append(_stem(form))
                elif len(form) > 1 or tag in ("NNG", "NNP"):
                    tokens.append(form)
        return tuple(tokens)
    for word in _WORD.findall(text):
        if word not in _STOP:
            tokens.append(_SAME.get(word) or _stem(word))
    return tuple(tokens)


class KeywordIndex:
    """BM25 search over chunk tokens in one SQLite file; thread-safe for a serving process."""

    def __init__(self, path: Path | None) -> None:
        """An index in the SQLite file `path` (made when missing), or in memory when `path` is None."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.name = path.name if path is not None else "(in memory)"
        where = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._seen = ""  # the store generation this index was last found in step with
        self._total = self.count()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def generation(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return str(row[0]) if row else ""

    def sync(self, store: VectorIndex, *, fresh: bool = False) -> int:
        """Bring the index in line with the store's committed briefs; returns briefs (re)read.

        Per query this costs a comparison of generations (the store re-reads its own at most once a
        second); `fresh` forces a re-read, as after a write.
        """
        generation = store.generation() if fresh else store.current_generation()
        if generation and generation == self._seen and not fresh:
            return 0
        if generation and generation == self.generation() and not fresh:  # another process synced it
            self._seen = generation
            self._total = self.count()
            return 0
        store.invalidate()
        committed = store.committed()
        with self._lock:
            have = dict(self._db.execute("SELECT doc_id, sha256 FROM briefs").fetchall())
            counts = dict(self._db.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id").fetchall())
        stale = [d for d in have if d not in committed]  # changed briefs are replaced by `_insert`
        missing = [d for d, h in committed.items() if have.get(d) != h]
        if fresh:  # on open and after a write: rows lost from this file are re-read from the store
            expected = {r.doc_id: r.chunks for r in store.records().values() if r.sha256}
            damaged = [d for d, n in expected.items() if d not in missing and counts.get(d, 0) != n]
            if damaged:
                log.warning("keyword index %s lacked rows of %d brief(s)", self.name, len(damaged))
            missing += damaged
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for doc_id in stale:
                    self._delete(doc_id)
                for doc_id, chunks in store.chunks_of(missing):
                    self._insert(doc_id, committed[doc_id], chunks)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", (generation,)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._seen = generation
        self._total = self.count()
        return len(missing)

    def add(self, briefs: list[tuple[str, str, Sequence[Indexable]]]) -> None:
        """Index briefs just written to the store: (doc_id, content hash, chunks), in one transaction.

        Ingestion calls this with the chunks it has in hand, so the later `sync` finds nothing to re-read.
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for doc_id, sha256, chunks in briefs:
                    self._insert(doc_id, sha256, chunks)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._total = self.count()

    def _insert(self, doc_id: str, sha256: str, chunks: Sequence[Indexable]) -> None:
        self._delete(doc_id)
        for chunk in chunks:
            cur = self._db.execute(
                "INSERT INTO chunks (chunk_id, doc_id, date_key, volume_num) VALUES (?, ?, ?, ?)",
                (chunk.chunk_id, doc_id, date_key(chunk.date), volume_key(chunk.volume)),
            )
            tokens = tokenize(f"{chunk.title}\n{chunk.section}\n{chunk.text}")
            row = (cur.lastrowid, " ".join(tokens))
            self._db.execute("INSERT INTO fts (rowid, tokens) VALUES (?, ?)", row)
        self._db.execute("INSERT OR REPLACE INTO briefs (doc_id, sha256) VALUES (?, ?)", (doc_id, sha256))

    def _delete(self, doc_id: str) -> None:
        rows = [r[0] for r in self._db.execute("SELECT rowid FROM chunks WHERE doc_id = ?", (doc_id,))]
        self._db.executemany("DELETE FROM fts WHERE rowid = ?", [(r,) for r in rows])
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM briefs WHERE doc_id = ?", (doc_id,))

    def search(self, query: str, n: int, flt: SearchFilter | None = None) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score) pairs, best first; higher is better."""
        terms = self._selective(list(dict.fromkeys(tokenize(query))))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = (
            "SELECT c.chunk_id, -bm25(fts) AS score FROM fts JOIN chunks c ON c.rowid = fts.rowid "
            "WHERE fts MATCH ?"
        )
        args: list[Any] = [match]
        if flt is not None and flt.doc_ids:
            sql += f" AND c.doc_id IN ({','.join('?' * len(flt.doc_ids))})"
            args.extend(flt.doc_ids)
        if flt is not None and flt.date_from:
            sql += " AND c.date_key >= ?"
            args.append(date_key(flt.date_from))
        if flt is not None and flt.date_to:
            sql += " AND c.date_key <= ?"
            args.append(date_key(flt.date_to))
        if flt is not None and flt.volume_min is not None:
            sql += " AND c.volume_num >= ?"
            args.append(flt.volume_min)
        if flt is not None and flt.volume_max is not None:
            sql += " AND c.volume_num <= ?"
            args.append(flt.volume_max)
        sql += " ORDER BY bm25(fts) LIMIT ?"
        args.append(n)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [(str(cid), float(score)) for cid, score in rows]

    def _selective(self, terms: list[str]) -> list[str]:
        """In a large index, leave out terms found in more than a tenth of all chunks.

        Their posting lists make up most of a query's work (at 90k chunks: 25 ms of BM25 p50 -> 5 ms)
        while their weight in the ranking is small; keyword-only hit@5 on the 100k benchmark moved from
        0.930 to 0.925. The two rarest terms are always kept; small indexes keep every term.
        """
        if len(terms) <= 2:
            return terms
        total = self._total
        if total < _PRUNE_FROM:
            return terms
        with self._lock:
            marks = ",".join("?" * len(terms))
            df = dict(
                self._db.execute(f"SELECT term, doc FROM fts_vocab WHERE term IN ({marks})", terms).fetchall()
            )
        keep = [t for t in terms if df.get(t, 0) <= total * _COMMON_SHARE]
        rarest = sorted(terms, key=lambda t: df.get(t, 0))[:2]
        return list(dict.fromkeys([*keep, *rarest]))

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency (over chunks) of each token; unseen tokens get the rarest value."""
        df = self._df(tokens)
        total = self._total
        return {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def shares(self, tokens: list[str]) -> dict[str, float]:
        """The share of all chunks that hold each token (0 for a token no chunk holds)."""
        total = max(self._total, 1)
        return {t: n / total for t, n in self._df(tokens).items()}

    def _df(self, tokens: list[str]) -> dict[str, int]:
        """How many chunks hold each of the (distinct) tokens."""
        unique = list(dict.fromkeys(tokens))
        if not unique:
            return {}
        with self._lock:
            marks = ",".join("?" * len(unique))
            rows = self._db.execute(
                f"SELECT term, doc FROM fts_vocab WHERE term IN ({marks})", unique
            ).fetchall()
        df = {str(term): int(doc) for term, doc in rows}
        return {t: df.get(t, 0) for t in unique}

    def chunk_ids_of(self, doc_ids: list[str]) -> dict[str, list[str]]:
        """The chunk ids of each brief, in reading order."""
        if not doc_ids:
            return {}
        with self._lock:
            marks = ",".join("?" * len(doc_ids))
            sql = f"SELECT doc_id, chunk_id FROM chunks WHERE doc_id IN ({marks}) ORDER BY rowid"
            rows = self._db.execute(sql, doc_ids).fetchall()
        out: dict[str, list[str]] = {d: [] for d in doc_ids}
        for doc_id, chunk_id in rows:
            out[str(doc_id)].append(str(chunk_id))
        return out

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
