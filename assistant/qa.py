"""The assistant: question -> (follow-up rewrite) -> filters -> retrieval -> refusal check -> draft ->
verification -> `Answer` with citations.

This is the one path every caller uses (CLI, web app, evaluation), so what staff measure is what
officials get. It knows nothing of settings or UI: it is given its parts (see `Library.assistant`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from assistant.conversation import Context, Turn, context_of, continues
from assistant.embeddings import Embedder
from assistant.errors import AssistantError
from assistant.filters import filter_from_question, merge
from assistant.generation import Condenser, Generator
from assistant.generation.evidence import Evidence, IdfFunction, gather, match_scores
from assistant.generation.extractive import ExtractiveGenerator
from assistant.generation.llm import NOT_IN_BRIEFS
from assistant.generation.verify import Verified, Verifier
from assistant.messages import brief_list, say
from assistant.models import Answer, BriefRef, Passage, SearchFilter, Sentence
from assistant.retrieval import Retriever, Timings
from assistant.text import question_language

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MIN_KEPT_SHARE = 0.5  # below this share of verified sentences, a generated answer is replaced
_NEAREST_DEPTH = 20  # passages searched for the nearest briefs a refusal names


class QuestionError(AssistantError):
    """The question itself cannot be used (empty, too long)."""

    exit_code = 2


@dataclass
class Retrieval:
    """Passages for a question and how they were found."""

    question: str
    passages: list[Passage]
    filter: SearchFilter
    timings: Timings = field(default_factory=Timings)
    context: Context | None = None  # set when the question was read as continuing the conversation

    @property
    def search_ms(self) -> float:
        return self.timings.total_ms


@dataclass(frozen=True)
class AnswerEvent:
    """A piece of streamed text (`delta`), or the verified answer at the end (`final`)."""

    kind: str
    text: str = ""
    answer: Answer | None = None


class Assistant:
    """Retrieve passages for a question and answer it with verified citations, or refuse."""

    def __init__(
        self,
        retriever: Retriever,
        *,
        top_k: int = 5,
        embedder: Embedder | None = None,
        idf: IdfFunction | None = None,
        generator: Generator | None = None,
        condenser: Condenser | None = None,
        refusal_threshold: float = 0.675,
        multilingual: Embedder | None = None,
        multilingual_threshold: float = 0.787,
        max_question_chars: int = 2000,
        history_turns: int = 4,
    ) -> None:
        self.retriever = retriever
        self.top_k = top_k
        self.embedder = embedder or retriever.embedder
        self.idf = idf or (
            retriever.keyword.idf if retriever.keyword else (lambda terms: {t: 1.0 for t in terms})
        )
        self.generator: Generator = generator or ExtractiveGenerator()
        self.fallback = ExtractiveGenerator()
        self.condenser = condenser
        self.verifier = Verifier(self.embedder)
        self.refusal_threshold = refusal_threshold
        # Korean questions, or Korean briefs, are scored by the multilingual model, with its own threshold.
        self.multilingual = multilingual
        self.multilingual_threshold = multilingual_threshold
        self.multilingual_verifier = Verifier(multilingual) if multilingual else None
        self.max_question_chars = max_question_chars
        self.history_turns = history_turns

    # -- retrieval ---------------------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        flt: SearchFilter | None = None,
        k: int | None = None,
        *,
        read_filters: bool = True,
    ) -> Retrieval:
        """Ranked passages for `question`; filters written in the question apply unless `flt` overrides."""
        effective = merge(
            flt or SearchFilter(), filter_from_question(question) if read_filters else SearchFilter()
        )
        timings = Timings()
        start = time.perf_counter()
        passages = self.retriever.search(question, k or self.top_k, effective, timings)
        timings.extra["other_ms"] = max(0.0, (time.perf_counter() - start) * 1000 - timings.total_ms)
        return Retrieval(question, passages, effective, timings)

    # -- answering ---------------------------------------------------------------------------------
    def prepare(
        self,
        question: str,
        history: Sequence[Turn] = (),
        flt: SearchFilter | None = None,
        k: int | None = None,
        *,
        use_context: bool = True,
    ) -> Retrieval:
        """Passages for a question in a conversation: on its own, or within the briefs of the previous
        answer when that answers it better (see `conversation.continues`)."""
        question = self.clean(question)
        explicit = flt or SearchFilter()
        fresh = self.retrieve(question, explicit, k)
        context = context_of(history, self.history_turns) if use_context else None
        if context is None or not fresh.filter.empty:  # no context, or the question names its briefs
            return fresh
        if self.condenser is not None:
            recent = [(t.question, t.answer.text) for t in history[-self.history_turns :]]
            rewritten = _tidy(self.condenser.condense(question, recent))
            if rewritten and rewritten.casefold() != question.casefold():
                candidate = self.retrieve(rewritten, explicit, k, read_filters=False)
                candidate.context = context
                return candidate
            return fresh
        scoped = self.retrieve(question, context.scope, k, read_filters=False)
        scoped.context = context
        fresh_margin = self._margin(question, fresh)
        scoped_margin = self._margin(question, scoped)
        top = fresh.passages[0].doc_id if fresh.passages else None
        return scoped if scoped.passages and continues(fresh_margin, scoped_margin, top, context) else fresh

    def _margin(self, question: str, retrieval: Retrieval) -> float:
        """How far the evidence for `question` in `retrieval` is above its refusal threshold."""
        if not retrieval.passages:
            return -1.0
        _, evidence, threshold, _ = self.weigh(question, retrieval)
        return evidence.strength - threshold

    # -- answering ---------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        flt: SearchFilter | None = None,
        retrieval: Retrieval | None = None,
        *,
        use_context: bool = True,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, flt, retrieval=retrieval, use_context=use_context):
            if event.kind == "final":
                final = event.answer
        assert final is not None  # stream always ends with a final event
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        flt: SearchFilter | None = None,
        retrieval: Retrieval | None = None,
        *,
        use_context: bool = True,
    ) -> Iterator[AnswerEvent]:
        """Answer text as it is produced, then one `final` event with the verified `Answer`.

        `retrieval` is what `prepare` returned for this question (evaluation passes a deeper one).
        """
        question = self.clean(question)
        language = question_language(question)
        if retrieval is None:
            retrieval = self.prepare(question, history, flt, use_context=use_context)
        standalone = retrieval.question
        passages, evidence, threshold, verifier = self.weigh(standalone, retrieval)
        strength = evidence.strength
        context = retrieval.context
        if context is not None and retrieval.question == question:
            # A follow-up ("What did it propose?") is weighed with the topic it continues, but its
            # sentences are chosen by its own words, and what was already said is not repeated.
            combined = f"{question} ({context.previous_question})"
            strength = max(strength, self.weigh(combined, retrieval)[1].strength)
        if context is not None:
            evidence = _without(evidence, context.quoted)
        base = Answer(
            question=question,
            sentences=(),
            refused=False,
            language=language,
            standalone_question=standalone,
            filter=retrieval.filter.describe() if context is None else "all briefs",
            generator=self.generator.name,
            context=context.briefs if context is not None else (),
        )
        if not passages or strength < threshold or not evidence.candidates:
            answer = self._refusal_for(question, retrieval, base)
            yield AnswerEvent("delta", answer.text)
            yield AnswerEvent("final", answer=answer)
            return
        pieces: list[str] = []
        shown = 0  # characters of the draft already streamed
        for piece in self.generator.draft(standalone, passages, evidence, language):
            pieces.append(piece)
            draft = "".join(pieces)
            ready = _complete_markers(draft)  # hold back a marker still being written ("[1")
            if ready > shown:
                yield AnswerEvent("delta", _labels(draft[shown:ready], passages))
                shown = ready
        draft = "".join(pieces)
        if len(draft) > shown:
            yield AnswerEvent("delta", _labels(draft[shown:], passages))
        verified = verifier.verify(draft, passages, standalone) if NOT_IN_BRIEFS not in draft else Verified()
        extractive = isinstance(self.generator, ExtractiveGenerator)
        # The extractive answer quotes the briefs: a sentence verification sets aside is not news to
        # the user, so only a generated answer's removals are reported.
        notes = _notes(verified, language) if not extractive else []
        if not extractive and (not verified.sentences or verified.kept_share < MIN_KEPT_SHARE):
            fallback = "".join(self.fallback.draft(standalone, passages, evidence, language))
            verified = verifier.verify(fallback, passages, standalone)
            notes = [say(language, "fallback")]
        if not verified.sentences:  # nothing survived verification: say so, as for weak evidence
            answer = self._refusal_for(question, retrieval, base)
            yield AnswerEvent("final", answer=replace(answer, notes=tuple(notes)))
            return
        sentences = list(verified.sentences)
        if language == "ko" and sentences and all(p.language != "ko" for p in passages):
            labels = " ".join(dict.fromkeys(c.label for s in sentences for c in s.citations))
            sentences.insert(0, Sentence(say(language, "according", labels=labels), claim=False))
        answer = replace(
            base,
            sentences=tuple(sentences),
            refused=False,
            passages=tuple(passages),
            notes=tuple(notes),
        )
        yield AnswerEvent("final", answer=answer)

    def weigh(self, question: str, retrieval: Retrieval) -> tuple[list[Passage], Evidence, float, Verifier]:
        """The passages an answer may use, the evidence they hold, the refusal threshold that applies,
        and the verifier for the answer.

        Korean questions and Korean briefs are weighed with the multilingual model (and its own
        threshold); across languages the answer gets the whole top brief, since passage ranks within
        it come from a model that reads only one of the two languages.
        """
        language = question_language(question)
        passages = retrieval.passages[: self.top_k]
        multilingual = self.multilingual is not None and (
            self.multilingual is self.embedder
            or language != "en"
            or any(p.language != "en" for p in passages)
        )
        if not multilingual or self.multilingual is None or self.multilingual_verifier is None:
            evidence = gather(question, passages, self.embedder, self.idf)
            return passages, evidence, self.refusal_threshold, self.verifier
        if passages and passages[0].language != language:
            passages = self._whole_brief(passages)
        evidence = gather(question, passages, self.multilingual, self.idf, multilingual=True)
        return passages, evidence, self.multilingual_threshold, self.multilingual_verifier

    def _whole_brief(self, passages: list[Passage], limit: int = 12) -> list[Passage]:
        """Across languages, passage ranks within a brief mean little: give the answer the whole top brief."""
        top = passages[0].doc_id
        keyword = self.retriever.keyword
        ids = keyword.chunk_ids_of([top]).get(top, []) if keyword is not None else []
        found = self.retriever.store.get_passages(ids)
        whole = [found[cid] for cid in ids if cid in found]
        extra = [p for p in passages if p.doc_id != top]
        return (whole + extra)[:limit]

    def match(self, question: str, passages: list[Passage]) -> list[float]:
        """A 0-1 match per passage that means the same across queries (the search table shows it)."""
        return match_scores(question, passages, self.embedder, self.multilingual)

    def has_keyword_hits(self, question: str) -> bool:
        """Whether any word of the question occurs in the indexed briefs at all."""
        keyword = self.retriever.keyword
        return keyword is None or bool(keyword.search(question, 1, None))

    def clean(self, question: str) -> str:
        """The question without control characters; empty or over-long questions are errors."""
        text = _tidy(question)
        if not text:
            raise QuestionError("the question is empty", hint="type a question about the briefs")
        if len(text) > self.max_question_chars:
            raise QuestionError(
                f"the question is {len(text):,} characters long; the limit is {self.max_question_chars:,}",
                hint="ask a shorter question (ASSISTANT_MAX_QUESTION_CHARS sets the limit)",
            )
        return text

    def _nearest_briefs(self, question: str, flt: SearchFilter) -> tuple[BriefRef, ...]:
        return _nearest(self.retrieve(question, flt, k=_NEAREST_DEPTH, read_filters=False).passages)

    def _refusal_for(self, question: str, retrieval: Retrieval, base: Answer) -> Answer:
        """A refusal; one in a conversation is given as for a new question (not "about vol.N"), with
        the nearest briefs of the whole index."""
        if retrieval.context is None:
            return self._refusal(retrieval, base)
        alone = self.retrieve(question)
        return self._refusal(alone, replace(base, context=(), filter=alone.filter.describe()))

    def _refusal(self, retrieval: Retrieval, base: Answer) -> Answer:
        language = base.language
        # The nearest briefs: from a deeper search within the filter (unless the retrieval at hand is
        # already that deep, as in evaluation), or anywhere if nothing matched the filter.
        nearest: tuple[BriefRef, ...] = ()
        if len(retrieval.passages) >= _NEAREST_DEPTH:
            nearest = _nearest(retrieval.passages[:_NEAREST_DEPTH])
        elif retrieval.passages:
            nearest = self._nearest_briefs(retrieval.question, retrieval.filter)
        if not nearest and not retrieval.filter.empty:
            nearest = self._nearest_briefs(retrieval.question, SearchFilter())
        parts = [say(language, "refusal")]
        missing = self._not_indexed(retrieval.filter)
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            parts.append(
                say(language, "not_indexed", volumes=", ".join(f"vol.{v}" for v in missing), verb=verb)
            )
        elif not retrieval.passages and not retrieval.filter.empty:
            parts.append(say(language, "no_match", filter=retrieval.filter.describe()))
        if nearest:
            key = "nearest_one" if len(nearest) == 1 else "nearest"
            parts.append(say(language, key, briefs=brief_list(language, nearest)))
        elif not retrieval.passages and retrieval.filter.empty:
            parts.append(say(language, "empty_index"))
        sentences = tuple(Sentence(p, claim=False) for p in parts)
        return replace(
            base,
            sentences=sentences,
            refused=True,
            passages=tuple(retrieval.passages[: self.top_k]),
            nearest=nearest,
        )

    def _not_indexed(self, flt: SearchFilter) -> list[str]:
        if not flt.doc_ids:
            return []
        known = self.retriever.store.committed()
        return [d for d in flt.doc_ids if d not in known]


def _tidy(question: str) -> str:
    """The question with control characters and runs of white space made single spaces."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", question)).strip()


