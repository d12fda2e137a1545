"""Synthetic briefs in the real page format, with seeded facts so that generated questions have known
answers. Deterministic from a seed: the same (n, seed) always writes the same files and questions.

    .venv/bin/python -m benchmarks.synth OUT_DIR --briefs 100 [--seed 7] [--questions 200]

Every brief has the KRIHS page chrome, a truncated TITLE line, volume/date/HIT line, attachment line,
full title, author line, labelled summary points "(Label) ..." and numbered policy proposals. Regions,
metrics and topics repeat across briefs (hard negatives: many briefs on "housing supply in Hanseo"),
while each brief's figures, programme names and proposed bodies are its own.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

TOPICS = [
    ("housing supply", "housing approvals", "households"),
    ("public transport", "bus ridership", "commuters"),
    ("urban regeneration", "vacant building stock", "old town districts"),
    ("industrial complexes", "factory land occupancy", "manufacturing firms"),
    ("smart city services", "sensor network coverage", "city services"),
    ("rural settlements", "population of villages", "farming households"),
    ("flood resilience", "flood damage costs", "riverside districts"),
    ("water supply", "water leakage rate", "water utilities"),
    ("land use planning", "greenbelt area", "development permits"),
    ("regional tourism", "overnight visitors", "local businesses"),
    ("freight logistics", "logistics centre capacity", "freight carriers"),
    ("renewable energy siting", "solar generation capacity", "energy cooperatives"),
]
SYLLABLES = [
    "han",
    "seo",
    "dong",
    "nam",
    "buk",
    "gyeong",
    "jeon",
    "chung",
    "won",
    "san",
    "cheon",
    "yang",
    "gang",
    "ju",
    "po",
    "sin",
    "ok",
    "mun",
    "hwa",
    "pyeong",
    "dae",
    "gok",
    "ri",
    "rim",
]
PROGRAMME_WORDS = [
    "Greenway",
    "Horizon",
    "Bridge",
    "Harbour",
    "Compass",
    "Lantern",
    "Meadow",
    "Summit",
    "Anchor",
    "Beacon",
    "Keystone",
    "Riverside",
    "Northstar",
    "Crossroads",
    "Evergreen",
]
BODIES = [
    "regional innovation council",
    "joint planning board",
    "data sharing centre",
    "housing trust fund",
    "mobility coordination office",
    "land bank agency",
    "resilience task force",
    "skills academy",
]
ACTIONS = [
    ("coordinate investment across municipalities", "align investment between cities"),
    ("monitor vacant land every quarter", "track unused land regularly"),
    ("pool the data of public agencies", "combine the records of public bodies"),
    ("finance affordable rental homes", "fund low-cost rental housing"),
    ("plan bus and rail timetables together", "integrate the schedules of buses and trains"),
    ("train workers for new industries", "retrain the workforce for emerging sectors"),
]
LABELS = [
    "Background",
    "Current status",
    "Main issues",
    "Policy instrument",
    "Evaluation",
    "Outlook",
    "International cases",
]
FILLER = [
    "Local governments in {region} have repeatedly asked for clearer national guidance on {topic}.",
    "Experts note that {topic} policies have so far focused on quantity rather than quality.",
    "Coordination between ministries on {topic} remains weak, which delays implementation.",
    "Survey results show that {people} in {region} expect more consistent support.",
    "The share of the budget spent on {topic} has changed little over the past decade.",
    "Comparable cities abroad have combined {topic} measures with land use reforms.",
    "Data on {topic} are collected by several agencies and are rarely shared.",
    "Demographic change is expected to reshape demand for {topic} in the coming years.",
    "Pilot projects in {region} produced mixed results that call for careful evaluation.",
    "A long-term roadmap for {topic} would give {people} greater certainty.",
]
AUTHORS = [
    "Kim Minjun",
    "Lee Seoyeon",
    "Park Jiho",
    "Choi Yuna",
    "Jung Hyunwoo",
    "Kang Eunji",
    "Yoon Taeyang",
]


@dataclass(frozen=True)
class Question:
    question: str
    volume: str
    evidence: str

    def to_json(self) -> str:
        return json.dumps(
            {"question": self.question, "volume": self.volume, "evidence": self.evidence}, ensure_ascii=False
        )


def region_names(rng: random.Random, n: int) -> list[str]:
    """`n` distinct place names of two syllables (552 exist), then three."""
    names: set[str] = set()
    while len(names) < n:
        syllables = 2 if len(names) < 500 else 3
        names.add("".join(rng.sample(SYLLABLES, syllables)).capitalize())
    return sorted(names)


def make_brief(i: int, rng: random.Random, regions: list[str]) -> tuple[str, list[Question]]:
    """One brief's page text and the questions its seeded facts answer."""
    volume = 2000 + i
    topic, metric, people = rng.choice(TOPICS)
    region = rng.choice(regions)
    year = rng.randint(2012, 2024)
    value = rng.randint(120, 9800)
    change = rng.choice(["up", "down"])
    pct = round(rng.uniform(2, 45), 1)
    programme = f"{rng.choice(PROGRAMME_WORDS)} {rng.choice(PROGRAMME_WORDS)} Programme {rng.randint(2, 99)}"
    money = rng.randint(3, 900)
    body = rng.choice(BODIES)
    action, action_q = rng.choice(ACTIONS)
    title = f"Improving {topic} in {region}: lessons and policy directions"
    date = f"{year + 1}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    fill = {"region": region, "topic": topic, "people": people}

    def filler(n: int) -> str:
        return " ".join(s.format(**fill) for s in rng.sample(FILLER, n))

    fact_status = (
        f"In {region}, the {metric} stood at {value:,} in {year}, {change} {pct} percent "
        f"from five years earlier."
    )
    fact_programme = f"The {programme} provides {money} billion won for {topic} projects in {region}."
    fact_body = f"Establish a {body} in {region} to {action}."
    points = {label: filler(3) for label in LABELS}
    points["Current status"] = f"{fact_status} {filler(2)}"
    points["Policy instrument"] = f"{fact_programme} {filler(2)}"
    proposals = [fact_body] + [f"{s.format(**fill)} {filler(1)}" for s in rng.sample(FILLER, 3)]
    lines = [
        "Policy Briefs",
        "",
        "  • Home",
        "  • What's new",
        "  • Policy Briefs",
        "",
        "Policy Briefs contain useful information on territorial planning policies and national strategies "
        "of Korea and other countries.",
        "",
        "brief view",
        f"TITLE {title[:60]}",
        f"Volume vol.{volume} DATE {date} HIT {rng.randint(50, 9000)}",
        "",
        f"파일첨부 brief{volume}.pdf",
        "",
        title,
        "",
        f"{rng.choice(AUTHORS)}, Research Fellow, KRIHS",
        "",
        "",
    ]
    for label in LABELS:
        lines += [f"({label}) {points[label]}", ""]
    lines += ["Policy proposals", ""]
    lines += [f"{n}. {text}" for n, text in enumerate(proposals, start=1)]
    questions = [
        Question(f"What was the {metric} in {region} in {year}?", str(volume), fact_status),
        Question(f"How much funding does the {programme} give to {topic}?", str(volume), fact_programme),
        Question(f"Which organisation is proposed for {region} to {action_q}?", str(volume), fact_body),
    ]
    return "\n".join(lines) + "\n", questions


def generate(out: Path, briefs: int, *, seed: int = 7, questions: int = 200) -> tuple[list[Path], Path]:
    """Write `briefs` files into `out` and a test set of `questions` questions; returns (files, test set)."""
    rng = random.Random(seed)
    regions = region_names(rng, max(8, briefs // 6))
    out.mkdir(parents=True, exist_ok=True)
    files, pool = [], []
    for i in range(briefs):
        text, qs = make_brief(i, rng, regions)
        path = out / f"vol_{2000 + i}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(path)
        pool.extend(qs)
    picked = random.Random(seed + 1).sample(pool, min(questions, len(pool)))
    testset = out.parent / f"{out.name}-questions.jsonl"
    testset.write_text("\n".join(q.to_json() for q in picked) + "\n", encoding="utf-8")
    return files, testset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--briefs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    files, testset = generate(args.out, args.briefs, seed=args.seed, questions=args.questions)
    print(f"{len(files)} briefs in {args.out}; questions in {testset}")


if __name__ == "__main__":
    main()
