"""Conversations: the turns so far, and what a new question may take from them.

Whether a question continues the conversation is decided by evidence, not by its pronouns (see
`Assistant.prepare`): the question is retrieved both on its own and within the briefs the previous
answer cited, and the reading that answers it better wins. This module holds the data both need.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.parts import points_back
from assistant.indexing.keyword import tokenize
from assistant.models import Answer, BriefRef, SearchFilter

# A question that finds a clearly better answer on its own than within the previous answer's briefs
# starts a new topic; anything closer stays in the conversation. Placed on the development
# conversations (tests/data/qa-conversations.jsonl): new topics scored 0.61-1.15 better on their own,
# follow-ups at most 0.36 ("What strategy does the brief recommend for them?", whose generic words
# match other briefs as well as the previous one).
NEW_TOPIC_MARGIN = 0.45

# A question that opens by saying it changes the subject ("Different question: ...", "Switching to
# floods, ...", "다른 얘기인데 ...") starts afresh whatever its words share with the previous briefs:
# the user said so, and reading it within the previous brief can only cite the wrong one.
_NEW_TOPIC = re.compile(
    r"^\W*(?:ok(?:ay)?|so|now|and|but|right|alright|also|well)?[\s,.!]*(?:"
    r"(?:a\s+|on\s+a\s+|on\s+an?other\s+)?(?:different|separate|unrelated|new|other)\s+"
    r"(?:question|topic|subject|brief|report|matter|note|issue)\b"
    r"|unrelated\b|switching\b|changing\s+(?:the\s+)?(?:topic|subject)\b"
    r"|(?:a\s+)?change\s+of\s+(?:topic|subject)\b|moving\s+on\b|on\s+another\s+note\b"
    r"|(?:let'?s|let\s+me)\s+(?:switch|change|move)\b)"
    r"|^\W*(?:다른\s*(?:얘기|이야기|질문|주제|보고서|브리프)|주제를?\s*바꿔|화제를?\s*바꿔|그건\s*그렇고|별개로)",
    re.I,
)


# A question that points back ("What's supposed to go in it?") and holds no more than this many
# content words names nothing by which a brief outside the conversation could be found: read on its
# own it lands on whatever is close to any short question (on blind set 3, three such follow-ups were
# answered from one Korean brief whose e5 vectors are near every short English question).
MAX_LEANING_WORDS = 3


def leans_on_previous(question: str, language: str) -> bool:
    """Whether a question can only be understood from the turns before it: it points back and names
    at most `MAX_LEANING_WORDS` content words of its own ("So what do they propose instead?"). Such a
    question in a conversation is answered from the conversation's briefs or not at all (see
    `Assistant.stream`); one that names enough ("How many cities are classified as shrinking cities in
    their report?") may still move to another brief."""
    words = {w for w in tokenize(question) if len(w) > 1}  # not the "s" of "what's"
    return points_back(question, language) and len(words) <= MAX_LEANING_WORDS


def announces_new_topic(question: str) -> bool:
    """Whether a question opens by saying it changes the subject (then it has no context)."""
    return bool(_NEW_TOPIC.search(question))


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


# After a refusal, a question whose own closest passage is (within this cosine) as close as its closest
# passage in the brief the refusal found likeliest is about that brief ("How does it propose fixing
# that?" after a refused question on zoning): it is read within that brief first. Placed on the
# development conversations: such follow-ups came within 0.03 of their best brief; new topics after
# a refusal were 0.11 or more further from the refused brief than from their own.
SAME_BRIEF_COSINE = 0.05


def continues(
    fresh_margin: float,
    scoped_margin: float,
    fresh_top: str | None,
    context: Context,
    closeness: tuple[float, float] | None = None,
) -> bool:
    """Whether a question continues the conversation, from how well each reading answers it.

    The margins are evidence strength minus the refusal threshold that applies, for the question
    retrieved on its own (`fresh`) and within the context's briefs (`scoped`). When the question on
    its own lands on one of those briefs anyway, it continues the conversation.

    After a refusal the question is read on its own first: the brief the refusal found likeliest is
    only a guess (for an off-topic question, an arbitrary one), so it is read within that brief only
    when it is refused on its own (see `Assistant.stream`), unless the question on its own comes as
    close to that brief as to any other (`closeness`: its best cosine within the context's briefs and
    over all briefs; None when it cannot be measured).
    """
    if context.refused:
        return closeness is not None and closeness[1] - closeness[0] <= SAME_BRIEF_COSINE
    if fresh_top is not None and fresh_top in {b.doc_id for b in context.briefs}:
        return True
    return not (fresh_margin >= 0 and fresh_margin > scoped_margin + NEW_TOPIC_MARGIN)
