"""Domain errors. Each says what failed, where, and what to do; the CLI turns them into exit codes."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class AssistantError(Exception):
    """Base class: `str(error)` is a complete message a user can act on."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  -> {hint}" if hint else message)


class UsageError(AssistantError):
    """The command was called wrongly (bad option, missing path)."""

    exit_code = 2


class BriefReadError(AssistantError):
    """One input file could not be read as a brief; the rest of the run goes on."""

    def __init__(self, path: Path | str, reason: str, *, hint: str | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}", hint=hint)


class StoreError(AssistantError):
    """The index cannot be opened or written."""


class StoreFullError(StoreError):
    """The disk holding the index has no room for the write."""


LOW_DISK_BYTES = 64_000_000  # below this much free space a failed write is taken for a full disk


def storage_failure(
    exc: BaseException, *, what: str, folder: Path | None, url: str | None = None
) -> StoreError:
    """The message for a store or index operation that failed underneath us.

    `what` names the index (shown to the user), `folder` is where it lives on this machine (None for
    a Chroma server) and `url` the server it talks to. A full disk and an unreachable server get their
    own messages; anything else is named with the backend's own first line.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if folder is not None:
        probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
        free = shutil.disk_usage(probe).free if probe is not None else None
        if "disk is full" in text or "No space left" in text or (free is not None and free < LOW_DISK_BYTES):
            room = f" ({free / 1e6:.1f} MB free)" if free is not None else ""
            return StoreFullError(
                f"the disk holding {what} is full{room}; the write stopped and nothing already "
                "indexed was lost",
                hint="free some space on that disk and run the same command again (it finishes the write)",
            )
    if url is not None and _looks_unreachable(exc):
        return StoreError(
            f"cannot reach the Chroma server at {url}",
            hint="check that it is running (chroma run --host 127.0.0.1 --port PORT --path DIR) "
            "and that ASSISTANT_CHROMA_URL names it",
        )
    return StoreError(
        f"{what} failed: {text}",
        hint="run the command again; if it repeats, rebuild the index "
        "with assistant ingest --rebuild corpus/",
    )


def _looks_unreachable(exc: BaseException) -> bool:
    chain: BaseException | None = exc
    while chain is not None:
        name = type(chain).__name__
        if isinstance(chain, ConnectionError) or name in {
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "RemoteProtocolError",
            "ReadError",
        }:
            return True
        if "could not connect" in str(chain).lower() or "connection refused" in str(chain).lower():
            return True
        chain = chain.__cause__ or chain.__context__
    return False


class EmbeddingMismatchError(StoreError):
    """The index was built by another embedding model (or layout) than the one configured."""


class StoreBusyError(StoreError):
    """Another process holds the index for writing."""


class MissingExtraError(AssistantError):
    """An optional backend was chosen but its package is not installed."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        super().__init__(
            f"{feature} needs the package '{package}', which is not installed",
            hint=f"install the optional extra: .venv/bin/pip install -e '.[{extra}]'",
        )


class TestSetError(AssistantError):
    """A test set file cannot be used at all (missing, unreadable, no valid line)."""

    __test__ = False  # not a pytest test class


class ConfigError(AssistantError):
    """A setting has an invalid value."""

    exit_code = 2


def registered(registry: Mapping[str, T], name: str, *, setting: str, what: str) -> T:
    """A backend's entry in its registry, or a `ConfigError` naming the setting and the choices."""
    entry = registry.get(name)
    if entry is None:
        raise ConfigError(f"{setting}: unknown {what} {name!r}", hint=f"use one of: {', '.join(registry)}")
    return entry
