"""What each UI action does, as plain functions over the opened library (tested without a browser).

The handlers compute nothing themselves: they call the assistant, the library and the evaluation
package, and shape the results for the page with `render`.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.briefs import SUPPORTED_SUFFIXES
from assistant.errors import AssistantError
from assistant.evaluation import EvalRun, evaluate
from assistant.evaluation.report import metric_rows, write_report
from assistant.filters import date_bound
from assistant.library import Library, Stats
from assistant.models import Answer, BriefRecord, Passage, SearchFilter
from assistant.qa import Turn
from assistant.ui import render

log = logging.getLogger(__name__)
ChatMessages = list[dict[str, str]]


@dataclass
class ChatUpdate:
    messages: ChatMessages
    turns: list[Turn]
    sources: str
    answer: Answer | None


def make_filter(volumes: list[str] | None, since: str | None, until: str | None) -> SearchFilter:
    """Filter controls to a SearchFilter; ValueError with a readable message on a bad date."""
    ids = tuple(v.split(" ")[0].removeprefix("vol.") for v in volumes or [])
    return SearchFilter(
        doc_ids=ids,
        date_from=date_bound(since, end=False) if since and since.strip() else None,
        date_to=date_bound(until, end=True) if until and until.strip() else None,
    )


class Handlers:
    """The UI's actions over one opened library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.settings = library.settings
        self.assistant = library.assistant()
        self.data_dir = library.settings.data_dir.resolve()

    # -- chat --------------------------------------------------------------------------------------
    def chat(
        self,
        message: str,
        messages: ChatMessages | None,
        turns: list[Turn] | None,
        volumes: list[str] | None = None,
        since: str = "",
        until: str = "",
    ) -> Iterator[ChatUpdate]:
        messages = list(messages or [])
        turns = list(turns or [])
        shown = message if len(message) <= 500 else message[:500] + "…"
        messages.append({"role": "user", "content": shown})
        try:
            flt = make_filter(volumes, since, until)
            partial = ""
            for event in self.assistant.stream(message, turns, flt):  # it keeps the recent turns
                if event.kind == "delta":
                    partial += event.text
                    yield ChatUpdate([*messages, {"role": "assistant", "content": partial}], turns, "", None)
                elif event.answer is not None:
                    answer = event.answer
                    messages.append({"role": "assistant", "content": render.answer_markdown(answer)})
                    turns.append(Turn(answer.question, answer.standalone_question, answer))
                    yield ChatUpdate(messages, turns, render.sources_html(answer), answer)
        except (AssistantError, ValueError) as exc:
            messages.append({"role": "assistant", "content": f"⚠️ {exc}"})
            yield ChatUpdate(messages, turns, render.sources_html(None), None)

    def export_answer(self, answer: Answer | None) -> Path | None:
        if answer is None:
            return None
        return self._write("answer", "md", render.answer_export(answer))

    # -- search ------------------------------------------------------------------------------------
    def search(
        self, query: str, volumes: list[str] | None, since: str, until: str, k: int
    ) -> tuple[list[list[Any]], list[Passage], str]:
        if not query or not query.strip():
            return [], [], "Type a query."
        try:
            text = self.assistant.clean(query)
            flt = make_filter(volumes, since, until)
        except (AssistantError, ValueError) as exc:
            return [], [], f"⚠️ {exc}"
        retrieval = self.assistant.retrieve(text, flt, k=int(k))
        found = len(retrieval.passages)
        status = f"{found} passages ({retrieval.filter.describe()}), {retrieval.search_ms:.0f} ms"
        return render.passage_rows(retrieval.passages), retrieval.passages, status

    def export_passages(self, passages: list[Passage] | None, query: str, fmt: str) -> Path | None:
        if not passages:
            return None
        if fmt == "csv":
            return self._write("passages", "csv", render.passages_csv(passages))
        if fmt == "json":
            return self._write("passages", "json", render.passages_json(passages))
        return self._write("passages", "md", render.passages_markdown(query, passages))

    # -- evaluate ----------------------------------------------------------------------------------
    def bundled_testsets(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in self.settings.testset_dirs:
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                if path.suffix.lower() in (".jsonl", ".csv") and path.name.startswith("qa"):
                    found[f"{path.name} ({folder})"] = path
        return found

    def run_eval(
        self, upload: str | None, bundled: str | None, progress: Callable[[int, int], None] | None = None
    ) -> tuple[list[list[Any]], Path | None, list[list[Any]], Path | None, str]:
        if upload:
            path = self._accept(Path(upload), kinds=(".jsonl", ".csv"), folder="testsets")
        elif bundled:
            known = self.bundled_testsets()
            if bundled not in known:
                raise ValueError(f"unknown bundled test set {bundled!r}")
            path = known[bundled]
        else:
            raise ValueError("upload a test set (JSONL or CSV) or pick a bundled one")
        started = time.perf_counter()
        run: EvalRun = evaluate(path, self.assistant, top_k=self.settings.top_k, progress=progress)
        seconds = time.perf_counter() - started
        stamp = uuid.uuid4().hex[:8]
        report = write_report(
            self.data_dir / "reports" / f"eval-{stamp}.html",
            run.metrics,
            run.results,
            title=f"Evaluation of {path.name}",
            notes=[f"{len(run.results)} questions in {seconds:.1f} s"],
        )
        chart = report.with_suffix(".png")  # written beside the report
        metrics = [[label, value] for _, label, value in metric_rows(run.metrics)]
        questions = [
            [
                r.line,
                r.question,
                ", ".join(r.expected) if r.expected else "refusal",
                "pass" if r.passed else "fail" if r.passed is False else "n/a",
                r.reason,
                (r.answer or "")[:300],
            ]
            for r in run.results
        ]
        skipped = "".join(f"\nskipped {e}" for e in run.errors)
        status = f"{len(run.results)} questions in {seconds:.1f} s{skipped}"
        return metrics, chart, questions, report, status

    # -- library -----------------------------------------------------------------------------------
    def library_rows(self) -> list[list[Any]]:
        return render.library_rows(list(self.library.records().values()))

    def library_summary(self) -> str:
        return _summary(self.library.stats())

    def volume_choices(self) -> list[str]:
        return _choices(self.library.records().values())

    def library_view(self) -> tuple[str, list[list[Any]], list[str]]:
        """The summary, the table rows and the brief choices, from one read of the manifest."""
        stats = self.library.stats()
        return _summary(stats), render.library_rows(stats.records), _choices(stats.records)

    def upload(self, files: list[str] | None) -> str:
        """Index uploaded brief files; a line per file says what happened."""
        if not files:
            return "Choose one or more brief files first."
        lines, accepted = [], []
        for name in files:
            try:
                accepted.append(self._accept(Path(name), kinds=tuple(SUPPORTED_SUFFIXES), folder="uploads"))
            except ValueError as exc:
                lines.append(f"✗ {Path(name).name}: {exc}")
        if accepted:
            report = self.library.ingest(accepted)
            for outcome in report.outcomes:
                mark = "✗" if outcome.status == "failed" else "✓"
                detail = outcome.message or f"{outcome.status}: {outcome.doc_id}, {outcome.chunks} chunks"
                lines.append(f"{mark} {Path(outcome.path).name}: {detail}")
            lines += [f"⚠ {w}" for w in report.warnings]
        return "\n".join(lines)

    def remove(self, choice: str | None) -> str:
        if not choice:
            return "Pick a brief to remove."
        doc_id = choice.split(" ")[0].removeprefix("vol.")
        record = self.library.remove(doc_id)
        if record is None:
            return f"No brief {doc_id} in the index."
        uploads = self.data_dir / "uploads"
        if Path(record.path).parent == uploads:
            Path(record.path).unlink(missing_ok=True)
        return f"Removed {record.label} ({record.source}, {record.chunks} chunks)."

    # -- files -------------------------------------------------------------------------------------
    def _accept(self, path: Path, *, kinds: tuple[str, ...], folder: str) -> Path:
        """Copy an uploaded file into the app's own data folder after checking its type and size."""
        if path.suffix.lower() not in kinds:
            raise ValueError(f"file type '{path.suffix}' is not accepted (use {', '.join(sorted(kinds))})")
        size = path.stat().st_size
        limit = int(self.settings.max_upload_mb * 1_000_000)
        if size > limit:
            raise ValueError(f"{size:,} bytes is over the {self.settings.max_upload_mb:g} MB upload limit")
        target_dir = self.data_dir / folder
        target_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\- ]", "_", path.name).strip(" .") or "upload"
        target = target_dir / safe
        shutil.copyfile(path, target)
        return target

    def _write(self, stem: str, suffix: str, text: str) -> Path:
        folder = self.data_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}-{uuid.uuid4().hex[:8]}.{suffix}"
        path.write_text(text, encoding="utf-8")
        return path


def _summary(stats: Stats) -> str:
    size = f"{stats.disk_bytes / 1e6:.1f} MB" if stats.disk_bytes is not None else "on the Chroma server"
    return (
        f"**{stats.briefs} briefs**, {stats.chunks} chunks · index {size} · "
        f"embedding model `{stats.embedding_model}` ({stats.dimension} dimensions)"
    )


def _choices(records: Iterable[BriefRecord]) -> list[str]:
    return [f"{r.label} {r.title[:60]}" for r in sorted(records, key=lambda r: r.doc_id)]
