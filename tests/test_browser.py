"""User journeys in a real browser: Debian's Chromium, driven by Playwright, against `assistant serve`
running in its own process on 127.0.0.1 over a copy of the real briefs' index.

One test per journey (official, researcher, staff, library); each presses the controls a person would
and checks what the page shows or what the downloaded file holds. With SCREENSHOT_DIR set, each
journey's screenshots (every tab at 1,280 and 390 px) are copied there: that is how docs/screenshots/
is made (`SCREENSHOT_DIR=docs/screenshots .venv/bin/pytest tests/test_browser.py`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import failpoints
from assistant.config import Settings
from tests.servers import start_app, stop

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.browser]
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
WAIT = 120_000  # ms: the longest a step may take before the test fails (a Korean answer reads and renders)
SEED = "What role do the US manufacturing innovation institutes play?"
FOLLOW_UP = "Which pilot projects are suggested?"  # after "What is a CPS-based smart Korea?"
NEW_BRIEF = """Policy Briefs
TITLE Rooftop gardens for school buildings
Volume vol.901 DATE 2024-05-01 HIT 1

Rooftop gardens for school buildings
Hong Gildong, Research Fellow, KRIHS

□ Rooftop gardens on school buildings lower summer roof temperatures by about three degrees and give
pupils a place to learn about plants.
Policy proposals
① Local education offices should fund rooftop gardens on schools built before 2000.
"""


def _served(store: Path, tmp: Path) -> Iterator[str]:
    shutil.copytree(store, tmp / "store")
    process, url = start_app(tmp / "store", tmp / "data")
    try:
        yield url + "/"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def app_url(briefs_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app the official, researcher and staff journeys share (they change nothing)."""
    yield from _served(briefs_index.store_dir, tmp_path_factory.mktemp("served"))


