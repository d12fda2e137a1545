"""Fault injection: named points in the write path where a test can stop the process dead, or hold it.

`ASSISTANT_FAILPOINTS=ingest.chunks` makes the process exit at once (no cleanup, no flushing, as a
`kill -9` would) the first time it reaches the point named `ingest.chunks`; `ingest.chunks:3` on the
third time (`=kill` may be written out). `ingest.chunks=hold` instead waits there, holding whatever
the process holds (its write lock, say), until the file named by ASSISTANT_FAILPOINTS_RELEASE
exists, then goes on. Several points may be listed, comma-separated. Unset (always, outside tests),
`reached` is one dictionary lookup. The points and what is on disk when each fires are listed in
docs/ARCHITECTURE.md; tests/test_reliability.py stops an ingest at every one of them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

KILLED = 137  # the exit status of a process killed by SIGKILL, as a shell reports it
HOLD_LIMIT_S = 600.0  # a held process goes on by itself after this long, so that no test run hangs
log = logging.getLogger(__name__)
_counts: dict[str, int] = {}
_lock = threading.Lock()


def reached(name: str) -> None:
    """Stop or hold the process here if ASSISTANT_FAILPOINTS names this point (and this is its turn)."""
    wanted = os.environ.get("ASSISTANT_FAILPOINTS")
    if not wanted:
        return
    for entry in wanted.split(","):
        spec, _, action = entry.strip().partition("=")
        point, _, nth = spec.partition(":")
        if point != name:
            continue
        with _lock:
            _counts[name] = _counts.get(name, 0) + 1
            due = _counts[name] == (int(nth) if nth else 1)
        if not due:
            continue
        if action == "hold":
            _hold(name)
        elif action in ("", "kill"):
            os._exit(KILLED)
        else:  # a misspelt action would otherwise kill where the test meant to hold
            raise ValueError(f"ASSISTANT_FAILPOINTS: {entry.strip()!r}: the action is 'kill' or 'hold'")


def holding(point: str, release: Path) -> dict[str, str]:
    """The environment that makes a process hold at `point` until the file `release` exists."""
    return {"ASSISTANT_FAILPOINTS": f"{point}=hold", "ASSISTANT_FAILPOINTS_RELEASE": str(release)}


def _hold(name: str) -> None:
    release = os.environ.get("ASSISTANT_FAILPOINTS_RELEASE")
    log.warning("failpoint %s: holding until %s exists", name, release)
    deadline = time.monotonic() + HOLD_LIMIT_S
    while release and not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
