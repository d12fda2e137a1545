"""Concurrent chat sessions against a running `assistant serve` (gradio_client), with latency figures.

    .venv/bin/python -m benchmarks.load --store .dev-index --testset ../shared/briefs/qa-dev.jsonl \
        [--sessions 32]

Each session asks `--questions` questions of the test set, its own random pick; an answer is right
when it cites exactly the expected briefs (or refuses a question marked null).
Writes benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.evaluation.testset import load_testset
from assistant.percentiles import percentile
from tests.servers import start_app, stop

ROOT = Path(__file__).resolve().parent


def _ms(seconds: float | None) -> float:
    return (seconds or 0.0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--testset", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--questions", type=int, default=5, help="questions per session")
    parser.add_argument("--concurrency", type=int, default=4, help="ASSISTANT_CONCURRENCY of the server")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "load.json")
    args = parser.parse_args()
    from gradio_client import Client

    cases, _ = load_testset(args.testset)
    data = Path(tempfile.mkdtemp())
    server, url = start_app(args.store, data, timeout=300, ASSISTANT_CONCURRENCY=str(args.concurrency))
    try:

        def session(n: int) -> list[dict[str, Any]]:
            client = Client(url, verbose=False)
            picked = random.Random(n).sample(cases, min(args.questions, len(cases)))
            out = []
            for case in picked:
                start = time.perf_counter()
                try:
                    answer = client.predict(case.question, api_name="/ask")
                    error = None
                except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever its type
                    answer, error = None, repr(exc)
                elapsed = time.perf_counter() - start
                right = False
                if answer is not None:
                    cited = {c["doc_id"] for c in answer["citations"]}
                    right = (
                        answer["refused"]
                        if case.expected is None
                        else (not answer["refused"] and cited <= set(case.expected) and bool(cited))
                    )
                out.append({"seconds": elapsed, "error": error, "right": right})
            return out

        started = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            results = [r for rs in pool.map(session, range(args.sessions)) for r in rs]
        wall = time.perf_counter() - started
    finally:
        stop(server)
    times = sorted(r["seconds"] for r in results)
    summary = {
        "sessions": args.sessions,
        "questions_per_session": args.questions,
        "server_concurrency": args.concurrency,
        "requests": len(results),
        "errors": sum(r["error"] is not None for r in results),
        "right": sum(r["right"] for r in results),
        "p50_ms": _ms(percentile(times, 50)),
        "p95_ms": _ms(percentile(times, 95)),
        "max_ms": max(times) * 1000,
        "wall_s": wall,
        "requests_per_s": len(results) / wall,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