@pytest.fixture
def writable_app_url(briefs_index: Settings, tmp_path: Path) -> Iterator[str]:
    """An app of its own for the library journey, which adds and removes briefs."""
    yield from _served(briefs_index.store_dir, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Session:
    """One person's browser tab, with what it fetched from elsewhere and the page errors it logged."""

    def __init__(self, browser: Any, url: str, shots: Path) -> None:
        self.url = url
        self.shots = shots
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page = self.open()

    def open(self) -> Any:
        page = self.context.new_page()
        page.on("request", lambda r: self.outside.append(r.url) if not r.url.startswith(self.url) else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Chat").wait_for(timeout=WAIT)
        return page

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def pick(self, dropdown: str, text: str) -> None:
        """Choose the option containing `text` in a dropdown (its list opens on click)."""
        self.page.locator(f"{dropdown} input").click()
        self.page.get_by_role("option").filter(has_text=text).first.click()
        self.page.keyboard.press("Escape")

    def download(self, selector: str) -> str:
        with self.page.expect_download(timeout=WAIT) as info:
            self.page.locator(selector).click()
        return Path(info.value.path()).read_text(encoding="utf-8")

    def screenshots(self, name: str) -> None:
        for width in (1280, 390):
            self.page.set_viewport_size({"width": width, "height": 1000})
            self.page.wait_for_timeout(300)
            self.page.screenshot(path=str(self.shots / f"{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 1000})

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"the page fetched from other hosts: {self.outside[:5]}"
        assert self.errors == [], f"the page raised errors: {self.errors[:5]}"
        target = os.environ.get("SCREENSHOT_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            for shot in self.shots.glob("*.png"):
                shutil.copy(shot, Path(target) / shot.name)


@pytest.fixture
def session(browser: Any, app_url: str, tmp_path: Path) -> Iterator[Session]:
    s = Session(browser, app_url, tmp_path)
    yield s
    s.close()


# -- the official: ask, follow up, refuse, filter, copy, download, start over -------------------------
def _messages(page: Any) -> Any:
    return page.locator("#chat .message-row, #chat [data-testid='bot'], #chat [data-testid='user']")


def _bot_messages(page: Any) -> Any:
    return page.locator("#chat [data-testid='bot']")


def _ask(page: Any, question: str, *, enter: bool = False) -> str:
    """Send a question and wait for its answer; the answer's text."""
    before = _bot_messages(page).count()
    box = page.locator("#question textarea")
    box.fill(question)
    if enter:
        box.press("Enter")
    else:
        page.locator("#ask").click()
    page.wait_for_function(
        f"document.querySelectorAll(\"#chat [data-testid='bot']\").length > {before}", timeout=WAIT
    )
    page.locator("#ask:not([disabled])").wait_for(timeout=WAIT)  # the answer is complete
    return str(_bot_messages(page).last.inner_text())


def test_an_official_asks_follows_up_and_takes_the_answer_away(session: Session) -> None:
    page = session.page
    page.locator("#ask").wait_for(timeout=WAIT)  # the tab's controls are drawn after the tab list
    # Ask is locked while an answer runs: watch the button from the moment the question is sent.
    page.evaluate(
        """() => { window.askStates = []; const b = document.querySelector('#ask');
        new MutationObserver(() => window.askStates.push(b.disabled)).observe(b, {attributes: true}); }"""
    )
    assert page.locator("#stop").is_disabled()  # nothing to stop yet
    first = _ask(page, SEED, enter=True)  # Enter sends
    assert "vol.697" in first and "manufacturing innovation institutes" in first
    assert True in page.evaluate("window.askStates") and page.locator("#ask").is_enabled()

    # A chip marks its source card; the card opens the passage in its brief.
    chip = page.locator("#chat a.chip").first
    chip.click()
    target = page.evaluate("document.querySelector('.source:target')?.id || ''")
    assert target.startswith("src-697") and page.evaluate("location.hash") == "#" + target
    card = page.locator(f"#{target}")
    assert card.locator("mark").first.inner_text()  # its supporting sentences are highlighted
    card.locator("summary").click()
    view = card.locator(".brief-view")
    view.wait_for(timeout=WAIT)
    assert view.locator("mark").first.is_visible() and view.locator(".around").count() >= 1

    # A follow-up asks for something new, from the same brief, and says it used the conversation.
    smart = _ask(page, "What is a CPS-based smart Korea?")
    assert "vol.640" in smart
    follow = _ask(page, FOLLOW_UP)
    assert "About vol.640, from your previous question." in follow and "vol.640" in follow
    assert follow.split("question.", 1)[1].strip()[:60] not in smart
    alone = page.locator("#no-context")
    assert alone.is_visible()
    before = _bot_messages(page).count()
    alone.click()
    page.wait_for_function(
        f"document.querySelectorAll(\"#chat [data-testid='bot']\").length > {before}", timeout=WAIT
    )
    page.locator("#ask:not([disabled])").wait_for(timeout=WAIT)
    assert "from your previous question" not in _bot_messages(page).last.inner_text()

    # A new topic is not held to the previous brief; a question the briefs don't answer is refused.
    new_topic = _ask(page, "What indicators can diagnose gentrification?")
    assert "vol.713" in new_topic and "previous question" not in new_topic
    refusal = _ask(page, "What are the tolls on the Seoul ring expressway?")
    assert "do not answer" in refusal
    assert "Nearest briefs" in page.locator("#sources").inner_text()

    # Copy gives plain text with [vol.N] markers; both downloads hold the answers and their sources.
    _ask(page, "How can traffic safety be improved for elderly drivers?")
    page.locator("#copy").click()
    page.locator("#copied").get_by_text("Copied").wait_for(timeout=WAIT)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "[vol.586]" in copied and "<a" not in copied and "chip" not in copied
    answer_md = session.download("#dl-answer")
    assert "**Sources**" in answer_md and "[vol.586]" in answer_md and "> " in answer_md
    conversation_md = session.download("#dl-conversation")
    for question in (SEED, FOLLOW_UP, "What are the tolls on the Seoul ring"):
        assert question in conversation_md
    session.screenshots("chat")

    # Filters: only the chosen brief is used; a question it does not answer is refused within it.
    # (vol.616 names vacant houses as a problem and recommends a strategy for shrinking cities: the
    # question asks for what it states.)
    page.locator("#chat-filters").get_by_text("Filters").click()
    session.pick("#chat-volumes", "vol.616")
    filtered = _ask(page, "What policies are proposed for shrinking cities?")
    chips = page.locator("#chat [data-testid='bot']").last.locator("a.chip").all_inner_texts()
    assert chips and set(chips) == {"vol.616"}, filtered
    outside_filter = _ask(page, "What indicators can diagnose gentrification?")
    assert "do not answer" in outside_filter and "vol.713" not in outside_filter
    page.locator("#chat-volumes button.token-remove, #chat-volumes .token-remove").first.click()

    # Shift+Enter writes a new line; an empty Ask sends nothing; an over-long question is explained.
    box = page.locator("#question textarea")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    box.fill("")
    count = _bot_messages(page).count()
    page.locator("#ask").click()
    page.wait_for_timeout(1000)
    assert _bot_messages(page).count() == count
    too_long = _ask(page, "housing " * 300)
    assert "limit is 2,000" in too_long

    # Stop ends an answer that is still being read; Ask is free again and nothing half-done remains.
    box.fill("What share of domestic manufacturing output comes from industrial complexes?")
    page.locator("#ask").click()
    page.locator("#chat").get_by_text("Reading the briefs").wait_for(timeout=WAIT)
    page.locator("#stop").click()
    page.locator("#chat").get_by_text("Stopped.").wait_for(timeout=WAIT)
    assert page.locator("#ask").is_enabled() and page.locator("#stop").is_disabled()

    # Korean questions about an English brief: the chat says in Korean that it is searching while the
    # question is put into English, then reads; a Korean line above the quotes says they are English.
    # New chat starts over.
    before = _bot_messages(page).count()
    box.fill("미국 제조혁신연구소의 역할은 무엇인가요?")
    page.locator("#ask").click()
    page.locator("#chat").get_by_text("브리프를 찾는 중입니다").wait_for(timeout=WAIT)
    page.locator("#ask:not([disabled])").wait_for(timeout=WAIT)
    korean = str(_bot_messages(page).nth(before).inner_text())
    assert "vol.697에 따르면(영어 원문 인용)" in korean and "찾는 중" not in korean
    page.locator("#new-chat").click()
    page.locator("#chat a.chip").first.wait_for(state="detached", timeout=WAIT)
    assert page.locator("#no-context").is_hidden()


# -- the researcher: search, filter, sort, export and read each file -------------------------------------
def _rows(page: Any, table: str = "#search-table") -> list[list[str]]:
    """The rows a table shows (the page's tables draw only the rows in view)."""
    rows = page.locator(f"{table} .virtual-row")
    return [rows.nth(i).locator("[role=gridcell]").all_inner_texts() for i in range(rows.count())]


def test_a_researcher_searches_sorts_and_exports(session: Session) -> None:
    page = session.page
    session.tab("Search")
    query = page.locator("#search-query textarea")
    query.fill("elderly drivers traffic deaths")
    query.press("Enter")
    page.locator("#search-status").get_by_text("passages").wait_for(timeout=WAIT)
    page.locator("#search-table .virtual-row").filter(has_text="vol.586").first.wait_for(timeout=WAIT)
    rows = _rows(page)
    assert len(rows) == 10 and "vol.586" in rows[0][2]
    first_match = int(rows[0][5].rstrip("%"))
    assert 50 <= first_match <= 100  # a match that means something, not always 1
    wide = page.evaluate(
        "(() => { const t = document.querySelector('#search-table .virtual-table-viewport'); "
        "return t.scrollWidth - t.clientWidth; })()"
    )
    assert wide <= 2, f"the results need {wide} px of sideways scrolling at 1,280 px"

    page.get_by_label("newest first").check()
    page.wait_for_timeout(1000)
    dates = [r[3] for r in _rows(page)]
    assert dates == sorted(dates, reverse=True)
    page.get_by_label("relevance").check()

    exports = {}
    for fmt in ("csv", "json", "md"):
        page.locator("#export-format").get_by_label(fmt).check()
        page.locator("#export").click()
        page.wait_for_function(
            f"(document.querySelector('#export-file')?.innerText || '').includes('.{fmt}')", timeout=WAIT
        )
        exports[fmt] = session.download("#export-file a")
    table = list(csv.DictReader(io.StringIO(exports["csv"])))
    assert table[0]["volume"] == "vol.586" and "KRIHS Policy Brief vol.586" in table[0]["citation"]
    assert json.loads(exports["json"])[0]["doc_id"] == "586"
    assert exports["md"].startswith("# Passages for: elderly drivers traffic deaths")

    session.pick("#search-volumes", "vol.713")
    page.locator("#search-button").click()
    page.locator("#search-status").get_by_text("briefs 713").wait_for(timeout=WAIT)
    assert {r[2].split(" ")[0] for r in _rows(page)} == {"vol.713"}
    session.screenshots("search")

    query.fill("purple monkey dishwasher")
    page.locator("#search-button").click()
    page.locator("#search-status").get_by_text("No passage matches these words well").wait_for(timeout=WAIT)


# -- staff: run a bundled and an uploaded test set, read the metrics, chart, table and report -----------
def test_staff_run_test_sets_and_open_the_report(session: Session, tmp_path: Path) -> None:
    page = session.page
    session.tab("Evaluate")
    session.pick("#bundled", "qa-sample.jsonl")
    page.locator("#run-eval").click()
    page.locator("#chart img").wait_for(timeout=WAIT * 3)
    assert "qa-sample.jsonl" in page.locator("#eval-status").inner_text()
    metrics = page.locator("#metrics").inner_text()
    assert "hit@5" in metrics and "[" in metrics  # each figure with its 95% interval
    assert "4 questions" in page.locator("#eval-status").inner_text()
    assert "pass" in _rows(page, "#per-question")[0]
    report = session.download("#report a")
    assert "Evaluation of qa-sample.jsonl" in report and "<img" in report
    session.screenshots("evaluate")

    uploaded = tmp_path / "qa-mine.jsonl"
    uploaded.write_text(
        json.dumps({"question": SEED, "volume": "697"})
        + "\n{not json\n"
        + json.dumps({"question": "What is the toll on the Seoul ring expressway?", "volume": None})
        + "\n",
        encoding="utf-8",
    )
    page.locator("#evaluate input[type=file], input[type=file]").first.set_input_files(str(uploaded))
    page.wait_for_timeout(1000)
    page.locator("#run-eval").click()
    page.locator("#eval-status").get_by_text("qa-mine.jsonl: 2 questions").wait_for(timeout=WAIT)
    status = page.locator("#eval-status").inner_text()
    assert "skipped line 2" in status and "/tmp" not in status
    assert [r[0] for r in _rows(page, "#per-question")] == ["1", "3"]


# -- the library: upload, re-upload, bad files, remove with confirmation, a second tab -------------------
def _upload(page: Any, files: list[str]) -> None:
    """Give files to the upload box once it is empty again (the app empties it after each upload)."""
    page.locator("#uploads [data-testid='upload-text']").wait_for(timeout=WAIT)
    page.locator("#uploads input[type=file]").set_input_files(files)


def test_the_library_adds_refuses_and_removes_briefs(
    browser: Any, writable_app_url: str, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    person = Session(browser, writable_app_url, shots)
    other = Session(browser, writable_app_url, tmp_path)  # a second person, already on the page
    page = person.page
    person.tab("Library")
    page.locator("#library-summary").get_by_text("8 briefs").wait_for(timeout=WAIT)
    good = tmp_path / "rooftop.txt"
    good.write_text(NEW_BRIEF, encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    log = page.locator("#library-log textarea")

    _upload(page, [str(good), str(empty)])
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('rooftop.txt')", timeout=WAIT
    )
    text = log.input_value()
    assert "✓ rooftop.txt: added: 901" in text and "✗ empty.txt" in text and "/tmp" not in text
    page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)
    assert "vol.901" in page.locator("#library-table").inner_text()

    _upload(page, [str(good)])  # the same file again
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('already indexed')",
        timeout=WAIT,
    )
    assert "already indexed as vol.901" in log.input_value()
    page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)

    # A near-copy under another volume is held back until the person ticks the box and uploads again.
    copy = tmp_path / "rooftop-copy.txt"
    copy.write_text(NEW_BRIEF.replace("vol.901", "vol.902"), encoding="utf-8")
    _upload(page, [str(copy)])
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('rooftop-copy.txt')",
        timeout=WAIT,
    )
    text = log.input_value()
    assert "⚠ rooftop-copy.txt: held back:" in text and "repeats vol.901" in text, text
    assert "Add near-duplicates too" in text and "empty.txt" not in text  # only the new file is read
    page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)
    assert "vol.902" not in page.locator("#library-table").inner_text()
    page.locator("#allow-near-duplicates input[type=checkbox]").check()
    _upload(page, [str(copy)])
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('added: 902')",
        timeout=WAIT,
    )
    assert "✓ rooftop-copy.txt: added: 902" in log.input_value()
    page.locator("#library-summary").get_by_text("10 briefs").wait_for(timeout=WAIT)
    assert "vol.902" in page.locator("#library-table").inner_text()
    person.screenshots("library")

    # Removing asks first; cancelling keeps the brief.
    person.pick("#to-remove", "vol.901")
    page.locator("#remove").click()
    assert "vol.901" in page.locator("#confirm-text").inner_text()
    page.locator("#cancel-remove").click()
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('Nothing was removed')",
        timeout=WAIT,
    )
    assert "vol.901" in page.locator("#library-table").inner_text()

    # The second tab sees the new brief after a reload, and can ask about it.
    other.page.reload()
    other.tab("Library")
    other.page.locator("#library-summary").get_by_text("10 briefs").wait_for(timeout=WAIT)
    other.tab("Chat")
    assert "vol.901" in _ask(other.page, "What do rooftop gardens on school buildings do?")

    person.pick("#to-remove", "vol.901")
    page.locator("#remove").click()
    page.locator("#confirm-remove").click()
    page.wait_for_function(
        "(document.querySelector('#library-log textarea')?.value || '').includes('Removed vol.901')",
        timeout=WAIT,
    )
    page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)
    assert "vol.901" not in page.locator("#library-table").inner_text()

    other.page.reload()
    other.tab("Library")
    other.page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)
    assert "vol.901" not in other.page.locator("#library-table").inner_text()
    other.tab("Chat")
    other.page.locator("#chat-filters").get_by_text("Filters").click()
    other.page.locator("#chat-volumes input").click()
    options = other.page.get_by_role("option").all_inner_texts()
    assert options and not any("vol.901" in o for o in options)
    other.close()
    person.close()


