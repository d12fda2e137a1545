"""English, Korean and cross-language figures for each embedding configuration.

    .venv/bin/python -m benchmarks.languages [--briefs ../shared/briefs]

Configurations: MiniLM (int8) with the multilingual per-brief routes (the default), MiniLM alone,
and multilingual-e5-small as the index model. Each indexes the real English briefs plus the fictional
Korean fixtures in tests/data/ko, then answers tests/data/qa-ko.jsonl (grouped ko-en, ko-ko, en-ko,
ko-none) and the English dev set; ingestion speed is measured on 100 synthetic briefs.
Writes benchmarks/results/languages.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation import evaluate
from assistant.library import Library
from benchmarks.synth import generate

ROOT = Path(__file__).resolve().parent
CONFIGS = {
    "minilm + e5 routes (default)": {"embedding_model": "minilm", "multilingual": True},
    "minilm only": {"embedding_model": "minilm", "multilingual": False},
    "e5 index": {"embedding_model": "e5", "multilingual": True},
}


def settings(store: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, store_dir=store, data_dir=store.parent / "data", **values)  # type: ignore[call-arg]


def run_config(
    name: str, values: dict[str, Any], corpus: Path, synthetic: Path, dev: Path, tmp: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {"config": name, **values}
    store = tmp / name.split()[0] / "store"
    with Library.open(settings(store, **values), write=True, purpose="benchmark") as library:
        library.ingest([corpus])
    with Library.open(settings(store, **values), purpose="benchmark") as library:
        library.warm_up()
        assistant = library.assistant()
        korean = evaluate(ROOT.parent / "tests" / "data" / "qa-ko.jsonl", assistant)
        english = evaluate(dev, assistant)
    out["groups"] = korean.groups
    out["english_dev"] = {
        k: english.metrics.get(k)
        for k in ("hit@5", "citation_precision", "refusal_recall", "false_refusal_rate", "answer_p50_ms")
    }
    out["korean_answer_p50_ms"] = korean.metrics.get("answer_p50_ms")
    synth_store = tmp / (name.split()[0] + "-synth") / "store"
    with Library.open(settings(synth_store, **values), write=True, purpose="benchmark") as library:
        library.embedder.embed_passages(["load the model"])
        start = time.perf_counter()
        report = library.ingest([synthetic], allow_near_duplicates=True)  # template text, by design
        seconds = time.perf_counter() - start
    out["ingest_chunks_per_s"] = report.total_chunks / seconds
    out["ingest_s_100_briefs"] = seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--briefs", type=Path, default=ROOT.parent.parent / "shared" / "briefs")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "languages.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        corpus = tmp / "corpus"
        corpus.mkdir()
        for path in [*args.briefs.glob("*.txt"), *(ROOT.parent / "tests" / "data" / "ko").glob("*.txt")]:
            shutil.copy(path, corpus)
        synthetic = tmp / "synthetic"
        generate(synthetic, 100, seed=11, questions=1)
        results = [
            run_config(n, v, corpus, synthetic, args.briefs / "qa-dev.jsonl", tmp) for n, v in CONFIGS.items()
        ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
