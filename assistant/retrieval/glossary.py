"""A Korean-English glossary of planning terms, for keyword search across languages.

An English question about a Korean brief shares no words with it, so the keyword index cannot help
and only the multilingual vectors reach it (the weakest direction: "vacant houses" does not meet
"빈집"). The glossary names the question's planning terms in the other language, and that text is
searched in the keyword index among the other language's briefs, as one more ranking in the fusion
(`Retriever`). Terms are matched on search tokens (`keyword.tokenize`: stems and morphemes), so
"vacant houses" and "vacant housing" both find "빈집", and "빈집이" finds "vacant house".

On by default (`Settings.glossary`; `ASSISTANT_GLOSSARY=false` turns it off): see docs/STATUS.md,
sixteenth and seventeenth sessions.

`glossary.tsv` holds one pair a line, `korean<TAB>english`, written from general knowledge of
Korean urban, regional and land policy and the English names its institutions use, not from the
briefs this project is tested on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources

from assistant.indexing.keyword import tokenize

_FILE = "glossary.tsv"


class Glossary:
    """Pairs of terms; `render` puts the terms of a text into the other language."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        # language -> first token -> [(tokens, the other language's term)], longest first
        self._entries: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {"ko": {}, "en": {}}
        for korean, english in pairs:
            for language, source, target in (("ko", korean, english), ("en", english, korean)):
                tokens = tuple(tokenize(source))
                if tokens:
                    self._entries[language].setdefault(tokens[0], []).append((tokens, target))
        for table in self._entries.values():
            for entries in table.values():
                entries.sort(key=lambda entry: -len(entry[0]))
        self.size = sum(len(e) for table in self._entries.values() for e in table.values())

    @classmethod
    def parse(cls, text: str, source: str = _FILE) -> Glossary:
        """A glossary from `korean<TAB>english` lines (blank lines and `#` comments skipped)."""
        pairs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = [part.strip() for part in line.split("\t")]
            if len(parts) != 2 or not all(parts):
                raise ValueError(f"{source}, line {number}: expected 'korean<TAB>english', got {line!r}")
            pairs.append((parts[0], parts[1]))
        return cls(pairs)

    def render(self, text: str, language: str, keep: Callable[[tuple[str, ...]], bool] | None = None) -> str:
        """The other language's terms for the glossary terms in `text` (written in `language`, "ko"
        or "en"), each once, in the order found; "" when none. At each place the longest term
        matches, and a matched term's tokens are not matched again. `keep`: whether a matched term
        (its search tokens) counts; by default every term does."""
        table = self._entries.get(language)
        if not table:
            return ""
        tokens = tokenize(text)
        found: list[str] = []
        i = 0
        while i < len(tokens):
            entries = table.get(tokens[i], [])
            match = next((e for e, _ in entries if tuple(tokens[i : i + len(e)]) == e), None)
            if match is None:
                i += 1
                continue
            if keep is None or keep(match):
                # every term with those tokens (one English term can have several Korean ones)
                found += [target for e, target in entries if e == match]
            i += len(match)
        return " ".join(dict.fromkeys(found))


@lru_cache(maxsize=1)
def bundled() -> Glossary:
    """The glossary that ships with the package."""
    text = resources.files("assistant.retrieval").joinpath(_FILE).read_text(encoding="utf-8")
    return Glossary.parse(text)
