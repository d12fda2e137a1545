"""The vector index contract (tests/index_contract.py) on each backend: the embedded Chroma store, a
Chroma server (`chroma run`, started by the session on 127.0.0.1) and the in-memory index."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.indexing.index import INDEXES, VectorIndex, index_backend
from tests.conftest import make_settings
from tests.index_contract import DIMENSION, MODEL, IndexContract, Reopen


def _open(settings: Settings, *, create: bool) -> VectorIndex:
    return index_backend(settings).open(settings, MODEL, DIMENSION, create)


class _Backend(IndexContract):
    def settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        raise NotImplementedError

    @pytest.fixture
    def backend_settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        return self.settings(tmp_path, request)

    @pytest.fixture
    def index(self, backend_settings: Settings) -> VectorIndex:
        return _open(backend_settings, create=True)

    @pytest.fixture
    def reopen(self, backend_settings: Settings, index: VectorIndex) -> Reopen:
        return lambda: _open(backend_settings, create=False)


class TestEmbeddedChroma(_Backend):
    def settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        return make_settings(tmp_path)


class TestChromaServer(_Backend):
    def settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        url = request.getfixturevalue("chroma_url")
        return make_settings(tmp_path, chroma_url=url, namespace=f"c{uuid.uuid4().hex[:10]}")


class TestMemoryIndex(_Backend):
    def settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        return make_settings(tmp_path, index="memory")


def test_every_registered_backend_runs_the_contract() -> None:
    covered = {"chroma", "memory"}
    assert set(INDEXES) == covered, "a new backend needs a test class above"
