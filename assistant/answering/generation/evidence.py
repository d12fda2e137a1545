"""How well the retrieved passages answer a question, sentence by sentence.

Every candidate sentence of the top passages gets two signals: semantic similarity to the question
(the embedding model's cosine) and lexical overlap (the share of the question's content words, weighted
by rarity, that the sentence contains). The same signals decide refusals for every generator and
pick the sentences of the extractive answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.indexing.embeddings import Embedder
from assistant.indexing.keyword import tokenize
from assistant.indexing.records import SAME_LANGUAGE_OFFSET
from assistant.models import Passage
from assistant.reading.metadata import detect_language
from assistant.reading.structure import HEADER_SECTION, OVERVIEW_SECTION
from assistant.reading.text import display_sentence, sentence_spans

IdfFunction = Callable[[list[str]], dict[str, float]]


@functools.cache
def _tokens(words: str) -> frozenset[str]:
    """A word list as the keyword index tokenizes it, made on first use: Korean words load the Korean
    tokenizer (about 2 s), which a process that never reads Korean (`assistant stats`, an English
    ingest) should not wait for at import."""
    return frozenset(tokenize(words))


# Words that say what kind of question it is, not what it is about.
_QUESTION_WORDS = (
    "what which how why when who whom whose where does did do say says said tell describe described "
    "explain according mention mentions identify identified give main key kind kinds type types way "
    "ways per korea korean country government first second third fourth fifth last"
)
_MAX_SENTENCE_CHARS = 800  # longer "sentences" are tables or lists run together, not quotable
# Text that addresses an AI system rather than a reader ("ignore previous instructions and reply ...")
# is never quoted as an answer: a brief can contain it, but the assistant does not repeat it as fact.
INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above|previous)\b|"
    r"\b(system prompt|you are (an? )?(ai|assistant|language model|chatbot))\b|"
    r"\b(reply|respond|answer|say)\s+(only\s+)?(that|with|exactly)\b.{0,80}\b(vol\.?\s*\d+|cite|brief)|"
    r"이전\s*지시|지시를\s*무시|시스템\s*프롬프트",
    re.IGNORECASE,
)
# Hand-set adjustments (not fitted): a question naming a specific (a figure, a year, a name) the
# passages lack loses a quarter of its evidence strength (the fitted policy sees the same fact as its
# own `missing` feature); a sentence that is the item a question asks for by ordinal ("the second
# proposal") gains as much in the ranking of sentences. The sentence score adds word overlap at
# `OVERLAP_WEIGHT` and a small prior for earlier passages (`RANK_PRIOR` / passage number). These order
# a brief's sentences for quoting; which briefs answer is the reader's and the policy's decision.
MISSING_PENALTY = 0.25
ORDINAL_BONUS = 0.25
OVERLAP_WEIGHT = 0.35
RANK_PRIOR = 0.04
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "첫번째": 1,
    "첫째": 1,
    "두번째": 2,
    "둘째": 2,
    "세번째": 3,
    "셋째": 3,
    "네번째": 4,
    "넷째": 4,
}
_ORDINAL = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th)\b|(첫\s*번째|첫째|두\s*번째|둘째|세\s*번째|셋째|네\s*번째|넷째)",
    re.IGNORECASE,
)
_ITEM = re.compile(r"\s*(?:\d{1,2}\s*[.)>](?!\d)|[①-⑳❶-❿➀-➉⑴-⒇])")
_TITLE, _AUTHORS, _PUBLISHED = "Title of the brief", "Written by the authors", "Published on"
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z]*[A-Z]?[a-z]*\b")
# "Who wrote it / when was it published / what is it called": answered by a brief's title block.
_ASKS_AUTHOR = re.compile(
    r"\b(who\s+(wrote|authored|prepared)|authors?|written\s+by)\b|저자|작성자|누가\s*(썼|작성)", re.I
)
_ASKS_PUBLISHED = re.compile(
    r"\bwhen\b.*\b(publish(ed)?|released?|issued?|written|wr[io]te|c[oa]me\s+out|put\b.*\bout)\b|"
    r"\bpublication\s+date\b|\bdate\s+of\b|발간일|발행일|작성일|언제\s*(발간|발행|출간|나[온왔]|작성|쓰|썼)",
    re.I,
)
# The words of a request for a brief's title, authors or date, stemmed as `tokenize` stems them: what a
# question says beyond these names its topic.
_METADATA_WORDS = (
    "wrote write writes written author authors authored published publish publication released "
    "release issued issue came come put out date title called named one report brief paper study"
)
# Kept apart: tokenizing them loads the Korean tokenizer (about 4 s with its first analysis), which
# an English question never needs (`_names_topic`).
_METADATA_WORDS_KO = (
    "브리프 보고서 저자 작성 작성자 작성일 발간 발행 발간일 발행일 출간 나오 나온 나왔 쓰 썼 제목"
)
_ASKS_TITLE = re.compile(r"\b(title|called|named)\b|제목", re.I)
_METADATA_COSINE = 0.8  # a title-block line asked for (title, date, authors) ranks with the best sentences
_NOT_NAMES = frozenset(
    {
        "krihs",
        "korea",
        "korean",
        "koreas",
        "policy",
        "policies",
        "brief",
        "briefs",
        "vol",
        "volume",
        "the",
        "i",
    }
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of one retrieved passage, scored against the question."""

    passage_number: int  # 1-based position among the passages given to the answer
    passage: Passage
    start: int  # span inside passage.text
    end: int
    text: str  # as shown in an answer (bullet and label removed)
    cosine: float
    overlap: float

    bonus: float = 0.0  # e.g. the question asks for the first proposal and this is item 1
    multilingual: bool = False  # scored by the multilingual model (another language is involved)

    @property
    def in_title_block(self) -> bool:
        return self.passage.section == HEADER_SECTION

    @property
    def labelled(self) -> str:
        """The text with what a title-block line is ("Published on 2023-02-20: Volume vol.952 DATE
        2023-02-20"), as the reader is shown it; other sentences as they are."""
        return _context(self.passage, self.text) if self.in_title_block else self.text

    @property
    def score(self) -> float:
        # Rank prior: retrieval already weighed the whole passage, so earlier passages get a nudge.
        return self.cosine + OVERLAP_WEIGHT * self.overlap + RANK_PRIOR / self.passage_number + self.bonus


