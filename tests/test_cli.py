"""The `assistant` command end to end, as a user runs it: real process, real model, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

ASSISTANT = Path(sys.executable).parent / "assistant"


def run(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(ASSISTANT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_ingest_search_stats_and_exit_codes(tmp_path: Path) -> None:
    store = tmp_path / "vs"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "vol697.txt").write_bytes((CORPUS / "vol697.txt").read_bytes())

    first = run("ingest", str(corpus), store=store)
    assert first.returncode == 0, first.stderr
    assert "1 added" in first.stdout and "0 failed" in first.stdout

    again = run("ingest", str(corpus), "--json", store=store)
    report = json.loads(again.stdout)
    assert again.returncode == 0
    assert report["counts"]["unchanged"] == 1 and report["embedded"] == 0

    found = run("search", "manufacturing innovation institutes in the USA", "--json", "-k", "3", store=store)
    passages = json.loads(found.stdout)
    assert found.returncode == 0 and passages[0]["volume"] == "697"
    assert {"doc_id", "volume", "title", "date", "section", "source", "page", "text", "score"} <= set(
        passages[0]
    )

    (corpus / "broken.pdf").write_bytes(b"not a pdf at all")
    partial = run("ingest", str(corpus), store=store)
    assert partial.returncode == 1
    assert "broken.pdf" in partial.stderr and "not a PDF" in partial.stderr

    stats = json.loads(run("stats", "--json", store=store).stdout)
    assert (
        stats["briefs"] == 1
        and stats["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2@onnx-int8"
    )


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("ingest", str(tmp_path / "nope"), store=tmp_path / "vs")
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    bad_option = run("search", "x", "-k", "many", store=tmp_path / "vs")
    assert bad_option.returncode == 2
    bad_date = run("search", "x", "--since", "last year", store=tmp_path / "vs")
    assert bad_date.returncode == 2 and "YYYY" in bad_date.stderr


def test_search_without_index_explains(tmp_path: Path) -> None:
    result = run("search", "housing", store=tmp_path / "empty")
    assert result.returncode == 1
    assert "assistant ingest" in result.stderr
