"""Prompt templates: shipped with the package, their variables checked at load, and written in the
model's chat format (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.prompts import EXPECTED, load_prompt
from assistant.answering.runtime import chat_prompt
from assistant.errors import ConfigError


def test_every_shipped_template_loads_with_the_variables_its_code_fills_in() -> None:
    for name in EXPECTED:
        prompt = load_prompt(name)
        assert prompt.system.strip() and prompt.user.strip(), name


def test_a_template_with_other_variables_or_no_user_part_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "reader-extract.txt").write_text("### system\nS\n### user\n{question} {passage}\n")
    with pytest.raises(ConfigError, match=r"reader-extract\.txt: variables \['passage', 'question'\]"):
        load_prompt("reader-extract", tmp_path)
    (tmp_path / "translate.txt").write_text("### system\nOnly a system part {source} {target} {text}\n")
    with pytest.raises(ConfigError, match=r"translate\.txt: needs a '### system' and a '### user' part"):
        load_prompt("translate", tmp_path)


def test_a_conversation_is_written_in_the_models_chat_format_up_to_the_next_reply() -> None:
    prompt = chat_prompt([("system", "S"), ("user", "Q"), ("assistant", "A"), ("user", "Sure?")], "Y")
    assert prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
        "<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nSure?<|im_end|>\n<|im_start|>assistant\nY"
    )
