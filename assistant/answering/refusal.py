"""What a refusal says: that the briefs do not answer, which volumes asked for are not indexed or
what the filter matched, and the nearest briefs (in the question's language)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answering.messages import brief_list, say
from assistant.models import BriefRef, Passage, SearchFilter, Sentence


def refusal_sentences(
    language: str, flt: SearchFilter, nearest: tuple[BriefRef, ...], missing: list[str], *, found: bool
) -> tuple[Sentence, ...]:
    """The refusal's lines; `missing`: volumes asked for that are not indexed; `found`: whether the
    search found any passage at all."""
    parts = [say(language, "refusal")]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        parts.append(say(language, "not_indexed", volumes=", ".join(f"vol.{v}" for v in missing), verb=verb))
    elif not found and not flt.empty:
        parts.append(say(language, "no_match", filter=flt.describe()))
    if nearest:
        key = "nearest_one" if len(nearest) == 1 else "nearest"
        parts.append(say(language, key, briefs=brief_list(language, nearest)))
    elif not found and flt.empty:
        parts.append(say(language, "empty_index"))
    return tuple(Sentence(p, claim=False) for p in parts)


def nearest_briefs(passages: Sequence[Passage], n: int = 3) -> tuple[BriefRef, ...]:
    """The first `n` briefs of ranked passages, each once."""
    seen: dict[str, BriefRef] = {}
    for p in passages:
        if p.doc_id not in seen:
            seen[p.doc_id] = BriefRef(p.doc_id, p.volume, p.title, p.date)
    return tuple(seen.values())[:n]
