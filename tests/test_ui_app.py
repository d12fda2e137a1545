"""The running app's API: `assistant serve` in its own process on 127.0.0.1, used through gradio_client.
(What a person does in the page is tested in a real browser: tests/test_browser.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from assistant.config import Settings
from tests.servers import start_app, stop

pytestmark = [pytest.mark.shared, pytest.mark.slow]

SEED_QUESTION = "What role do the US manufacturing innovation institutes play?"


@pytest.fixture(scope="module")
def app_url(briefs_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("served")
    store = tmp / "store"
    shutil.copytree(briefs_index.store_dir, store)
    process, url = start_app(store, tmp / "data")
    try:
        yield url + "/"
    finally:
        stop(process)


def test_gradio_client_ask_search_evaluate(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    answer = client.predict(SEED_QUESTION, api_name="/ask")
    assert not answer["refused"] and {c["doc_id"] for c in answer["citations"]} == {"697"}
    assert all(c["quote"] and c["title"] and c["section"] for c in answer["citations"])
    korean = client.predict("미국 제조혁신연구소의 역할은 무엇인가요?", api_name="/ask")
    assert not korean["refused"] and {c["doc_id"] for c in korean["citations"]} == {"697"}
    assert korean["answer"].startswith("vol.697에 따르면(영어 원문 인용):")
    refusal = client.predict("What are the tolls on the Seoul ring expressway?", api_name="/ask")
    assert refusal["refused"] and len(refusal["nearest"]) == 3
    passages = client.predict("elderly drivers traffic deaths", 3, api_name="/search")
    assert [p["doc_id"] for p in passages][:1] == ["586"] and len(passages) == 3
    filtered = client.predict("policy", 5, "vol.713", api_name="/search")
    assert {p["doc_id"] for p in filtered} == {"713"}
    briefs = client.predict(api_name="/briefs")
    assert len(briefs) == 8
    assert "qa-sample.jsonl" in client.predict(api_name="/testsets")
    result = client.predict("qa-sample.jsonl", api_name="/evaluate")
    assert result["metrics"]["hit@5"].startswith("1.000") and len(result["questions"]) == 4
    assert result["report"].endswith(".html") and "/" not in result["report"]
