"""Shared fixtures. Tests run the real MiniLM model and a real Chroma store in temporary folders.

Tests marked `shared` read the real briefs in ../shared/briefs (beside the clone, as CI has it);
without that folder they are skipped with a reason saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.indexing.embeddings import Embedder, make_embeddings
from assistant.library import Library

ROOT = Path(__file__).resolve().parents[1]
SHARED_BRIEFS = ROOT.parent / "shared" / "briefs"
CORPUS = ROOT / "corpus"
DATA = ROOT / "tests" / "data"
# A small library that needs nothing outside the clone: vol.697 (the brief in corpus/), three
# fictional English briefs and one fictional Korean brief written as fixtures (each says so).
SMALL_BRIEFS = (
    CORPUS / "vol697.txt",
    *sorted((DATA / "small").glob("vol*.txt")),
    DATA / "ko" / "brief_901.txt",
)


@pytest.fixture(scope="session")
def shared_briefs() -> Path:
    if not (SHARED_BRIEFS / "vol_697.txt").exists():
        pytest.skip(f"needs the real briefs in {SHARED_BRIEFS} (../shared/briefs beside the clone)")
    return SHARED_BRIEFS


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server (`chroma run`) on 127.0.0.1 for the whole session, stopped after."""
    from tests.servers import start_chroma, stop

    process, url = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedding model (all-MiniLM-L6-v2, int8 ONNX), loaded once for the whole run."""
    return make_embeddings(Settings(_env_file=None))  # type: ignore[call-arg]


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "store_dir": tmp / "store",
        "data_dir": tmp / "data",
        "corpus_dir": CORPUS,
        "lock_timeout_s": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def briefs_index(
    tmp_path_factory: pytest.TempPathFactory, shared_briefs: Path, embedder: Embedder
) -> Settings:
    """Settings of an index built once from a copy of ../shared/briefs (read-only for tests)."""
    tmp = tmp_path_factory.mktemp("briefs-index")
    copy = tmp / "briefs"
    shutil.copytree(shared_briefs, copy)
    settings = make_settings(tmp)
    with Library.open(settings, write=True, embedder=embedder) as library:
        report = library.ingest([copy])
    assert report.exit_code == 0, report.summary()
    return settings


@pytest.fixture
def briefs_library(briefs_index: Settings, embedder: Embedder) -> Iterator[Library]:
    with Library.open(briefs_index, embedder=embedder) as library:
        yield library


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings of an in-memory index of the small library, built once (about 30 passages)."""
    tmp = tmp_path_factory.mktemp("small-index")
    folder = tmp / "briefs"
    folder.mkdir()
    for path in SMALL_BRIEFS:
        shutil.copy(path, folder)
    settings = make_settings(tmp, index="memory")
    with Library.open(settings, write=True, embedder=embedder) as library:
        report = library.ingest([folder])
    assert report.exit_code == 0 and report.count("added") == len(SMALL_BRIEFS), report.summary()
    return settings


@pytest.fixture
def small_library(small_index: Settings, embedder: Embedder) -> Iterator[Library]:
    with Library.open(small_index, embedder=embedder) as library:
        yield library
