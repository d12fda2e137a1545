"""`make bench`: ours vs the LangChain tutorial pipeline on the same synthetic corpus, in the same run.

    .venv/bin/python -m benchmarks.run [--sizes 1k,10k] [--out benchmarks/results]

Sizes: 1k, 10k, 100k chunks (100, 1,000 and 10,000 synthetic briefs). For each size: ingestion from an
empty store (ours and baseline, the median of several runs), re-ingestion unchanged and after changing
1% of the briefs, search and ask latency and hit@5 on 200 generated questions, start-up time and memory
of `assistant serve`. Writes benchmarks/results/bench-<size>.json and a chart; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.synth import generate
from tests.servers import start_app, start_chroma, stop

SIZES = {"1k": 100, "10k": 1000, "100k": 10000}
REPEATS = {"1k": 3, "10k": 2, "100k": 1}
ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work"


def worker(
    phase: str,
    store: Path,
    *,
    corpus: Path | None = None,
    questions: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.worker", phase, "--store", str(store)]
    if corpus:
        args += ["--corpus", str(corpus)]
    if questions:
        args += ["--questions", str(questions)]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        **(extra_env or {}),
    }
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT.parent, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{phase} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def change_one_percent(corpus: Path) -> int:
    files = sorted(corpus.glob("*.txt"))
    changed = files[:: max(1, len(files) // max(1, len(files) // 100))][: max(1, len(files) // 100)]
    for path in changed:
        path.write_text(path.read_text(encoding="utf-8") + "\n5. Review the programme after three years.\n")
    return len(changed)


def startup(store: Path) -> dict[str, Any]:
    """Seconds from `assistant serve` to the first answer, and the server's memory then."""
    from gradio_client import Client

    start = time.perf_counter()
    server, url = start_app(store, store.parent / "data", timeout=600)
    try:
        ready = time.perf_counter() - start
        Client(url, verbose=False).predict("What was the housing approvals in a region?", api_name="/ask")
        first = time.perf_counter() - start
        status = Path(f"/proc/{server.pid}/status").read_text()
        rss = int(status.split("VmRSS:")[1].split()[0]) / 1024
    finally:
        stop(server)
    return {"page_ready_s": ready, "first_answer_s": first, "server_rss_mb": rss}


def server_query(store: Path, questions: Path) -> dict[str, Any]:
    """The same queries with the index served by `chroma run` (its folder is the embedded store's)."""
    chroma, url = start_chroma(store / "chroma", timeout=120)
    try:
        cache = store.parent / "replica"
        shutil.rmtree(cache, ignore_errors=True)
        env = {"ASSISTANT_CHROMA_URL": url, "ASSISTANT_DATA_DIR": str(cache)}
        result = worker("ours-query", store, questions=questions, extra_env=env)
        keys = ("search_p50_ms", "search_p95_ms", "ask_p50_ms", "ask_p95_ms", "hit@5", "open_s")
        return {k: result[k] for k in keys}
    finally:
        stop(chroma)