@dataclass(frozen=True)
class Evidence:
    candidates: tuple[Candidate, ...]  # best first
    coverage: float  # rarity-weighted share of question words found in the passages
    best_cosine: float
    missing: tuple[str, ...] = ()  # names and years the question asks about that no passage mentions
    lexical: bool = True  # False across languages, where shared words say little
    terms: tuple[str, ...] = ()  # the question's content words (`question_terms`)
    briefs: tuple[str, ...] = ()  # the briefs the answer must quote, when the policy chose several

    @property
    def strength(self) -> float:
        """One number for "do these passages answer the question"; refusal compares it to a threshold.

        A question about a year or a name that none of the passages mentions ("Seoul apartment prices
        in 2024") is rarely answered by them, however close the topic: that costs a fixed penalty.
        """
        coverage = 0.5 * self.coverage if self.lexical else 0.0
        return self.best_cosine + coverage - (MISSING_PENALTY if self.missing else 0.0)


def question_terms(question: str) -> list[str]:
    return [t for t in dict.fromkeys(tokenize(question)) if t not in _tokens(_QUESTION_WORDS)]


def weighted_share(terms: list[str], found: set[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(t, 1.0) for t in terms)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 1.0) for t in terms if t in found) / total


def gather(
    question: str,
    passages: list[Passage],
    embedder: Embedder,
    idf: IdfFunction,
    *,
    multilingual: Embedder | None = None,
    scoped: bool = False,
) -> Evidence:
    """Score every sentence of `passages` against `question`.

    `scoped`: the passages come from briefs chosen before the search (a named volume, a filter, the
    conversation's briefs). Only then, or when the question also says what it is about, are the
    title-block lines it asks for candidates: "When did they put that out?" on its own matches every
    brief's date line equally, and would be answered from whichever brief ranked first.

    An English sentence for an English question is scored by `embedder` and by word overlap. Any other
    pair (a Korean question, or a Korean brief) is scored by the `multilingual` model alone when there
    is one: word overlap then says more about the language than about the answer, and a sentence in
    the question's own language gives up that model's same-language advantage.
    """
    language = detect_language(question)
    if not passages:
        return Evidence((), 0.0, 0.0, lexical=language == "en" or multilingual is None)
    terms = question_terms(question)
    weights = idf(terms) if terms else {}
    spans = _sentences(passages)
    if not spans:
        return Evidence((), 0.0, 0.0)
    texts = [_context(p, shown) for _, p, _, _, shown in spans]
    # The title block answers only questions about title, authors and date: its other lines are not
    # candidates, and not embedded.
    asks = _metadata_asked(question) if scoped or _names_topic(terms) else ()
    usable = [
        i
        for i, text in enumerate(texts)
        if spans[i][1].section != HEADER_SECTION or (asks and text.startswith(asks))
    ]

    def model_of(passage: Passage) -> Embedder:
        if multilingual is not None and (language != "en" or passage.language != "en"):
            return multilingual
        return embedder

    cosines = _cosines(question, [(i, texts[i], model_of(spans[i][1])) for i in usable])
    wanted = asked_ordinal(question)
    candidates = []
    for i in usable:
        number, passage, start, end, shown = spans[i]
        cross = model_of(passage) is multilingual and multilingual is not embedder
        cosine = cosines[i] - (SAME_LANGUAGE_OFFSET if cross and passage.language == language else 0.0)
        overlap = 0.0 if cross else weighted_share(terms, set(tokenize(texts[i])), weights)
        if passage.section == HEADER_SECTION:
            cosine, overlap = max(cosine, _METADATA_COSINE), 1.0
        bonus = ORDINAL_BONUS if wanted and item_number(passage.text, start) == wanted else 0.0
        candidates.append(
            Candidate(number, passage, start, end, shown, float(cosine), overlap, bonus, multilingual=cross)
        )
    candidates.sort(key=lambda c: -c.score)
    everything = " ".join(f"{p.title} {p.section} {p.date or ''} {p.text}" for p in passages)
    passage_tokens = set(tokenize(everything))
    coverage = weighted_share(terms, passage_tokens, weights)
    missing = tuple(s for s in specifics(question) if not (set(tokenize(s)) & passage_tokens))
    best_cosine = max((c.cosine for c in candidates), default=0.0)
    lexical = not (multilingual is not None and multilingual is not embedder and language != "en")
    return Evidence(tuple(candidates), coverage, best_cosine, missing, lexical=lexical, terms=tuple(terms))


