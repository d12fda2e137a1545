"""Synthetic briefs in the real page format, with seeded facts so that generated questions have known
answers. Deterministic from a seed: the same (n, seed) always writes the same files and questions.

    .venv/bin/python -m benchmarks.synth OUT_DIR --briefs 100 [--seed 7] [--questions 200]

With `korean_share`, that share of the briefs is written in Korean (the same facts and page layout, in
Korean words, with Korean questions), for a corpus mixed like the real one.

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

# Korean briefs: the same kinds of facts, in Korean words (a real corpus has a few Korean briefs).
TOPICS_KO = [
    ("주택 공급", "주택 인허가 실적", "가구"),
    ("대중교통", "버스 이용객 수", "통근자"),
    ("도시재생", "빈 건축물 수", "원도심 지역"),
    ("산업단지", "공장 용지 분양률", "제조업체"),
    ("스마트시티 서비스", "센서망 보급률", "도시 서비스"),
    ("농촌 정주", "마을 인구", "농가"),
    ("홍수 대응", "홍수 피해액", "하천변 지역"),
    ("상수도", "누수율", "수도 사업자"),
    ("토지이용계획", "개발제한구역 면적", "개발 허가"),
    ("지역 관광", "숙박 관광객 수", "지역 상권"),
]
PROGRAMME_WORDS_KO = [
    "푸른길",
    "새빛",
    "다리",
    "항구",
    "나침반",
    "등불",
    "들녘",
    "한마루",
    "닻",
    "봉화",
    "이음",
    "강변",
]
BODIES_KO = [
    "지역혁신협의회",
    "공동계획위원회",
    "데이터공유센터",
    "주택기금",
    "교통조정사무소",
    "토지은행",
    "재난대응단",
    "직업훈련원",
]
ACTIONS_KO = [
    ("시군 간 투자를 조정한다", "도시 사이 투자를 맞추기 위해"),
    ("유휴 토지를 분기마다 점검한다", "쓰지 않는 땅을 꾸준히 살피기 위해"),
    ("공공기관의 자료를 모은다", "공공기관 기록을 합치기 위해"),
    ("저렴한 임대주택에 자금을 댄다", "값싼 임대주택을 짓기 위해"),
    ("버스와 철도 시간표를 함께 짠다", "버스와 기차 시간을 맞추기 위해"),
]
LABELS_KO = ["배경", "현황", "주요 쟁점", "정책 수단", "평가", "전망", "해외 사례"]
FILLER_KO = [
    "{region}의 지방자치단체들은 {topic}에 대한 분명한 국가 지침을 여러 차례 요청해 왔다.",
    "전문가들은 그동안의 {topic} 정책이 질보다 양에 치우쳐 있었다고 지적한다.",
    "{topic}을 둘러싼 부처 간 협력이 약해 사업 추진이 늦어지고 있다.",
    "설문 결과 {region}의 {people}은 보다 일관된 지원을 기대하는 것으로 나타났다.",
    "지난 10년간 {topic}에 쓰인 예산 비중은 거의 변하지 않았다.",
    "해외 비교 도시들은 {topic} 대책을 토지이용 개편과 함께 추진해 왔다.",
    "{topic} 관련 자료는 여러 기관이 따로 모으고 있어 서로 공유되는 일이 드물다.",
    "인구 구조 변화로 앞으로 {topic} 수요가 크게 달라질 것으로 보인다.",
    "{region}의 시범 사업은 엇갈린 결과를 낳아 신중한 평가가 필요하다.",
    "{topic}에 대한 장기 로드맵이 있으면 {people}이 더 안심할 수 있다.",
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


HANGUL_SYLLABLES = {
    "han": "한", "seo": "서", "dong": "동", "nam": "남", "buk": "북", "gyeong": "경", "jeon": "전",
    "chung": "충", "won": "원", "san": "산", "cheon": "천", "yang": "양", "gang": "강", "ju": "주",
    "po": "포", "sin": "신", "ok": "옥", "mun": "문", "hwa": "화", "pyeong": "평", "dae": "대",
    "gok": "곡", "ri": "리", "rim": "림",
}  # fmt: skip


def hangul_name(name: str) -> str:
    """A generated place name ("Munnam") in Hangul ("문남"), read back into its syllables."""
    rest = name.lower()
    ends: dict[int, str] = {0: ""}
    for i in range(len(rest)):
        if i in ends:
            for roman, hangul in HANGUL_SYLLABLES.items():
                if rest.startswith(roman, i):
                    ends.setdefault(i + len(roman), ends[i] + hangul)
    return ends.get(len(rest), name)


def particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """`word` with the Korean particle its last syllable takes (은/는, 이/가, 을/를 ...)."""
    last = word[-1]
    closed = "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0
    return word + (after_consonant if closed else after_vowel)


def make_brief_ko(i: int, rng: random.Random, regions: list[str]) -> tuple[str, list[Question]]:
    """One Korean brief (same layout and kinds of facts as `make_brief`) and its Korean questions."""
    volume = 2000 + i
    topic, metric, people = rng.choice(TOPICS_KO)
    region = hangul_name(rng.choice(regions)) + "시"
    year = rng.randint(2012, 2024)
    value = rng.randint(120, 9800)
    change = rng.choice(["증가", "감소"])
    pct = round(rng.uniform(2, 45), 1)
    programme = "".join(rng.sample(PROGRAMME_WORDS_KO, 2)) + f" 사업 {rng.randint(2, 99)}호"
    money = rng.randint(3, 900)
    body = rng.choice(BODIES_KO)
    action, action_q = rng.choice(ACTIONS_KO)
    title = f"{region} {topic} 개선의 교훈과 정책 방향"
    date = f"{year + 1}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    fill = {"region": region, "topic": topic, "people": people}

    def filler(n: int) -> str:
        return " ".join(s.format(**fill) for s in rng.sample(FILLER_KO, n))

    fact_status = (
        f"{region}의 {particle(metric, '은', '는')} {year}년 기준 {value:,}에 이르며, "
        f"5년 전보다 {pct}퍼센트 {change}했다."
    )
    fact_programme = f"{particle(programme, '은', '는')} {region}의 {topic} 사업에 {money}억 원을 지원한다."
    fact_body = f"{region}에 {particle(body, '을', '를')} 설치하여 {action}."
    points = {label: filler(3) for label in LABELS_KO}
    points["현황"] = f"{fact_status} {filler(2)}"
    points["정책 수단"] = f"{fact_programme} {filler(2)}"
    proposals = [fact_body] + [f"{s.format(**fill)} {filler(1)}" for s in rng.sample(FILLER_KO, 3)]
    lines = [
        "국토정책 Brief",
        "",
        f"제목 {title}",
        f"권호 vol.{volume} 발행일 {date} 조회 {rng.randint(50, 9000)}",
        "",
        f"파일첨부 brief{volume}.pdf",
        "",
        title,
        "",
        f"{rng.choice(AUTHORS)} 연구위원, 국토연구원",
        "",
        "",
    ]
    for label in LABELS_KO:
        lines += [f"({label}) {points[label]}", ""]
    lines += ["정책 제안", ""]
    lines += [f"{n}. {text}" for n, text in enumerate(proposals, start=1)]
    questions = [
        Question(f"{year}년 {region}의 {particle(metric, '은', '는')} 얼마였나요?", str(volume), fact_status),
        Question(
            f"{particle(programme, '은', '는')} {topic}에 얼마를 지원하나요?", str(volume), fact_programme
        ),
        Question(f"{region}에서 {action_q} 어떤 기구를 만들자고 하나요?", str(volume), fact_body),
    ]
    return "\n".join(lines) + "\n", questions


def generate(
    out: Path, briefs: int, *, seed: int = 7, questions: int = 200, korean_share: float = 0.0
) -> tuple[list[Path], Path]:
    """Write `briefs` files into `out` and a test set of `questions` questions; returns (files, test set).
    `korean_share` of the briefs (every n-th, so the same ones for a seed) are Korean."""
    rng = random.Random(seed)
    regions = region_names(rng, max(8, briefs // 6))
    out.mkdir(parents=True, exist_ok=True)
    files, pool = [], []
    for i in range(briefs):
        korean = korean_share > 0 and i % round(1 / korean_share) == 0
        text, qs = (make_brief_ko if korean else make_brief)(i, rng, regions)
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
    parser.add_argument("--korean-share", type=float, default=0.0, help="share of Korean briefs, e.g. 0.1")
    args = parser.parse_args()
    files, testset = generate(
        args.out, args.briefs, seed=args.seed, questions=args.questions, korean_share=args.korean_share
    )
    print(f"{len(files)} briefs in {args.out}; questions in {testset}")


if __name__ == "__main__":
    main()
