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
from assistant.indexing.embeddings import Embedder
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
    shrinking = "How many cities are classified as shrinking cities?"
    then = list(handlers.chat(shrinking, final.messages, final.turns))
    assert then[-1].answer is not None and {c.doc_id for c in then[-1].answer.citations} == {"616"}
    assert len(then[-1].turns) == 2 and len(then[-1].messages) == 4


def test_chat_shows_errors_and_refusals_in_the_conversation(handlers: Handlers) -> None:
    assert list(handlers.chat("   ", [], [])) == []  # an empty question sends nothing
    too_long = list(handlers.chat("housing " * 300, [], []))[-1]
    assert (
        too_long.messages[-1]["content"].startswith("⚠️")
        and "limit is 2,000" in too_long.messages[-1]["content"]
    )
    bad_date = list(handlers.chat("housing approvals", [], [], since="last spring"))[-1]
    assert "not a date" in bad_date.messages[-1]["content"]
    refusal = list(handlers.chat("What is the toll on the Seoul ring expressway?", [], []))[-1]
    assert refusal.answer is not None and refusal.answer.refused
    assert "Nearest briefs" in refusal.sources


def test_follow_ups_say_they_used_the_conversation_and_can_be_asked_alone(handlers: Handlers) -> None:
    first = list(handlers.chat("What is a CPS-based smart Korea?", [], []))[-1]
    follow = list(handlers.chat("Which pilot projects are suggested?", first.messages, first.turns))[-1]
    assert follow.answer is not None and [b.label for b in follow.answer.context] == ["vol.640"]
    assert "About vol.640, from your previous question." in follow.messages[-1]["content"]
    assert render.answer_plain(follow.answer).startswith("(About vol.640")
    alone = list(
        handlers.chat("Which pilot projects are suggested?", first.messages, first.turns, use_context=False)
    )
    assert alone[-1].answer is not None and alone[-1].answer.context == ()
    refused = list(
        handlers.chat("What are the tolls on the Seoul ring expressway?", follow.messages, follow.turns)
    )
    assert refused[-1].answer is not None and refused[-1].answer.refused and refused[-1].answer.context == ()


def test_sources_show_one_card_per_passage_that_opens_in_the_brief(handlers: Handlers) -> None:
    final = list(handlers.chat("What role do the US manufacturing innovation institutes play?", [], []))[-1]
    assert final.answer is not None
    cited = {c.chunk_id for c in final.answer.citations}
    assert final.sources.count("class='source'") == len(cited)
    assert final.sources.count("<details class='in-brief'>") == len(cited)
    assert "class='around'" in final.sources


def test_answer_and_conversation_downloads_have_citations(handlers: Handlers) -> None:
    final = list(handlers.chat("How many cities are classified as shrinking cities?", [], []))[-1]
    path = handlers.export_answer(final.answer)
    assert isinstance(path, str) and Path(path).is_relative_to(handlers.data_dir / "tmp")
    text = Path(path).read_text()
    assert "**Sources**" in text and "[vol.616]" in text and "> " in text
    whole = handlers.export_conversation(final.turns)
    assert whole is not None and "## 1. How many cities" in Path(whole).read_text()


def test_search_table_sorting_matches_and_exports(handlers: Handlers) -> None:
    result = handlers.search("elderly drivers traffic deaths", [], "", "", 5)
    assert len(result.rows) == 5 and result.rows[0][2].startswith("vol.586") and "passages" in result.status
    assert result.rows[0][1] == result.passages[0].text  # the passage comes first
    assert 0.5 <= result.matches[0] <= 1.0 and all(0.0 <= m <= 1.0 for m in result.matches)
    newest = handlers.sort(result, "newest first")
    assert [p.date for p in newest.passages] == sorted((p.date for p in result.passages), reverse=True)
    again = handlers.sort(newest, "relevance")
    assert [p.chunk_id for p in again.passages] == [p.chunk_id for p in result.passages]
    exported = {
        fmt: handlers.export_passages(result.passages, "elderly drivers", fmt)
        for fmt in ("csv", "json", "md")
    }
    table = list(csv.DictReader(io.StringIO(Path(exported["csv"] or "").read_text())))
    assert table[0]["volume"] == "vol.586" and "KRIHS Policy Brief vol.586" in table[0]["citation"]
    data = json.loads(Path(exported["json"] or "").read_text())
    assert data[0]["doc_id"] == "586" and data[0]["section"]
    assert Path(exported["md"] or "").read_text().startswith("# Passages for: elderly drivers")
    filtered = handlers.search("policy", ["713"], "", "", 10)
    assert filtered.rows and {r[2].split(" ")[0] for r in filtered.rows} == {"vol.713"}
    nonsense = handlers.search("purple monkey dishwasher", [], "", "", 5)
    assert "No passage matches these words well" in nonsense.status
    assert max(nonsense.matches) < max(result.matches)


