"""Citation verification, the same for every generator.

A draft is text whose sentences end in markers such as `[2]` (the second passage) or `[vol.697]`.
Each sentence is checked: a marker naming a passage or brief that was not retrieved is dropped; the
sentence must be supported by a passage it cites (word overlap and embedding similarity, with
thresholds measured on the dev set); a sentence without a valid marker is attached to the retrieved
passage that supports it, if any. Unsupported sentences are removed and reported in the answer's notes.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.generation.evidence import INSTRUCTION, specifics
from assistant.indexing.embeddings import Embedder
from assistant.indexing.keyword import tokenize
from assistant.models import Citation, Passage, Sentence
from assistant.reading.text import display_sentence, sentence_spans

# A sentence counts as supported by a passage when enough of its words are in the passage and it
# means about the same as one of the passage's sentences. Measured on the dev set's reference answers
# (paraphrases of the briefs) against their own and other briefs' passages: see benchmarks/calibrate.py.
OVERLAP_MIN = 0.5
COSINE_MIN = 0.55
OVERLAP_ALONE = 0.7

_META = re.compile(
    r"\b(?:the|this|these|that|each|both|above|given|provided)\s+(?:passages?|context|excerpts?|documents?)\b|"
    r"\bsection\s+(?:titled|called|named)\b|\bas an ai\b|\bpassage\s*\[?\d",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|cannot|without|none)\b|n't\b|않|없|못|아니")
_NUMBER_ABBREV = re.compile(r"\bno\.\s*(?=of\b|\d)")
_CLAUSE = re.compile(
    r"[;:]|,\s+(?=(?:but|and|while|whereas|as|although|though|because|since|so)\b)|\s+but\s+"
)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MARKER = re.compile(r"\[\s*([^\[\]]{1,40}?)\s*\]")
_REF = re.compile(r"^(?:(?:passage|p)\s*)?(\d{1,2})$|^vol(?:ume)?\.?\s*(\d{1,5})$", re.IGNORECASE)


@dataclass(frozen=True)
class Support:
    passage: Passage
    overlap: float
    cosine: float
    quote: str
    numbers_ok: bool = True  # numbers, names and polarity agree with the passage

    @property
    def ok(self) -> bool:
        if not self.numbers_ok:
            return False
        return self.overlap >= OVERLAP_ALONE or (self.overlap >= OVERLAP_MIN and self.cosine >= COSINE_MIN)


@dataclass
class Verified:
    sentences: list[Sentence] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dropped_citations: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def kept_share(self) -> float:
        return len(self.sentences) / self.total if self.total else 0.0


def citation_for(passage: Passage, quote: str) -> Citation:
    return Citation(
        doc_id=passage.doc_id,
        volume=passage.volume,
        title=passage.title,
        date=passage.date,
        section=passage.section,
        source=passage.source,
        page=passage.page,
        chunk_id=passage.chunk_id,
        quote=quote,
    )


class Verifier:
    """Checks drafts against the passages they were written from."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def verify(self, draft: str, passages: list[Passage], question: str = "") -> Verified:
        result = Verified()
        pieces = [(display_sentence(text), refs) for text, refs in _sentences_with_markers(draft)]
        pieces = [(text, refs) for text, refs in pieces if text]
        result.total = len(pieces)
        asked = set(tokenize(question))
        seen: set[str] = set()
        for text, refs in pieces:
            cited, bad = _resolve(refs, passages)
            result.dropped_citations += bad
            words = set(tokenize(text))
            quoted = any(text in p.text for p in passages)  # a brief's own sentence is a claim, however short
            # Not claims: talk about "the passage", a restatement of the question, a repeated sentence.
            echo = not quoted and len(words - asked) < 2
            if _META.search(text) or echo or text.casefold() in seen:
                result.removed.append(text)
                continue
            seen.add(text.casefold())
            good = [s for s in (self.support(text, p) for p in (cited or passages)) if s.ok]
            if not good:
                result.removed.append(text)
                continue
            if not cited:  # no valid marker: cite the one passage that supports it best
                good = [max(good, key=lambda s: s.overlap + s.cosine)]
            best: dict[str, Support] = {}  # one citation per brief: its best supporting passage
            for s in good:
                held = best.get(s.passage.doc_id)
                if held is None or s.overlap + s.cosine > held.overlap + held.cosine:
                    best[s.passage.doc_id] = s
            result.sentences.append(
                Sentence(text, tuple(citation_for(s.passage, s.quote) for s in best.values()))
            )
        return result

    def supported(self, sentence: str, passage: Passage) -> bool:
        """Whether one sentence is backed by one passage (evaluation uses this to score any answer)."""
        return self.support(sentence, passage).ok

    def support(self, text: str, passage: Passage) -> Support:
        """How well `passage` backs `text`.

        Words are compared with the best window of one or two consecutive sentences of the passage
        (not the whole passage, and not its title: a claim stitched together from scattered words is
        not supported), every number in the claim must stand in that window, and the embedding model
        is consulted only when words alone can't decide.
        """
        words = set(tokenize(text))
        if not words:
            return Support(passage, 0.0, 0.0, "")
        units = _passage_sentences(passage)
        windows = units + [f"{a} {b}" for a, b in itertools.pairwise(units)]
        overlap, window = max((len(words & set(tokenize(w))) / len(words), w) for w in windows)
        quote = max(units, key=lambda u: len(words & set(tokenize(u))))
        grounded = set(tokenize(window))
        names_ok = all(set(tokenize(name)) <= grounded for name in specifics(text))
        if (
            not names_ok
            or not _numbers(text) <= _numbers(window)
            or _polarity(text) != _polarity(_clause(text, quote))
        ):
            return Support(passage, overlap, 0.0, quote, numbers_ok=False)
        if overlap >= OVERLAP_ALONE or overlap < OVERLAP_MIN:
            return Support(passage, overlap, 1.0 if overlap >= OVERLAP_ALONE else 0.0, quote)
        vectors = self.embedder.embed_sentences([text, *units])
        cosines = vectors[1:] @ vectors[0]
        best = int(np.argmax(cosines))
        return Support(passage, overlap, float(cosines[best]), units[best])


