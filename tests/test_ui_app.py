"""The running app: `assistant serve` in its own process on 127.0.0.1, used through gradio_client and
through a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.servers import start_app, stop

pytestmark = [pytest.mark.shared, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
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
    assert korean["answer"].startswith("vol.697에 따르면")
    refusal = client.predict("What are the tolls on the Seoul ring expressway?", api_name="/ask")
    assert refusal["refused"] and len(refusal["nearest"]) == 3
    passages = client.predict("elderly drivers traffic deaths", 3, api_name="/search")
    assert [p["doc_id"] for p in passages][:1] == ["586"] and len(passages) == 3
    filtered = client.predict("policy", 5, "vol.713", api_name="/search")
    assert {p["doc_id"] for p in filtered} == {"713"}
    briefs = client.predict(api_name="/briefs")
    assert len(briefs) == 8
    bundled = next(name for name in client.predict(api_name="/testsets") if name.startswith("qa-dev.jsonl"))
    result = client.predict(bundled, api_name="/evaluate")
    assert result["metrics"]["hit@5"] == "1.000" and len(result["questions"]) == 36


@pytest.mark.browser
def test_chat_in_a_real_browser(app_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(app_url) else None)
        page.goto(app_url, wait_until="domcontentloaded")
        page.locator("#question textarea").fill(SEED_QUESTION)
        page.locator("#ask").click()
        chip = page.locator("#chat a.chip").first
        chip.wait_for(timeout=60_000)
        assert chip.inner_text() == "vol.697"
        source = page.locator("#sources .source").first
        source.wait_for(timeout=60_000)
        text = source.inner_text()
        assert "vol.697" in text and "Measures to create an innovative ecosystem" in text
        assert page.locator("#sources mark").first.inner_text()  # the supporting sentence is highlighted
        chip.click()  # the chip links to its source in the panel
        assert page.evaluate("location.hash").startswith("#src-697")
        page.screenshot(path=str(tmp_path / "chat.png"))
        page.get_by_role("button", name="New chat").click()
        page.locator("#chat a.chip").first.wait_for(state="detached", timeout=30_000)
        page.locator("#question textarea").fill("미국 제조혁신연구소의 역할은 무엇인가요?")
        page.locator("#ask").click()
        korean_chip = page.locator("#chat a.chip").first
        korean_chip.wait_for(timeout=60_000)
        assert korean_chip.inner_text() == "vol.697"
        assert "vol.697에 따르면" in page.locator("#chat").inner_text()
        browser.close()
    if os.environ.get("SCREENSHOT_TO"):  # how the README's screenshot is made
        shutil.copy(tmp_path / "chat.png", os.environ["SCREENSHOT_TO"])
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    assert outside == [], f"the page fetched from other hosts: {outside[:5]}"
