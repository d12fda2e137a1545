"""Prompt templates kept as files in `prompts/`, loaded by name, with their variables checked at load.

A template has `### system` and `### user` parts; `{name}` marks a variable. A template whose variables
differ from what the code fills in is a configuration error naming the file, found at start-up rather
than in the middle of an answer.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
EXPECTED = {
    "answer": {"language", "passages", "question"},
    "condense": {"history", "question"},
}
_PART = re.compile(r"^###\s*(system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        return self.system.format(**values).strip(), self.user.format(**values).strip()


def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> Prompt:
    path = folder / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"prompt template {path} cannot be read ({exc})", hint="restore it from git"
        ) from exc
    parts = _PART.split(text)
    sections = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ConfigError(f"{path}: needs a '### system' and a '### user' part")
    found = {f for part in sections.values() for _, f, _, _ in string.Formatter().parse(part) if f}
    expected = EXPECTED.get(name)
    if expected is not None and found != expected:
        raise ConfigError(
            f"{path}: variables {sorted(found)} do not match the expected {sorted(expected)}",
            hint="use exactly these {placeholders} in the template",
        )
    return Prompt(name, sections["system"], sections["user"])