def _clause(claim: str, sentence: str) -> str:
    """The clause of `sentence` that the claim restates (most shared words)."""
    words = set(tokenize(claim))
    clauses = [c for c in _CLAUSE.split(sentence) if c and c.strip()]
    return max(clauses, key=lambda c: len(words & set(tokenize(c)))) if clauses else sentence


def _polarity(text: str) -> tuple[bool, bool]:
    """(negated, restricted-by-"only"): a claim must not flip the sense of the sentence it quotes.

    "not only in the Rust Belt" restated as "only in the Rust Belt" keeps every word and reverses the
    meaning; so does dropping a "not". Both are caught here, at the price of rejecting some faithful
    paraphrases (which the extractive fallback then replaces).
    """
    lowered = f" {_NUMBER_ABBREV.sub(' ', text.lower())} "
    not_only = lowered.count("not only") + lowered.count("not just")
    negated = len(_NEGATION.findall(lowered)) - not_only > 0
    only = lowered.count(" only ") - not_only > 0
    return negated, only


def _numbers(text: str) -> set[str]:
    """Figures in a text, normalised ("370,000" -> "370000"); years and percentages included."""
    text = re.sub(r"\bvol(?:ume)?\.?\s*\d+|제\s*\d+\s*호", " ", text, flags=re.IGNORECASE)
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def _passage_sentences(passage: Passage) -> list[str]:
    """The sentences that can back a claim: instructions addressed to an AI back nothing."""
    units = [passage.text[a:b] for a, b in sentence_spans(passage.text)] or [passage.text]
    return [u for u in units if not INSTRUCTION.search(u)] or [""]


_BRACKETS = r"\[[^\[\]]{1,40}\]"  # a marker as `_MARKER` reads it: "[1]", "[vol.697]"
_MARKERS_AFTER_STOP = re.compile(rf"([.!?。])\s*((?:{_BRACKETS}\s*)+)")
_SENTENCE_START = r"[A-Z0-9“\"'‘(\uac00-\ud7a3]"
_MARKERS_THEN_NEW_SENTENCE = re.compile(rf"({_BRACKETS}(?:\s*{_BRACKETS})*)[ \t]+(?={_SENTENCE_START})")


def _sentences_with_markers(draft: str) -> list[tuple[str, list[str]]]:
    """Split a draft into sentences, each with the markers that follow or end it."""
    out: list[tuple[str, list[str]]] = []
    # Markers sit after the full stop ("... hubs. [1]") or before it ("... hubs [1]."); normalise both.
    normalised = _MARKERS_AFTER_STOP.sub(r" \2\1 ", draft)
    # A quoted bullet often has no full stop ("... has gradually declined [2] To raise ..."): markers
    # followed by the start of a new sentence end the sentence before them.
    normalised = _MARKERS_THEN_NEW_SENTENCE.sub(r"\1\n", normalised)
    for start, end in sentence_spans(normalised):
        sentence = normalised[start:end]
        refs = [r.strip() for m in _MARKER.finditer(sentence) for r in re.split(r"[,;]", m.group(1))]
        text = re.sub(r"\s+([.!?。])", r"\1", re.sub(r"\s+", " ", _MARKER.sub("", sentence))).strip()
        if text:
            out.append((text, refs))
    return out


def _resolve(refs: list[str], passages: list[Passage]) -> tuple[list[Passage], list[str]]:
    """Passages a sentence's markers point at, and the markers that point at nothing retrieved."""
    cited: list[Passage] = []
    bad: list[str] = []
    for ref in refs:
        match = _REF.match(ref)
        found: list[Passage] = []
        if match and match.group(1):
            n = int(match.group(1))
            found = [passages[n - 1]] if 1 <= n <= len(passages) else []
        elif match and match.group(2):
            found = [p for p in passages if p.volume == str(int(match.group(2)))]
        else:
            found = [p for p in passages if p.doc_id == ref]
        if found:
            cited += [p for p in found if p not in cited]
        else:
            bad.append(ref)
    return cited, bad
