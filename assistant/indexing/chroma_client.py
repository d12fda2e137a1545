"""Connecting to Chroma, and Chroma's failures as our errors: the client (an embedded folder or a
server), the guard that turns any chromadb exception into a `StoreError` naming where the index is,
the layout and model check of an opened collection, and the filter compiled to a Chroma `where`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError, StoreError, storage_failure
from assistant.models import SearchFilter
from assistant.reading.metadata import date_key

LAYOUT_VERSION = 1
_NO_INDEX_HINT = "build it first: assistant ingest corpus/ (or make run)"


def connect(settings: Settings, location: str, *, create: bool) -> tuple[Any, Explainer]:
    """A guarded chromadb client for the settings' index, and the explainer of its failures."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    folder = None if settings.chroma_url else settings.store_dir / "chroma"
    explain = Explainer(location, folder, settings.chroma_url)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            headers = {}
            if settings.chroma_token:
                headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        else:
            assert folder is not None
            if not create and not folder.exists():
                raise StoreError(f"there is no index in {settings.store_dir}", hint=_NO_INDEX_HINT)
            client = chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:
        raise explain(exc) from exc
    return Guarded(client, explain), explain


def check_layout(meta: dict[str, Any], location: str, model_name: str, dimension: int) -> None:
    """An opened chunk collection must be of this layout and built with the configured model."""
    layout = meta.get("layout")
    if layout != LAYOUT_VERSION:
        raise EmbeddingMismatchError(
            f"the index at {location} has layout {layout}; this version reads layout {LAYOUT_VERSION}",
            hint="rebuild it: assistant ingest --rebuild corpus/",
        )
    model, dim = meta.get("embedding_model"), meta.get("embedding_dim")
    if model != model_name or dim != dimension:
        raise EmbeddingMismatchError(
            f"the index at {location} was built with {model} ({dim} dimensions); "
            f"the configured model is {model_name} ({dimension} dimensions)",
            hint=(
                "re-index with the configured model: assistant ingest --rebuild corpus/ "
                "(or set ASSISTANT_EMBEDDING_MODEL back to the model that built it)"
            ),
        )


def no_index(location: str) -> StoreError:
    return StoreError(f"the index at {location} is empty", hint=_NO_INDEX_HINT)


def chroma_where(flt: SearchFilter | None) -> dict[str, Any] | None:
    """The filter as a Chroma `where` clause (it must mean what `records.matches` says)."""
    if flt is None or flt.empty:
        return None
    clauses: list[dict[str, Any]] = []
    if flt.doc_ids:
        clauses.append({"doc_id": {"$in": list(flt.doc_ids)}})
    if flt.date_from:
        clauses.append({"date_key": {"$gte": date_key(flt.date_from)}})
    if flt.date_to:
        clauses.append({"date_key": {"$lte": date_key(flt.date_to)}})
    if flt.volume_min is not None:
        clauses.append({"volume_num": {"$gte": flt.volume_min}})
    if flt.volume_max is not None:
        clauses.append({"volume_num": {"$lte": flt.volume_max}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Explainer:
    """Turns a failure inside chromadb into a StoreError that says what and where."""

    def __init__(self, location: str, folder: Path | None, url: str | None) -> None:
        self.location, self.folder, self.url = location, folder, url

    def __call__(self, exc: BaseException) -> StoreError:
        return storage_failure(
            exc, what=f"the vector store at {self.location}", folder=self.folder, url=self.url
        )


class Guarded:
    """A chromadb client or collection whose calls raise StoreError instead of the backend's errors."""

    def __init__(self, target: Any, explain: Explainer) -> None:
        self._target = target
        self._explain_failure = explain

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                raise self._explain_failure(exc) from exc

        return call
