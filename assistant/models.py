"""The data that crosses module boundaries: small frozen dataclasses, no third-party imports.

Flow: a file is read into a `Brief` (metadata plus `Block`s in reading order), the chunker packs blocks
into `Chunk`s, the store returns `Passage`s for a query, and answering produces an `Answer` whose
`Citation`s are data, never text parsed back out of the answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Block:
    """One structural unit of a brief: a paragraph, a bullet with its sub-items, or a proposal.

    `start`/`end` are character offsets into `Brief.text`; `page` is 1-based for PDFs, else None.
    """

    section: str
    text: str
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class Brief:
    """A parsed brief: who/what/when, and its body as blocks in reading order."""

    doc_id: str
    volume: str | None
    title: str
    date: str | None
    authors: str | None
    language: str
    source: str
    text: str
    blocks: tuple[Block, ...]
    pages: int | None = None

    @property
    def label(self) -> str:
        """How a person refers to the brief: "vol.697", or the document id when it has no volume."""
        return f"vol.{self.volume}" if self.volume else self.doc_id


@dataclass(frozen=True)
class Chunk:
    """A piece of a brief small enough for the embedding model, with everything needed to cite it."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    section: str
    start: int
    end: int
    page: int | None
    volume: str | None
    title: str
    date: str | None
    source: str
    language: str
    brief_hash: str
    authors: str | None = None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its rank score; `to_dict` is the `search --json` contract."""

    chunk_id: str
    doc_id: str
    volume: str | None
    title: str
    date: str | None
    section: str
    source: str
    page: int | None
    text: str
    score: float
    start: int = 0
    end: int = 0
    language: str = "en"
    authors: str | None = None

    @property
    def label(self) -> str:
        return f"vol.{self.volume}" if self.volume else self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A claim's source: which passage, and the exact quote from it that supports the claim."""

    doc_id: str
    volume: str | None
    title: str
    date: str | None
    section: str
    source: str
    page: int | None
    chunk_id: str
    quote: str

    @property
    def label(self) -> str:
        return f"vol.{self.volume}" if self.volume else self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BriefRef:
    """A brief named in an answer without a quote (e.g. the nearest briefs of a refusal)."""

    doc_id: str
    volume: str | None
    title: str
    date: str | None

    @property
    def label(self) -> str:
        return f"vol.{self.volume}" if self.volume else self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer and the citations that back it.

    `claim` is False for the assistant's own framing ("According to vol.697:", a refusal), which
    states nothing about the briefs and so needs no citation.
    """

    text: str
    citations: tuple[Citation, ...] = ()
    claim: bool = True


@dataclass(frozen=True)
class Answer:
    """An answer: sentences with their citations, or a refusal that names the nearest briefs."""

    question: str
    sentences: tuple[Sentence, ...]
    refused: bool
    passages: tuple[Passage, ...] = ()
    nearest: tuple[BriefRef, ...] = ()
    language: str = "en"
    notes: tuple[str, ...] = field(default_factory=tuple)
    standalone_question: str = ""
    filter: str = "all briefs"
    generator: str = "extractive"
    context: tuple[BriefRef, ...] = ()  # briefs carried over from the conversation, if it continued
    judged: tuple[tuple[str, float], ...] = ()  # (doc id, P(it answers)) for each brief the policy weighed

    @property
    def citations(self) -> tuple[Citation, ...]:
        seen: dict[tuple[str, str], Citation] = {}
        for sentence in self.sentences:
            for citation in sentence.citations:
                seen.setdefault((citation.chunk_id, citation.quote), citation)
        return tuple(seen.values())

    @property
    def text(self) -> str:
        """The answer as plain text with [vol.N] markers after each cited sentence."""
        parts = []
        for sentence in self.sentences:
            labels = list(dict.fromkeys(c.label for c in sentence.citations))
            marker = "".join(f" [{label}]" for label in labels)
            parts.append(sentence.text.rstrip() + marker)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "sentences": [
                {"text": s.text, "claim": s.claim, "citations": [c.to_dict() for c in s.citations]}
                for s in self.sentences
            ],
            "citations": [c.to_dict() for c in self.citations],
            "nearest": [n.to_dict() for n in self.nearest],
            "passages": [p.to_dict() for p in self.passages],
            "notes": list(self.notes),
            "standalone_question": self.standalone_question,
            "filter": self.filter,
            "generator": self.generator,
            "context": [b.to_dict() for b in self.context],
            "judged": [{"doc_id": d, "probability": p} for d, p in self.judged],
        }


@dataclass(frozen=True)
class BriefRecord:
    """What the index remembers about one brief: the manifest entry, written after its chunks.

    `pending` holds the content hash of a write in progress. While it is set, the other fields
    describe the version search returns (none, for a brief never committed: `sha256` is empty); a
    record still pending when no write runs was interrupted, and the next write or app start rolls
    it forward (its file is there, unchanged) or back (see `recovery.finish_pending`).
    """

    doc_id: str
    volume: str | None
    title: str
    date: str | None
    authors: str | None
    language: str
    source: str
    path: str
    sha256: str
    chunks: int
    size: int
    signature: str
    indexed_at: str
    pending: str = ""
    sketch: tuple[int, ...] = ()  # the text's bottom-k sketch, for near-duplicate checks (`sketch.py`)
    runs: int = 0  # distinct runs of words the sketch was taken over

    @property
    def label(self) -> str:
        return f"vol.{self.volume}" if self.volume else self.doc_id

    @property
    def state(self) -> str:
        """indexed | updating (an older version is searchable) | pending (nothing searchable yet)."""
        if not self.pending or self.pending == self.sha256:  # the latter: older chunks left to drop
            return "indexed"
        return "updating" if self.sha256 else "pending"

    def to_dict(self) -> dict[str, Any]:
        data = {**asdict(self), "state": self.state}
        del data["sketch"], data["runs"]  # internal: 256 hashes mean nothing to a reader of stats
        return data


@dataclass(frozen=True)
class SearchFilter:
    """Restricts retrieval: by doc ids, an inclusive ISO date range, and/or a volume number range."""

    doc_ids: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    volume_min: int | None = None
    volume_max: int | None = None

    @property
    def empty(self) -> bool:
        return (
            not (self.doc_ids or self.date_from or self.date_to)
            and self.volume_min is None
            and (self.volume_max is None)
        )

    def describe(self) -> str:
        parts = []
        if self.doc_ids:
            parts.append("briefs " + ", ".join(self.doc_ids))
        if self.volume_min is not None or self.volume_max is not None:
            parts.append(f"vol.{self.volume_min or 1} to vol.{self.volume_max or '…'}")
        if self.date_from or self.date_to:
            parts.append(f"dated {self.date_from or '…'} to {self.date_to or '…'}")
        return "; ".join(parts) or "all briefs"