_Span = tuple[int, Passage, int, int, str]  # passage number, passage, start, end, the sentence shown


def _sentences(passages: list[Passage]) -> list[_Span]:
    """Every sentence of the passages that can be quoted (not too long, not an instruction)."""
    spans = []
    for number, passage in enumerate(passages, start=1):
        for start, end in sentence_spans(passage.text):
            shown = display_sentence(passage.text[start:end])
            if passage.section != HEADER_SECTION:  # title-block lines are lines, not cut sentences
                shown = _as_quoted(shown, passage.text, end)
            if len(shown) >= 3 and end - start <= _MAX_SENTENCE_CHARS and not INSTRUCTION.search(shown):
                spans.append((number, passage, start, end, shown))
    return spans


def _cosines(question: str, items: list[tuple[int, str, Embedder]]) -> dict[int, float]:
    """Cosine of each (key, text) with the question, each by its own model, one batch per model."""
    cosines: dict[int, float] = {}
    models = {id(model): model for _, _, model in items}
    for model in models.values():
        mine = [(key, text) for key, text, m in items if m is model]
        vectors = model.embed_sentences([text for _, text in mine])
        scores = (vectors @ model.embed_question(question)).tolist()
        cosines.update(zip((key for key, _ in mine), scores, strict=True))
    return cosines


_ENDS_SENTENCE = re.compile(r"[.!?。…:)\]”\"'’다요함음임됨]$")
_FRAGMENT_WORDS = 8  # a broken-off sentence shorter than this says too little to quote


def _as_quoted(shown: str, text: str, end: int) -> str:
    """A sentence where the brief's stored text breaks off ("... construction companies need") is
    marked as cut ("…"); a short broken-off fragment says nothing and is not quoted at all."""
    if text[end:].strip() or _ENDS_SENTENCE.search(shown):
        return shown
    return "" if len(shown.split()) < _FRAGMENT_WORDS else shown + "…"


