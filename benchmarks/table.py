"""Print the README's benchmark table from benchmarks/results/bench-*.json.

.venv/bin/python -m benchmarks.table
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "met" if value else "**not met**"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main() -> None:
    results = sorted(
        (json.loads(p.read_text()) for p in RESULTS.glob("bench-*.json")), key=lambda r: r["briefs"]
    )
    sizes = [r["size"] for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any, digits: int = 1) -> None:
        rows.append((label, [fmt(get(r), digits) for r in results]))

    row("briefs", lambda r: r["briefs"])
    row("chunks: ours / baseline", lambda r: f"{r['ours']['chunks']:,} / {r['baseline']['chunks']:,}")
    row(
        "ingest chunks/s: ours / baseline",
        lambda r: f"{r['ours']['chunks_per_s']:.0f} / {r['baseline']['chunks_per_s']:.0f}",
    )
    row(
        "ingest ratio, chunks/s (briefs/s)",
        lambda r: f"{r['ratios']['ingest_chunks_per_s']:.2f}x ({r['ratios']['ingest_briefs_per_s']:.2f}x)",
    )
    row(
        "ingest peak RSS MB: ours / baseline",
        lambda r: f"{r['ours']['ingest_peak_rss_mb']:.0f} / {r['baseline']['ingest_peak_rss_mb']:.0f}",
    )
    row(
        "re-ingest unchanged: s (share of first), embeddings",
        lambda r: (
            f"{r['ours']['reingest_unchanged_s']:.2f} "
            f"({100 * r['ratios']['reingest_unchanged_share']:.2f}%), "
            f"{r['ours']['reingest_unchanged_embedded']}"
        ),
    )
    row(
        "re-ingest after 1% changed: s, embeddings",
        lambda r: f"{r['ours']['reingest_1pct_s']:.2f}, {r['ours']['reingest_1pct_embedded']}",
    )
    row(
        "search p50 / p95 ms: ours",
        lambda r: f"{r['ours']['search_p50_ms']:.1f} / {r['ours']['search_p95_ms']:.1f}",
    )
    row(
        "similarity_search p50 / p95 ms: baseline",
        lambda r: f"{r['baseline']['search_p50_ms']:.1f} / {r['baseline']['search_p95_ms']:.1f}",
    )
    row("search p50 ratio", lambda r: f"{r['ratios']['search_p50']:.2f}x")
    row(
        "search split p50 ms: embed / vector / keyword / fuse",
        lambda r: " / ".join(
            f"{r['ours']['split_p50_ms'][k]:.1f}" for k in ("embed_ms", "dense_ms", "keyword_ms", "fuse_ms")
        ),
    )
    row(
        "ask (extractive) p50 / p95 ms",
        lambda r: f"{r['ours']['ask_p50_ms']:.0f} / {r['ours']['ask_p95_ms']:.0f}",
    )
    row("hit@5: ours / baseline", lambda r: f"{r['ours']['hit@5']:.3f} / {r['baseline']['hit@5']:.3f}")
    row("hit@5 difference (points)", lambda r: f"{r['ratios']['hit@5_points']:+.1f}")
    row(
        "serve: page ready / first answer s",
        lambda r: f"{r['ours']['page_ready_s']:.1f} / {r['ours']['first_answer_s']:.1f}",
    )
    row("server memory (RSS) MB", lambda r: f"{r['ours']['server_rss_mb']:.0f}")
    row(
        "Chroma server mode: search p50 / p95 ms",
        lambda r: (
            f"{r['ours']['server_mode']['search_p50_ms']:.1f} / "
            f"{r['ours']['server_mode']['search_p95_ms']:.1f}"
            if "server_mode" in r["ours"]
            else None
        ),
    )
    row(
        "Chroma server mode: new replica opens in s (keyword index rebuilt)",
        lambda r: f"{r['ours']['server_mode']['open_s']:.1f}" if "server_mode" in r["ours"] else None,
    )
    print("| | " + " | ".join(f"{s} chunks" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for label, values in rows:
        print(f"| {label} | " + " | ".join(values) + " |")
    print()
    targets = sorted({t for r in results for t in r["targets"]})
    print("| target | " + " | ".join(sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for target in targets:
        print(f"| {target} | " + " | ".join(fmt(r["targets"].get(target)) for r in results) + " |")


if __name__ == "__main__":
    main()
