"""Which files an ingest reads: folders walked, links followed once, unsupported types reported."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from assistant.errors import UsageError
from assistant.indexing.report import Outcome
from assistant.reading import is_supported


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[Outcome]]:
    """Files to ingest (sorted, deduplicated), the roots they came from, and files that cannot be used.

    Folders are walked recursively (hidden entries skipped, symlinked folders followed once, so a
    link loop ends); inside folders, files of unsupported types are ignored. A path that does not
    exist is a usage error.
    """
    files: dict[str, Path] = {}
    roots: list[Path] = []
    bad: list[Outcome] = []
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise UsageError(f"{given}: no such file or folder", hint="check the path and try again")
        roots.append(Path(os.path.abspath(given)))
        if given.is_dir():
            seen: set[tuple[int, int]] = set()
            for folder, dirs, names in os.walk(given, followlinks=True):
                stat = os.stat(folder)
                if (stat.st_dev, stat.st_ino) in seen:
                    dirs[:] = []
                    continue
                seen.add((stat.st_dev, stat.st_ino))
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    path = Path(folder) / name
                    if not name.startswith(".") and is_supported(path):
                        files.setdefault(os.path.abspath(path), path)
        elif is_supported(given) or given.is_symlink():
            files.setdefault(os.path.abspath(given), given)
        else:
            bad.append(
                Outcome(str(given), "failed", message=f"{given}: unsupported file type '{given.suffix}'")
            )
    return [files[k] for k in sorted(files)], roots, bad


def under(path: str, roots: list[Path]) -> bool:
    candidate = Path(path)
    return any(candidate == root or root in candidate.parents for root in roots)