def _metadata_asked(question: str) -> tuple[str, ...]:
    """Labels of the title-block lines the question asks for (see `_context`)."""
    asked = []
    if _ASKS_AUTHOR.search(question):
        asked.append(_AUTHORS)
    if _ASKS_PUBLISHED.search(question):
        asked.append(_PUBLISHED)
    if _ASKS_TITLE.search(question) and not asked:
        asked.append(_TITLE)
    return tuple(asked)


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _names_topic(terms: list[str]) -> bool:
    """Whether a question's content words say more than a request for a title, authors or date."""
    rest = set(terms) - _tokens(_METADATA_WORDS)
    if any(_has_hangul(t) for t in rest):
        rest -= _tokens(_METADATA_WORDS_KO)
    return bool(rest)


# A request for the title block, asked of one brief by name: by (asks for authors, asks for the date).
_TITLE_BLOCK_QUESTIONS = {
    "en": {
        (True, True): "Who wrote {brief}, and when was it published?",
        (True, False): "Who wrote {brief}?",
        (False, True): "When was {brief} published?",
        (False, False): "What is the title of {brief}?",
    },
    "ko": {
        (True, True): "{brief}의 저자는 누구이고 언제 발간되었나요?",
        (True, False): "{brief}의 저자는 누구인가요?",
        (False, True): "{brief}은(는) 언제 발간되었나요?",
        (False, False): "{brief}의 제목은 무엇인가요?",
    },
}


def title_block_request(question: str, brief: str, language: str) -> str | None:
    """For a question that asks only for a brief's title, authors or date ("When did they put that
    out?", "그 브리프는 언제 나온 거예요?"), the same request about `brief` (a label, "vol.952") in
    words the reader cannot mistake ("When was vol.952 published?"); None for any other question.
    Used within a conversation's brief, where "that" can only be the brief itself."""
    asked = _metadata_asked(question)
    if not asked or _names_topic(question_terms(question)):
        return None
    templates = _TITLE_BLOCK_QUESTIONS.get(language, _TITLE_BLOCK_QUESTIONS["en"])
    return templates[(_AUTHORS in asked, _PUBLISHED in asked)].format(brief=brief)


def asked_ordinal(question: str) -> int | None:
    """2 for "the second proposal", "두 번째 제언"; None when the question asks for no numbered item."""
    match = _ORDINAL.search(question)
    if not match:
        return None
    word = next(g for g in match.groups() if g).lower().replace(" ", "")
    return _ORDINALS.get(word)


def item_number(text: str, start: int) -> int | None:
    """The list number of the item a sentence opens or belongs to ("2." or "②" at its line start)."""
    line_start = text.rfind("\n", 0, start) + 1
    match = _ITEM.match(text, line_start)
    if not match:
        return None
    mark = match.group(0).strip()
    digits = re.match(r"[0-9]+", mark)
    if digits:
        return int(digits.group(0))
    for base in ("①", "❶", "➀", "⑴"):
        if 0 <= ord(mark[0]) - ord(base) < 20:
            return ord(mark[0]) - ord(base) + 1
    return None


# What kind of answer a question wants, when it wants a figure or a date: a brief whose best sentences
# hold no figure (or no year) cannot be the one that states it.
_ASKS_FIGURE = re.compile(
    r"\bhow (many|much|large|big|long|far|high)\b|\bwhat (percentage|share|proportion|number|amount|"
    r"rate|ratio|budget|cost|size)\b|\bcount\b|"
    r"몇\s*(개|명|곳|건|가지|%|퍼센트|배)|얼마|규모|비율|예산",
    re.IGNORECASE,
)
# "When" asks for a date as a question word ("When do the licences start?", "by when", "since when"),
# not as a conjunction ("What did KRIHS find when it analysed the plans?").
_ASKS_DATE = re.compile(
    r"^\W*when\b|\b(since|by|until|till|from) when\b|"
    r"\bwhen (do|does|did|is|was|are|were|will|would|can|could|should|must|has|have|had)\b|"
    r"\b(what|which|in what|in which) year\b|언제|몇\s*년|연도",
    re.IGNORECASE,
)
# A figure is a digit or a number written out: "four stages", "half of", "twice as many", "네 단계"
# ("one" is left out: it is more often a pronoun than a count).
_FIGURE = re.compile(
    r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|halves|twice|"
    r"double|triple|threefold|fourfold)\b|"
    r"(?<![가-힣])(한|두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s*(가지|개|명|곳|단계|배|번|차례|유형)|"
    r"(?<![가-힣])[일이삼사오육칠팔구십백천만억]+\s*(개|명|곳|단계|배|유형|가지)(?![가-힣])|절반",
    re.IGNORECASE,
)


