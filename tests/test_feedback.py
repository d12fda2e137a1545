"""The feedback loop: ratings, refusals and labels in the append-only file; the review queue, its
export as a test set that `assistant eval` runs, the uncovered topics, and no line lost to concurrent
writers or a SIGKILL (in processes of their own, and through the running app)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant.errors import UsageError
from assistant.evaluation import evaluate
from assistant.feedback import FeedbackLog, write_testset
from assistant.feedback.topics import uncovered_topics
from assistant.indexing.embeddings import Embedder
from assistant.library import Library
from tests.conftest import CORPUS
from tests.servers import start_app, stop

ASSISTANT = Path(sys.executable).parent / "assistant"


def test_ratings_refusals_and_labels_become_a_test_set_that_eval_runs(
    small_library: Library, tmp_path: Path
) -> None:
    assistant = small_library.assistant()
    log = FeedbackLog(tmp_path / "data")
    answered = assistant.ask(
        "What should replace the transport voucher for older people who give up driving?"
    )
    refused = assistant.ask("What are the tolls on the Seoul ring expressway?")
    assert not answered.refused and refused.refused
    down = log.rate(answered, "down", "should also cite vol.953", index_hash=small_library.content_hash())
    log.refused(refused)
    up = log.rate(refused, "up")
    queue = log.queue()
    assert [i.entry["kind"] for i in queue] == ["rating", "refusal", "rating"]  # newest first
    assert queue[2].entry["note"] == "should also cite vol.953" and queue[2].entry["cited"] == ["952"]
    assert queue[2].entry["index_hash"] == small_library.content_hash()
    with pytest.raises(UsageError, match="volume"):
        log.label(down, "should_answer")
    with pytest.raises(UsageError, match="no feedback item"):
        log.label("nope", "right")
    log.label(down, "wrong_brief")  # without the right volume: kept, but not a test line
    assert log.export() == ([], 1)
    log.label(down, "should_answer", "vol.951")  # the later label wins
    log.label(up, "right")
    lines, skipped = log.export()
    assert skipped == 0
    assert sorted((line["question"], line["volume"]) for line in lines) == [
        ("What are the tolls on the Seoul ring expressway?", None),
        ("What should replace the transport voucher for older people who give up driving?", "951"),
    ]
    path = tmp_path / "from-feedback.jsonl"
    write_testset(lines, path)
    run = evaluate(path, assistant, settings=small_library.describe(assistant))
    assert len(run.results) == 2 and run.errors == []
    assert run.settings["index_hash"] == small_library.content_hash() and run.settings["code"]
    assert run.settings["policy"]["threshold"] > 0


def test_one_press_sent_twice_is_recorded_once_and_a_changed_mind_is_kept(
    small_library: Library, tmp_path: Path
) -> None:
    """Gradio sends a flag's click twice; a session's 👍 then 👎 on one answer are two presses."""
    from assistant.answering.conversation import Turn
    from assistant.ui import render
    from assistant.ui.review import Review

    review = Review(small_library, write=lambda stem, suffix, text: "")
    review.log = FeedbackLog(tmp_path / "data")  # not the session's data folder
    question = "What should replace the transport voucher for older people who give up driving?"
    answer = small_library.assistant().ask(question)
    turns = [Turn(question, question, answer)]
    shown = render.answer_markdown(answer)
    first = review.rate(turns, shown, "Wrong brief", "", session="a")
    again = review.rate(turns, shown, "Wrong brief", "", session="a")  # the same press, sent twice
    assert first == again and "Wrong brief" in first
    review.rate(turns, shown, "Wrong brief", "", session="b")  # another person: their own press
    review.rate(turns, shown, True, "", session="a")  # changed their mind
    said = [(e["rating"], e["note"]) for e in review.log.entries() if e["kind"] == "rating"]
    assert said == [("down", "Wrong brief"), ("down", "Wrong brief"), ("up", "")]
    assert "can no longer be rated" in review.rate([], shown, True, "", session="c")


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_next_starts_afresh(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    first = log.append("refusal", {"question": "one"})
    with open(log.path, "ab") as handle:
        handle.write(b'{"id": "torn", "kind": "refusal", "question": "tw')  # the process died here
    second = log.append("refusal", {"question": "two"})
    assert [e["id"] for e in log.entries()] == [first, second]
    assert log.path.read_text(encoding="utf-8").count("\n") == 3


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from assistant.feedback import FeedbackLog
    log = FeedbackLog(Path(sys.argv[1]))
    for i in range(int(sys.argv[3])):
        entry = log.append("refusal", {"question": f"{sys.argv[2]}-{i}", "pad": "x" * 3000})
        print(entry, flush=True)  # printed only once the line is on disk
    """
)


