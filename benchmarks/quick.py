"""Quick figures for the README: index a folder from scratch, re-index it, and time searches.

    .venv/bin/python -m benchmarks.quick ../shared/briefs

Reports briefs, chunks, seconds (first run and unchanged re-run, model load excluded and shown apart)
and in-process search latency (p50/p95 over every question in a test set, after one warm-up query).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.indexing.embeddings import make_embeddings
from assistant.library import Library
from assistant.percentiles import percentile
from assistant.retrieval.search import Timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--questions", type=Path, default=None, help="JSONL test set (default: FOLDER/qa-dev.jsonl)"
    )
    args = parser.parse_args()
    questions_file = args.questions or args.folder / "qa-dev.jsonl"
    questions = [
        json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line.strip()
    ]

    embedder = make_embeddings(Settings(_env_file=None))  # type: ignore[call-arg]
    start = time.perf_counter()
    embedder.embed_question("warm up")
    load_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, store_dir=Path(tmp) / "store")  # type: ignore[call-arg]
        with Library.open(settings, write=True, embedder=embedder) as library:
            first = library.ingest([args.folder])
            again = library.ingest([args.folder])
        with Library.open(settings, embedder=embedder) as library:
            library.search("warm up", 5)
            times, parts = [], []
            for question in questions:
                timings = Timings()
                start = time.perf_counter()
                library.search(question, 5, timings=timings)
                times.append((time.perf_counter() - start) * 1000)
                parts.append(timings)
    result = {
        "model_load_s": round(load_s, 2),
        "briefs": first.count("added"),
        "chunks": first.total_chunks,
        "first_ingest_s": round(first.seconds, 2),
        "unchanged_reingest_s": round(again.seconds, 3),
        "unchanged_reingest_embedded": again.embedded,
        "queries": len(times),
        "search_p50_ms": round(percentile(times, 50) or 0.0, 1),
        "search_p95_ms": round(percentile(times, 95) or 0.0, 1),
        "split_p50_ms": {
            name: round(percentile([getattr(t, name) for t in parts], 50) or 0.0, 2)
            for name in ("embed_ms", "dense_ms", "keyword_ms", "fuse_ms")
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
