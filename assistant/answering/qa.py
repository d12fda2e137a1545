"""The assistant: question -> conversation -> filters -> retrieval -> the judge decides which briefs
answer (or refuses) -> draft from those briefs -> verification -> `Answer` with citations.

This is the one path every caller uses (CLI, web app, evaluation), so what staff measure is what
officials get. It knows nothing of settings or UI: it is given its parts (see `Library.assistant`).
"""

from __future__ import annotations

import time
from collections.abc import Generator as Steps
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from assistant.answering.conversation import (
    Context,
    Turn,
    announces_new_topic,
    context_of,
    continues,
    leans_on_previous,
)
from assistant.answering.drafts import complete_markers, labels, verification_notes
from assistant.answering.generation import Condenser, Generator
from assistant.answering.generation.evidence import (
    Evidence,
    IdfFunction,
    gather,
    match_scores,
    title_block_request,
)
from assistant.answering.generation.extractive import ExtractiveGenerator
from assistant.answering.generation.llm import NOT_IN_BRIEFS
from assistant.answering.generation.verify import Verified, Verifier
from assistant.answering.judge import Judge
from assistant.answering.messages import language_name, say
from assistant.answering.parts import question_parts, stands_alone
from assistant.answering.policy import MAX_BRIEFS, BriefCase, Decision, choose_sentences
from assistant.answering.questions import clean_question, tidy
from assistant.answering.refusal import nearest_briefs, refusal_sentences
from assistant.indexing.embeddings import Embedder
from assistant.models import Answer, BriefRef, Passage, SearchFilter, Sentence
from assistant.reading.text import question_language
from assistant.retrieval.filters import filter_from_question, merge
from assistant.retrieval.search import Retriever, Timings, with_briefs

MIN_KEPT_SHARE = 0.5  # below this share of verified sentences, a generated answer is replaced
_NEAREST_DEPTH = 20  # passages searched for the nearest briefs a refusal names
_JUDGED_DEPTH = 20  # passages an answer's retrieval ranks, so that the judge sees several briefs
# A two-part question whose parts are searched apart (`Assistant._with_parts`) keeps its own first
# briefs, those the judge weighs, before the parts' best.
_WHOLE_FIRST = MAX_BRIEFS


@dataclass
class Retrieval:
    """Passages for a question and how they were found."""

    question: str
    passages: list[Passage]
    filter: SearchFilter
    timings: Timings = field(default_factory=Timings)
    context: Context | None = None  # set when the question was read as continuing the conversation
    unknown: tuple[str, ...] = ()  # volumes the question named that are not in the index
    # A follow-up read with the question it follows: what its similarity to the briefs is measured
    # on (see `policy.brief_cases`); empty for a question on its own.
    topic: str = ""
    # The question in English, when it is in another language and English briefs were searched
    # with it (see `Assistant.translation`); empty otherwise.
    translation: str = ""
    # In a conversation: the reading not chosen (the question on its own when it was read within the
    # previous turn's briefs, and the reverse), tried when the chosen one is refused.
    alternative: Retrieval | None = None
    # Chunks a stage ranked on top of the others (the glossary's: `Retriever.search`): an answer
    # weighs them beside its first `top_k` passages, not instead of some of them.
    added: frozenset[str] = frozenset()

    @property
    def search_ms(self) -> float:
        return self.timings.total_ms


class Reading(NamedTuple):
    """A retrieval weighed and judged: what an answer from it would use, and the judge's decision."""

    passages: list[Passage]
    evidence: Evidence
    verifier: Verifier
    decision: Decision


def _confidence(reading: Reading) -> float:
    """The policy's probability for the likeliest brief a reading cites (0 when it refuses)."""
    return max((reading.decision.probabilities.get(b, 0.0) for b in reading.decision.cited), default=0.0)


def _leaves_conversation(retrieval: Retrieval, alternative: Retrieval, reading: Reading) -> bool:
    """Whether a question in a conversation, read on its own (`retrieval`), is answered from none of
    the previous briefs while a reading within them (`alternative`) is still to be tried."""
    within = alternative.context
    if retrieval.context is not None or within is None or not reading.decision.answer:
        return False
    return not set(reading.decision.cited) & {b.doc_id for b in within.briefs}


