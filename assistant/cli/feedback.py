"""`assistant feedback`: the review queue from the command line (list, label, export, topics)."""

from __future__ import annotations

import argparse
import sys

from assistant.cli.common import emit_json
from assistant.config import Settings
from assistant.errors import UsageError
from assistant.feedback import FeedbackLog


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.feedback import write_testset

    log = FeedbackLog(settings.data_dir)
    if args.action == "list":
        items = log.queue()
        if args.json:
            emit_json([{**i.entry, "label": i.label} for i in items])
            return 0
        if not items:
            print(f"no feedback yet in {log.path}")
        for item in items:
            e = item.entry
            kind = {"up": "+1", "down": "-1"}.get(str(e.get("rating")), "refused")
            label = "unlabelled" if item.label is None else item.label["verdict"]
            cited = ",".join(e.get("cited", [])) or "-"
            note = f"  note: {e['note']}" if e.get("note") else ""
            when = str(e.get("at", ""))[:16]
            print(f"{item.id}  {when}  {kind:>7}  cited {cited:<10} {label:<14} {e['question'][:70]}{note}")
        return 0
    if args.action == "label":
        if not args.item or not args.verdict:
            raise UsageError(
                "give the item and the verdict",
                hint="assistant feedback label ITEM should_answer --volume 697",
            )
        log.label(args.item, args.verdict, args.volume, by="cli")
        print(f"labelled {args.item}: {args.verdict}{' vol.' + args.volume if args.volume else ''}")
        return 0
    if args.action == "export":
        lines, skipped = log.export()
        if not lines:
            print(
                "nothing to export: no item is labelled yet (assistant feedback label ...)", file=sys.stderr
            )
            return 1
        write_testset(lines, args.out)
        extra = f"; {skipped} labelled wrong_brief without a volume left out" if skipped else ""
        print(f"wrote {len(lines)} questions to {args.out}{extra}; run: assistant eval {args.out}")
        return 0
    return _topics(args, settings, log)


def _topics(args: argparse.Namespace, settings: Settings, log: FeedbackLog) -> int:
    from assistant.feedback.topics import uncovered_topics
    from assistant.indexing.embeddings import make_embeddings, make_router

    refusals = [e for e in log.entries() if e["kind"] == "refusal"]
    embedder = make_embeddings(settings)
    topics = uncovered_topics(refusals, embedder, make_router(settings, embedder))
    if args.json:
        emit_json([t.to_dict() for t in topics])
        return 0
    if not topics:
        print("no refused questions yet")
    for topic in topics:
        print(f"{topic.count:>4}  {topic.name}  ({topic.first[:10]} to {topic.last[:10]})")
        for question in topic.questions[:3]:
            print(f"        {question[:90]}")
    return 0
