"""Search speed on a corpus mixed like the real one: ours vs the LangChain tutorial pipeline, same run.

    .venv/bin/python -m benchmarks.mixed [--corpora real,1k,10k] [--out benchmarks/results]

Corpora:
- `real`: the 42 real briefs of ../shared (English and Korean), with their answerable questions
  (qa-dev.jsonl, qa-more.jsonl: English, Korean and Korean-about-English).
- `1k`, `10k`: synthetic briefs of which one in ten is Korean (`benchmarks.synth`, about 1,000 and
  10,000 of our chunks), plus the 42 real briefs, with 200 generated questions in both languages.

A real corpus with one Korean brief turns on the multilingual route; this measures what that costs
each question, by question language, and where the time goes (`split_p50_ms`). Writes
benchmarks/results/mixed-<corpus>.json; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.run import WORK, worker
from benchmarks.synth import generate
from benchmarks.worker import load_questions

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parent.parent / "shared"
REAL_DIRS = (SHARED / "briefs", SHARED / "briefs-more")
REAL_SETS = (SHARED / "briefs" / "qa-dev.jsonl", SHARED / "briefs-more" / "qa-more.jsonl")
SYNTHETIC = {"1k": 100, "10k": 1000}  # synthetic briefs (about ten chunks each)
KOREAN_SHARE = 0.1


def real_questions() -> list[dict[str, Any]]:
    """The answerable questions about the real briefs, each with its one expected brief."""
    out = []
    for path in REAL_SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            volume = case.get("volume")
            if volume and not isinstance(volume, list) and "conversation" not in case:
                out.append({"question": case["question"], "volume": str(volume)})
    return out


def build(name: str) -> tuple[Path, Path]:
    """The corpus folder and its question file for `name` (made once, kept in benchmarks/.work)."""
    corpus = WORK / f"mixed-{name}"
    questions = WORK / f"mixed-{name}-questions.jsonl"
    if corpus.is_dir() and questions.is_file():
        return corpus, questions
    shutil.rmtree(corpus, ignore_errors=True)
    if name in SYNTHETIC:
        synth = WORK / f"mixed-{name}-synthetic"
        shutil.rmtree(synth, ignore_errors=True)
        _, testset = generate(synth, SYNTHETIC[name], seed=11, questions=200, korean_share=KOREAN_SHARE)
        cases = load_questions(testset)
        shutil.copytree(synth, corpus)
    else:
        cases = real_questions()
    corpus.mkdir(parents=True, exist_ok=True)
    for folder in REAL_DIRS:
        for path in sorted(folder.glob("*.txt")):
            shutil.copy(path, corpus / path.name)
    questions.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    return corpus, questions


def korean_briefs(files: list[Path]) -> int:
    """How many of the files are mostly Hangul (English pages carry a few Korean words of chrome)."""
    count = 0
    for path in files:
        letters = [ch for ch in path.read_text(encoding="utf-8") if ch.isalpha()]
        count += sum("\uac00" <= ch <= "\ud7a3" for ch in letters) > 0.3 * max(1, len(letters))
    return count


def bench(name: str) -> dict[str, Any]:
    corpus, questions = build(name)
    runs = WORK / f"mixed-runs-{name}"
    shutil.rmtree(runs, ignore_errors=True)
    print(f"[{name}] ingest: ours, then the baseline", flush=True)
    ours_ingest = worker("ours-ingest", runs / "ours" / "store", corpus=corpus)
    base_ingest = worker("baseline-ingest", runs / "base", corpus=corpus)
    print(f"[{name}] search", flush=True)
    ours = worker("ours-search", runs / "ours" / "store", questions=questions)
    base = worker("baseline-query", runs / "base", questions=questions)
    files = sorted(corpus.glob("*.txt"))
    return {
        "corpus": name,
        "briefs": len(files),
        "korean_briefs": korean_briefs(files),
        "ours": {"chunks": ours_ingest["chunks"], "ingest_s": ours_ingest["seconds"], **ours},
        "baseline": {"chunks": base_ingest["chunks"], "ingest_s": base_ingest["seconds"], **base},
        "ratio_search_p50": ours["search_p50_ms"] / base["search_p50_ms"],
        "ratio_search_p95": ours["search_p95_ms"] / base["search_p95_ms"],
        "target": "search p50 <= 1.5x the baseline's similarity_search",
        "met": ours["search_p50_ms"] <= 1.5 * base["search_p50_ms"],
        "measured": time.strftime("%Y-%m-%d"),
        "command": f"python -m benchmarks.mixed --corpora {name}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default="real,1k,10k")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.corpora.split(","):
        if name != "real" and name not in SYNTHETIC:
            raise SystemExit(f"unknown corpus {name!r}; choose from real, {', '.join(SYNTHETIC)}")
        result = bench(name)
        (args.out / f"mixed-{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        summary = {k: result[k] for k in ("corpus", "briefs", "ratio_search_p50", "ratio_search_p95", "met")}
        print(json.dumps({**summary, "ours": result["ours"]["by_language"]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
