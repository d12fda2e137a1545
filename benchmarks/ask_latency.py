"""`ask` latency with the reader, on this machine: new questions, then the same questions again.

    .venv/bin/python -m benchmarks.ask_latency --store STORE SET.jsonl [SET.jsonl ...] [-n 60] [--serve]

Per question: the time until the chat shows that it is reading (the first event), and until the
verified answer. New questions come first (nothing cached), then every question again (the reader's
replies are remembered). Memory: the peak resident set of this process with the model loaded, and
with --serve the resident set of a running `assistant serve` after it has answered through its API.
Results: benchmarks/results/ask-latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.library import Library
from assistant.percentiles import percentile

RESULTS = Path(__file__).resolve().parent / "results" / "ask-latency.json"


def _rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _time(assistant: Any, question: str) -> tuple[float, float, float, bool]:
    """Seconds until the first event (the chat says it is reading), until the answer's first words,
    and until the verified answer; and whether it was a refusal."""
    start = time.perf_counter()
    first = words = None
    answer = None
    for event in assistant.stream(question):
        now = time.perf_counter() - start
        first = now if first is None else first
        if event.kind == "delta" and words is None:
            words = now
        if event.kind == "final":
            answer = event.answer
    total = time.perf_counter() - start
    return first or total, words or total, total, bool(answer is not None and answer.refused)


def _figures(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
    }


def serve_memory(store: Path, questions: list[str]) -> dict[str, float]:
    from gradio_client import Client

    from tests.servers import start_app, stop

    data = Path(tempfile.mkdtemp(prefix="ask-latency-"))
    copy = data / "store"
    shutil.copytree(store, copy)
    process, url = start_app(copy, data / "data", timeout=300)
    try:
        client = Client(url + "/", verbose=False)
        for question in questions[:5]:
            client.predict(question, api_name="/ask")
        return {
            "serve_rss_mb": round(_rss_mb(process.pid), 1),
            "serve_peak_rss_mb": round(_rss_mb(process.pid, "VmHWM"), 1),
        }
    finally:
        stop(process)
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("-n", type=int, default=60, help="questions (drawn evenly from the sets)")
    parser.add_argument("--serve", action="store_true", help="also measure a running server's memory")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    questions = [
        c.question for path in args.sets for c in load_testset(path)[0] if "conversation" not in c.extra
    ]
    random.Random(0).shuffle(questions)
    questions = questions[: args.n]
    settings = Settings(_env_file=None, store_dir=args.store)  # type: ignore[call-arg]
    started = time.perf_counter()
    with Library.open(settings) as library:
        library.warm_up()
        load_s = time.perf_counter() - started
        assistant = library.assistant()
        new = [_time(assistant, q) for q in questions]
        again = [_time(assistant, q) for q in questions]
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "reader": settings.reader,
        "questions": len(questions),
        "load_s": round(load_s, 1),
        "new_first_event_s": _figures([f for f, _, _, _ in new]),
        "new_first_words_s": _figures([w for _, w, _, _ in new]),
        "new_answer_s": _figures([t for _, _, t, _ in new]),
        "repeated_answer_s": _figures([t for _, _, t, _ in again]),
        "refused_share": round(sum(r for _, _, _, r in new) / len(new), 3) if new else None,
        "process_peak_rss_mb": round(_rss_mb("self", "VmHWM"), 1),
        "measured": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.ask_latency --store STORE " + " ".join(p.name for p in args.sets),
    }
    if args.serve:
        result.update(serve_memory(args.store, questions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
