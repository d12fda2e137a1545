"""The `assistant` command: its parser and `main` here, the commands in `commands.py` and
`evaluate.py`, what they share in `common.py`. The only place that prints, and that turns errors into
exit codes:
0 = everything went in, 1 = some work failed (the rest was done), 2 = the command was used wrongly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.answering.generation import GENERATORS
from assistant.cli.commands import cmd_ask, cmd_ingest, cmd_remove, cmd_search, cmd_serve, cmd_stats
from assistant.cli.common import make_settings
from assistant.cli.evaluate import cmd_eval
from assistant.cli.feedback import cmd_feedback
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.feedback import VERDICTS

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

    p = sub.add_parser(
        "feedback", help="the review queue: ratings and refusals (list, label, export as a test set, topics)"
    )
    p.add_argument("action", choices=["list", "label", "export", "topics"])
    p.add_argument("item", nargs="?", help="label: the item's id (from list)")
    p.add_argument("verdict", nargs="?", choices=list(VERDICTS), help="label: the verdict")
    p.add_argument("--volume", help="label: the volume that answers (for should_answer / wrong_brief)")
    p.add_argument(
        "--out", type=Path, default=Path("feedback-testset.jsonl"), help="export: the test set to write"
    )
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


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "stats": cmd_stats,
    "remove": cmd_remove,
    "feedback": cmd_feedback,
}


if __name__ == "__main__":
    raise SystemExit(main())