def bench_size(size: str, repeats: int) -> dict[str, Any]:
    briefs = SIZES[size]
    corpus = WORK / f"synth-{briefs}"
    questions = WORK / f"synth-{briefs}-questions.jsonl"
    if not questions.exists():
        shutil.rmtree(corpus, ignore_errors=True)
        generate(corpus, briefs, seed=7, questions=200)
    runs = WORK / f"runs-{size}"
    shutil.rmtree(runs, ignore_errors=True)
    ours, base, again = [], [], []
    for i in range(repeats):
        print(f"[{size}] run {i + 1}/{repeats}: ours", flush=True)
        ours.append(worker("ours-ingest", runs / f"ours-{i}" / "store", corpus=corpus))
        again.append(worker("ours-ingest", runs / f"ours-{i}" / "store", corpus=corpus))
        print(f"[{size}] run {i + 1}/{repeats}: baseline", flush=True)
        base.append(worker("baseline-ingest", runs / f"base-{i}", corpus=corpus))
    print(f"[{size}] queries", flush=True)
    ours_q = worker("ours-query", runs / "ours-0" / "store", questions=questions)
    base_q = worker("baseline-query", runs / "base-0", questions=questions)
    print(f"[{size}] start-up", flush=True)
    served = startup(runs / "ours-0" / "store")
    print(f"[{size}] queries through a Chroma server", flush=True)
    server_q = server_query(runs / "ours-0" / "store", questions)
    print(f"[{size}] re-ingest after changing 1% of the briefs", flush=True)
    originals = {p: p.read_bytes() for p in corpus.glob("*.txt")}
    try:
        changed_files = change_one_percent(corpus)
        changed = worker("ours-ingest", runs / "ours-0" / "store", corpus=corpus)
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    first_s = median_of(ours, "seconds")
    result: dict[str, Any] = {
        "size": size,
        "briefs": briefs,
        "repeats": repeats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "ours": {
            "chunks": ours[0]["chunks"],
            "ingest_s": first_s,
            "ingest_runs_s": [r["seconds"] for r in ours],
            "chunks_per_s": ours[0]["chunks"] / first_s,
            "briefs_per_s": briefs / first_s,
            "model_load_s": median_of(ours, "model_load_s"),
            "ingest_peak_rss_mb": max(r["peak_rss_mb"] for r in ours),
            "reingest_unchanged_s": median_of(again, "seconds"),
            "reingest_unchanged_embedded": max(r["embedded"] for r in again),
            "reingest_1pct_s": changed["seconds"],
            "reingest_1pct_embedded": changed["embedded"],
            "reingest_1pct_briefs_changed": changed_files,
            **{
                k: ours_q[k]
                for k in (
                    "hit@5",
                    "search_p50_ms",
                    "search_p95_ms",
                    "ask_p50_ms",
                    "ask_p95_ms",
                    "split_p50_ms",
                )
            },
            "query_peak_rss_mb": ours_q["peak_rss_mb"],
            **served,
            "server_mode": server_q,
        },
        "baseline": {
            "chunks": base[0]["chunks"],
            "ingest_s": median_of(base, "seconds"),
            "ingest_runs_s": [r["seconds"] for r in base],
            "chunks_per_s": base[0]["chunks"] / median_of(base, "seconds"),
            "briefs_per_s": briefs / median_of(base, "seconds"),
            "model_load_s": median_of(base, "model_load_s"),
            "ingest_peak_rss_mb": max(r["peak_rss_mb"] for r in base),
            **{k: base_q[k] for k in ("hit@5", "search_p50_ms", "search_p95_ms")},
            "query_peak_rss_mb": base_q["peak_rss_mb"],
        },
    }
    o, b = result["ours"], result["baseline"]
    result["ratios"] = {
        "ingest_chunks_per_s": o["chunks_per_s"] / b["chunks_per_s"],
        "ingest_briefs_per_s": o["briefs_per_s"] / b["briefs_per_s"],
        "reingest_unchanged_share": o["reingest_unchanged_s"] / o["ingest_s"],
        "search_p50": o["search_p50_ms"] / b["search_p50_ms"],
        "hit@5_points": 100 * (o["hit@5"] - b["hit@5"]),
    }
    result["targets"] = {
        "ingest >= 1.5x baseline chunks/s": result["ratios"]["ingest_chunks_per_s"] >= 1.5,
        "unchanged re-ingest <= 2% of first": result["ratios"]["reingest_unchanged_share"] <= 0.02,
        "search p50 <= 1.5x baseline": result["ratios"]["search_p50"] <= 1.5,
    }
    if size == "100k":  # the issue sets these at the largest size only
        result["targets"].update(
            {
                "hit@5 >= baseline + 5 points": result["ratios"]["hit@5_points"] >= 5,
                "search p95 <= 100 ms": o["search_p95_ms"] <= 100,
                "ask p95 <= 300 ms": o["ask_p95_ms"] <= 300,
                "server memory <= 2 GB": o["server_rss_mb"] <= 2048,
            }
        )
    return result


