"""Feedback from the chat and the staff's review of it, in one append-only JSON Lines file.

Three kinds of line, each a JSON object with an `id`, a `kind` and a UTC time `at`:
- `rating`: an official's 👍 / 👎 on an answer, with an optional note, the question, the standalone
  question, the answer's text and citations, whether it was a refusal, the index's content hash and
  the settings that produced it;
- `refusal`: every question the assistant refused, written when it refuses (what the briefs do not
  cover, for the uncovered-topics report and the review queue);
- `label`: a staff verdict on a rating or refusal (`right`, `wrong_brief`, `should_refuse`,
  `should_answer` with the volume that answers), the latest label of an item wins.

Nothing is ever rewritten. Each line is written with one `write` on a file opened for appending, under
a lock (threads of this process) and `flock` (other processes), then `fsync`ed before the call
returns: a line whose call returned survives a crash or a SIGKILL. A line cut short by a crash in the
middle of a write is skipped when reading, and the next write starts on a new line.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import UsageError
from assistant.models import Answer

FILE_NAME = "feedback.jsonl"
VERDICTS = ("right", "wrong_brief", "should_refuse", "should_answer")
RATINGS = ("up", "down")
MAX_NOTE_CHARS = 1000  # a note is a remark ("missed vol.697"), not a document

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path.resolve()), threading.Lock())


@dataclass(frozen=True)
class ReviewItem:
    """A rating or a refusal, with the latest staff label on it (if any)."""

    entry: dict[str, Any]
    label: dict[str, Any] | None

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    def test_line(self) -> dict[str, Any] | None:
        """The item as a line of a test set (`assistant eval`'s format), or None when the label does
        not say which brief answers (`wrong_brief` without a volume) or there is no label."""
        if self.label is None:
            return None
        verdict, volume = self.label["verdict"], self.label.get("volume")
        if verdict == "right":
            expected: Any = None if self.entry.get("refused") else (self.entry.get("cited") or None)
            if expected is None and not self.entry.get("refused"):
                return None
        elif verdict == "should_refuse":
            expected = None
        elif volume:
            expected = volume
        else:
            return None
        if isinstance(expected, list) and len(expected) == 1:
            expected = expected[0]
        return {
            "question": self.entry.get("standalone_question") or self.entry["question"],
            "volume": expected,
            "kind": "from-feedback",
            "source": f"feedback {self.id} ({verdict})",
        }


class FeedbackLog:
    """The feedback file of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME

    # -- writing -----------------------------------------------------------------------------------
    def append(self, kind: str, fields: dict[str, Any]) -> str:
        """Write one line durably; returns its id."""
        entry = {"id": uuid.uuid4().hex[:12], "kind": kind, "at": _now(), **fields}
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock_for(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _ends_mid_line(fd):  # a write cut short by a crash: start afresh on a new line
                    line = "\n" + line
                data = line.encode("utf-8")
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)  # closing releases the flock
        return str(entry["id"])

    def rate(
        self,
        answer: Answer,
        rating: str,
        note: str = "",
        *,
        index_hash: str = "",
        settings: dict[str, Any] | None = None,
        session: str = "",
    ) -> str:
        if rating not in RATINGS:
            raise UsageError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        return self.append(
            "rating",
            {
                "rating": rating,
                "note": note.strip()[:MAX_NOTE_CHARS],
                **_answer_fields(answer),
                "index_hash": index_hash,
                "settings": settings or {},
                "session": session,
            },
        )

    def refused(self, answer: Answer, *, index_hash: str = "", session: str = "") -> str:
        return self.append(
            "refusal", {**_answer_fields(answer), "index_hash": index_hash, "session": session}
        )

    def label(self, item_id: str, verdict: str, volume: str | None = None, *, by: str = "") -> str:
        if verdict not in VERDICTS:
            raise UsageError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        volume = (volume or "").strip().removeprefix("vol.").strip() or None
        if verdict in ("right", "should_refuse"):
            volume = None  # only a wrong or a missing answer names the brief that answers
        if verdict == "should_answer" and not volume:
            raise UsageError("'should answer' needs the volume that answers", hint="e.g. 697")
        if not any(e["id"] == item_id and e["kind"] != "label" for e in self.entries()):
            raise UsageError(f"no feedback item {item_id!r}", hint="pick one from the review queue")
        return self.append("label", {"item": item_id, "verdict": verdict, "volume": volume, "by": by})

    # -- reading -----------------------------------------------------------------------------------
    def entries(self) -> Iterator[dict[str, Any]]:
        """Every whole line, oldest first (a line cut short by a crash is skipped)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "id" in entry and "kind" in entry:
                yield entry

    def queue(self) -> list[ReviewItem]:
        """Ratings and refusals, newest first, each with its latest label."""
        items: list[dict[str, Any]] = []
        labels: dict[str, dict[str, Any]] = {}
        for entry in self.entries():
            if entry["kind"] == "label":
                labels[str(entry.get("item"))] = entry
            elif entry["kind"] in ("rating", "refusal"):
                items.append(entry)
        return [ReviewItem(e, labels.get(str(e["id"]))) for e in reversed(items)]

    def export(self) -> tuple[list[dict[str, Any]], int]:
        """Test-set lines from the labelled items (one per question), and how many labelled items
        could not become one (a wrong brief without the right volume)."""
        lines: dict[str, dict[str, Any]] = {}
        skipped = 0
        for item in reversed(self.queue()):  # oldest first: a later verdict on a question wins
            if item.label is None:
                continue
            line = item.test_line()
            if line is None:
                skipped += 1
                continue
            lines[line["question"].casefold()] = line
        return list(lines.values()), skipped


def testset_text(lines: list[dict[str, Any]]) -> str:
    """Test-set lines as JSON Lines, the format `assistant eval` reads."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def write_testset(lines: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(testset_text(lines), encoding="utf-8")
    os.replace(tmp, path)


def _answer_fields(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "language": answer.language,
        "refused": answer.refused,
        "answer": answer.text,
        "cited": list(dict.fromkeys(c.doc_id for c in answer.citations)),
        "citations": [{"doc_id": c.doc_id, "label": c.label, "quote": c.quote} for c in answer.citations],
        "nearest": [b.doc_id for b in answer.nearest],
        "generator": answer.generator,
    }


def _ends_mid_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
