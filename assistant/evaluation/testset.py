"""Test sets: JSON Lines or CSV, one question per line, validated line by line.

Fields: `question` (required), `volume` (a doc id, a list of them, or null = the briefs do not answer
it and the assistant must refuse), `answer` and `evidence` (optional; evidence may be a list, one quote
per brief), `conversation` and `turn` (optional: the lines of one conversation are asked in turn
order, each with the earlier turns as history). Unknown fields are kept.
A bad line is reported with its line number and skipped; the rest of the set still runs.
In CSV, an empty `volume` cell means null and several ids are separated by ";" or ",".
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import TestSetError


@dataclass(frozen=True)
class TestCase:
    """One question and what a correct run looks like."""

    __test__ = False  # not a pytest class

    line: int
    question: str
    expected: tuple[str, ...] | None  # None: the briefs do not answer it
    answer: str | None = None
    evidence: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        return self.expected is not None


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def load_testset(path: Path) -> tuple[list[TestCase], list[LineError]]:
    """Read a test set; raises `TestSetError` only when the file as a whole cannot be used."""
    cases, errors = read_lines(path)
    if not cases:
        detail = f"; first problem: {errors[0]}" if errors else ""
        raise TestSetError(
            f"{path.name}: no valid question in the file{detail}",
            hint='each line needs at least {"question": "...", "volume": "697" | ["616", "642"] | null}',
        )
    return cases, errors


def read_lines(path: Path) -> tuple[list[TestCase], list[LineError]]:
    """Every usable line and every problem, by line; raises `TestSetError` for an unreadable file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise TestSetError(f"{path.name}: no such test set file") from exc
    except OSError as exc:
        raise TestSetError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TestSetError(
            f"{path.name}: not UTF-8 text (byte offset {exc.start})", hint="save it as UTF-8"
        ) from exc
    if path.suffix.lower() == ".csv":
        return _from_csv(text)
    return _from_jsonl(text)


def _from_jsonl(text: str) -> tuple[list[TestCase], list[LineError]]:
    cases: list[TestCase] = []
    errors: list[LineError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(row, dict):
            errors.append(LineError(number, f"expected a JSON object, got {type(row).__name__}"))
            continue
        _add(row, number, cases, errors)
    return cases, errors


def _from_csv(text: str) -> tuple[list[TestCase], list[LineError]]:
    cases: list[TestCase] = []
    errors: list[LineError] = []
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in reader.fieldnames:
        return [], [LineError(1, "the CSV header has no 'question' column")]
    for row in reader:
        number = reader.line_num
        if None in row:
            errors.append(LineError(number, "more cells than header columns"))
            continue
        volume = (row.get("volume") or "").strip()
        parsed: Any = None
        if volume.startswith("["):
            try:
                parsed = json.loads(volume)
            except json.JSONDecodeError:
                errors.append(LineError(number, "volume: not a valid JSON list"))
                continue
        elif volume:
            parts = [p.strip() for p in volume.replace(";", ",").split(",") if p.strip()]
            parsed = parts[0] if len(parts) == 1 else parts
        values: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
        values["volume"] = parsed
        for name in ("answer", "evidence"):
            if values.get(name) == "":
                values[name] = None
        _add(values, number, cases, errors)
    return cases, errors


def _add(row: dict[str, Any], number: int, cases: list[TestCase], errors: list[LineError]) -> None:
    question = row.get("question")
    if "question" not in row:
        errors.append(LineError(number, "missing field 'question'"))
        return
    if not isinstance(question, str) or not question.strip():
        errors.append(LineError(number, f"'question' must be non-empty text, got {question!r:.60}"))
        return
    if "volume" not in row:
        errors.append(
            LineError(number, "missing field 'volume' (use null for questions the briefs don't answer)")
        )
        return
    expected = _expected(row["volume"])
    if isinstance(expected, str):
        errors.append(LineError(number, expected))
        return
    evidence = row.get("evidence")
    if isinstance(evidence, list) and all(isinstance(e, str) for e in evidence):
        evidence = " [...] ".join(evidence)  # one quote per expected brief: each must be found
    for name, value in (("answer", row.get("answer")), ("evidence", evidence)):
        if value is not None and not isinstance(value, str):
            errors.append(LineError(number, f"'{name}' must be text or null, got {type(value).__name__}"))
            return
    turn = row.get("turn")
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int) or turn < 1):
        errors.append(LineError(number, f"'turn' must be a whole number from 1, got {turn!r:.30}"))
        return
    if turn is not None and row.get("conversation") is None:
        errors.append(LineError(number, "'turn' needs a 'conversation' id on the same line"))
        return
    extra = {k: v for k, v in row.items() if k not in ("question", "volume", "answer", "evidence")}
    cases.append(TestCase(number, question.strip(), expected, row.get("answer"), evidence, extra))


def _expected(volume: Any) -> tuple[str, ...] | str | None:
    """Normalised expected ids, None for 'must refuse', or an error message."""
    if volume is None:
        return None
    items = volume if isinstance(volume, list) else [volume]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            return f"'volume' must be an id, a list of ids or null, got {json.dumps(volume)[:60]}"
        text = str(item).strip()
        if text.lower().startswith("vol."):
            text = text[4:]
        if not text:
            return "'volume' has an empty id"
        out.append(str(int(text)) if text.isdigit() else text)
    if not out:
        return "'volume' is an empty list (use null for questions the briefs don't answer)"
    return tuple(dict.fromkeys(out))