@dataclass(frozen=True)
class AnswerEvent:
    """What the assistant is doing (`status`), a piece of streamed text (`delta`), or the verified
    answer at the end (`final`)."""

    kind: str
    text: str = ""
    answer: Answer | None = None
    # On `final`: the retrieval the answer was drawn from (in a conversation, possibly the reading
    # `prepare` did not choose, see `Retrieval.alternative`); evaluation ranks what was used.
    retrieval: Retrieval | None = None


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
        judge: Judge | None = None,
        multilingual: Embedder | None = None,
        max_question_chars: int = 2000,
        history_turns: int = 4,
        translate: bool = True,
        render: bool = False,
        rewrite_follow_ups: bool = True,
        split_questions: bool = True,
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
        if judge is None:
            from assistant.answering.policy import load_policy

            judge = Judge(load_policy(), self.idf)
        self.judge = judge
        # Korean questions, or Korean briefs, are scored by the multilingual model.
        self.multilingual = multilingual
        self.multilingual_verifier = Verifier(multilingual) if multilingual else None
        self.max_question_chars = max_question_chars
        self.history_turns = history_turns
        self.translate = translate  # questions in another language are also searched in English
        self.render = render  # a model-written line above quotes in another language (see `_framing`)
        self.rewrite_follow_ups = rewrite_follow_ups  # a twice-refused follow-up is rewritten (`stream`)
        self.split_questions = split_questions  # a refused two-part question is read part by part

    # -- retrieval ---------------------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        flt: SearchFilter | None = None,
        k: int | None = None,
        *,
        read_filters: bool = True,
        split: bool = True,
    ) -> Retrieval:
        """Ranked passages for `question`; filters written in the question apply unless `flt` overrides.
        With `split` (and filters read), a question that asks two things also has its parts searched
        (`_with_parts`).

        A volume the question names that is not in the index ("제2호" of another series, "vol.999")
        restricts nothing: the whole index is searched, and a refusal says the volume is not indexed.
        """
        asked = read = filter_from_question(question) if read_filters else SearchFilter()
        unknown: tuple[str, ...] = ()
        if read.doc_ids:
            known = self.retriever.store.committed()
            if not any(d in known for d in read.doc_ids):
                unknown, read = read.doc_ids, replace(read, doc_ids=())
        effective = merge(flt or SearchFilter(), read)
        timings = Timings()
        start = time.perf_counter()
        # A question that names its briefs ("697호 ...") searches only them: nothing to translate for.
        translation = None if effective.doc_ids else self.translation(question)
        if translation:
            timings.extra["translate_ms"] = (time.perf_counter() - start) * 1000
        added: set[str] = set()
        passages = self.retriever.search(
            question, k or self.top_k, effective, timings, translation=translation, added=added
        )
        if read_filters and split and self.split_questions:
            passages, effective = self._with_parts(question, asked, passages, flt, effective, k, timings)
        timings.extra["other_ms"] = max(0.0, (time.perf_counter() - start) * 1000 - timings.total_ms)
        found = Retrieval(question, passages, effective, timings, unknown=unknown, added=frozenset(added))
        found.translation = translation or ""
        return found

    def _with_parts(
        self,
        question: str,
        whole: SearchFilter,
        passages: list[Passage],
        flt: SearchFilter | None,
        effective: SearchFilter,
        k: int | None,
        timings: Timings,
    ) -> tuple[list[Passage], SearchFilter]:
        """A question that asks two things (`parts.question_parts`) whose parts set other filters than
        `whole`, those its own words set: "…(KEI study), and what did vol.717 develop?" names vol.717
        in its second part only, yet the whole question's filter would keep every other brief out.
        Each part is then also searched with the filters its own words set (one that does not stand
        alone, "…, and when was it published?" or "In which year …?", keeps the whole question's:
        `parts.stands_alone`), and each part's best brief joins the whole question's ranking after
        its first `_WHOLE_FIRST` briefs (`search.with_briefs`). When that brings a brief the whole
        question's search did not find, the filter read from the whole question no longer describes
        the passages: only the caller's remains. Parts that set the same filters are not searched
        apart: on the dev and blind sets that moved no right brief into the top 5 and put briefs
        found for a fragment ("…, and how big were they?") among them."""
        language = question_language(question)
        pieces = question_parts(question, language)
        if len(pieces) < 2:
            return passages, effective
        own = [filter_from_question(piece) for piece in pieces]
        # "…vol.697 …, and how has this affected the regions?": the second part is about vol.697 too.
        own = [
            whole if read.empty and not stands_alone(piece, language) else read
            for piece, read in zip(pieces, own, strict=True)
        ]
        if all(read == whole for read in own):
            return passages, effective
        start = time.perf_counter()
        base = flt or SearchFilter()
        found = [
            self.retrieve(piece, merge(base, read), k, read_filters=False, split=False)
            for piece, read in zip(pieces, own, strict=True)
        ]
        merged = with_briefs(passages, [f.passages for f in found], _WHOLE_FIRST, k or self.top_k)
        timings.extra["parts_ms"] = (time.perf_counter() - start) * 1000
        if {p.doc_id for p in merged} - {p.doc_id for p in passages}:
            effective = flt or SearchFilter()
        return merged, effective

    def will_translate(self, question: str) -> bool:
        """Whether the question is searched through an English translation too: it is in another
        language, some briefs are in English, and there is a model to translate with."""
        return (
            self.translate
            and self.judge.reads
            and question_language(question) != "en"
            and "en" in self.retriever.store.languages()
        )

    def translation(self, question: str) -> str | None:
        """The question in English, for searching the English briefs (see `will_translate`)."""
        return self.judge.translate(question, "en") if self.will_translate(question) else None

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
        k = k or max(self.top_k, _JUDGED_DEPTH)
        fresh = self.retrieve(question, explicit, k)
        own = not use_context or announces_new_topic(question)  # "Different question: ..."
        context = None if own else context_of(history, self.history_turns)
        if context is None or not fresh.filter.empty:  # no context, or the question names its briefs
            return fresh
        if self.condenser is not None:
            recent = [(t.question, t.answer.text) for t in history[-self.history_turns :]]
            rewritten = tidy(self.condenser.condense(question, recent))
            if rewritten and rewritten.casefold() != question.casefold():
                candidate = self.retrieve(rewritten, explicit, k, read_filters=False)
                candidate.context = context
                candidate.alternative = fresh
                return candidate
            return fresh
        scoped = self.retrieve(question, context.scope, k, read_filters=False)
        scoped.context = context
        scoped.topic = f"{context.previous_question} {question}"
        # "When did they put that out?" within the previous brief asks for that brief's date: said so,
        # the reader can tell that the date line answers it.
        about = title_block_request(question, context.labels, question_language(question))
        if about:
            scoped.question = about
        if not scoped.passages:
            return fresh
        top = fresh.passages[0].doc_id if fresh.passages else None
        # After a refusal only closeness counts (`continues`): the margins are not computed.
        if context.refused:
            closeness = self.retriever.closeness(question, context.scope.doc_ids)
            follows = continues(0.0, 0.0, top, context, closeness)
        else:
            follows = continues(self._margin(question, fresh), self._margin(question, scoped), top, context)
        if follows:
            scoped.alternative = fresh
            return scoped
        fresh.alternative = scoped
        return fresh

    def _rewritten(self, question: str, retrieval: Retrieval) -> Retrieval | None:
        """The conversation's reading of a follow-up with the question rewritten to stand alone (see
        `Judge.stand_alone`), or None: no conversation, no model, or no usable rewrite."""
        within = retrieval if retrieval.context is not None else retrieval.alternative
        if not self.rewrite_follow_ups or within is None or within.context is None or not self.judge.reads:
            return None
        context = within.context
        briefs = "; ".join(f"{b.label} “{b.title}”" for b in context.briefs)
        standalone = self.judge.stand_alone(question, context.previous_question, briefs)
        if standalone is None:
            return None
        k = max(self.top_k, _JUDGED_DEPTH)
        found = self.retrieve(standalone, context.scope, k, read_filters=False)
        found.context = context
        return found if found.passages else None

    def _margin(self, question: str, retrieval: Retrieval) -> float:
        """How clearly `retrieval` answers `question` by the policy without the reader (cheap)."""
        if not retrieval.passages:
            return -1.0
        passages, evidence, _ = self.weigh(question, retrieval)
        return self.judge.margin(question, question_language(question), passages, evidence)

    def candidates(self, question: str, *, reads: int | None = None, read: bool = True) -> list[BriefCase]:
        """The briefs the judge weighs for a question, with their features (the policy is fitted on
        these, the `reads` likeliest read; see `Judge.cases`); without `read`, the reader is not asked."""
        retrieval = self.retrieve(self.clean(question), k=max(self.top_k, _JUDGED_DEPTH))
        passages, evidence, _ = self.weigh(retrieval.question, retrieval)
        language = question_language(question)
        return self.judge.cases(retrieval.question, language, passages, evidence, read=read, reads=reads)

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
        split: bool = True,
    ) -> Iterator[AnswerEvent]:
        """Answer text as it is produced, then one `final` event with the verified `Answer`.
        (About 60 lines: the steps of an answer in their order, each one call, read top to bottom.)

        `retrieval` is what `prepare` returned for this question (evaluation passes a deeper one).
        """
        question = self.clean(question)
        language = question_language(question)
        if retrieval is None:
            if self.will_translate(question):  # the translation takes a second or two: say so first
                yield AnswerEvent("status", say(language, "searching"))
            retrieval = self.prepare(question, history, flt, use_context=use_context)
        # A two-part question outside a conversation is answered part by part or refused (below), never
        # from its whole: its whole is not read (a reading costs 4-8 s of the model here).
        in_parts = (
            split
            and self.split_questions
            and retrieval.context is None
            and retrieval.alternative is None
            and bool(question_parts(question, language))
        )
        reading = yield from self._read(retrieval, language, decide=not in_parts)
        alternative = retrieval.alternative
        if alternative is not None and _leaves_conversation(retrieval, alternative, reading):
            # Read on its own, a follow-up that names little can land on any brief ("So what do they
            # propose instead?" was answered from a Korean brief, its e5 cosine being high for any
            # short question). So the previous briefs are read too, and the likelier reading kept;
            # a question that only the previous turns explain is not answered from elsewhere at all
            # (then refused within them, or rewritten to stand alone below).
            other = yield from self._read(alternative, language)
            leaning = leans_on_previous(question, language)
            if leaning or (other.decision.answer and _confidence(other) > _confidence(reading)):
                retrieval, reading = alternative, other
        if not reading.decision.answer and retrieval.alternative is not None:
            # In a conversation, the other reading (the question on its own, or within the previous
            # turn's briefs) may answer what this one refuses: then the brief that states the answer
            # decides the topic. (Reading both every time and keeping the likelier was measured on the
            # development conversations: no question changed, and it costs a second read.)
            other = yield from self._read(retrieval.alternative, language)
            if other.decision.answer:
                retrieval, reading = retrieval.alternative, other
        if not reading.decision.answer:
            # Last, a follow-up refused both ways is rewritten by the reader's model to stand on its own
            # and read within the conversation's briefs ("Hasn't anyone tried to fix that?" becomes a
            # question about urban flooding). Only now: the rewrite costs a model call and sometimes
            # changes what was asked, so a follow-up the judge accepts as asked is not rewritten.
            rewritten = self._rewritten(question, retrieval)
            if rewritten is not None:
                other = yield from self._read(rewritten, language)
                if other.decision.answer:
                    retrieval, reading = rewritten, other
        standalone = retrieval.question
        decision = reading.decision
        context = retrieval.context
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
        two_parts = False
        if (
            split
            and self.split_questions
            and (not decision.answer or (two_parts := bool(question_parts(question, language))))
        ):
            # A question that asks two things is answered part by part (see `_parts`), and only if
            # each part is: read whole, it is refused when no one brief answers both halves, or
            # answered from the brief that answers one half, which would pass a near-miss's other
            # half as answered.
            parts = yield from self._parts(question, language, retrieval, history)
            if parts:
                answer = _joined(base, parts)
                yield AnswerEvent("delta", answer.text)
                yield AnswerEvent("final", answer=answer, retrieval=retrieval)
                return
        if not decision.answer or two_parts:
            answer = self._refusal_for(question, retrieval, base)
            yield AnswerEvent("delta", answer.text)
            yield AnswerEvent("final", answer=replace(answer, judged=_judged(decision)), retrieval=retrieval)
            return
        passages, evidence, verifier, _ = reading
        evidence = choose_sentences(evidence, decision.cited)
        if context is not None:  # a follow-up asks for something new: what was said is not repeated
            evidence = _without(evidence, context.quoted)
        draft = yield from self._draft(standalone, passages, evidence, language)
        verified, notes = self._verify(draft, standalone, passages, evidence, verifier, language)
        if not verified.sentences:  # nothing survived verification: say so, as for weak evidence
            answer = self._refusal_for(question, retrieval, base)
            final = replace(answer, notes=tuple(notes), judged=_judged(decision))
            yield AnswerEvent("final", answer=final, retrieval=retrieval)
            return
        answer = replace(
            base,
            sentences=tuple(self._framed(list(verified.sentences), standalone, passages, language)),
            refused=False,
            passages=tuple(passages),
            notes=tuple(notes),
            judged=_judged(decision),
        )
        yield AnswerEvent("final", answer=answer, retrieval=retrieval)

    def _parts(
        self, question: str, language: str, retrieval: Retrieval, history: Sequence[Turn]
    ) -> Steps[AnswerEvent, None, list[Answer]]:
        """The answers to a refused question's parts (`parts.question_parts`), or [] unless every part
        is answered: half an answer to a near-miss ("what does it propose, and how much will it
        cost?") would state what the briefs do not. The first part is searched within the briefs
        found for the whole question; the second is asked as its follow-up, so that "…, and when was
        it published?" knows what "it" is, and may move to another brief ("…, and what does the
        flood brief propose?"). Only the parts' status lines are passed on."""
        pieces = question_parts(question, language)
        scope = tuple(dict.fromkeys(p.doc_id for p in retrieval.passages))
        if not pieces or not scope:
            return []
        answers: list[Answer] = []
        turns = list(history)
        for number, piece in enumerate(pieces):
            flt = SearchFilter(doc_ids=scope) if number == 0 else None
            final = None
            for event in self.stream(piece, turns, flt, use_context=number > 0, split=False):
                if event.kind == "status":
                    yield event
                elif event.kind == "final":
                    final = event.answer
            if final is None or final.refused:
                return []
            answers.append(final)
            turns = [*turns, Turn(piece, final.standalone_question, final)]
        return answers

    def _read(
        self, retrieval: Retrieval, language: str, *, decide: bool = True
    ) -> Steps[AnswerEvent, None, Reading]:
        """Weigh a retrieval's passages and let the judge decide (saying which briefs it reads); without
        `decide`, only weigh them (the decision: none)."""
        passages, evidence, verifier = self.weigh(retrieval.question, retrieval)
        decision = Decision((), {}, 1.0)
        if not decide:
            return Reading(passages, evidence, verifier, decision)
        if passages and evidence.candidates and self.judge.reads:
            labels = ", ".join(dict.fromkeys(p.label for p in passages[:3]))
            yield AnswerEvent("status", say(language, "reading", briefs=labels))
        if passages and evidence.candidates:  # a follow-up is also weighed as read with its predecessor
            topic = self._evidence(retrieval.topic, passages) if retrieval.topic else None
            decision, _ = self.judge.decide(retrieval.question, language, passages, evidence, topic=topic)
        return Reading(passages, evidence, verifier, decision)

    def _draft(
        self, question: str, passages: list[Passage], evidence: Evidence, language: str
    ) -> Steps[AnswerEvent, None, str]:
        """Stream the generator's draft with volume labels for its markers; returns the whole draft."""
        pieces: list[str] = []
        shown = 0  # characters of the draft already streamed
        for piece in self.generator.draft(question, passages, evidence, language):
            pieces.append(piece)
            draft = "".join(pieces)
            ready = complete_markers(draft)  # hold back a marker still being written ("[1")
            if ready > shown:
                yield AnswerEvent("delta", labels(draft[shown:ready], passages))
                shown = ready
        draft = "".join(pieces)
        if len(draft) > shown:
            yield AnswerEvent("delta", labels(draft[shown:], passages))
        return draft

    def _verify(
        self,
        draft: str,
        question: str,
        passages: list[Passage],
        evidence: Evidence,
        verifier: Verifier,
        language: str,
    ) -> tuple[Verified, list[str]]:
        """The draft's verified sentences and the notes for the reader (quotes replace a poor draft)."""
        verified = verifier.verify(draft, passages, question) if NOT_IN_BRIEFS not in draft else Verified()
        extractive = getattr(self.generator, "quotes", False)
        # The extractive answer quotes the briefs: a sentence verification sets aside is not news to
        # the user, so only a generated answer's removals are reported.
        notes = verification_notes(verified, language) if not extractive else []
        if not extractive and (not verified.sentences or verified.kept_share < MIN_KEPT_SHARE):
            fallback = "".join(self.fallback.draft(question, passages, evidence, language))
            verified = verifier.verify(fallback, passages, question)
            notes = [say(language, "fallback")]
        return verified, notes

    def _framed(
        self, sentences: list[Sentence], question: str, passages: list[Passage], language: str
    ) -> list[Sentence]:
        """The sentences, under a line in the question's language when every quote is in another."""
        by_chunk = {p.chunk_id: p for p in passages}
        quoted = {
            by_chunk[c.chunk_id].language for s in sentences for c in s.citations if c.chunk_id in by_chunk
        }
        if quoted and language not in quoted:
            return [self._framing(question, sentences, language, quoted), *sentences]
        return sentences

    def _framing(self, question: str, sentences: list[Sentence], language: str, quoted: set[str]) -> Sentence:
        """Above quotes in another language: a line in the question's language that says whose words
        follow and in which language. With `render` (and a model), one line written by the model and
        marked as its rendering instead; off by default, because the packaged model's lines misread
        the quotes, added to them or said nothing about half the time (docs/renderings-review.md)."""
        labels = " ".join(dict.fromkeys(c.label for s in sentences for c in s.citations))
        if self.render and self.judge.reads:
            quotes = [s.text for s in sentences if s.claim]
            line = self.judge.render(question, labels, quotes, language)
            if line:
                return Sentence(say(language, "rendering", labels=labels, text=line), claim=False)
        source = language_name(language, next(iter(quoted))) if len(quoted) == 1 else None
        if source:
            return Sentence(say(language, "according_in", labels=labels, source=source), claim=False)
        return Sentence(say(language, "according", labels=labels), claim=False)

    def weigh(self, question: str, retrieval: Retrieval) -> tuple[list[Passage], Evidence, Verifier]:
        """The passages an answer may use, the evidence they hold and the verifier for the answer.

        Korean questions and Korean briefs are weighed with the multilingual model; across languages
        the answer gets the whole top brief, since passage ranks within it come from a model that
        reads only one of the two languages.
        """
        language = question_language(question)
        passages = _answer_passages(retrieval.passages, self.top_k, retrieval.added)
        scoped = not retrieval.filter.empty  # briefs chosen before the search (see `gather`)
        if self.multilingual is None or self.multilingual_verifier is None:
            return passages, self._evidence(question, passages, scoped), self.verifier
        across = bool(passages) and passages[0].language != language
        if across:
            passages = self._whole_brief(passages)
        evidence = self._evidence(question, passages, scoped)
        multilingual = across or language != "en" or self.multilingual is self.embedder
        return passages, evidence, self.multilingual_verifier if multilingual else self.verifier

    def _evidence(self, question: str, passages: list[Passage], scoped: bool = False) -> Evidence:
        return gather(
            question, passages, self.embedder, self.idf, multilingual=self.multilingual, scoped=scoped
        )

    def _whole_brief(self, passages: list[Passage], limit: int = 12) -> list[Passage]:
        """Across languages, passage ranks within a brief mean little: give the answer the whole top brief."""
        top = passages[0].doc_id
        keyword = self.retriever.keyword
        ids = keyword.chunk_ids_of([top]).get(top, []) if keyword is not None else []
        found = self.retriever.store.get_passages(ids)
        whole = [found[cid] for cid in ids if cid in found][: limit - MAX_BRIEFS + 1]
        extra = [p for p in passages if p.doc_id != top]
        return whole + extra

    def match(self, question: str, passages: list[Passage]) -> list[float]:
        """A 0-1 match per passage that means the same across queries (the search table shows it)."""
        return match_scores(question, passages, self.embedder, self.multilingual)

    def has_keyword_hits(self, question: str) -> bool:
        """Whether any word of the question occurs in the indexed briefs at all."""
        keyword = self.retriever.keyword
        return keyword is None or bool(keyword.search(question, 1, None))

    def clean(self, question: str) -> str:
        """The question made usable (see `questions.clean_question`)."""
        return clean_question(question, self.max_question_chars)

    def _nearest_briefs(self, question: str, flt: SearchFilter) -> tuple[BriefRef, ...]:
        return nearest_briefs(self.retrieve(question, flt, k=_NEAREST_DEPTH, read_filters=False).passages)

    def _refusal_for(self, question: str, retrieval: Retrieval, base: Answer) -> Answer:
        """A refusal; one in a conversation is given as for a new question (not "about vol.N"), with
        the nearest briefs of the whole index."""
        if retrieval.context is None:
            return self._refusal(retrieval, base)
        other = retrieval.alternative  # the question on its own, when `prepare` retrieved it already
        alone = other if other is not None and other.context is None else self.retrieve(question)
        return self._refusal(alone, replace(base, context=(), filter=alone.filter.describe()))

    def _refusal(self, retrieval: Retrieval, base: Answer) -> Answer:
        language = base.language
        # The nearest briefs: from a deeper search within the filter (unless the retrieval at hand is
        # already that deep, as in evaluation), or anywhere if nothing matched the filter.
        nearest: tuple[BriefRef, ...] = ()
        if len(retrieval.passages) >= _NEAREST_DEPTH:
            nearest = nearest_briefs(retrieval.passages[:_NEAREST_DEPTH])
        elif retrieval.passages:
            nearest = self._nearest_briefs(retrieval.question, retrieval.filter)
        if not nearest and not retrieval.filter.empty:
            nearest = self._nearest_briefs(retrieval.question, SearchFilter())
        missing = self._not_indexed(retrieval.filter) or list(retrieval.unknown)
        sentences = refusal_sentences(
            language, retrieval.filter, nearest, missing, found=bool(retrieval.passages)
        )
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


