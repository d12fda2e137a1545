"""`assistant eval`: a test set through the assistant, its report, and two runs compared."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.cli.common import emit_json, progress_bar
from assistant.config import Settings
from assistant.errors import UsageError


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation import check_gates, evaluate, load_testset, parse_gate
    from assistant.evaluation.metrics import GATEABLE
    from assistant.indexing.keyword import needs_korean_tokenizer
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
        # So that no question's latency includes loading a model, or the Korean tokenizer for a set
        # with Korean questions; a run that only searches does not load the reader's model.
        cases, _ = load_testset(args.testset)
        korean = any(needs_korean_tokenizer(c.question) for c in cases)
        library.warm_up(korean=korean, reader=not args.retrieval_only)
        with progress_bar(enabled=not args.json, unit="question") as progress:
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
    described = library.describe(assistant)
    if args.retrieval_only:
        described["generator"] = "none"
    return {"store": str(settings.store_dir), **described}


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
    from assistant.evaluation.compare import compare_runs, load_run, paired_tests
    from assistant.evaluation.report import format_value

    old, new = (load_run(p) for p in args.compare)
    changes, metrics = compare_runs(old, new)
    tests = paired_tests(old, new)
    if args.json:
        emit_json(
            {
                "changes": [c.__dict__ for c in changes],
                "metrics": {k: {"old": a, "new": b} for k, (a, b) in metrics.items()},
                "paired": [t.to_dict() for t in tests],
            }
        )
        return 0
    print(f"{'metric':<22}{'old':>10}{'new':>10}")
    for name, (a, b) in metrics.items():
        mark = "" if a == b else "  *"
        print(f"{name:<22}{format_value(name, a):>10}{format_value(name, b):>10}{mark}")
    print("\npaired, question by question (McNemar's exact test):")
    for t in tests:
        verdict = "a real difference" if t.significant else "could be chance at this sample size"
        print(
            f"  {t.metric:<6} {t.old}/{t.questions} -> {t.new}/{t.questions}: {t.better} better, "
            f"{t.worse} worse, p = {t.p_value:.3f} ({verdict})"
        )
    for direction in ("better", "worse", "changed"):
        group = [c for c in changes if c.direction == direction]
        print(f"\n{direction}: {len(group)}")
        for c in group:
            print(f"  {c.question[:90]}\n      {c.before} -> {c.after}")
    return 0
