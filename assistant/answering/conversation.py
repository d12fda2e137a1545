"""Conversations: the turns so far, and what a new question may take from them.

Whether a question continues the conversation is decided by evidence, not by its pronouns (see
`Assistant.prepare`): the question is retrieved both on its own and within the briefs the previous
answer cited, and the reading that answers it better wins. This module holds the data both need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.models import Answer, BriefRef, SearchFilter

# A question that finds a clearly better answer on its own than within the previous answer's briefs
# starts a new topic; anything closer stays in the conversation. Placed on the development
# conversations (tests/data/qa-conversations.jsonl): new topics scored 0.61-1.15 better on their own,
# follow-ups at most 0.36 ("What strategy does the brief recommend for them?", whose generic words
# match other briefs as well as the previous one).
NEW_TOPIC_MARGIN = 0.45


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, kept so that follow-up questions can refer back."""

    question: str
    standalone: str
    answer: Answer


@dataclass(frozen=True)
class Context:
    """What a question may take from the conversation: the briefs it was about and what was said."""

    briefs: tuple[BriefRef, ...]
    previous_question: str
    quoted: frozenset[str]  # sentences the recent answers already gave
    refused: bool = False  # the briefs are those a refusal named as nearest, not ones it cited

    @property
    def scope(self) -> SearchFilter:
        return SearchFilter(doc_ids=tuple(b.doc_id for b in self.briefs))

    @property
    def labels(self) -> str:
        return ", ".join(b.label for b in self.briefs)


def context_of(history: Sequence[Turn], turns: int) -> Context | None:
    """The context the latest turn offers: the briefs its answer cited or, when it was refused, the
    one its refusal named that the judge found likeliest (a user often rephrases or narrows a refused
    question, e.g. "So what do they propose?"); None without history.

    A context is only an offer: `Assistant.prepare` reads the question both within it and on its own.
    """
    recent = [t for t in history if t.answer is not None][-turns:] if turns else []
    if not recent:
        return None
    previous = recent[-1]
    briefs: dict[str, BriefRef] = {}
    for c in previous.answer.citations:
        briefs.setdefault(c.doc_id, BriefRef(c.doc_id, c.volume, c.title, c.date))
    if previous.answer.refused:  # the brief the judge found likeliest, of those the refusal named
        nearest = {b.doc_id: b for b in previous.answer.nearest}
        likeliest = [nearest[d] for d, _ in previous.answer.judged if d in nearest]
        briefs = {b.doc_id: b for b in (likeliest or list(nearest.values()))[:1]}
    if not briefs:
        return None
    quoted = frozenset(s.text for t in recent for s in t.answer.sentences if s.claim)
    return Context(
        tuple(briefs.values()), previous.standalone or previous.question, quoted, previous.answer.refused
    )


def continues(fresh_margin: float, scoped_margin: float, fresh_top: str | None, context: Context) -> bool:
    """Whether a question continues the conversation, from how well each reading answers it.

    The margins are evidence strength minus the refusal threshold that applies, for the question
    retrieved on its own (`fresh`) and within the context's briefs (`scoped`). When the question on
    its own lands on one of those briefs anyway, it continues the conversation.

    After a refusal the question is read on its own first: the brief the refusal found likeliest is
    only a guess (for an off-topic question, an arbitrary one), so it is read within that brief only
    when it is refused on its own (see `Assistant.stream`).
    """
    if context.refused:
        return False
    if fresh_top is not None and fresh_top in {b.doc_id for b in context.briefs}:
        return True
    return not (fresh_margin >= 0 and fresh_margin > scoped_margin + NEW_TOPIC_MARGIN)
