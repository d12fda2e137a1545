"""Concurrent chat sessions against a running `assistant serve` (gradio_client), with latency figures.

    .venv/bin/python -m benchmarks.load --store .dev-index --testset ../shared/briefs/qa-dev.jsonl \
        [--sessions 32]

Each session asks every question of the test set in its own order; an answer is right when it cites
exactly the expected briefs (or refuses a question marked null). Writes benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


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

    cases = [json.loads(line) for line in args.testset.read_text().splitlines() if line.strip()]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "ASSISTANT_STORE_DIR": str(args.store),
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_CONCURRENCY": str(args.concurrency),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "assistant"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                Client(url, verbose=False)
                break
            except Exception:  # noqa: BLE001 - connection refused in its several forms until it is up
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)

        def session(n: int) -> list[dict[str, Any]]:
            client = Client(url, verbose=False)
            picked = random.Random(n).sample(cases, min(args.questions, len(cases)))
            out = []
            for case in picked:
                start = time.perf_counter()
                try:
                    answer = client.predict(case["question"], api_name="/ask")
                    error = None
                except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever its type
                    answer, error = None, repr(exc)
                elapsed = time.perf_counter() - start
                right = False
                if answer is not None:
                    cited = {c["doc_id"] for c in answer["citations"]}
                    expected = case["volume"]
                    expected = (
                        None
                        if expected is None
                        else {expected}
                        if isinstance(expected, str)
                        else set(expected)
                    )
                    right = (
                        answer["refused"]
                        if expected is None
                        else (not answer["refused"] and cited <= expected and bool(cited))
                    )
                out.append({"seconds": elapsed, "error": error, "right": right})
            return out

        started = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            results = [r for rs in pool.map(session, range(args.sessions)) for r in rs]
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    times = sorted(r["seconds"] for r in results)
    summary = {
        "sessions": args.sessions,
        "questions_per_session": args.questions,
        "server_concurrency": args.concurrency,
        "requests": len(results),
        "errors": sum(r["error"] is not None for r in results),
        "right": sum(r["right"] for r in results),
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000,
        "max_ms": times[-1] * 1000,
        "wall_s": wall,
        "requests_per_s": len(results) / wall,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
