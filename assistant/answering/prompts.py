"""Prompt templates shipped with the package (`assistant/templates/*.txt`), loaded by name through
`importlib.resources` (so a wheel install has them too), with their variables checked at load.

A template has `### system` and `### user` parts; `{name}` marks a variable. A template whose variables
differ from what the code fills in is a configuration error naming the file, found at start-up rather
than in the middle of an answer. A folder of one's own can be given to try other wording.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assistant.errors import ConfigError

EXPECTED = {
    "answer": {"language", "passages", "question"},
    "condense": {"history", "question"},
    "follow-up": {"previous", "brief", "question"},
    "reader-answers": {"question", "brief", "excerpt"},
    "reader-extract": {"question", "brief", "excerpt"},
    "reader-supports": {"brief", "passage", "claim"},
    "render": {"language", "question", "brief", "quotes"},
    "translate": {"source", "target", "text"},
}
_PART = re.compile(r"^###\s*(system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        return self.system.format(**values).strip(), self.user.format(**values).strip()

    def messages(self, **values: str) -> list[tuple[str, str]]:
        """The rendered template as a chat's (role, content) messages."""
        system, user = self.render(**values)
        return [("system", system), ("user", user)]


def load_prompt(name: str, folder: Path | None = None) -> Prompt:
    """The template `name`, from the package (or from `folder`, to try other wording)."""
    path = f"{name}.txt"
    source = folder / path if folder is not None else resources.files("assistant.templates") / path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"prompt template {path} cannot be read ({exc})", hint="reinstall the package (make install)"
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
