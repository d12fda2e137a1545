"""The answer policy, in one place: whether to answer, which briefs to cite, which sentences to quote.

For each of the top briefs among the retrieved passages, a few numbers are gathered (`features`): what
the reader says of the brief's best sentences, their embedding similarity to the question, how much of
the question's words the brief covers, whether a name or year the question asks about is missing from
it, its retrieval rank and whether it is in another language than the question. A logistic regression
turns them into the probability that this brief answers the question. The assistant answers when the
best brief reaches the threshold and cites every brief that does; otherwise it refuses.

The weights and the threshold are fitted to data, not set by hand: `policy.json` beside this module
holds them with the data and the command that fitted them (`python -m benchmarks.fit_policy`).
A model without the reader (`none`) has its own fitted weights in the same file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.answering.generation.evidence import (
    Candidate,
    Evidence,
    IdfFunction,
    answer_type_missing,
    specifics,
    weighted_share,
)
from assistant.answering.reader import Excerpt, Extraction
from assistant.errors import ConfigError
from assistant.indexing.keyword import tokenize
from assistant.models import Passage

MAX_BRIEFS = 3  # candidate briefs weighed per question
# Of which the reader reads one, the most likely by the other numbers: reading two measured the same
# by cross-validation (false refusals 0.26 vs 0.27, refusals 0.78 both) at twice the time.
MAX_READS = 1
EXCERPT_SENTENCES = 2  # best sentences of a brief the reader is shown, within EXCERPT_CHARS
EXCERPT_CHARS = 360  # about 80 of the model's tokens: reading costs about 18 ms a token here
LEXICAL_FEATURES = (
    "cosine",
    "cosine_e5",
    "coverage",
    "missing",
    "rank",
    "cross",
    "no_figure",
    "no_year",
    "no_name",
)
# What the reader says of a brief's excerpt: P(YES) to "does it contain what was asked?" (`reader`),
# P(its answer from the excerpt alone does not start "NOT STATED") (`extract`), both as log-odds, and
# how much of that answer is the excerpt's own words (`grounded`). On 175 dev excerpts (75 answering,
# 75 of questions no brief answers, 25 of other briefs) the AUROC of answering against unanswerable
# was 0.86 for `reader` alone, 0.91 for `extract` + `grounded`, 0.92 for the three together.
EXTRACT_FEATURES = ("extract", "grounded")
# The probe's log-odds from the model's hidden state at the end of the YES/NO prompt (`probe.py`).
PROBE_FEATURES = ("probe",)
READER_FEATURES = ("reader", *EXTRACT_FEATURES, *PROBE_FEATURES, *LEXICAL_FEATURES)
# What the reader is asked for each group of features (`Policy.asks`).
ASKED = {"answers": ("reader",), "extracts": EXTRACT_FEATURES, "probes": PROBE_FEATURES}
# How far a follow-up's similarity and coverage move towards the follow-up read with the question it
# follows. On the development conversations (tests/data/qa-conversations.jsonl, 11 second turns in
# context): 0 -> 8 right, 0.25 and 0.5 -> 10, 1 -> 9 (two near-miss follow-ups answered).
TOPIC_SHARE = 0.5
ANSWER_TYPE_SENTENCES = 4  # a brief's best sentences searched for the figure or year a question asks
_LOGIT_LIMIT = 8.0


@dataclass(frozen=True)
class BriefCase:
    """One candidate brief for a question: its best sentences and the numbers the policy weighs."""

    doc_id: str
    label: str
    title: str
    language: str
    rank: int
    candidates: tuple[Candidate, ...]  # its sentences, best first
    features: dict[str, float] = field(default_factory=dict)

    @property
    def excerpt(self) -> Excerpt:
        shown = self.candidates[:EXCERPT_SENTENCES]
        if shown and shown[0].in_title_block:  # asked for its date, authors or title: those lines alone
            shown = tuple(c for c in shown if c.in_title_block)
        text = " … ".join(c.labelled for c in shown)
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
        title = self.title if len(self.title) <= 70 else self.title[:67].rsplit(" ", 1)[0] + " …"
        return Excerpt(f"{self.label} “{title}”", text)


def brief_cases(
    question: str,
    question_language: str,
    passages: Sequence[Passage],
    evidence: Evidence,
    idf: IdfFunction,
    limit: int = MAX_BRIEFS,
    *,
    topic: Evidence | None = None,
) -> list[BriefCase]:
    """The top briefs among `passages` (in rank order) with their lexical and embedding features.

    `topic` is the evidence for a follow-up read with the question it follows ("What does it
    recommend for them?" after "Why are small rural cities shrinking?"): a follow-up's own words
    name little of what it asks about, so its similarity and word coverage move `TOPIC_SHARE` of
    the way towards that reading's (when higher). Not all the way: read with its predecessor, a
    follow-up that asks for what the brief does not state looks as close to the brief as the first
    question did. What it asks for (a figure, a year, a name) and the sentences shown to the reader
    stay the follow-up's own.
    """
    order = list(dict.fromkeys(p.doc_id for p in passages))[:limit]
    terms = list(evidence.terms)
    weights = idf(terms) if terms else {}
    topic_terms = list(topic.terms) if topic is not None else []
    topic_weights = idf(topic_terms) if topic_terms else {}
    asked = specifics(question)
    cases = []
    for rank, doc_id in enumerate(order, start=1):
        mine = [p for p in passages if p.doc_id == doc_id]
        sentences = tuple(c for c in evidence.candidates if c.passage.doc_id == doc_id)
        if not sentences:
            continue
        words = set(tokenize(" ".join(f"{p.title} {p.section} {p.date or ''} {p.text}" for p in mine)))
        cross = mine[0].language != question_language
        multilingual = sentences[0].multilingual
        best = max(c.cosine for c in sentences)
        coverage = 0.0 if cross else weighted_share(terms, words, weights)
        if topic is not None:
            read_with = max([best, *(c.cosine for c in topic.candidates if c.passage.doc_id == doc_id)])
            best += TOPIC_SHARE * (read_with - best)
            if not cross:
                covered = max(coverage, weighted_share(topic_terms, words, topic_weights))
                coverage += TOPIC_SHARE * (covered - coverage)
        features = {
            # The two embedding models' cosines live on different scales: each has its own weight.
            "cosine": 0.0 if multilingual else best,
            "cosine_e5": best if multilingual else 0.0,
            # Word overlap says something only within one language (Korean words are morphemes).
            "coverage": coverage,
            "missing": 1.0 if any(not (set(tokenize(s)) & words) for s in asked) else 0.0,
            "rank": 1.0 / rank,
            "cross": 1.0 if cross else 0.0,
        }
        figure, year, name = answer_type_missing(
            question, [c.text for c in sentences[:ANSWER_TYPE_SENTENCES]]
        )
        features.update({"no_figure": figure, "no_year": year, "no_name": name})
        first = mine[0]
        cases.append(BriefCase(doc_id, first.label, first.title, first.language, rank, sentences, features))
    return cases


def reading_mask(lexical: Sequence[float], screen: float, limit: int = MAX_READS) -> list[bool]:
    """Read the `limit` most likely candidates (by the lexical model) that reach the screen."""
    ranked = sorted(range(len(lexical)), key=lambda i: -lexical[i])
    chosen = {i for i in ranked[:limit] if lexical[i] >= screen}
    return [i in chosen for i in range(len(lexical))]


def with_reader(
    case: BriefCase,
    probability: float | None,
    extraction: Extraction | None,
    question: str,
    probe: float | None = None,
) -> BriefCase:
    """The case with the reader's judgements added as features (log-odds for the probabilities; the
    probe's score is log-odds already).

    An extracted reply counts as grounded only if it is the kind of answer the question asks for:
    to "When do the licences start?" a reply copied from the brief that holds no year or date
    ("Introduce conditional licences ...") answers something else (`typed_grounding`)."""
    features = dict(case.features)
    if probability is not None:
        features["reader"] = log_odds(probability)
    if extraction is not None:
        features["extract"] = log_odds(1.0 - extraction.not_stated)
        features["grounded"] = typed_grounding(question, extraction)
    if probe is not None:
        features["probe"] = _clip(probe)
    return replace(case, features=features)


def typed_grounding(question: str, extraction: Extraction) -> float:
    """The extraction's grounding, 0 when the question asks for a figure or a year and the reply
    gives none (a name is not checked: replies name places in lower case as often as not)."""
    figure, year, _ = answer_type_missing(question, [extraction.text])
    return 0.0 if figure or year else extraction.grounded


def log_odds(probability: float) -> float:
    """A probability as the policy weighs it: log-odds, clipped to +-`_LOGIT_LIMIT`."""
    return _clip(math.log(max(probability, 1e-6) / max(1 - probability, 1e-6)))


def _clip(x: float) -> float:
    return max(-_LOGIT_LIMIT, min(_LOGIT_LIMIT, x))


@dataclass(frozen=True)
class Model:
    """A fitted logistic regression over named features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(
            w * features.get(name, 0.0) for name, w in zip(self.features, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Decision:
    """What the policy decided: the briefs to cite (none = refuse) and every candidate's probability."""

    cited: tuple[str, ...]
    probabilities: dict[str, float]
    threshold: float

    @property
    def answer(self) -> bool:
        return bool(self.cited)


@dataclass(frozen=True)
class FirstReading:
    """The reader's cheaper judgement asked first (the probe: one reading of the prompt, against the
    extraction's reading and writing): its model, over that judgement and the lexical features,
    decides alone when every brief read gets a probability outside `band`; inside it the rest is
    asked and the whole reader model decides. The band is fitted so that, on the fit's questions,
    about 2% of the briefs the whole model accepts (refuses) fall below (above) it."""

    model: Model
    band: tuple[float, float]

    def settles(self, cases: Sequence[BriefCase]) -> bool:
        low, high = self.band
        read = [c for c in cases if _was_read(c)]
        return bool(read) and all(not low <= self.model.probability(c.features) <= high for c in read)


@dataclass(frozen=True)
class Policy:
    reader_model: Model
    lexical_model: Model
    # Briefs the lexical model gives less than this are not read (a reading costs about 2 s): fitted
    # where 99% of the briefs that do answer are still read.
    screen: float = 0.0
    source: dict[str, Any] = field(default_factory=dict)  # data, command and figures of the fit
    # For a reader that gives no hidden states (a server): the reader's replies without the probe.
    plain_model: Model | None = None
    first: FirstReading | None = None  # the probe alone decides the clear cases (`FirstReading`)

    def to_read(self, cases: Sequence[BriefCase], limit: int = MAX_READS) -> list[bool]:
        """Which cases the reader is asked about: the `limit` most likely by the lexical model, among
        those it does not rule out."""
        return reading_mask([self.lexical_model.probability(c.features) for c in cases], self.screen, limit)

    @property
    def asks(self) -> frozenset[str]:
        """What the reader model weighs: "answers" (the YES/NO question), "extracts" (its answer),
        "probes" (its hidden state, weighed by the probe)."""
        return _asks(self.reader_model)

    @property
    def plain_asks(self) -> frozenset[str]:
        """What to ask a reader that has no probe (nothing when the policy has no model for one)."""
        return _asks(self.plain_model) if self.plain_model is not None else frozenset()

    @property
    def first_asks(self) -> frozenset[str]:
        """What the reader is asked first (nothing when the policy asks everything at once)."""
        return _asks(self.first.model) if self.first is not None else frozenset()

    def reading_model(self, cases: Sequence[BriefCase]) -> Model:
        """The model for read briefs: the one whose features the reader gave, the fullest first (the
        reader model; the plain one for a reader without a probe; the first reading's model when the
        rest was not asked)."""
        given = {name for c in cases if _was_read(c) for name in c.features}
        fullest = [self.reader_model, self.plain_model, self.first.model if self.first else None]
        for model in fullest:
            if model is not None and set(model.features) <= given:
                return model
        probed = any(name in c.features for c in cases for name in PROBE_FEATURES)
        return self.reader_model if probed or self.plain_model is None else self.plain_model

    def probability(self, case: BriefCase) -> float:
        """P(the brief answers): by the reader model when the brief was read, else the lexical one."""
        model = self.reading_model([case]) if _was_read(case) else self.lexical_model
        return model.probability(case.features)

    def decide(self, cases: Sequence[BriefCase]) -> Decision:
        read = any(_was_read(c) for c in cases)
        reading = self.reading_model(cases)
        threshold = (reading if read else self.lexical_model).threshold
        probabilities = {
            c.doc_id: (reading if _was_read(c) else self.lexical_model).probability(c.features) for c in cases
        }
        cited = sorted(
            (d for d, p in probabilities.items() if p >= threshold), key=lambda d: -probabilities[d]
        )
        return Decision(tuple(cited), probabilities, threshold)

    def margin(self, cases: Sequence[BriefCase]) -> float:
        """How far the best brief is above the threshold (negative: the policy would refuse)."""
        decision = self.decide(cases)
        best = max(decision.probabilities.values(), default=0.0)
        return best - decision.threshold


def _asks(model: Model) -> frozenset[str]:
    used = set(model.features)
    return frozenset(name for name, features in ASKED.items() if used & set(features))


def _was_read(case: BriefCase) -> bool:
    return any(name in case.features for name in ("reader", "extract", *PROBE_FEATURES))


def load_policy(path: Path | None = None) -> Policy:
    """The fitted policy shipped with the package (or another file, e.g. one just fitted)."""
    source = path or resources.files("assistant.answering") / "policy.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        return Policy(
            _model(data["reader"]),
            _model(data["lexical"]),
            float(data.get("screen", 0.0)),
            data.get("source", {}),
            _model(data["reader_without_probe"]) if "reader_without_probe" in data else None,
            _first(data["first"]) if "first" in data else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the answer policy file {getattr(source, 'name', source)} cannot be used ({exc})",
            hint="refit it: .venv/bin/python -m benchmarks.fit_policy (or reinstall the package)",
        ) from exc


@functools.cache
def policy_digest(path: Path | None = None) -> str:
    """The shipped (or given) policy file's SHA-256, short: which fitted numbers produced a run."""
    source = path or resources.files("assistant.answering") / "policy.json"
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def _first(data: dict[str, Any]) -> FirstReading:
    low, high = (float(v) for v in data["band"])
    return FirstReading(_model(data), (low, high))


def _model(data: dict[str, Any]) -> Model:
    features = tuple(data["features"])
    weights = tuple(float(data["weights"][name]) for name in features)
    return Model(features, weights, float(data["bias"]), float(data["threshold"]))


def choose_sentences(evidence: Evidence, cited: Sequence[str]) -> Evidence:
    """The evidence narrowed to the cited briefs' sentences, best first, so that the quotes come from
    the briefs the policy says answer (not the top-ranked brief when that one does not)."""
    keep = set(cited)
    candidates = tuple(c for c in evidence.candidates if c.passage.doc_id in keep)
    return replace(evidence, candidates=candidates, briefs=tuple(cited))
