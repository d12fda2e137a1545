"""What each UI action does, as plain functions over the opened library (tested without a browser).

The handlers compute nothing themselves: they call the assistant, the library and the evaluation
package, and shape the results for the page with `render`. Paths they hand to the page are strings
(the page's file components take nothing else) inside the app's temporary download folder.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answering.conversation import Turn
from assistant.errors import AssistantError
from assistant.evaluation import EvalRun, evaluate
from assistant.evaluation.report import metric_rows, write_report
from assistant.evaluation.testset import read_lines
from assistant.library import Library, Stats
from assistant.models import Answer, Passage, SearchFilter
from assistant.reading import SUPPORTED_SUFFIXES
from assistant.retrieval.filters import date_bound
from assistant.ui import render
from assistant.ui.review import Review

log = logging.getLogger(__name__)
ChatMessages = list[dict[str, str]]
DOWNLOAD_MAX_AGE_S = 3600  # downloads are removed an hour after they were written
KEPT_TURNS = 50  # a conversation keeps its last 50 exchanges (the page's state is sent with each question)
SORTS: dict[str, Callable[[Passage], Any]] = {
    "relevance": lambda p: -p.score,
    "newest first": lambda p: (p.date or "", p.doc_id),
    "oldest first": lambda p: (p.date or "9999", p.doc_id),
    "volume": lambda p: (int(p.volume) if p.volume and p.volume.isdigit() else 10**9, p.doc_id),
}
_REVERSED = {"newest first"}


@dataclass
class ChatUpdate:
    messages: ChatMessages
    turns: list[Turn]
    sources: str
    answer: Answer | None


@dataclass
class SearchResult:
    rows: list[list[Any]]
    passages: list[Passage]
    matches: list[float]
    status: str


@dataclass
class EvalView:
    metrics: list[list[Any]]
    chart: str | None
    questions: list[list[Any]]
    report: str | None
    status: str


def make_filter(volumes: list[str] | None, since: str | None, until: str | None) -> SearchFilter:
    """Filter controls to a SearchFilter; ValueError with a readable message on a bad date.

    The brief pickers' values are doc ids; typed values such as "vol.697" are accepted too.
    """
    ids = tuple(v.split(" ")[0].removeprefix("vol.") for v in volumes or [])
    return SearchFilter(
        doc_ids=ids,
        date_from=date_bound(since, end=False) if since and since.strip() else None,
        date_to=date_bound(until, end=True) if until and until.strip() else None,
    )


class Runs:
    """The chat's answers in progress, by run id, so that Stop ends one between two of its steps.

    Stop is cooperative: the answer checks its run before every update it shows and ends quietly once
    stopped. (Gradio's own `cancels=` left the session's next answer unshown in the browser.)
    """

    def __init__(self, remembered: int = 1000) -> None:
        self._stopped: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()

    @staticmethod
    def start() -> str:
        return uuid.uuid4().hex

    def stop(self, run: str) -> None:
        with self._lock:
            self._stopped[run] = None
            while len(self._stopped) > self._remembered:
                self._stopped.popitem(last=False)

    def stopped(self, run: str) -> bool:
        with self._lock:
            return run in self._stopped


class Handlers:
    """The UI's actions over one opened library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.runs = Runs()
        self.settings = library.settings
        self.assistant = library.assistant()
        self.data_dir = library.settings.data_dir.resolve()
        self.downloads = self.data_dir / "tmp" / "downloads"
        self.review = Review(library, self._write)

    # -- chat --------------------------------------------------------------------------------------
    def chat(
        self,
        message: str,
        messages: ChatMessages | None,
        turns: list[Turn] | None,
        volumes: list[str] | None = None,
        since: str = "",
        until: str = "",
        *,
        use_context: bool = True,
    ) -> Iterator[ChatUpdate]:
        """The conversation as the answer streams in; nothing at all for an empty question."""
        messages = list(messages or [])[-2 * KEPT_TURNS :]
        turns = list(turns or [])[-KEPT_TURNS:]
        if not message or not message.strip():
            return
        shown = message if len(message) <= 500 else message[:500] + "…"
        messages.append({"role": "user", "content": shown})
        try:
            flt = make_filter(volumes, since, until)
            partial = ""
            for event in self.assistant.stream(message, turns, flt, use_context=use_context):
                if event.kind == "status" and not partial:  # shown until the answer's first words
                    waiting = {
                        "role": "assistant",
                        "content": f"<span class='muted'>{html.escape(event.text)}</span>",
                    }
                    yield ChatUpdate([*messages, waiting], turns, "", None)
                elif event.kind == "delta":
                    partial += event.text
                    yield ChatUpdate([*messages, {"role": "assistant", "content": partial}], turns, "", None)
                elif event.answer is not None:
                    answer = event.answer
                    messages.append({"role": "assistant", "content": render.answer_markdown(answer)})
                    turns.append(Turn(answer.question, answer.standalone_question, answer))
                    if answer.refused:
                        self.review.noted_refusal(answer)
                    yield ChatUpdate(messages, turns, self.sources(answer), answer)
        except (AssistantError, ValueError) as exc:
            messages.append({"role": "assistant", "content": f"⚠️ {_without_paths(str(exc))}"})
            yield ChatUpdate(messages, turns, render.sources_html(None), None)

    def sources(self, answer: Answer) -> str:
        """The sources panel, each card with the text around its passage in the brief."""
        cited = {c.chunk_id for c in answer.citations}
        passages = [p for p in answer.passages if p.chunk_id in cited]
        views = {p.chunk_id: render.SourceView(*self.library.surroundings(p)) for p in passages}
        return render.sources_html(answer, views)

    def export_answer(self, answer: Answer | None) -> str | None:
        if answer is None:
            return None
        return self._write("answer", "md", render.answer_export(answer))

    def export_conversation(self, turns: list[Turn] | None) -> str | None:
        if not turns:
            return None
        return self._write("conversation", "md", render.conversation_export(turns))

    # -- search ------------------------------------------------------------------------------------
    def search(
        self, query: str, volumes: list[str] | None, since: str, until: str, k: int, order: str = "relevance"
    ) -> SearchResult:
        if not query or not query.strip():
            return SearchResult([], [], [], "Type a query.")
        try:
            text = self.assistant.clean(query)
            flt = make_filter(volumes, since, until)
            retrieval = self.assistant.retrieve(text, flt, k=max(1, min(int(k), 50)))
            passages = retrieval.passages
            matches = self.assistant.match(text, passages)
        except (AssistantError, ValueError) as exc:
            return SearchResult([], [], [], f"⚠️ {_without_paths(str(exc))}")
        status = f"{len(passages)} passages ({retrieval.filter.describe()}), {retrieval.search_ms:.0f} ms"
        if not passages:
            status = f"No passage found ({retrieval.filter.describe()})."
        elif not self.assistant.has_keyword_hits(text) and max(matches) < WEAK_MATCH:
            status = (
                "**No passage matches these words well**; the closest passages are listed below. "
                f"({retrieval.filter.describe()})"
            )
        return self.sort(SearchResult([], passages, matches, status), order)

    def sort(self, result: SearchResult, order: str) -> SearchResult:
        """The same passages in another order (relevance, date, volume); the match figures go along."""
        pairs = list(zip(result.passages, result.matches, strict=True))
        key = SORTS.get(order, SORTS["relevance"])
        pairs.sort(key=lambda pm: key(pm[0]), reverse=order in _REVERSED)
        passages = [p for p, _ in pairs]
        matches = [m for _, m in pairs]
        return SearchResult(render.passage_rows(passages, matches), passages, matches, result.status)

    def export_passages(self, passages: list[Passage] | None, query: str, fmt: str) -> str | None:
        if not passages:
            return None
        if fmt == "csv":
            return self._write("passages", "csv", render.passages_csv(passages))
        if fmt == "json":
            return self._write("passages", "json", render.passages_json(passages))
        return self._write("passages", "md", render.passages_markdown(query, passages))

    # -- evaluate ----------------------------------------------------------------------------------
    def bundled_testsets(self) -> dict[str, Path]:
        """Test sets offered by name; a name found in two folders gets its folder's name beside it."""
        found: dict[str, Path] = {}
        for folder in self.settings.testset_dirs:
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                if path.suffix.lower() in (".jsonl", ".csv") and path.name.startswith("qa"):
                    name = path.name if path.name not in found else f"{path.name} ({folder.name})"
                    found[name] = path
        return found

    def run_eval(
        self, upload: str | None, bundled: str | None, progress: Callable[[int, int], None] | None = None
    ) -> EvalView:
        """Run a test set; a set with bad lines shows them, by line, whether or not the rest runs."""
        if upload:
            path = self._accept(Path(upload), kinds=(".jsonl", ".csv"), folder="testsets")
            name = Path(upload).name
        elif bundled:
            known = self.bundled_testsets()
            if bundled not in known:
                raise ValueError(f"unknown bundled test set {bundled!r}")
            path, name = known[bundled], bundled
        else:
            raise ValueError("upload a test set (JSONL or CSV) or pick a bundled one")
        cases, errors = read_lines(path)
        skipped = "".join(f"\n- skipped {e}" for e in errors)
        if not cases:
            return EvalView([], None, [], None, f"**{name}: no usable question.**{skipped}")
        started = time.perf_counter()
        run: EvalRun = evaluate(
            path,
            self.assistant,
            top_k=self.settings.top_k,
            progress=progress,
            settings=self.library.describe(self.assistant),
        )
        seconds = time.perf_counter() - started
        report = write_report(
            self._download_path("eval", "html"),
            run.metrics,
            run.results,
            title=f"Evaluation of {name}",
            notes=[f"{len(run.results)} questions in {seconds:.1f} s"],
        )
        chart = report.with_suffix(".png")  # written beside the report
        metrics = [[label, value] for _, label, value in metric_rows(run.metrics, run.intervals)]
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
        status = f"**{name}**: {len(run.results)} questions in {seconds:.1f} s{skipped}"
        return EvalView(metrics, str(chart) if chart.exists() else None, questions, str(report), status)

    # -- library -----------------------------------------------------------------------------------
    def library_rows(self) -> list[list[Any]]:
        return render.library_rows(list(self.library.records().values()))

    def library_view(self) -> tuple[str, list[list[Any]], list[tuple[str, str]], list[tuple[str, str]]]:
        """The summary, the table rows, every brief (to remove) and the searchable briefs (to filter),
        from one read of the manifest."""
        stats = self.library.stats()
        searchable = [r for r in stats.records if r.state != "pending"]
        return (
            _summary(stats),
            render.library_rows(stats.records),
            render.brief_choices(stats.records),
            render.brief_choices(searchable),
        )

    def upload(self, files: list[str] | None, allow_near_duplicates: bool = False) -> str:
        """Index uploaded brief files; a line per file says what happened."""
        *_, last = self.upload_steps(files, allow_near_duplicates)
        return last

    def upload_steps(self, files: list[str] | None, allow_near_duplicates: bool = False) -> Iterator[str]:
        """`upload` as the app shows it: a "queued" line first when another write is under way (one
        writer at a time: this upload waits its turn), then what happened to each file."""
        if not files:
            yield "Choose one or more brief files first."
            return
        lines, accepted = [], []
        known = {r.sha256: r for r in self.library.records().values() if r.sha256}
        for name in files:
            shown = Path(name).name
            try:
                digest = _sha256(Path(name))
                if digest in known:
                    held = known[digest]
                    lines.append(f"= {shown}: already indexed as {held.label} ({held.source}), unchanged")
                    continue
                accepted.append(
                    self._accept(Path(name), kinds=tuple(SUPPORTED_SUFFIXES), folder=f"uploads/{digest[:16]}")
                )
            except (ValueError, OSError) as exc:
                lines.append(f"✗ {shown}: {_without_paths(str(exc))}")
        if accepted:
            if not self.library.claim_writes(blocking=False):
                names = ", ".join(p.name for p in accepted)
                yield "\n".join([*lines, f"⏳ queued: another upload is being indexed; {names} follows it"])
                self.library.claim_writes()  # taken and given back within this one step of the generator
            try:
                report = self.library.ingest(accepted, allow_near_duplicates=allow_near_duplicates)
            except AssistantError as exc:
                report = None
                lines.append(f"✗ {_without_paths(exc.message)}" + (f" ({exc.hint})" if exc.hint else ""))
            finally:
                self.library.release_writes()  # before any yield: the next step may run on another thread
            if report is None:
                yield "\n".join(lines)
                return
            lines += [f"⚠ {_without_paths(w)}" for w in report.warnings]
            for outcome in report.outcomes:
                mark = {"failed": "✗", "held": "⚠"}.get(outcome.status, "✓")
                message = _without_paths(outcome.message)
                detail = message or f"{outcome.status}: {outcome.doc_id}, {outcome.chunks} chunks"
                lines.append(f"{mark} {Path(outcome.path).name}: {detail}")
                if outcome.status in ("failed", "held"):
                    shutil.rmtree(Path(outcome.path).parent, ignore_errors=True)  # not indexed: not kept
        yield "\n".join(lines)

    def tidy_uploads(self) -> int:
        """Remove upload folders no indexed brief comes from (left by a stopped app); returns how many."""
        uploads = self.data_dir / "uploads"
        if not uploads.is_dir():
            return 0
        used = {Path(r.path).parent for r in self.library.records().values()}
        removed = 0
        for folder in uploads.iterdir():
            if folder.is_dir() and folder not in used:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        if removed:
            log.info("removed %d upload folder(s) that no indexed brief comes from", removed)
        return removed

    def confirm_text(self, doc_id: str | None) -> str:
        """What the confirmation step says before a brief is removed."""
        if not doc_id:
            return "Pick a brief to remove."
        record = self.library.records().get(doc_id)
        if record is None:
            return f"No brief {doc_id} in the index (it may have been removed already)."
        return (
            f"Remove **{record.label}** “{record.title}” ({record.source}, {record.chunks} chunks) "
            "from the index? This cannot be undone."
        )

    def remove(self, doc_id: str | None) -> str:
        if not doc_id:
            return "Pick a brief to remove."
        try:
            record = self.library.remove(doc_id)
        except AssistantError as exc:
            return f"✗ {_without_paths(exc.message)}" + (f" ({exc.hint})" if exc.hint else "")
        if record is None:
            return f"No brief {doc_id} in the index (it may have been removed already)."
        uploads = self.data_dir / "uploads"
        if uploads in Path(record.path).parents:
            shutil.rmtree(Path(record.path).parent, ignore_errors=True)
        return f"Removed {record.label} “{record.title}” ({record.source}, {record.chunks} chunks)."

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

    def _download_path(self, stem: str, suffix: str) -> Path:
        """A fresh file in the download folder; downloads older than an hour are removed first."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - DOWNLOAD_MAX_AGE_S
        for old in self.downloads.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                continue
        return self.downloads / f"{stem}-{uuid.uuid4().hex[:8]}.{suffix}"

    def _write(self, stem: str, suffix: str, text: str) -> str:
        path = self._download_path(stem, suffix)
        path.write_text(text, encoding="utf-8")
        return str(path)


WEAK_MATCH = 0.2  # below this best match, and with no keyword hit, nothing in the briefs matches


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_ABSOLUTE = re.compile(r"(?<![\w.])/(?:[^\s/:'\"]+/)+([^\s/:'\"]+)")


def _without_paths(text: str) -> str:
    """Messages name files, never the server's folders: "/srv/x/uploads/ab/brief.txt" -> "brief.txt"."""
    return _ABSOLUTE.sub(r"\1", text)


def _summary(stats: Stats) -> str:
    size = f"{stats.disk_bytes / 1e6:.1f} MB" if stats.disk_bytes is not None else "on the Chroma server"
    text = (
        f"**{stats.briefs} briefs**, {stats.chunks} chunks · index {size} · "
        f"embedding model `{stats.embedding_model}` ({stats.dimension} dimensions)"
    )
    unfinished = [r for r in stats.records if r.pending]
    if unfinished:
        text += (
            f" · ⏳ **{len(unfinished)} unfinished write(s)** (the app stopped during an upload): "
            "finished at the next upload or restart"
        )
    return text