def _nearest(passages: Sequence[Passage], n: int = 3) -> tuple[BriefRef, ...]:
    seen: dict[str, BriefRef] = {}
    for p in passages:
        if p.doc_id not in seen:
            seen[p.doc_id] = BriefRef(p.doc_id, p.volume, p.title, p.date)
    return tuple(seen.values())[:n]


def _complete_markers(text: str) -> int:
    """How much of a growing draft can be shown: all of it, except an unclosed "[..." at its end."""
    opening = text.rfind("[")
    return opening if opening > text.rfind("]") and len(text) - opening < 40 else len(text)


def _labels(piece: str, passages: list[Passage]) -> str:
    """Streamed text shows `[vol.697]` where the draft says `[1]`."""

    def label(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[{passages[n - 1].label}]" if 1 <= n <= len(passages) else match.group(0)

    return re.sub(r"\[(\d{1,2})\]", label, piece)


def _without(evidence: Evidence, quoted: frozenset[str]) -> Evidence:
    """The evidence without sentences already given (when something else is left)."""
    fresh = tuple(c for c in evidence.candidates if c.text not in quoted)
    return replace(evidence, candidates=fresh) if fresh else evidence


def _notes(verified: Verified, language: str) -> list[str]:
    notes = []
    if verified.removed:
        notes.append(say(language, "removed", n=len(verified.removed)))
    if verified.dropped_citations:
        notes.append(say(language, "dropped", refs=", ".join(f"[{r}]" for r in verified.dropped_citations)))
    return notes