_ASKS_NAME = re.compile(
    r"\b(which|who|whom|where)\b|\bwhat (is|was|are|were) the names?\b|\bname (of|the)\b|"
    r"어디|누구|어느|어떤\s*(도시|지역|기관|국가|나라|시·군|시군)",
    re.IGNORECASE,
)


def answer_type_missing(question: str, sentences: list[str]) -> tuple[float, float, float]:
    """(figure asked but none given, year asked but none given, name asked but none given) for a
    brief's best sentences. A name is a capitalised word the question itself does not contain (in
    English sentences; Korean has no capitals, so a Korean sentence always may hold one)."""
    text = " ".join(sentences)
    figure = bool(_ASKS_FIGURE.search(question)) and not _FIGURE.search(_YEAR.sub(" ", text))
    year = bool(_ASKS_DATE.search(question)) and not _YEAR.search(text)
    asked = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    names = [w for w in _NAME.findall(text) if w.lower() not in asked and w.lower() not in _NOT_NAMES]
    name = bool(_ASKS_NAME.search(question)) and not names and not _has_hangul(text)
    return float(figure), float(year), float(name)


def specifics(question: str) -> list[str]:
    """Years and proper names in a question ("2024", "Seoul", "GTX"): what an answer must be about."""
    found = _YEAR.findall(question)
    if detect_language(question) == "ko":  # in Korean text any Latin word is a name ("GTX", "KTX")
        found += [w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]+", question) if w.lower() not in _NOT_NAMES]
    for match in _NAME.finditer(question):
        word = match.group(0)
        if word.lower() not in _NOT_NAMES and tokenize(word) and not _YEAR.fullmatch(word):
            found.append(word)
    return list(dict.fromkeys(found))


def _context(passage: Passage, sentence: str) -> str:
    """A sentence is embedded with its section label, which often carries the question's words.

    Lines of a brief's title block are labelled for what they are (title, authors, volume and date),
    so that "who wrote it and when?" meets them.
    """
    if passage.section == HEADER_SECTION:
        if sentence == passage.title:
            return f"{_TITLE}: {sentence}"
        if passage.authors and sentence.replace(",", "") in passage.authors.replace(",", ""):
            return f"{_AUTHORS}: {sentence}"
        if passage.date and passage.date in sentence:
            return f"{_PUBLISHED} {passage.date}: {sentence}"
        return sentence
    if passage.section == OVERVIEW_SECTION:
        return sentence
    return f"{passage.section}: {sentence}"


# A cosine means different things in different models: these anchors map it to a 0-1 "match" that
# reads alike across queries and models. 0 = the median cosine of a dev question with a random other
# brief's passage, 1 = the median with its own brief's best passage (qa-dev + qa-extra questions on the
# 8 dev briefs: MiniLM 0.25 / 0.69, multilingual-e5 0.77 / 0.88; nonsense queries score 0.09-0.15
# and 0.76-0.79).
MATCH_ANCHORS = {"minilm": (0.25, 0.69), "e5": (0.77, 0.88)}


def match_scores(
    question: str, passages: list[Passage], embedder: Embedder, multilingual: Embedder | None
) -> list[float]:
    """How well each passage matches the question, 0-1, comparable across queries (see MATCH_ANCHORS)."""
    if not passages:
        return []
    language = detect_language(question)
    scores = []
    for passage in passages:
        model = embedder
        if multilingual is not None and (language != "en" or passage.language != "en"):
            model = multilingual
        low, high = MATCH_ANCHORS["e5" if model is multilingual else "minilm"]
        cosine = float(model.embed_sentences([passage.text])[0] @ model.embed_question(question))
        scores.append(min(1.0, max(0.0, (cosine - low) / (high - low))))
    return scores
