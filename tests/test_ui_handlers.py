"""The web app's actions as plain functions, over a real index (no browser, no server)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.library import Library
from assistant.ui import render
from assistant.ui.handlers import Handlers, make_filter
from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.shared


@pytest.fixture
def handlers(briefs_library: Library, tmp_path: Path) -> Handlers:
    briefs_library.settings = briefs_library.settings.model_copy(update={"data_dir": tmp_path / "data"})
    return Handlers(briefs_library)


def test_chat_streams_then_shows_cited_answer_and_sources(handlers: Handlers) -> None:
    updates = list(handlers.chat("What role do the US manufacturing innovation institutes play?", [], []))
    assert len(updates) >= 2
    final = updates[-1]
    assert final.answer is not None and not final.answer.refused
    assert final.messages[0] == {
        "role": "user",
        "content": "What role do the US manufacturing innovation institutes play?",
    }
    reply = final.messages[-1]["content"]
    assert 'class="chip"' in reply and "vol.697" in reply
    assert "<mark>" in final.sources and "section:" in final.sources and "vol_697.txt" in final.sources
    assert len(final.turns) == 1
    follow = list(handlers.chat("What did it propose?", final.messages, final.turns))[-1]
    assert follow.answer is not None and {c.doc_id for c in follow.answer.citations} == {"697"}
    assert len(follow.turns) == 2 and len(follow.messages) == 4


def test_chat_shows_errors_and_refusals_in_the_conversation(handlers: Handlers) -> None:
    error = list(handlers.chat("   ", [], []))[-1]
    assert error.messages[-1]["content"].startswith("⚠️") and "empty" in error.messages[-1]["content"]
    bad_date = list(handlers.chat("housing approvals", [], [], since="last spring"))[-1]
    assert "not a date" in bad_date.messages[-1]["content"]
    refusal = list(handlers.chat("What is the toll on the Seoul ring expressway?", [], []))[-1]
    assert refusal.answer is not None and refusal.answer.refused
    assert "Nearest briefs" in refusal.sources


def test_answer_download_has_citations(handlers: Handlers) -> None:
    answer = list(handlers.chat("How many cities are classified as shrinking cities?", [], []))[-1].answer
    path = handlers.export_answer(answer)
    assert path is not None and path.is_relative_to(handlers.data_dir)
    text = path.read_text()
    assert "**Sources**" in text and "[vol.616]" in text and "> " in text


def test_search_table_and_exports(handlers: Handlers) -> None:
    rows, passages, status = handlers.search("elderly drivers traffic deaths", [], "", "", 5)
    assert len(rows) == 5 and rows[0][1] == "vol.586" and "passages" in status
    exported = {
        fmt: handlers.export_passages(passages, "elderly drivers", fmt) for fmt in ("csv", "json", "md")
    }
    table = list(csv.DictReader(io.StringIO(exported["csv"].read_text())))  # type: ignore[union-attr]
    assert table[0]["volume"] == "vol.586" and "KRIHS Policy Brief vol.586" in table[0]["citation"]
    data = json.loads(exported["json"].read_text())  # type: ignore[union-attr]
    assert data[0]["doc_id"] == "586" and data[0]["section"]
    assert exported["md"].read_text().startswith("# Passages for: elderly drivers")  # type: ignore[union-attr]
    filtered, _, _ = handlers.search("policy", ["vol.713 The Development"], "", "", 10)
    assert filtered and {r[1] for r in filtered} == {"vol.713"}


def test_filters_from_the_controls() -> None:
    flt = make_filter(["vol.697 Measures to create", "vol.616 Shrinking"], "2017", "2019-06")
    assert flt.doc_ids == ("697", "616") and flt.date_from == "2017-01-01" and flt.date_to == "2019-06-30"
    with pytest.raises(ValueError):
        make_filter([], "soon", "")


def test_evaluate_tab_runs_a_bundled_and_an_uploaded_set(handlers: Handlers, tmp_path: Path) -> None:
    bundled = handlers.bundled_testsets()
    dev = next(name for name in bundled if name.startswith("qa-dev.jsonl"))
    seen = []
    metrics, chart, questions, report, status = handlers.run_eval(None, dev, lambda d, t: seen.append((d, t)))
    assert dict(metrics)["hit@5"] == "1.000" and len(questions) == 36
    assert chart is not None and chart.read_bytes()[:4] == b"\x89PNG" and report is not None
    assert seen[-1] == (36, 36)
    upload = tmp_path / "mine.csv"
    upload.write_text('question,volume\nHow many cities are shrinking cities?,616\nbroken line,"["\n')
    metrics, _, questions, _, status = handlers.run_eval(str(upload), None)
    assert len(questions) == 1 and "skipped line 3" in status
    with pytest.raises(ValueError, match="not accepted"):
        handlers.run_eval(str(tmp_path / "notes.txt"), None)


@pytest.fixture
def writable(tmp_path: Path, embedder: Embedder) -> Iterator[Handlers]:
    settings: Settings = make_settings(tmp_path, max_upload_mb=1.0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "vol697.txt", corpus)
    with Library.open(settings, write=True, embedder=embedder) as library:
        library.ingest([corpus])
        yield Handlers(library)


def test_library_upload_and_remove(writable: Handlers, tmp_path: Path) -> None:
    assert [row[0] for row in writable.library_rows()] == ["vol.697"]
    good = tmp_path / "new brief.md"
    good.write_text("# River parks\n\nVol. 901, 2021-05-03\n\nCities are getting hotter in summer.\n")
    bad_type = tmp_path / "virus.exe"
    bad_type.write_bytes(b"MZ")
    too_big = tmp_path / "huge.txt"
    too_big.write_text("x" * 1_100_000)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    log = writable.upload([str(good), str(bad_type), str(too_big), str(empty)])
    assert "✓ new brief.md: added: 901" in log
    assert "✗ virus.exe: file type '.exe' is not accepted" in log
    assert "✗ huge.txt: 1,100,000 bytes is over the 1 MB upload limit" in log
    assert "✗ empty.txt:" in log and "empty" in log
    stored = writable.data_dir / "uploads" / "new brief.md"
    assert stored.exists(), "uploads are kept under the app's own data folder"
    assert {row[0] for row in writable.library_rows()} == {"vol.697", "vol.901"}
    assert "2 briefs" in writable.library_summary()
    assert writable.remove("vol.901 River parks") == "Removed vol.901 (new brief.md, 2 chunks)."
    assert not stored.exists()
    assert [row[0] for row in writable.library_rows()] == ["vol.697"]


def test_rendered_answer_escapes_html() -> None:
    from assistant.models import Answer, Sentence

    answer = Answer(
        question="<b>x</b>", sentences=(Sentence("<script>alert(1)</script>", claim=False),), refused=True
    )
    assert "<script>" not in render.answer_markdown(answer)
