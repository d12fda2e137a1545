"""Fault injection: named points in the write path where a test can stop the process dead.

`ASSISTANT_FAILPOINTS=ingest.chunks` makes the process exit at once (no cleanup, no flushing, as a
`kill -9` would) the first time it reaches the point named `ingest.chunks`; `ingest.chunks:3` on the
third time. Several points may be listed, comma-separated. Unset (always, outside tests), `reached`
is one dictionary lookup. The points and what is on disk when each fires are listed in
docs/ARCHITECTURE.md; tests/test_reliability.py stops an ingest at every one of them.
"""

from __future__ import annotations

import os
import threading

KILLED = 137  # the exit status of a process killed by SIGKILL, as a shell reports it
_counts: dict[str, int] = {}
_lock = threading.Lock()


def reached(name: str) -> None:
    """Stop the process here if ASSISTANT_FAILPOINTS names this point (and this is its turn)."""
    wanted = os.environ.get("ASSISTANT_FAILPOINTS")
    if not wanted:
        return
    for entry in wanted.split(","):
        point, _, nth = entry.strip().partition(":")
        if point != name:
            continue
        with _lock:
            _counts[name] = _counts.get(name, 0) + 1
            due = _counts[name] == (int(nth) if nth else 1)
        if due:
            os._exit(KILLED)