# -- the write path through the running app: two uploads at once, and a server killed mid-upload -------
def _brief_text(volume: int, title: str, topic: str, paragraphs: int) -> str:
    """A brief of about `paragraphs` passages, each paragraph its own words and figures (so that no
    brief made here repeats another's text)."""
    seed = sum(map(ord, topic))
    body = "\n\n".join(
        f"{topic} survey {i}: district {(i * 7 + seed) % 97} counted {(i * 13 + seed) % 89} sites, "
        f"{(i * 17 + seed) % 83} plans and {(i * 19 + seed) % 79} complaints; wave {i} of the {topic} "
        f"panel found {(i * 23 + seed) % 71} changes. " * 8
        for i in range(paragraphs)
    )
    return (
        f"Policy Briefs\nTITLE {title}\nVolume vol.{volume} DATE 2024-06-01 HIT 1\n\n{title}\n"
        f"Kim Test, Research Fellow, KRIHS\n\n□ {body}\n"
    )


WATCH_LOG = """() => {
  window.seen = [];
  setInterval(() => {
    const v = document.querySelector('#library-log textarea')?.value || '';
    if (v && window.seen.at(-1) !== v) window.seen.push(v);
  }, 20);
}"""


def _log_value(page: Any) -> str:
    return str(page.locator("#library-log textarea").input_value())


