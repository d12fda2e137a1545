"""What every command shares: settings from the environment and options, the filter options,
JSON output and the progress bar."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import ConfigError, UsageError
from assistant.models import SearchFilter


def make_settings(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"ASSISTANT_{'_'.join(str(x) for x in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid setting: {problems}", hint="fix the environment variable or .env"
        ) from exc
    if getattr(args, "store", None):
        settings = settings.model_copy(update={"store_dir": args.store})
    if getattr(args, "generator", None):
        settings = settings.model_copy(update={"generator": args.generator})
    return settings


def parse_filter(args: argparse.Namespace) -> SearchFilter:
    from assistant.retrieval.filters import date_bound

    try:
        since = date_bound(args.since, end=False) if args.since else None
        until = date_bound(args.until, end=True) if args.until else None
    except ValueError as exc:
        raise UsageError(str(exc), hint="write dates as YYYY, YYYY-MM or YYYY-MM-DD") from exc
    volumes = tuple(str(int(v)) if v.isdigit() else v for v in args.volume)
    return SearchFilter(doc_ids=volumes, date_from=since, date_to=until)


def emit_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


class progress_bar:
    """A tqdm bar on an interactive terminal; otherwise a line every tenth of the way (a log or CI)."""

    def __init__(self, enabled: bool, unit: str = "file") -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.unit = unit
        self._bar: Any = None
        self._started = 0.0
        self._printed = -1

    def __enter__(self) -> Callable[..., None] | None:
        if not self.enabled:
            return None
        import time

        from tqdm import tqdm

        self._started = time.perf_counter()

        def update(done: int, total: int, name: str = "") -> None:
            if not self.tty:
                step = max(1, total // 10)
                if done and (done % step == 0 or done == total) and done != self._printed:
                    rate = (time.perf_counter() - self._started) / done
                    print(f"  {done}/{total} {self.unit}s ({rate:.1f} s each)", file=sys.stderr, flush=True)
                    self._printed = done
                return
            if self._bar is None:
                self._bar = tqdm(total=total, unit=self.unit, file=sys.stderr)
            self._bar.n = done
            if name:
                self._bar.set_postfix_str(name[:40])
            self._bar.refresh()

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
