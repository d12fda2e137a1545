"""Chroma server mode: the store and retrieval contract on both backends, replicas that stay in step,
and backup and restore as the README's deployment section describes them.

`chroma run` (from the chromadb package) is started by these tests on 127.0.0.1, on a free port with its
own temporary folder, and stopped after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.indexing.embeddings import Embedder
from assistant.library import Library
from assistant.models import SearchFilter
from tests.conftest import CORPUS, make_settings
from tests.servers import start_app, start_chroma, stop

BIN = Path(sys.executable).parent
BRIEF = (
    "brief view\nTITLE {title}\nVolume vol.{vol} DATE 2021-05-03 HIT 1\n\n{title}\n\n"
    "Kim Test, Research Fellow, KRIHS\n\n(Current issue) {body}\n\nPolicy proposals\n\n1. Plant more trees.\n"
)


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh index on each backend (a namespace of its own on the shared server)."""
    if request.param == "embedded":
        return make_settings(tmp_path)
    url = request.getfixturevalue("chroma_url")
    return make_settings(tmp_path, chroma_url=url, namespace=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "briefs"
    src.mkdir()
    shutil.copy(CORPUS / "vol697.txt", src)
    (src / "a.txt").write_text(
        BRIEF.format(vol=901, title="River parks", body="Cities get hotter in summer.")
    )
    return src


# -- the contract, on both backends ----------------------------------------------------------------
def test_ingest_is_idempotent_and_incremental(backend: Settings, embedder: Embedder, folder: Path) -> None:
    with Library.open(backend, write=True, embedder=embedder) as library:
        first = library.ingest([folder])
        again = library.ingest([folder])
        assert first.count("added") == 2 and again.count("unchanged") == 2 and again.embedded == 0
        (folder / "a.txt").write_text(
            BRIEF.format(vol=901, title="River parks", body="Rivers flood more often.")
        )
        changed = library.ingest([folder])
        assert changed.count("updated") == 1
        texts = [p.text for p in library.search("rivers flood", k=20)]
        assert any("flood" in t for t in texts) and not any("hotter" in t for t in texts)
        (folder / "a.txt").unlink()
        removed = library.ingest([folder])
        stats = library.stats()
    assert removed.count("removed") == 1
    assert [r.doc_id for r in stats.records] == ["697"]
    assert stats.chunks == stats.keyword_chunks == stats.records[0].chunks


def test_search_filters_and_answers(backend: Settings, embedder: Embedder, folder: Path) -> None:
    with Library.open(backend, write=True, embedder=embedder) as library:
        library.ingest([folder])
        assert library.search("manufacturing innovation institutes in the USA", k=3)[0].doc_id == "697"
        only = library.search("manufacturing", k=10, flt=SearchFilter(doc_ids=("901",)))
        assert {p.doc_id for p in only} == {"901"}
        dated = library.search("manufacturing", k=10, flt=SearchFilter(date_from="2020-01-01"))
        assert {p.doc_id for p in dated} == {"901"}
        answer = library.assistant().ask("What role do the US manufacturing innovation institutes play?")
        korean = library.assistant().ask("미국 제조혁신연구소의 역할은 무엇인가요?")
    assert {c.doc_id for c in answer.citations} == {"697"}
    assert {c.doc_id for c in korean.citations} == {"697"}


def test_interrupted_write_stays_invisible(backend: Settings, embedder: Embedder, folder: Path) -> None:
    from dataclasses import replace

    with Library.open(backend, write=True, embedder=embedder) as library:
        library.ingest([folder])
        record = library.records()["901"]
        library.store.mark_pending([replace(record, pending="e" * 64)])
        ghost = next(iter(library.store.iter_chunks(["901"])))
        from assistant.models import Chunk

        chunk = Chunk(
            "901:eeeeeeeeeeee:0000",
            "901",
            0,
            "GHOST passage about rivers",
            ghost.section,
            0,
            5,
            None,
            "901",
            ghost.title,
            ghost.date,
            ghost.source,
            "en",
            "e" * 64,
        )
        library.store.write_chunks([chunk], embedder.embed_passages([chunk.text]))
        library.store.invalidate()
        assert not any("GHOST" in p.text for p in library.search("GHOST passage about rivers", k=10))
        library.ingest([folder])  # rolls the pending brief forward
        assert library.records()["901"].pending == ""


# -- server only: replicas -------------------------------------------------------------------------
def test_a_second_replica_sees_what_the_first_wrote(
    chroma_url: str, tmp_path: Path, embedder: Embedder, folder: Path
) -> None:
    namespace = f"r{uuid.uuid4().hex[:10]}"
    writer = make_settings(tmp_path / "a", chroma_url=chroma_url, namespace=namespace)
    reader = make_settings(
        tmp_path / "b", chroma_url=chroma_url, namespace=namespace
    )  # its own keyword cache
    with Library.open(writer, write=True, embedder=embedder) as a:
        a.ingest([folder])
        with Library.open(reader, embedder=embedder) as b:
            assert b.search("manufacturing innovation institutes", k=1)[0].doc_id == "697"
            (folder / "b.txt").write_text(
                BRIEF.format(vol=902, title="Night buses", body="Night buses help shift workers.")
            )
            a.ingest([folder])
            time.sleep(1.2)  # replicas re-read the manifest's generation at most once a second
            found = b.search("night buses shift workers", k=3)
            assert found[0].doc_id == "902"
            assert b.keyword.search("night buses", 3)[0][0].startswith("902:")


@pytest.mark.slow
@pytest.mark.shared
def test_two_replicas_and_an_ingest_job_on_one_server(
    chroma_url: str, tmp_path: Path, shared_briefs: Path
) -> None:
    from gradio_client import Client

    namespace = f"d{uuid.uuid4().hex[:10]}"
    base_env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_NAMESPACE": namespace}
    corpus = tmp_path / "corpus"
    shutil.copytree(shared_briefs, corpus)
    job = subprocess.run(
        [str(BIN / "assistant"), "ingest", str(corpus)], env=base_env, capture_output=True, text=True
    )
    assert job.returncode == 0, job.stderr
    replicas, clients = [], []
    try:
        for i in range(2):
            extra = {"ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_NAMESPACE": namespace}
            process, url = start_app(None, tmp_path / f"replica-{i}", **extra)
            replicas.append(process)
            clients.append(Client(url + "/", verbose=False))
        for client in clients:
            assert len(client.predict(api_name="/briefs")) == 8
        (corpus / "vol_950.txt").write_text(
            BRIEF.format(vol=950, title="Night buses", body="Night buses help shift workers.")
        )
        job = subprocess.run(
            [str(BIN / "assistant"), "ingest", str(corpus), "--json"],
            env=base_env,
            capture_output=True,
            text=True,
        )
        assert job.returncode == 0 and json.loads(job.stdout)["counts"]["added"] == 1
        time.sleep(1.5)
        for client in clients:
            assert len(client.predict(api_name="/briefs")) == 9
            answer = client.predict("What do night buses do for shift workers?", api_name="/ask")
            assert {c["doc_id"] for c in answer["citations"]} == {"950"}
            old = client.predict(
                "What role do the US manufacturing innovation institutes play?", api_name="/ask"
            )
            assert {c["doc_id"] for c in old["citations"]} == {"697"}  # nothing lost
    finally:
        for process in replicas:
            stop(process)


@pytest.mark.slow
@pytest.mark.shared
def test_eval_runs_unchanged_against_the_server(chroma_url: str, tmp_path: Path, shared_briefs: Path) -> None:
    env = {
        **os.environ,
        "ASSISTANT_CHROMA_URL": chroma_url,
        "ASSISTANT_NAMESPACE": f"e{uuid.uuid4().hex[:10]}",
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    subprocess.run(
        [str(BIN / "assistant"), "ingest", str(shared_briefs)], env=env, check=True, capture_output=True
    )
    result = subprocess.run(
        [
            str(BIN / "assistant"),
            "eval",
            str(Path(__file__).parent / "data" / "qa-gate.jsonl"),
            "--json",
            "--retrieval-only",  # the answers against a server are checked above; the gate runs once
            "--fail-under",
            "hit@5=0.9",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["hit@5"] >= 0.9 and metrics["mrr"] >= 0.8


# -- the README's deployment section, followed as written ------------------------------------------
def test_backup_wipe_restore_gives_the_same_answers(tmp_path: Path, embedder: Embedder, folder: Path) -> None:
    data = tmp_path / "chroma-data"
    process, url = start_chroma(data)
    settings = make_settings(tmp_path / "app", chroma_url=url)
    question = "What role do the US manufacturing innovation institutes play?"
    try:
        with Library.open(settings, write=True, embedder=embedder) as library:
            library.ingest([folder])
            before = library.assistant().ask(question).to_dict()
    finally:
        stop(process)  # 1. stop the Chroma server
    backup = tmp_path / "chroma-backup.tar.gz"
    with tarfile.open(backup, "w:gz") as archive:  # 2. archive its --path folder
        archive.add(data, arcname="chroma-data")
    shutil.rmtree(data)  # (disaster)
    shutil.rmtree(tmp_path / "app")  # replicas' keyword caches are derived data: lose them too
    with tarfile.open(backup) as archive:  # 3. restore the folder and start the server again
        archive.extractall(tmp_path, filter="data")
    process, url = start_chroma(data)
    try:
        restored = settings.model_copy(update={"chroma_url": url})
        with Library.open(restored, embedder=embedder) as library:
            after = library.assistant().ask(question).to_dict()
            assert library.stats().briefs == 2
    finally:
        stop(process)
    assert after["answer"] == before["answer"] and after["citations"] == before["citations"]