def _index_state(store: Path) -> dict[str, object]:
    from assistant.library import Library
    from tests.conftest import make_settings

    with Library.open(make_settings(store.parent, store_dir=store)) as library:
        records = library.records()
        vectors = sorted(cid for doc in records for cid in library.store.chunk_ids(doc))
        keyword = sorted(r[0] for r in library.keyword._db.execute("SELECT chunk_id FROM chunks"))
        return {
            "briefs": sorted(records),
            "states": sorted({r.state for r in records.values()}),
            "chunk_ids": vectors,
            "count": library.store.count(),
            "manifest_chunks": sum(r.chunks for r in records.values()),
            "keyword_ids": keyword,
        }


def test_two_people_upload_one_name_at_once_and_both_briefs_are_kept(
    browser: Any, briefs_index: Settings, tmp_path: Path
) -> None:
    """Two people upload `brief.txt`, both claiming vol.960, within a moment of each other: the second
    waits its turn (its log says "queued"), both are told "added", and the index holds both briefs
    with its vector and keyword sides agreeing (no orphan vectors). The first write is held by a
    failpoint until the second upload has said it is queued, so that the two always meet."""
    shutil.copytree(briefs_index.store_dir, tmp_path / "store")
    release = tmp_path / "release"
    # No question is asked here: the server runs without the reader's model, and starts 8 s sooner.
    held = {**failpoints.holding("ingest.pending", release), "ASSISTANT_READER": "none"}
    process, url = start_app(tmp_path / "store", tmp_path / "data", **held)
    files = []
    for n, (title, topic) in enumerate([("Ferry timetables", "ferry"), ("Library hours", "library")]):
        folder = tmp_path / f"person{n}"
        folder.mkdir()
        (folder / "brief.txt").write_text(_brief_text(960, title, topic, 3), encoding="utf-8")
        files.append(folder / "brief.txt")
    try:
        people = [Session(browser, url + "/", tmp_path) for _ in files]
        for person in people:
            person.tab("Library")
            person.page.locator("#library-summary").get_by_text("8 briefs").wait_for(timeout=WAIT)
            # Every value the log box takes, so that a "queued" shown for a moment is seen.
            person.page.evaluate(WATCH_LOG)
        for person, file in zip(people, files, strict=True):
            person.page.locator("#uploads input[type=file]").set_input_files(str(file))
        deadline = time.monotonic() + WAIT / 1000
        while not any("⏳ queued" in v for p in people for v in p.page.evaluate("() => window.seen")):
            assert time.monotonic() < deadline, [p.page.evaluate("() => window.seen") for p in people]
            time.sleep(0.2)
        release.touch()
        while not all("brief.txt:" in _log_value(p.page) for p in people):
            assert time.monotonic() < deadline, [p.page.evaluate("() => window.seen") for p in people]
            time.sleep(0.2)
        logs = [_log_value(p.page) for p in people]
        seen = [v for p in people for v in p.page.evaluate("() => window.seen")]
        added = sorted(m.group(1) for log in logs for m in re.finditer(r"✓ brief\.txt: added: (\S+),", log))
        assert added == ["960", "960~brief"], logs
        assert any("⏳ queued: another upload is being indexed; brief.txt follows it" in v for v in seen), (
            seen
        )
        people[0].page.reload()
        people[0].tab("Library")
        people[0].page.locator("#library-summary").get_by_text("10 briefs").wait_for(timeout=WAIT)
        for person in people:
            person.close()
    finally:
        stop(process)
    state = _index_state(tmp_path / "store")
    assert {"960", "960~brief"} <= set(state["briefs"])  # type: ignore[call-overload]
    assert state["chunk_ids"] == state["keyword_ids"]
    assert state["count"] == state["manifest_chunks"] == len(state["chunk_ids"])  # type: ignore[arg-type]


