"""What an ingest tells its caller: one outcome per file, counts, and the progress callback's shape."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int, int, str], None]  # done, total, current file
STATUSES = ("added", "updated", "unchanged", "removed", "held", "failed")


@dataclass
class Outcome:
    """What happened to one file (or, for removals, one previously indexed brief)."""

    path: str
    status: str  # added | updated | unchanged | removed | held (a near-duplicate) | failed
    doc_id: str | None = None
    chunks: int = 0
    message: str = ""


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    embedded: int = 0
    seconds: float = 0.0
    total_chunks: int = 0
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures or self.count("held") else 0

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in STATUSES if s != "held" or self.count(s))
        return (
            f"ingest: {counts}; {self.total_chunks} chunks in the index, "
            f"{self.embedded} embedded in this run; {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "summary": self.summary(),
            "counts": {s: self.count(s) for s in STATUSES},
            "chunks": self.total_chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "files": [dataclasses.asdict(o) for o in self.outcomes],
            "warnings": self.warnings,
        }
