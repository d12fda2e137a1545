"""Measures the verification thresholds (verify.py) on labelled questions, so they are chosen, not guessed.

    .venv/bin/python -m benchmarks.calibrate --store .dev-index ../shared/briefs/qa-dev.jsonl [more.jsonl ...]

Each reference answer's sentences (paraphrases written by people) are checked against the passages of
the brief they come from (should be supported) and of every other brief (should not), with the share
accepted at the configured thresholds. (Whether to answer at all is the answer policy's, fitted by
benchmarks/fit_policy.py.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answering.generation.verify import Verifier
from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.library import Library
from assistant.reading.text import split_sentences


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("testsets", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, default=Path(".dev-index"))
    args = parser.parse_args()
    settings = Settings(_env_file=None, store_dir=args.store)  # type: ignore[call-arg]
    cases = [c for path in args.testsets for c in load_testset(path)[0]]
    with Library.open(settings) as library:
        verifier = Verifier(library.embedder)
        all_passages = list(library.store.iter_chunks(library.records()))
        positives, negatives = [], []
        for case in cases:
            if not case.answer or not case.expected:
                continue
            for sentence in split_sentences(case.answer):
                for doc in {p.doc_id for p in all_passages}:
                    ok = any(verifier.supported(sentence, p) for p in all_passages if p.doc_id == doc)
                    (positives if doc in case.expected else negatives).append(ok)
    result = {
        "questions": len(cases),
        "support": {
            "reference_sentences_vs_own_brief_accepted": _share(positives),
            "reference_sentences_vs_other_briefs_accepted": _share(negatives),
            "pairs": [len(positives), len(negatives)],
        },
    }
    print(json.dumps(result, indent=2))


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


if __name__ == "__main__":
    main()
