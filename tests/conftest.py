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


@pytest.fixture(scope="session")
def shared_briefs() -> Path:
    if not (SHARED_BRIEFS / "vol_697.txt").exists():
        pytest.skip(f"needs the real briefs in {SHARED_BRIEFS} (../shared/briefs beside the clone)")
    return SHARED_BRIEFS


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
