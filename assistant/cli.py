"""The `assistant` command. The only place that prints, and that turns errors into exit codes:
0 = everything went in, 1 = some work failed (the rest was done), 2 = the command was used wrongly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.answering.generation import GENERATORS
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError, UsageError
from assistant.models import Passage, SearchFilter

log = logging.getLogger("assistant")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Question answering with verified citations over KRIHS Policy Briefs."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="index brief files or folders (default: corpus/)")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it again from scratch")
    p.add_argument(
        "--allow-near-duplicates",
        action="store_true",
        help="index new briefs even when most of their text repeats an indexed brief "
        "(otherwise they are held back, reported, and the exit code is 1)",
    )
    _common(p)

    p = sub.add_parser("search", help="ranked passages for a query, with citations")
    p.add_argument("query")
    p.add_argument("-k", type=_passages, default=None, help="number of passages, 1-100 (default 5)")
    add_filter_options(p)
    _common(p)

    p = sub.add_parser("ask", help="answer a question with verified citations (or refuse)")
    p.add_argument("question")
    _answer_options(p)
    add_filter_options(p)
    _common(p)

    _eval_parser(
        sub.add_parser("eval", help="run a test set and report hit@k, MRR, citations, refusals, latency")
    )

    p = sub.add_parser("serve", help="serve the web app (Chat, Search, Evaluate, Library)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; anything else needs a login)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--store", type=Path, help="index folder (default: vectorstore/, or ASSISTANT_STORE_DIR)")

    p = sub.add_parser("stats", help="what the index holds")
    _common(p)

    p = sub.add_parser("remove", help="remove briefs from the index by id (e.g. 697)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    _common(p)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=Path, help="index folder (default: vectorstore/, or ASSISTANT_STORE_DIR)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _answer_options(p: argparse.ArgumentParser) -> None:
    # The choices are the generator registry's names, so a new generator is offered here unedited.
    p.add_argument("--generator", choices=list(GENERATORS), help="default: extractive")
    p.add_argument("-k", type=_passages, default=None, help="passages given to the answer, 1-100 (default 5)")


def _eval_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("testset", nargs="?", type=Path, help="JSONL or CSV test set")
    p.add_argument("--report", type=Path, help="write a Markdown (.md) or HTML (.html) report with a chart")
    p.add_argument("--out", type=Path, help="also write the full JSON result to this file")
    p.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if METRIC (higher is better, e.g. hit@5) is below VALUE (repeatable)",
    )
    p.add_argument(
        "--fail-over",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if METRIC (lower is better, e.g. search_p95_ms) is above VALUE",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("OLD.json", "NEW.json"),
        help="show which questions got better or worse between two runs",
    )
    _answer_options(p)
    p.add_argument("--retrieval-only", action="store_true", help="measure retrieval without answering")
    p.add_argument(
        "--explain",
        action="store_true",
        help="also rank each retrieval stage (dense, keyword, routes) on its own for every answerable "
        "question, and report where the expected brief was lost",
    )
    _common(p)


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--volume", action="append", default=[], metavar="N", help="only these volumes (repeatable)"
    )
    p.add_argument("--since", metavar="DATE", help="only briefs dated on/after (YYYY, YYYY-MM or YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="only briefs dated on/before")


def _passages(text: str) -> int:
    """-k: a whole number of passages from 1 to 100 (argparse reports anything else as wrong usage)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1 to 100 passages")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace, Settings], int] = COMMANDS[args.command]
    try:
        settings = make_settings(args)
        return handler(args, settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


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


# -- commands ----------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.library import Library

    paths = args.paths or [settings.corpus_dir]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{path}: no such file or folder", hint="check the path and try again")
    with (
        Library.open(settings, write=True, purpose="assistant ingest") as library,
        _progress_bar(enabled=not args.json) as progress,
    ):
        report = library.ingest(
            paths, progress=progress, rebuild=args.rebuild, allow_near_duplicates=args.allow_near_duplicates
        )
    if args.json:
        emit_json(report.to_dict())
    else:
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for held in (o for o in report.outcomes if o.status == "held"):
            print(f"held: {held.path}: {held.message}", file=sys.stderr)
        for failure in report.failures:
            print(f"failed: {failure.message}", file=sys.stderr)
        print(report.summary())
    return report.exit_code


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.library import Library

    flt = parse_filter(args)
    with Library.open(settings, purpose="assistant search") as library:
        passages = library.search(args.query, args.k, flt)
    if args.json:
        emit_json([p.to_dict() for p in passages])
    else:
        if not passages:
            print("No passages found.")
        for rank, passage in enumerate(passages, start=1):
            print(format_passage(rank, passage))
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from assistant.library import Library

    flt = parse_filter(args)
    with Library.open(settings, purpose="assistant ask") as library:
        assistant = library.assistant(top_k=args.k)
        start = time.perf_counter()
        answer = assistant.ask(args.question, flt=flt)
        elapsed_ms = (time.perf_counter() - start) * 1000
    if args.json:
        emit_json({**answer.to_dict(), "ms": round(elapsed_ms, 1)})
        return 0
    print(textwrap.fill(answer.text, width=100))
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            where = _where(c.section, c.page)
            print(f"  [{c.label}] {c.title} ({c.date or 'undated'}); {where}; file: {c.source}")
            print(
                textwrap.fill(f"“{c.quote}”", width=100, initial_indent="      ", subsequent_indent="      ")
            )
    for note in answer.notes:
        print(f"note: {note}")
    if answer.filter != "all briefs":
        print(f"(searched: {answer.filter})")
    return 0


def format_passage(rank: int, p: Passage) -> str:
    head = f"{rank}. [{p.label}] {p.title} ({p.date or 'undated'})"
    body = textwrap.fill(p.text, width=100, initial_indent="   ", subsequent_indent="   ")
    return f"{head}\n   {_where(p.section, p.page)}; file: {p.source}; score {p.score:.3f}\n{body}\n"


def _where(section: str, page: int | None) -> str:
    return f"section: {section}" + (f", page {page}" if page else "")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation import check_gates, evaluate, parse_gate
    from assistant.evaluation.metrics import GATEABLE
    from assistant.library import Library

    if args.compare:
        return _compare(args)
    if args.testset is None:
        raise UsageError(
            "give a test set file (or --compare OLD.json NEW.json)", hint="assistant eval qa.jsonl"
        )
    try:
        gates = [parse_gate(g, known=set(GATEABLE), lower=False) for g in args.fail_under]
        gates += [parse_gate(g, known=set(GATEABLE), lower=True) for g in args.fail_over]
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    top_k = args.k or settings.top_k
    with Library.open(settings, purpose="assistant eval") as library:
        assistant = library.assistant(top_k=top_k)
        library.warm_up()  # so that no question's latency includes loading the model
        with _progress_bar(enabled=not args.json, unit="question") as progress:
            run = evaluate(
                args.testset,
                assistant,
                top_k=top_k,
                progress=progress,
                answer=not args.retrieval_only,
                explain=args.explain,
                settings=_run_settings(args, settings, library, assistant, top_k),
            )
    problems = check_gates(gates, run.metrics)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(run.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if args.report:
        _write_eval_report(args, run, settings, top_k)
    if args.json:
        emit_json(run.to_dict())
    else:
        _print_run(args, run)
    for problem in problems:
        print(f"gate failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _run_settings(
    args: argparse.Namespace, settings: Settings, library: Any, assistant: Any, top_k: int
) -> dict[str, Any]:
    """What a run ran on, recorded in its JSON so that two runs can be told apart later."""
    return {
        "store": str(settings.store_dir),
        "embedding_model": library.embedder.name,
        "top_k": top_k,
        "retrieval": library.retriever.mode,
        "generator": "none" if args.retrieval_only else settings.generator,
        "reader": assistant.judge.reader.name,
        "policy": assistant.judge.policy.source.get("fitted", "?"),
        "briefs": len(library.records()),
        "chunks": library.store.count(),
    }


def _write_eval_report(args: argparse.Namespace, run: Any, settings: Settings, top_k: int) -> None:
    from assistant.evaluation.report import write_report

    notes = [
        f"test set: {args.testset} ({len(run.results)} questions, {len(run.errors)} bad lines skipped)",
        f"index: {settings.store_dir}, {run.settings['briefs']} briefs, {run.settings['chunks']} chunks",
        f"embedding model: {run.settings['embedding_model']}; retrieval: {run.settings['retrieval']}; "
        f"top {top_k} passages; generator: {run.settings['generator']}",
        "ranks are document-level: the distinct briefs of the ranked passages, in order",
    ]
    write_report(
        args.report,
        run.metrics,
        run.results,
        title="Evaluation report",
        notes=notes,
        groups=run.groups,
        stages=run.stages,
    )


def _print_run(args: argparse.Namespace, run: Any) -> None:
    from assistant.evaluation.report import group_table, metric_table
    from assistant.evaluation.stages import stage_lines

    for error in run.errors:
        print(f"skipped {args.testset}:{error}", file=sys.stderr)
    print(metric_table(run.metrics, run.intervals))
    if run.groups:
        print("\n" + group_table(run.groups))
    if run.stages:
        print("\n" + "\n".join(stage_lines(run.stages, markdown=False)))
    if args.report:
        print(f"report: {args.report} (chart: {args.report.with_suffix('.png')})")


def _compare(args: argparse.Namespace) -> int:
    from assistant.evaluation.compare import compare_runs, load_run
    from assistant.evaluation.report import format_value

    old, new = (load_run(p) for p in args.compare)
    changes, metrics = compare_runs(old, new)
    if args.json:
        emit_json(
            {
                "changes": [c.__dict__ for c in changes],
                "metrics": {k: {"old": a, "new": b} for k, (a, b) in metrics.items()},
            }
        )
        return 0
    print(f"{'metric':<22}{'old':>10}{'new':>10}")
    for name, (a, b) in metrics.items():
        mark = "" if a == b else "  *"
        print(f"{name:<22}{format_value(name, a):>10}{format_value(name, b):>10}{mark}")
    for direction in ("better", "worse", "changed"):
        group = [c for c in changes if c.direction == direction]
        print(f"\n{direction}: {len(group)}")
        for c in group:
            print(f"  {c.question[:90]}\n      {c.before} -> {c.after}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ui.app import serve

    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    settings = settings.model_copy(update=updates)
    print(
        f"loading the index and the model; the app will be at http://{settings.host}:{settings.port}",
        flush=True,
    )
    serve(settings)
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.library import Library

    with Library.open(settings, purpose="assistant stats") as library:
        stats = library.stats()
    if args.json:
        emit_json(stats.to_dict())
        return 0
    size = f"{stats.disk_bytes / 1e6:.1f} MB" if stats.disk_bytes is not None else "on the server"
    print(f"index: {stats.location} ({size})")
    print(f"embedding model: {stats.embedding_model} ({stats.dimension} dimensions)")
    print(f"{stats.briefs} briefs, {stats.chunks} chunks ({stats.keyword_chunks} in the keyword index)")
    for r in stats.records:
        state = {"indexed": "", "updating": "  [update pending]", "pending": "  [pending: not searchable]"}
        print(
            f"  {r.label:>10}  {r.date or '----------'}  {r.chunks:>3} chunks  {r.source}: {r.title[:70]}"
            f"{state[r.state]}"
        )
    unfinished = [r for r in stats.records if r.pending]
    if unfinished:
        print(
            f"{len(unfinished)} write(s) unfinished (a process was stopped mid-write); the next ingest, "
            "removal or app start finishes them"
        )
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.library import Library

    missing = []
    with Library.open(settings, write=True, purpose="assistant remove") as library:
        for doc_id in args.doc_ids:
            record = library.remove(doc_id)
            if record is None:
                missing.append(doc_id)
            elif not args.json:
                print(f"removed {record.label} ({record.source}, {record.chunks} chunks)")
    if args.json:
        emit_json({"removed": [d for d in args.doc_ids if d not in missing], "not_found": missing})
    for doc_id in missing:
        print(f"error: no brief with id {doc_id} in the index (see: assistant stats)", file=sys.stderr)
    return 1 if missing else 0


class _progress_bar:
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


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "stats": cmd_stats,
    "remove": cmd_remove,
}


if __name__ == "__main__":
    raise SystemExit(main())
