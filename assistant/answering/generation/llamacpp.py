"""A langchain chat model over the local GGUF model (llama.cpp through xllamacpp), for phrased answers.

It uses the same model and runtime as the reader (`assistant/answering/runtime.py`), loaded once per process:
by default the packaged Qwen2.5-Coder-1.5B-Instruct; `ASSISTANT_LLM_MODEL_PATH` names another GGUF.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.answering.runtime import LocalModel, chat_prompt

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_END = "<|im_end|>"


def chatml(messages: list[BaseMessage]) -> str:
    """The conversation in the model's chat format, ending where the assistant's reply begins."""
    return chat_prompt([(_ROLES.get(m.type, "user"), str(m.content)) for m in messages])


class LocalChat(BaseChatModel):
    """Chat completion with the local model (greedy decoding, so answers are repeatable)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model: LocalModel
    max_tokens: int = 256

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.model.complete(chatml(messages), max_tokens=self.max_tokens, stop=[_END, *(stop or [])])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in self.model.stream(
            chatml(messages), max_tokens=self.max_tokens, stop=[_END, *(stop or [])]
        ):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
