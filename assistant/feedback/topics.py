"""What the briefs don't cover: the questions the assistant refused, grouped by topic.

Each refused question is embedded (the index's model for English, the multilingual one for other
languages when there is one) and joins the first topic whose centre it is close to, or starts a new
one; a topic is named by its most frequent words. Greedy and order-dependent, which is enough for a
list staff read: a few hundred questions group in well under a second.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.indexing.embeddings import Embedder
from assistant.indexing.keyword import tokenize
from assistant.reading.text import question_language

# Placed on 14 hand-written off-topic questions in 5 topics (fine dust, tolls, an airport, the DMZ,
# migrant workers), MiniLM fp32 cosine: pairs on one topic 0.37-0.72 (median 0.59), pairs across
# topics -0.04-0.45 (median 0.12). At 0.40-0.50 the 5 topics come out as written; at 0.55 they split
# into 9. A small sample: a measure of fit, not of accuracy.
JOIN_COSINE = 0.45
_NAME_WORDS = 3
_WORD = re.compile(r"[A-Za-z][A-Za-z-]+|[가-힣]{2,}")


@dataclass(frozen=True)
class Topic:
    name: str  # its most frequent words
    questions: tuple[str, ...]  # newest first
    first: str  # ISO times of the first and last refusal on it
    last: str

    @property
    def count(self) -> int:
        return len(self.questions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.name,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "questions": list(self.questions),
        }


def uncovered_topics(
    refusals: list[dict[str, Any]], embedder: Embedder, multilingual: Embedder | None = None
) -> list[Topic]:
    """Refused questions grouped by topic, the largest group first."""
    if not refusals:
        return []
    texts = [str(r.get("standalone_question") or r["question"]) for r in refusals]
    vectors = _embed(texts, embedder, multilingual)
    groups: list[list[int]] = []
    centres: list[np.ndarray[Any, Any]] = []
    for i, vector in enumerate(vectors):
        scores = [float(centre @ vector) for centre in centres]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= JOIN_COSINE:
            groups[best].append(i)
            centre = vectors[groups[best]].mean(axis=0)
            centres[best] = centre / max(float(np.linalg.norm(centre)), 1e-12)
        else:
            groups.append([i])
            centres.append(vector)
    topics = []
    for members in groups:
        times = sorted(str(refusals[i].get("at", "")) for i in members)
        words = Counter(w for i in members for w in dict.fromkeys(_words(texts[i])))
        name = ", ".join(w for w, _ in words.most_common(_NAME_WORDS)) or texts[members[0]][:40]
        newest = sorted(members, key=lambda i: str(refusals[i].get("at", "")), reverse=True)
        topics.append(Topic(name, tuple(texts[i] for i in newest), times[0], times[-1]))
    return sorted(topics, key=lambda t: (-t.count, t.name))


def _words(text: str) -> list[str]:
    """The question's words as written (lower-cased), without stop words: a topic's name."""
    return [w.lower() for w in _WORD.findall(text) if tokenize(w)]


def _embed(texts: list[str], embedder: Embedder, multilingual: Embedder | None) -> np.ndarray[Any, Any]:
    """One vector per text, unit length; texts not in English by the multilingual model when there is
    one (its vectors and the index model's are not comparable, so such a text is compared with the
    others through the multilingual model only when every text goes through it)."""
    model = embedder
    if multilingual is not None and any(question_language(t) != "en" for t in texts):
        model = multilingual
    vectors: np.ndarray[Any, Any] = np.asarray(model.embed_sentences(texts), dtype=np.float32)
    unit: np.ndarray[Any, Any] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return unit
