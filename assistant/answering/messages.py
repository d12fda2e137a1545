"""The assistant's own words (refusals, notes), in the language of the question."""

from __future__ import annotations

from assistant.models import BriefRef

_TEXT = {
    "en": {
        "refusal": "The indexed briefs do not answer this question.",
        "nearest": "The nearest briefs are {briefs}.",
        "nearest_one": "The nearest brief is {briefs}.",
        "empty_index": "No briefs are indexed yet.",
        "not_indexed": "{volumes} {verb} not in the index.",
        "no_match": "No indexed brief matches the filter ({filter}).",
        "fallback": (
            "The generated answer could not be verified against the briefs; showing quoted sentences instead."
        ),
        "removed": "{n} unsupported sentence(s) removed from the generated answer.",
        "dropped": "Citation(s) of passages that were not retrieved were removed: {refs}.",
        "according": "According to {labels}:",
        "according_in": "According to {labels} (quoted in {source}):",
        "language_en": "English",
        "language_ko": "Korean",
        "rendering": "In short ({labels}, in the assistant's words; the quotes below are the source): {text}",
        "reading": "Reading the briefs ({briefs})…",
        "searching": "Searching the briefs…",
        "and": "and",
    },
    "ko": {
        "refusal": "색인된 브리프에서는 이 질문에 대한 답을 찾을 수 없습니다.",
        "nearest": "가장 가까운 브리프: {briefs}.",
        "nearest_one": "가장 가까운 브리프: {briefs}.",
        "empty_index": "아직 색인된 브리프가 없습니다.",
        "not_indexed": "{volumes}는 색인에 없습니다.",
        "no_match": "필터({filter})에 맞는 브리프가 없습니다.",
        "fallback": "생성된 답변을 브리프와 대조해 검증할 수 없어, 브리프 원문 문장을 대신 보여 드립니다.",
        "removed": "근거가 확인되지 않은 문장 {n}개를 답변에서 뺐습니다.",
        "dropped": "검색되지 않은 자료를 가리킨 인용을 뺐습니다: {refs}.",
        "according": "{labels}에 따르면:",
        "according_in": "{labels}에 따르면({source} 원문 인용):",
        "language_en": "영어",
        "language_ko": "한국어",
        "rendering": "요지({labels}, 모델이 옮긴 말이며 근거는 아래 인용문입니다): {text}",
        "reading": "브리프를 읽는 중입니다({briefs})…",
        "searching": "브리프를 찾는 중입니다…",
        "and": "및",
    },
}


def say(language: str, key: str, **values: object) -> str:
    table = _TEXT.get(language, _TEXT["en"])
    return table[key].format(**values)


def language_name(language: str, named: str) -> str | None:
    """The name of the language `named`, in `language` ("영어" for "en" in Korean); None if unknown."""
    return _TEXT.get(language, _TEXT["en"]).get(f"language_{named}")


def brief_list(language: str, briefs: tuple[BriefRef, ...]) -> str:
    items = [f"{b.label} “{b.title}” ({b.date or 'undated'})" for b in briefs]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {say(language, 'and')} " + items[-1]