def test_eight_writers_lose_no_line_even_when_killed_mid_write(tmp_path: Path) -> None:
    """Eight processes append at once (lines of 3 KB, larger than an atomic pipe write); four finish,
    four are killed with SIGKILL while writing. Every line a writer was told is written is there, whole,
    and the file has no line that is not one of them (a torn last line at most)."""
    outputs = [tmp_path / f"acknowledged-{n}.txt" for n in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"w{n}", "200" if n < 4 else "100000"],
            stdout=outputs[n].open("w"),
        )
        for n in range(8)
    ]
    for p in procs[:4]:
        p.wait(timeout=120)  # the last four are still writing: each has 100,000 lines to write
    for p in procs[4:]:
        assert p.poll() is None, "a writer meant to be killed mid-write had already finished"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    acknowledged = [entry for out in outputs for entry in out.read_text().split()]
    assert [p.returncode for p in procs] == [0] * 4 + [-signal.SIGKILL] * 4
    written = [e["id"] for e in FeedbackLog(tmp_path).entries()]
    assert len(written) == len(set(written))
    assert set(acknowledged) <= set(written), (
        f"{len(set(acknowledged) - set(written))} acknowledged lines lost"
    )
    assert len(acknowledged) >= 800  # the four that finished wrote 200 each
    lines = FeedbackLog(tmp_path).path.read_text(encoding="utf-8").splitlines()
    assert len(lines) - len(written) <= 4  # at most one torn line per killed writer
    print(f"\n8 writers: {len(acknowledged)} lines acknowledged, {len(written)} whole lines on disk")


def test_refusals_of_eight_concurrent_sessions_survive_the_server_killed_mid_run(tmp_path: Path) -> None:
    """Eight gradio_client sessions ask off-topic questions of the running app at once; the server is
    killed with SIGKILL while they ask. Every refusal a session received is in the feedback file.

    What is tested is the feedback file, not the judgement: the server runs without the reader
    (ASSISTANT_READER=none, the lexical policy alone, which refuses these questions as well), so that
    the refusals come fast enough for the eight sessions to write at once."""
    from gradio_client import Client

    store = tmp_path / "store"
    built = subprocess.run(
        [str(ASSISTANT), "ingest", str(CORPUS)],
        capture_output=True,
        text=True,
        env={**os.environ, "ASSISTANT_STORE_DIR": str(store)},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    data = tmp_path / "data"
    server, base = start_app(store, data, ASSISTANT_CONCURRENCY="4", ASSISTANT_READER="none")
    received: list[str] = []
    lock = threading.Lock()

    def session(n: int) -> None:
        client = Client(base + "/", verbose=False)
        for i in range(40):
            question = f"What are the ferry fares to island {n}-{i} in the harbour district?"
            try:
                answer = client.predict(question, api_name="/ask")
            except Exception:  # noqa: BLE001 - the server was killed: this session is over
                return
            if answer["refused"]:
                with lock:
                    received.append(question)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 300
        while len(received) < 24 and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait()
        for t in threads:
            t.join(timeout=120)
    finally:
        if server.poll() is None:
            stop(server)
    assert len(received) >= 24, f"only {len(received)} refusals before the kill"
    noted = {e["question"] for e in FeedbackLog(data.resolve()).entries() if e["kind"] == "refusal"}
    lost = set(received) - noted
    assert not lost, f"{len(lost)} refusals the sessions received are not in the file"
    print(f"\n8 sessions: {len(received)} refusals received before SIGKILL, {len(noted)} on disk")


def test_refused_questions_group_by_topic(embedder: Embedder) -> None:
    questions = [
        "How bad is fine dust pollution in Seoul?",
        "What does KRIHS say about fine dust?",
        "fine dust measures for cities",
        "What are the tolls on the Seoul ring expressway?",
        "How much does the ring road toll cost?",
        "Where will the new airport be built?",
    ]
    refusals = [
        {"question": q, "at": f"2026-12-0{1 + i % 3}T10:00:00+00:00"} for i, q in enumerate(questions)
    ]
    topics = uncovered_topics(refusals, embedder)
    assert [t.count for t in topics] == [3, 2, 1]
    assert "dust" in topics[0].name and "toll" in topics[1].name
    assert topics[0].first.startswith("2026-12-01") and topics[0].last.startswith("2026-12-03")


def test_the_cli_lists_labels_and_exports_the_queue(small_library: Library, tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = small_library.assistant().ask("What are the tolls on the Seoul ring expressway?")
    item = FeedbackLog(data).refused(refused)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ASSISTANT), "feedback", *args], capture_output=True, text=True, env=env, timeout=120
        )

    listed = cli("list")
    assert listed.returncode == 0 and item in listed.stdout and "unlabelled" in listed.stdout
    assert cli("export", "--out", str(tmp_path / "none.jsonl")).returncode == 1  # nothing labelled yet
    assert cli("label", item, "should_refuse").returncode == 0
    bad = cli("label", item, "should_answer")
    assert bad.returncode == 2 and "needs the volume" in bad.stderr and "Traceback" not in bad.stderr
    out = tmp_path / "exported.jsonl"
    exported = cli("export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["volume"] for line in out.read_text().splitlines()] == [None]
