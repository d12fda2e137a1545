"""A question that asks two things at once, split into its parts.

"How many shrinking cities did the brief count, and what tool did KRIHS build for flooding?" asks
two questions that two briefs may answer, one each. The reader judges a whole question against one
brief's excerpt, so a brief that answers one half looks like one that answers neither. Split, each
part is searched and read on its own; the assistant answers only when every part is answered (a part
no brief states keeps the whole question refused: a near-miss does not become half an answer).

Only the plain forms are split, by their grammar, never by their topic:
- English: "…, and what/how/which/did … ?" (a conjunction followed by a second question) and
  "… about A and about B?" (one question asked of two things, the shared beginning repeated);
- Korean: a clause ending in -고 / -며 (몇 곳이고, 추진되었고, 이며) between two clauses that each hold a
  question word; the second part borrows the first one's topic ("…은/는") when it has none.
"""

from __future__ import annotations

import re

_EN_QUESTION_WORDS = (
    "what|how|which|who|whom|whose|when|where|why|did|does|do|is|are|was|were|has|have|had|can|could|"
    "will|would|should"
)
# ", and what …" / " and did …": the second question starts at its question word.
_EN_SECOND = re.compile(rf",?\s+and\s+(?=(?:{_EN_QUESTION_WORDS})\b)", re.IGNORECASE)
# "… about A and about B": the same preposition before both things asked about.
_EN_SHARED = re.compile(
    r"^(?P<stem>.*?\b(?P<prep>about|on|for|in|of|to|with|between)\s+)(?P<a>.+?)\s+and\s+(?P=prep)\s+(?P<b>.+)$",
    re.IGNORECASE,
)
_KO_QUESTION = re.compile(r"몇|무엇|뭐|어떤|어떻게|어느|언제|어디|누구|누가|얼마|왜")
# A word ending in the connective -고 / -며, then an optional note in brackets and a comma.
_KO_JOINT = re.compile(r"(?<=[가-힣])(?P<end>으며|이며|이고|고|며)(?P<note>\s*\([^)]*\))?\s*,?\s+")
_KO_TOPIC = re.compile(r"^(.{2,40}?(?:은|는))\s")
MIN_PART_WORDS = 3  # a part shorter than this is a fragment ("and when?"), not a question
# Words by which a part points back to what the question named ("…, and when was it published?").
_EN_BACK = re.compile(r"\b(?:it|its|this|that|these|those|they|their|them)\b", re.IGNORECASE)
_KO_BACK = re.compile(r"(?:^|\s)(?:그|이|해당|같은|그것|이것|거기)(?=\s)")
_EN_FUNCTION_WORDS = "a|an|the|in|of|on|for|to|and|or|per|by|with|at|from|as|be|been"
_EN_PLAIN = frozenset(f"{_EN_QUESTION_WORDS}|{_EN_FUNCTION_WORDS}".split("|"))
MIN_NAMING_WORDS = 3  # words beyond question and function words that a part needs to stand alone


def question_parts(question: str, language: str) -> list[str]:
    """The parts of a question that asks two things, or [] when it asks one (or its form is unclear)."""
    text = question.strip()
    parts = _korean_parts(text) if language == "ko" else _english_parts(text)
    if len(parts) != 2 or any(len(p.split()) < MIN_PART_WORDS for p in parts):
        return []
    return parts


def stands_alone(part: str, language: str) -> bool:
    """Whether a part names what it asks about by itself: it does not point back to something the
    question names elsewhere ("…, and when was it published?", "그 보고서는 …") and holds at least
    `MIN_NAMING_WORDS` words besides question and function words ("In which year?" does not). A word
    like "that" also joins clauses: a part wrongly taken to lean on the rest is only searched as the
    whole question is."""
    if points_back(part, language):
        return False
    words = re.findall(r"\w+", part.lower())
    if language == "ko":
        return sum(1 for w in words if len(w) > 1 and not _KO_QUESTION.search(w)) >= MIN_NAMING_WORDS
    return sum(1 for w in words if w not in _EN_PLAIN) >= MIN_NAMING_WORDS


def points_back(text: str, language: str) -> bool:
    """Whether a question or part points back to something named before it ("it", "they", "그")."""
    return bool((_KO_BACK if language == "ko" else _EN_BACK).search(text))


def _english_parts(text: str) -> list[str]:
    body = text.rstrip(" ?")
    pieces = _EN_SECOND.split(body, maxsplit=1)
    if len(pieces) == 2:
        first, second = (p.strip(" ,;") for p in pieces)
        return [f"{first}?", f"{second[:1].upper()}{second[1:]}?"]
    shared = _EN_SHARED.match(body)
    if shared:
        stem = shared["stem"]
        return [f"{stem}{shared['a'].strip()}?", f"{stem}{shared['b'].strip()}?"]
    return []


def _korean_parts(text: str) -> list[str]:
    for joint in _KO_JOINT.finditer(text):
        first, second = text[: joint.start()].strip(), text[joint.end() :].strip()
        if not (_KO_QUESTION.search(first) and _KO_QUESTION.search(second)):
            continue
        topic = _KO_TOPIC.match(first)
        if topic and not _KO_TOPIC.match(second):
            second = f"{topic[1]} {second}"
        # The first clause ends as a question: "몇 곳이고" -> "몇 곳인가?", "추진되었고" -> "추진되었나?".
        ending = "인가?" if joint["end"].startswith("이") else "나?"
        note = joint["note"] or ""
        return [f"{first}{ending}{note}", second if second.endswith("?") else f"{second}?"]
    return []
