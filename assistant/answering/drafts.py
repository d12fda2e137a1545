"""A draft on its way to the user: markers shown as volume labels while it streams, and the notes
verification leaves (sentences removed, citations dropped)."""

from __future__ import annotations

import re

from assistant.answering.generation.verify import Verified
from assistant.answering.messages import say
from assistant.models import Passage


def complete_markers(text: str) -> int:
    """How much of a growing draft can be shown: all of it, except an unclosed "[..." at its end."""
    opening = text.rfind("[")
    return opening if opening > text.rfind("]") and len(text) - opening < 40 else len(text)


def labels(piece: str, passages: list[Passage]) -> str:
    """Streamed text shows `[vol.697]` where the draft says `[1]`."""

    def label(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[{passages[n - 1].label}]" if 1 <= n <= len(passages) else match.group(0)

    return re.sub(r"\[(\d{1,2})\]", label, piece)


def verification_notes(verified: Verified, language: str) -> list[str]:
    notes = []
    if verified.removed:
        notes.append(say(language, "removed", n=len(verified.removed)))
    if verified.dropped_citations:
        notes.append(say(language, "dropped", refs=", ".join(f"[{r}]" for r in verified.dropped_citations)))
    return notes