def test_csv_and_markdown_exports_are_inert() -> None:
    from assistant.models import Passage

    hostile = Passage(
        "x:1:0",
        "x",
        "1",
        '=HYPERLINK("http://evil.example/")',
        None,
        "s",
        "f.txt",
        None,
        "<img src=x onerror=alert(1)> [link](javascript:alert(1))",
        1.0,
    )
    row = next(csv.reader(io.StringIO(render.passages_csv([hostile]).splitlines()[1])))
    assert row[2].startswith("'=")
    md = render.passages_markdown("q", [hostile])
    assert "<img" not in md and "javascript:" not in md


def test_filters_from_the_controls() -> None:
    flt = make_filter(["697", "vol.616 Shrinking"], "2017", "2019-06")
    assert flt.doc_ids == ("697", "616") and flt.date_from == "2017-01-01" and flt.date_to == "2019-06-30"
    with pytest.raises(ValueError):
        make_filter([], "soon", "")


def test_evaluate_tab_runs_a_bundled_and_an_uploaded_set(handlers: Handlers, tmp_path: Path) -> None:
    bundled = handlers.bundled_testsets()
    assert "qa-dev.jsonl" in bundled and all("/" not in name for name in bundled)  # names, not paths
    seen = []
    view = handlers.run_eval(None, "qa-sample.jsonl", lambda d, t: seen.append((d, t)))
    assert dict(view.metrics)["hit@5"].startswith("1.000") and len(view.questions) == 4
    assert view.chart is not None and Path(view.chart).read_bytes()[:4] == b"\x89PNG" and view.report
    assert seen[-1] == (4, 4)
    upload = tmp_path / "mine.csv"
    upload.write_text('question,volume\nHow many cities are shrinking cities?,616\nbroken line,"["\n')
    view = handlers.run_eval(str(upload), None)
    assert len(view.questions) == 1 and "skipped line 3" in view.status and str(tmp_path) not in view.status
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n" + json.dumps({"question": "q"}) + "\n")
    view = handlers.run_eval(str(broken), None)
    assert "no usable question" in view.status and "line 1" in view.status and "line 2" in view.status
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


def test_library_upload_reupload_and_remove(writable: Handlers, tmp_path: Path) -> None:
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
    assert "✗ empty.txt:" in log and "empty" in log and str(tmp_path) not in log
    stored = [p for p in (writable.data_dir / "uploads").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == ["new brief.md"], "kept in its own folder; refused files are not"
    again = tmp_path / "copy of the same.md"
    shutil.copy(good, again)
    assert "already indexed as vol.901 (new brief.md), unchanged" in writable.upload([str(again)])
    assert CORPUS.joinpath("vol697.txt").exists()
    assert "already indexed as vol.697" in writable.upload([str(CORPUS / "vol697.txt")])
    summary, rows, choices, _ = writable.library_view()
    assert "2 briefs" in summary and {row[0] for row in rows} == {"vol.697", "vol.901"}
    assert dict((v, k) for k, v in choices)["901"].endswith("(new brief.md)")
    assert "Remove **vol.901**" in writable.confirm_text("901")
    assert writable.remove("901") == "Removed vol.901 “River parks” (new brief.md, 2 chunks)."
    assert not stored[0].exists()
    assert [row[0] for row in writable.library_rows()] == ["vol.697"]
    assert "No brief 901" in writable.remove("901")


def test_rendered_answer_escapes_html() -> None:
    from assistant.models import Answer, Sentence

    answer = Answer(
        question="<b>x</b>", sentences=(Sentence("<script>alert(1)</script>", claim=False),), refused=True
    )
    assert "<script>" not in render.answer_markdown(answer)
