"""Measures the two thresholds of answering on labelled questions, so they are chosen, not guessed.

    .venv/bin/python -m benchmarks.calibrate --store .dev-index ../shared/briefs/qa-dev.jsonl [more.jsonl ...]

1. Refusal: the evidence strength of every question (answerable vs. not), and the widest-margin
   threshold between the two groups.
2. Support: each reference answer's sentences (paraphrases written by people) against the best passage
   of the brief they come from (should be supported) and of every other brief (should not), with the
   share accepted at the configured thresholds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation.testset import load_testset
from assistant.generation.verify import Verifier
from assistant.library import Library
from assistant.text import split_sentences


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("testsets", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, default=Path(".dev-index"))
    args = parser.parse_args()
    settings = Settings(_env_file=None, store_dir=args.store)  # type: ignore[call-arg]
    cases = [c for path in args.testsets for c in load_testset(path)[0]]
    with Library.open(settings) as library:
        assistant = library.assistant()
        strengths = []
        multilingual = []
        for case in cases:
            retrieval = assistant.retrieve(case.question)
            _, evidence, threshold, _ = assistant.weigh(case.question, retrieval)
            group = multilingual if threshold == settings.multilingual_threshold else strengths
            group.append((case.answerable, round(evidence.strength, 4), case.question))
        answerable = sorted(s for a, s, _ in strengths if a)
        refused = sorted(s for a, s, _ in strengths if not a)
        cut = (answerable[0] + refused[-1]) / 2 if answerable and refused else None
        m_answerable = sorted(s for a, s, _ in multilingual if a)
        m_refused = sorted(s for a, s, _ in multilingual if not a)
        m_cut = (m_answerable[0] + m_refused[-1]) / 2 if m_answerable and m_refused else None
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
        "refusal": {
            "answerable_lowest": answerable[:3],
            "unanswerable_highest": refused[-3:],
            "midpoint_threshold": round(cut, 4) if cut is not None else None,
            "configured_threshold": settings.refusal_threshold,
            "false_refusals_at_configured": sum(s < settings.refusal_threshold for s in answerable),
            "answered_unanswerable_at_configured": sum(s >= settings.refusal_threshold for s in refused),
        },
        "multilingual_refusal": {
            "questions": len(multilingual),
            "answerable_lowest": m_answerable[:3],
            "unanswerable_highest": m_refused[-3:],
            "midpoint_threshold": round(m_cut, 4) if m_cut is not None else None,
            "configured_threshold": settings.multilingual_threshold,
            "false_refusals_at_configured": sum(s < settings.multilingual_threshold for s in m_answerable),
            "answered_unanswerable_at_configured": sum(
                s >= settings.multilingual_threshold for s in m_refused
            ),
        },
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
