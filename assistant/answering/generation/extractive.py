"""The extractive generator: the best sentences of the retrieved passages, quoted and cited.

No language model: it cannot invent anything. Sentences are chosen by the same relevance signals that
decide refusals, limited to a short answer, and put back in the order they stand in their briefs.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.answering.generation.evidence import Candidate, Evidence
from assistant.indexing.keyword import tokenize
from assistant.models import Passage

# A two-topic question gets a sentence for its second topic only from candidates within this much of
# the best sentence's score, and with a cosine of at least `_COVER_COSINE` (hand-set when two-topic
# answers were added, on the elderly-drivers and shrinking-cities question in tests/test_answers.py;
# not measured more widely).
COVER_MARGIN = 0.3
_COVER_COSINE = 0.4


class ExtractiveGenerator:
    """Chooses up to `max_sentences` sentences (about `max_words` words) that answer the question."""

    name = "extractive"
    quotes = True

    def __init__(self, *, max_sentences: int = 3, max_words: int = 110, margin: float = 0.15) -> None:
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.margin = margin

    def draft(
        self, question: str, passages: list[Passage], evidence: Evidence, language: str
    ) -> Iterator[str]:
        """Yields the answer sentence by sentence, each ending in its passage marker, e.g. "... [2]"."""
        # Sentences keep their own ending: a brief's text cut off mid-word is not given a full stop.
        for i, candidate in enumerate(self.choose(evidence)):
            yield ("" if i == 0 else " ") + f"{candidate.text} [{candidate.passage_number}]"

    def choose(self, evidence: Evidence) -> list[Candidate]:
        if not evidence.candidates:
            return []
        best = evidence.candidates[0]
        chosen = [best]
        words = len(best.text.split())
        for candidate in evidence.candidates[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if candidate.score < best.score - self.margin or candidate.cosine < _COVER_COSINE:
                break  # sorted by score: nothing further qualifies
            length = len(candidate.text.split())
            if words + length > self.max_words or _repeats(candidate, chosen):
                continue
            chosen.append(candidate)
            words += length
        if evidence.lexical:
            chosen = self._cover(evidence, chosen)
        chosen = self._each_brief(evidence, chosen)
        docs = list(dict.fromkeys(c.passage.doc_id for c in chosen))
        return sorted(chosen, key=lambda c: (docs.index(c.passage.doc_id), c.passage.start + c.start))

    def _cover(self, evidence: Evidence, chosen: list[Candidate]) -> list[Candidate]:
        """A question about two things ("elderly drivers and shrinking cities") gets a sentence for the
        second when the best sentences all answer the first: a relevant sentence that holds question
        words the chosen ones lack takes the place of the weakest chosen one."""
        terms = set(evidence.terms)
        best = chosen[0]
        for candidate in evidence.candidates:
            missing = terms - {t for c in chosen for t in tokenize(c.text)}
            if not missing:
                break
            if candidate.score < best.score - COVER_MARGIN or candidate.cosine < _COVER_COSINE:
                break
            gain = missing & set(tokenize(candidate.text))
            if len(gain) < 2 or candidate in chosen or _repeats(candidate, chosen):
                continue
            if len(chosen) >= self.max_sentences:
                chosen = chosen[:-1]
            chosen = [*chosen, candidate]
        return chosen

    def _each_brief(self, evidence: Evidence, chosen: list[Candidate]) -> list[Candidate]:
        """When several briefs answer (a question about two briefs), each is quoted at least once."""
        for doc_id in evidence.briefs:
            if any(c.passage.doc_id == doc_id for c in chosen):
                continue
            best = next((c for c in evidence.candidates if c.passage.doc_id == doc_id), None)
            if best is None:
                continue
            if len(chosen) >= self.max_sentences:
                quoted = {c.passage.doc_id for c in chosen}
                spare = [c for c in chosen if sum(o.passage.doc_id == c.passage.doc_id for o in chosen) > 1]
                if not spare or len(quoted) >= self.max_sentences:
                    continue
                chosen.remove(min(spare, key=lambda c: c.score))
            chosen.append(best)
        return chosen


def _repeats(candidate: Candidate, chosen: list[Candidate]) -> bool:
    """Near-duplicates (the same sentence in two chunks, or one sentence restating another)."""
    words = set(tokenize(candidate.text))
    for other in chosen:
        if other.passage.chunk_id == candidate.passage.chunk_id and other.start == candidate.start:
            return True
        theirs = set(tokenize(other.text))
        if words and theirs and len(words & theirs) / min(len(words), len(theirs)) > 0.8:
            return True
    return False