def requery(size: str, out: Path) -> dict[str, Any]:
    """Re-measure the query side (search, ask, hit@5, start-up, server mode) on the stores a full run
    left in benchmarks/.work, and update that run's result; ingestion figures are kept as measured."""
    path = out / f"bench-{size}.json"
    result: dict[str, Any] = json.loads(path.read_text())
    briefs = SIZES[size]
    questions = WORK / f"synth-{briefs}-questions.jsonl"
    runs = WORK / f"runs-{size}"
    ours_q = worker("ours-query", runs / "ours-0" / "store", questions=questions)
    base_q = worker("baseline-query", runs / "base-0", questions=questions)
    o, b = result["ours"], result["baseline"]
    for key in ("hit@5", "search_p50_ms", "search_p95_ms", "ask_p50_ms", "ask_p95_ms", "split_p50_ms"):
        o[key] = ours_q[key]
    o["query_peak_rss_mb"] = ours_q["peak_rss_mb"]
    o.update(startup(runs / "ours-0" / "store"))
    o["server_mode"] = server_query(runs / "ours-0" / "store", questions)
    for key in ("hit@5", "search_p50_ms", "search_p95_ms"):
        b[key] = base_q[key]
    b["query_peak_rss_mb"] = base_q["peak_rss_mb"]
    result["ratios"]["search_p50"] = o["search_p50_ms"] / b["search_p50_ms"]
    result["ratios"]["hit@5_points"] = 100 * (o["hit@5"] - b["hit@5"])
    result["targets"]["search p50 <= 1.5x baseline"] = result["ratios"]["search_p50"] <= 1.5
    if size == "100k":
        result["targets"]["hit@5 >= baseline + 5 points"] = result["ratios"]["hit@5_points"] >= 5
        result["targets"]["search p95 <= 100 ms"] = o["search_p95_ms"] <= 100
        result["targets"]["ask p95 <= 300 ms"] = o["ask_p95_ms"] <= 300
        result["targets"]["server memory <= 2 GB"] = o["server_rss_mb"] <= 2048
    result["requeried_at"] = time.strftime("%Y-%m-%d %H:%M")
    return result


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in results]
    panels = [
        ("ingestion (chunks/s)", "chunks_per_s"),
        ("search p50 (ms)", "search_p50_ms"),
        ("hit@5", "hit@5"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (title, key) in zip(axes, panels, strict=True):
        xs = range(len(sizes))
        ax.bar([x - 0.2 for x in xs], [r["ours"][key] for r in results], 0.4, label="ours", color="#2b6cb0")
        ax.bar(
            [x + 0.2 for x in xs],
            [r["baseline"][key] for r in results],
            0.4,
            label="LangChain tutorial",
            color="#a0aec0",
        )
        ax.set_xticks(list(xs), [f"{s} chunks" for s in sizes])
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1k,10k")
    parser.add_argument("--repeats", type=int, default=None, help="ingestion runs per size (default 3/2/1)")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="re-measure only the query side on the stores of the last full run",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        if size not in SIZES:
            raise SystemExit(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
        started = time.perf_counter()
        if args.queries_only:
            result = requery(size, args.out)
            (args.out / f"bench-{size}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
            print(
                json.dumps({"size": size, "ratios": result["ratios"], "targets": result["targets"]}, indent=2)
            )
            continue
        result = bench_size(size, args.repeats or REPEATS[size])
        result["bench_seconds"] = time.perf_counter() - started
        (args.out / f"bench-{size}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(json.dumps({"size": size, "ratios": result["ratios"], "targets": result["targets"]}, indent=2))
    results = [json.loads(p.read_text()) for p in sorted(args.out.glob("bench-*.json"))]
    results.sort(key=lambda r: r["briefs"])
    chart(results, args.out / "bench.png")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
