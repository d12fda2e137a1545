"""Domain errors. Each says what failed, where, and what to do; the CLI turns them into exit codes."""

from __future__ import annotations

from pathlib import Path


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