def _answer_passages(
    ranked: Sequence[Passage], top_k: int, added: frozenset[str] = frozenset()
) -> list[Passage]:
    """The first `top_k` passages (with those of `added` ranked among them, which do not count), and
    the best passage of each further brief until the judge has `MAX_BRIEFS` briefs to weigh (the top
    passages are often all from one brief)."""
    head = 0
    counted = 0
    while head < len(ranked) and counted < top_k:
        counted += ranked[head].chunk_id not in added
        head += 1
    passages = list(ranked[:head])
    briefs = list(dict.fromkeys(p.doc_id for p in passages))
    for p in ranked[head:]:
        if len(briefs) >= MAX_BRIEFS:
            break
        if p.doc_id not in briefs:
            passages.append(p)
            briefs.append(p.doc_id)
    return passages


def _judged(decision: Decision) -> tuple[tuple[str, float], ...]:
    return tuple((doc, round(p, 4)) for doc, p in sorted(decision.probabilities.items(), key=lambda x: -x[1]))


def _without(evidence: Evidence, quoted: frozenset[str]) -> Evidence:
    """The evidence without sentences already given (when something else is left)."""
    fresh = tuple(c for c in evidence.candidates if c.text not in quoted)
    return replace(evidence, candidates=fresh) if fresh else evidence


def _joined(base: Answer, parts: Sequence[Answer]) -> Answer:
    """One answer from the answers to a question's parts, in order."""
    passages = {p.chunk_id: p for part in parts for p in part.passages}
    return replace(
        base,
        sentences=tuple(s for part in parts for s in part.sentences),
        refused=False,
        passages=tuple(passages.values()),
        notes=tuple(dict.fromkeys(n for part in parts for n in part.notes)),
        judged=tuple(pair for part in parts for pair in part.judged),
        standalone_question=" | ".join(part.standalone_question for part in parts),
    )
