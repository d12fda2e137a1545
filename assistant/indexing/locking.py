"""One writer at a time on an index folder, and a clear message instead of a hang.

Chroma's embedded store is SQLite underneath; two processes writing one folder can block each other
for minutes. Every process that opens a store folder takes an advisory lock on `<store>/.lock`:
shared for readers (search, eval, serve), exclusive for writers (ingest, remove). A process that
cannot get its lock within the timeout stops and names the processes that hold the store.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

from assistant.errors import StoreBusyError

_POLL_S = 0.1


class StoreLock:
    """An flock on `<folder>/.lock`, with a note per holder in `<folder>/.holders/` for messages."""

    def __init__(self, folder: Path, *, exclusive: bool, timeout_s: float, purpose: str) -> None:
        self.folder = folder
        self.exclusive = exclusive
        self.timeout_s = timeout_s
        self.purpose = purpose
        self._fd: int | None = None
        self._note: Path | None = None

    def acquire(self) -> StoreLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._busy_error() from None
                time.sleep(_POLL_S)
        self._fd = fd
        self._write_note()
        return self

    def release(self) -> None:
        if self._note is not None:
            self._note.unlink(missing_ok=True)
            self._note = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _write_note(self) -> None:
        notes = self.folder / ".holders"
        notes.mkdir(exist_ok=True)
        self._note = notes / f"{os.getpid()}-{id(self)}.json"
        note = {
            "pid": os.getpid(),
            "purpose": self.purpose,
            "mode": "write" if self.exclusive else "read",
            "command": " ".join(sys.argv)[:300],
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        self._note.write_text(json.dumps(note), encoding="utf-8")

    def _busy_error(self) -> StoreBusyError:
        holders = describe_holders(self.folder)
        who = "; ".join(holders) if holders else "another process"
        want = "write to" if self.exclusive else "read"
        return StoreBusyError(
            f"cannot {want} the index in {self.folder}: it is held by {who}",
            hint=(
                "wait for it to finish, or stop it; to add briefs while the app is serving, "
                "upload them in the app's Library tab"
            ),
        )


def describe_holders(folder: Path) -> list[str]:
    """Human descriptions of live processes holding the store (stale notes are cleaned up)."""
    out = []
    for note in sorted((folder / ".holders").glob("*.json")):
        try:
            data = json.loads(note.read_text(encoding="utf-8"))
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError):
            continue
        if not _alive(pid):
            note.unlink(missing_ok=True)
            continue
        out.append(f"{data['purpose']} (pid {pid}, {data['mode']}, since {data['since']})")
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
