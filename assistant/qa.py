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

from assistant.embeddings import Embedder
from assistant.errors import AssistantError
from assistant.filters import filter_from_question, merge
from assistant.generation import Condenser, Generator
from assistant.generation.evidence import Evidence, IdfFunction, gather
from assistant.generation.extractive import ExtractiveGenerator
from assistant.generation.llm import NOT_IN_BRIEFS
from assistant.generation.verify import Verified, Verifier
from assistant.messages import brief_list, say
from assistant.models import Answer, BriefRef, Passage, SearchFilter, Sentence
from assistant.retrieval import Retriever, Timings
from assistant.text import question_language

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_REFERS_BACK = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|the brief|the same|he|she|his|her|there|"
    r"above|former|latter|what about|how about|and why|why so)\b|"
    r"그것|그게|그 브리프|해당 브리프|거기|이 브리프|위의",
    re.IGNORECASE,
)
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

    @property
    def search_ms(self) -> float:
        return self.timings.total_ms


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, kept so that follow-up questions can refer back."""

    question: str
    standalone: str
    answer: Answer


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
    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        flt: SearchFilter | None = None,
        retrieval: Retrieval | None = None,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, flt, retrieval=retrieval):
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
    ) -> Iterator[AnswerEvent]:
        """Answer text as it is produced, then one `final` event with the verified `Answer`."""
        question = self.clean(question)
        language = question_language(question)
        standalone, carried = self.standalone(question, history)
        explicit = flt or SearchFilter()
        if carried and explicit.empty:  # a follow-up names no briefs of its own (`_is_follow_up`)
            explicit = carried
        if retrieval is None or _tidy(retrieval.question) != standalone:
            retrieval = self.retrieve(standalone, explicit)
        passages, evidence, threshold, verifier = self.weigh(standalone, retrieval)
        base = Answer(
            question=question,
            sentences=(),
            refused=False,
            language=language,
            standalone_question=standalone,
            filter=retrieval.filter.describe(),
            generator=self.generator.name,
        )
        if not passages or evidence.strength < threshold:
            answer = self._refusal(retrieval, base)
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
        notes = _notes(verified, language)
        if not isinstance(self.generator, ExtractiveGenerator) and (
            not verified.sentences or verified.kept_share < MIN_KEPT_SHARE
        ):
            fallback = "".join(self.fallback.draft(standalone, passages, evidence, language))
            verified = verifier.verify(fallback, passages, standalone)
            notes = [say(language, "fallback")]
        if not verified.sentences:  # nothing survived verification: say so, as for weak evidence
            answer = self._refusal(retrieval, base)
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

    def standalone(self, question: str, history: Sequence[Turn]) -> tuple[str, SearchFilter | None]:
        """A follow-up ("What did it propose?") made answerable on its own, and the briefs it refers to.

        With a language model the question is rewritten; without one, the previous question's topic is
        carried over, and so are the briefs the previous answer cited.
        """
        recent = [t for t in history if t.answer is not None][-self.history_turns :]
        if not recent or not _is_follow_up(question):
            return question, None
        previous = recent[-1]
        docs = tuple(dict.fromkeys(c.doc_id for c in previous.answer.citations))
        carried = SearchFilter(doc_ids=docs) if docs else None
        if self.condenser is not None:
            rewritten = self.condenser.condense(question, [(t.question, t.answer.text) for t in recent])
            return rewritten, carried
        return f"{question} ({previous.standalone})", carried

    def _nearest_briefs(self, question: str, flt: SearchFilter) -> tuple[BriefRef, ...]:
        return _nearest(self.retrieve(question, flt, k=_NEAREST_DEPTH, read_filters=False).passages)

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


def _is_follow_up(question: str) -> bool:
    if not filter_from_question(question).empty:
        return False  # it names its own briefs
    words = question.split()
    return bool(_REFERS_BACK.search(question)) or len(words) <= 4


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


def _notes(verified: Verified, language: str) -> list[str]:
    notes = []
    if verified.removed:
        notes.append(say(language, "removed", n=len(verified.removed)))
    if verified.dropped_citations:
        notes.append(say(language, "dropped", refs=", ".join(f"[{r}]" for r in verified.dropped_citations)))
    return notes