def test_an_upload_killed_mid_write_is_pending_then_finished_on_restart(
    browser: Any, briefs_index: Settings, tmp_path: Path
) -> None:
    """The server is killed (SIGKILL) while an upload's passages are written but not yet committed
    (held there by a failpoint, so that the kill lands mid-write every time): `stats` lists the
    brief as pending, not indexed; the next start finishes the write, the Library tab and search show
    it, and the index equals a clean build of the same briefs."""
    import signal
    import subprocess

    shutil.copytree(briefs_index.store_dir, tmp_path / "store")
    upload = tmp_path / "upload" / "harbour.txt"
    upload.parent.mkdir()
    upload.write_text(_brief_text(977, "Harbour dredging", "harbour", 8), encoding="utf-8")
    log = tmp_path / "server.log"
    # The write is held once its passages are written and before they are committed, and killed there.
    # No question is asked here: the server runs without the reader's model, and starts 8 s sooner.
    held = {**failpoints.holding("ingest.chunks", tmp_path / "no"), "ASSISTANT_READER": "none"}
    process, url = start_app(tmp_path / "store", tmp_path / "data", log=log, **held)
    try:
        person = Session(browser, url + "/", tmp_path)
        person.tab("Library")
        person.page.locator("#library-summary").get_by_text("8 briefs").wait_for(timeout=WAIT)
        person.page.locator("#uploads input[type=file]").set_input_files(str(upload))
        deadline = time.monotonic() + 300
        while "failpoint ingest.chunks: holding" not in log.read_text(encoding="utf-8", errors="replace"):
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        person.close()
    finally:
        if process.poll() is None:
            stop(process)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(tmp_path / "store")}
    assistant = Path(sys.executable).parent / "assistant"
    shown = subprocess.run([str(assistant), "stats"], capture_output=True, text=True, env=env, timeout=120)
    assert "vol.977" in shown.stdout and "[pending: not searchable]" in shown.stdout, shown.stdout
    assert "8 briefs" in shown.stdout and "1 write(s) unfinished" in shown.stdout

    process, url = start_app(
        tmp_path / "store", tmp_path / "data", timeout=300, log=log, ASSISTANT_READER="none"
    )
    try:
        person = Session(browser, url + "/", tmp_path)
        person.tab("Library")
        person.page.locator("#library-summary").get_by_text("9 briefs").wait_for(timeout=WAIT)
        assert "unfinished" not in person.page.locator("#library-summary").inner_text()
        assert "Harbour dredging" in person.page.locator("#library-table").inner_text()
        person.tab("Search")
        person.page.locator("#search-query textarea, #search-query input").first.fill(
            "harbour panel survey 5"
        )
        person.page.locator("#search-button").click()
        person.page.locator("#search-status").get_by_text("passages").wait_for(timeout=WAIT)
        assert "vol.977" in _rows(person.page)[0][2], _rows(person.page)[:2]
        person.close()
    finally:
        stop(process)
    assert "an interrupted write was finished" in log.read_text(encoding="utf-8")

    clean = tmp_path / "clean"
    shutil.copytree(briefs_index.store_dir, clean / "store")
    done = subprocess.run(
        [str(assistant), "ingest", str(upload)],
        capture_output=True,
        text=True,
        env={**os.environ, "ASSISTANT_STORE_DIR": str(clean / "store")},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert _index_state(tmp_path / "store") == _index_state(clean / "store")


# -- the loop: an official's 👎 reaches staff, who label it and export it as a test set -------------
TOLL = "What are the tolls on the Seoul ring expressway?"


def test_a_dislike_with_a_note_becomes_a_labelled_test_line_after_a_restart(
    browser: Any, briefs_index: Settings, tmp_path: Path
) -> None:
    import subprocess

    shutil.copytree(briefs_index.store_dir, tmp_path / "store")
    data = tmp_path / "data"
    process, url = start_app(tmp_path / "store", data)
    try:
        official = Session(browser, url + "/", tmp_path)
        page = official.page
        assert "vol.697" in _ask(page, SEED)
        page.locator("#feedback-note textarea").fill("should also cite vol.616")
        page.get_by_role("button", name="Dislike").last.click()
        status = page.locator("#feedback-status")
        status.get_by_text("recorded for staff review").wait_for(timeout=WAIT)
        assert "thumbs-down" in status.inner_text() and "should also cite vol.616" in status.inner_text()
        assert page.locator("#feedback-note textarea").input_value() == ""  # the note went with it
        assert "do not answer" in _ask(page, TOLL)  # a refusal: noted for the queue by itself
        official.screenshots("feedback")
        official.close()
    finally:
        stop(process)

    # What was said survives a restart. Staff ask nothing: this server runs without the reader's model.
    process, url = start_app(tmp_path / "store", data, ASSISTANT_READER="none")
    try:
        staff = Session(browser, url + "/", tmp_path)
        page = staff.page
        staff.tab("Evaluate")
        page.locator("#review-queue [data-testid^='cell-']").get_by_text("should also cite vol.616").wait_for(
            timeout=WAIT
        )
        rows = _rows(page, "#review-queue")
        assert [(r[2], r[3]) for r in rows[:2]] == [("refused", TOLL), ("👎 down", SEED)], rows[:2]
        assert rows[1][4] == "vol.697" and rows[1][6] == "—"
        staff.pick("#review-item", "👎")
        page.locator("#review-verdict").get_by_label("Should answer with vol. …").check()
        page.locator("#review-volume textarea, #review-volume input").first.fill("616")
        page.locator("#review-save").click()
        page.locator("#review-status").get_by_text("Saved").wait_for(timeout=WAIT)
        staff.pick("#review-item", "refused")
        page.locator("#review-verdict").get_by_label("Right", exact=True).check()
        page.locator("#review-save").click()
        page.locator("#review-status").get_by_text("labelled “right”").wait_for(timeout=WAIT)
        assert [r[6] for r in _rows(page, "#review-queue")[:2]] == ["right", "should answer vol.616"]
        page.locator("#review-export").click()
        page.locator("#review-status").get_by_text("Exported 2 questions").wait_for(timeout=WAIT)
        exported = staff.download("#review-file a")
        page.locator("#uncovered-run").click()
        page.locator("#uncovered").get_by_text("1 refused question in 1 topic").wait_for(timeout=WAIT)
        assert "toll" in page.locator("#uncovered").inner_text()
        staff.screenshots("review")
        staff.close()
    finally:
        stop(process)
    lines = [json.loads(line) for line in exported.splitlines()]
    assert sorted((x["question"], x["volume"]) for x in lines) == [(TOLL, None), (SEED, "616")]
    testset = tmp_path / "from-review.jsonl"
    testset.write_text(exported, encoding="utf-8")
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(tmp_path / "store"), "ASSISTANT_DATA_DIR": str(data)}
    assistant = Path(sys.executable).parent / "assistant"
    ran = subprocess.run(  # the exported file is a test set `assistant eval` reads (a search-only run)
        [str(assistant), "eval", str(testset), "--retrieval-only", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert len(result["questions"]) == 2 and result["settings"]["index_hash"]


SHRINKING = "How many Korean cities are classified as shrinking cities?"


def test_a_like_and_a_flag_reach_the_queue_on_refresh_each_recorded_once(
    browser: Any, writable_app_url: str, tmp_path: Path
) -> None:
    staff = Session(browser, writable_app_url, tmp_path / "staff")
    staff.tab("Evaluate")
    queue = staff.page.locator("#review-queue")
    queue.wait_for(timeout=WAIT)
    assert _rows(staff.page, "#review-queue") == []  # nothing said yet

    official = Session(browser, writable_app_url, tmp_path / "official")
    page = official.page
    status = page.locator("#feedback-status")
    assert "vol.697" in _ask(page, SEED)
    page.get_by_role("button", name="Like").last.click()
    status.get_by_text("thumbs-up").wait_for(timeout=WAIT)
    assert "recorded for staff review" in status.inner_text() and SEED[:40] in status.inner_text()

    assert "vol.616" in _ask(page, SHRINKING)
    page.get_by_role("button", name="Feedback").last.hover()  # the flag: its options show on hover
    page.locator(".extra-feedback-options").last.get_by_text("Wrong brief").click()
    status.get_by_text("Wrong brief").wait_for(timeout=WAIT)
    assert "thumbs-down" in status.inner_text() and SHRINKING[:40] in status.inner_text()
    official.close()

    staff.page.locator("#review-refresh").click()  # the open queue shows them without a reload
    queue.locator("[data-testid^='cell-']").get_by_text("Wrong brief").first.wait_for(timeout=WAIT)
    rows = _rows(staff.page, "#review-queue")
    assert [(r[2], r[3], r[5]) for r in rows] == [
        ("👎 down", SHRINKING, "Wrong brief"),
        ("👍 up", SEED, ""),
    ], rows
    assert rows[0][4] == "vol.616" and rows[1][4] == "vol.697"
    staff.close()
    lines = (tmp_path / "data" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    ratings = [json.loads(line) for line in lines]
    assert [(r["rating"], r["note"]) for r in ratings if r["kind"] == "rating"] == [
        ("up", ""),
        ("down", "Wrong brief"),
    ]  # one line per press: the flag's click, sent twice by the page, is recorded once
