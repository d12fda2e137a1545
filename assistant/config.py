"""One settings object, read from `ASSISTANT_*` environment variables and `.env`.

It is built once by the CLI (or a test) and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration. Environment variable = `ASSISTANT_` + field name in upper case."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where things live
    store_dir: Path = Field(Path("vectorstore"), description="folder of the persisted index")
    corpus_dir: Path = Field(Path("corpus"), description="default folder for `assistant ingest`")
    data_dir: Path = Field(Path("data"), description="the app's own folder for uploads and reports")
    testset_dirs: list[Path] = Field(
        default_factory=lambda: [Path("tests/data"), Path("../shared/briefs")],
        description="folders whose qa*.jsonl / qa*.csv files the Evaluate tab offers",
    )
    index: str = Field(
        "chroma",
        description="vector index backend (INDEXES in indexing/index.py): chroma, memory (this process only)",
    )
    chroma_url: str | None = Field(None, description="a Chroma server URL; unset = embedded store")
    chroma_token: SecretStr | None = Field(None, description="auth token sent to the Chroma server")
    namespace: str = Field(
        "",
        pattern=r"^[A-Za-z0-9._-]{0,40}$",
        description="prefix of the collection names (several indexes, one server)",
    )

    # Reading and chunking
    max_file_mb: float = Field(20.0, gt=0, description="files larger than this are refused")
    # Per-brief limits, far above any real brief (a policy brief runs to a few dozen pages and about
    # 20-150 passages), so that one oversized upload cannot take the machine or crowd out the rest.
    max_pages: int = Field(300, ge=1, description="PDFs with more pages are refused unread")
    max_chunks: int = Field(2000, ge=1, description="briefs that split into more passages are refused")
    near_duplicate: float = Field(
        0.8,
        gt=0,
        le=1.0,
        description="a new brief whose word sequences are this much an indexed brief's is held back",
    )
    chunk_tokens: int = Field(
        200, ge=32, le=512, description="target chunk size in the embedding model's tokens"
    )

    # Embedding
    embedding_model: str = Field(
        "minilm", description="minilm (int8 ONNX), minilm-torch (sentence-transformers), e5 (multilingual)"
    )
    model_dir: Path = Field(
        Path("~/.cache/krihs-assistant"), description="where exported model files are kept"
    )
    embed_batch_size: int = Field(32, ge=1)

    # Retrieval
    top_k: int = Field(5, ge=1, le=100)
    candidates: int = Field(40, ge=5, le=500, description="results taken from each retriever before fusion")
    rrf_k: int = Field(60, ge=1)
    keyword_weight: float = Field(
        2.0, ge=0, description="weight of the keyword ranking in the fusion (dense ranking weighs 1)"
    )

    # Answering
    # Backends are named here and looked up in their registries (GENERATORS in
    # answering/generation/__init__.py, READERS in answering/reader.py), which say an unknown name's
    # choices; adding a backend changes no line of this file.
    generator: str = Field("extractive", description="extractive (quotes), llamacpp, openai")
    reader: str = Field(
        "local",
        description="what judges whether a passage answers: local (the packaged Qwen2.5 1.5B GGUF), "
        "openai (an OpenAI-compatible server with log-probabilities: ASSISTANT_OPENAI_*), none",
    )
    llm_threads: int = Field(2, ge=1, le=64, description="CPU threads of the local language model")
    multilingual: bool = Field(
        True,
        description="also index one multilingual (e5) vector per brief, so that Korean questions find "
        "English briefs and English questions find Korean ones",
    )
    history_turns: int = Field(4, ge=0, le=20, description="previous turns a follow-up question may use")
    translate_questions: bool = Field(
        True,
        description="a question in another language than English is also put into English by the "
        "reader's model (about 1.5 s) to search the English briefs; off: the multilingual route alone",
    )
    glossary: bool = Field(
        True,
        description="an English question with no close English passage is also searched among the "
        "Korean briefs by its planning terms put into Korean (assistant/retrieval/glossary.tsv); the "
        "answer policy was fitted with it on",
    )
    rewrite_follow_ups: bool = Field(
        True,
        description="a follow-up refused both within the conversation's briefs and on its own is "
        "rewritten by the reader's model to stand alone and read once more (about 1 s for the rewrite "
        "and 2-3 s for the reading, only on that path); off: such a follow-up is refused at once",
    )
    split_questions: bool = Field(
        True,
        description="a refused question that asks two things ('..., and what ...?', '... about A and "
        "about B?', '...이고, ...은 무엇인가?') is split: the first part is asked within the briefs found "
        "for the whole, the second as its follow-up, and the question is answered only if both are "
        "(one or two readings more, only on that path); when its parts set different filters ('...(KEI "
        "study), and what did vol.717 develop?'), each part is also searched with its own, and its best "
        "brief joins the whole question's ranking; off: neither",
    )
    render_across_languages: bool = Field(
        False,
        description="above quotes in another language than the question's, one line in the question's "
        "language written by the reader's model; off: a plain 'According to vol.N (quoted in English)' "
        "line. Off by default: reviewed by hand, 16 of 31 lines the packaged 1.5B model wrote misread the "
        "quotes, added to them or only repeated the question (docs/renderings-review.md); turn it on with "
        "a stronger model",
    )
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = None
    llm_model_path: Path | None = None
    max_question_chars: int = Field(2000, ge=10)

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth_user: str | None = None
    auth_password: SecretStr | None = None
    concurrency: int = Field(4, ge=1, le=64)
    max_upload_mb: float = Field(20.0, gt=0)

    # Writers wait this long for another writer before giving up with a message (with start-up, the
    # command ends within 5 s instead of hanging).
    lock_timeout_s: float = Field(3.0, ge=0)
