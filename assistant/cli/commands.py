"""The commands that index, search, answer and serve: ingest, search, ask, serve, stats, remove."""

from __future__ import annotations

import argparse
import sys
import textwrap

from assistant.cli.common import emit_json, parse_filter, progress_bar
from assistant.config import Settings
from assistant.errors import UsageError
from assistant.models import Passage


# -- commands ----------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.library import Library

    paths = args.paths or [settings.corpus_dir]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{path}: no such file or folder", hint="check the path and try again")
    with (
        Library.open(settings, write=True, purpose="assistant ingest") as library,
        progress_bar(enabled=not args.json) as progress,
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
