"""The judge: reads the top briefs for a question and decides, with the fitted policy, which answer it.

It asks the reader about each candidate brief's best sentences (remembering the replies, so that a
repeated question costs no model time) and hands the features to the policy (`policy.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

from assistant.answering.generation.evidence import Evidence, IdfFunction
from assistant.answering.policy import MAX_READS, BriefCase, Decision, Policy, brief_cases, with_reader
from assistant.answering.reader import Excerpt, Extraction, NoReader, Reader
from assistant.models import Passage

K = TypeVar("K", bound=tuple[str, ...])
V = TypeVar("V")
_REMEMBERED = 4096  # reader replies kept (question, excerpt) -> probability


class Judge:
    def __init__(self, policy: Policy, idf: IdfFunction, reader: Reader | None = None) -> None:
        self.policy = policy
        self.idf = idf
        self.reader: Reader = reader or NoReader()
        self._replies: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._extractions: OrderedDict[tuple[str, str, str], Extraction] = OrderedDict()
        self._probes: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._renderings: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._translations: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._rewrites: OrderedDict[tuple[str, str, str], str | None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def reads(self) -> bool:
        return not isinstance(self.reader, NoReader)

    def cases(
        self,
        question: str,
        language: str,
        passages: Sequence[Passage],
        evidence: Evidence,
        *,
        read: bool = True,
        reads: int | None = None,
        topic: Evidence | None = None,
    ) -> list[BriefCase]:
        """The candidate briefs with their features; with `read`, the reader's judgement too, for the
        briefs the policy does not rule out without it (`Policy.to_read`). `reads`: read that many
        (the likeliest by the lexical model that pass its screen) and ask the reader everything, as the
        policy's fit does. `topic`: a follow-up's evidence read with its conversation (see
        `policy.brief_cases`)."""
        cases = brief_cases(question, language, passages, evidence, self.idf, topic=topic)
        if not read or not self.reads or not cases:
            return cases
        wanted = self.policy.to_read(cases, MAX_READS if reads is None else reads)
        chosen = [c for c, read_it in zip(cases, wanted, strict=True) if read_it]
        if not chosen:
            return cases
        asks = self.policy.asks if reads is None else {"answers", "extracts", "probes"}
        excerpts = [c.excerpt for c in chosen]
        unasked: list[None] = [None] * len(chosen)
        # The probe first: a reader without one (a server) is then not asked the rest for nothing.
        probes = (
            self._asked(self._probes, question, excerpts, self.reader.probes) if "probes" in asks else unasked
        )
        if reads is None and probes is None:  # a reader without hidden states: the policy's model for one
            asks = self.policy.plain_asks
            if not asks:
                return cases
            probes = unasked
        elif reads is None and self.policy.first is not None and self.policy.first_asks <= {"probes"}:
            # The probe alone settles most briefs (`FirstReading`): the extraction, which writes and
            # so costs more, is asked only for those it leaves in doubt.
            early = [
                with_reader(c, None, None, question, s)
                for c, s in zip(chosen, probes or unasked, strict=True)
            ]
            if self.policy.first.settles(early):
                judged_early = {c.doc_id: c for c in early}
                return [judged_early.get(c.doc_id, c) for c in cases]
        probabilities = (
            self._asked(self._replies, question, excerpts, self.reader.answers)
            if "answers" in asks
            else unasked
        )
        extractions = (
            self._asked(self._extractions, question, excerpts, self.reader.extracts)
            if "extracts" in asks
            else unasked
        )
        # A reader that cannot give what the policy weighs leaves the decision to the lexical model,
        # whose weights hold without the reader; when every judgement is asked (a fit), what it can
        # give is kept.
        if reads is None and (probabilities is None or extractions is None):
            return cases
        if probabilities is None and extractions is None and probes is None:
            return cases
        judged = {
            c.doc_id: with_reader(c, p, x, question, s)
            for c, p, x, s in zip(
                chosen, probabilities or unasked, extractions or unasked, probes or unasked, strict=True
            )
        }
        return [judged.get(c.doc_id, c) for c in cases]

    def decide(
        self,
        question: str,
        language: str,
        passages: Sequence[Passage],
        evidence: Evidence,
        *,
        read: bool = True,
        topic: Evidence | None = None,
    ) -> tuple[Decision, list[BriefCase]]:
        cases = self.cases(question, language, passages, evidence, read=read, topic=topic)
        return self.policy.decide(cases), cases

    def warm_up(self) -> None:
        """Load the reader's model now rather than at the first question, asking it once what the
        policy asks (so that a probe file that does not fit shows now, and the extraction's
        instructions are read and cached before the first question)."""
        if not self.reads:
            return
        excerpt = [Excerpt("warm-up", "warm-up")]
        asks = self.policy.asks or {"answers"}
        if "probes" in asks and self.reader.probes("warm-up", excerpt) is None:
            asks = self.policy.plain_asks or {"answers"}  # a reader without hidden states
        if "extracts" in asks:
            self.reader.extracts("warm-up", excerpt)
        if "answers" in asks:
            self.reader.answers("warm-up", excerpt)

    def margin(self, question: str, language: str, passages: Sequence[Passage], evidence: Evidence) -> float:
        """How clearly the briefs answer the question, without asking the reader (cheap)."""
        return self.policy.margin(self.cases(question, language, passages, evidence, read=False))

    def render(self, question: str, brief: str, quotes: Sequence[str], language: str) -> str | None:
        return self._remembered(
            self._renderings,
            (question, "\n".join(quotes)),
            lambda: self.reader.render(question, brief, quotes, language),
        )

    def translate(self, text: str, language: str) -> str | None:
        """`text` in `language` by the reader's model (remembered: a repeated question costs nothing);
        None without a model."""
        if not self.reads:
            return None
        return self._remembered(
            self._translations, (text, language), lambda: self.reader.translate(text, language)
        )

    def stand_alone(self, question: str, previous: str, brief: str) -> str | None:
        """A follow-up rewritten by the reader's model to stand on its own (remembered); None without a
        model or when the model's rewrite is unusable."""
        if not self.reads:
            return None
        return self._remembered(
            self._rewrites,
            (question, previous, brief),
            lambda: self.reader.stand_alone(question, previous, brief),
        )

    def _remembered(
        self, store: OrderedDict[K, str | None], key: K, write: Callable[[], str | None]
    ) -> str | None:
        """What the model wrote for `key` before, or what `write` makes of it now (then remembered)."""
        with self._lock:
            if key in store:
                return store[key]
        written = write()
        with self._lock:
            store[key] = written
            while len(store) > _REMEMBERED:
                store.popitem(last=False)
        return written

    def _asked(
        self,
        store: OrderedDict[tuple[str, str, str], V],
        question: str,
        excerpts: list[Excerpt],
        ask: Callable[[str, Sequence[Excerpt]], list[V] | None],
    ) -> list[V] | None:
        """The reader's judgements of the excerpts (`ask`), those it gave before taken from `store`;
        None when the reader cannot judge."""
        keys = [(question, e.brief, e.text) for e in excerpts]
        with self._lock:
            known = {k: store[k] for k in keys if k in store}
        missing = [e for e, k in zip(excerpts, keys, strict=True) if k not in known]
        if missing:
            fresh = ask(question, missing)
            if fresh is None:
                return None
            with self._lock:
                for excerpt, found in zip(missing, fresh, strict=True):
                    key = (question, excerpt.brief, excerpt.text)
                    store[key] = known[key] = found
                while len(store) > _REMEMBERED:
                    store.popitem(last=False)
        return [known[k] for k in keys]
