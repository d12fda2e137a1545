"""Imports run one way along the flow: brief file → Brief → Chunk → index → Passage → decision → Answer.

Each package of `assistant/` has a layer; a module may import its own layer and those below it, never
one above (a lazy import inside a function counts too). The table is the one in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
LAYERS: dict[str, int] = {
    # the shared vocabulary: settings, errors, the dataclasses that cross every boundary
    "config": 0,
    "errors": 0,
    "models": 0,
    "percentiles": 0,
    "failpoints": 0,  # fault injection for crash tests (off unless ASSISTANT_FAILPOINTS is set)
    "templates": 0,
    "reading": 1,  # a file becomes a Brief
    "indexing": 2,  # a Brief becomes chunks, vectors and keyword rows
    "retrieval": 3,  # a question becomes ranked Passages
    "answering": 4,  # Passages become a decision and an Answer
    "library": 5,  # the composition root: opens the index and wires the steps
    "evaluation": 5,  # test sets run through an assistant
    "feedback": 5,  # ratings, refusals and staff labels; the review queue and uncovered topics
    "ui": 6,
    "cli": 7,
}
SIBLINGS_APART = {  # same layer, none needs another
    (a, b)
    for a in ("library", "evaluation", "feedback")
    for b in ("library", "evaluation", "feedback")
    if a != b
}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "assistant" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "assistant":
                found += [(node.lineno, f"assistant.{alias.name}") for alias in node.names]
    return found


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    parts -= {"py", "__pycache__"}
    parts = {p for p in parts if (PACKAGE / p).is_dir() or (PACKAGE / f"{p}.py").exists()}
    assert parts <= set(LAYERS), f"give these a layer in tests/test_layers.py: {sorted(parts - set(LAYERS))}"


def test_imports_run_one_way() -> None:
    upward: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if here not in LAYERS:
            continue
        for line, module in _imports(path):
            there = _part(module)
            if there is None or there == here or there not in LAYERS:
                continue
            if LAYERS[there] > LAYERS[here] or (here, there) in SIBLINGS_APART:
                upward.append(
                    f"assistant/{path.relative_to(PACKAGE)}:{line} ({here}) imports {module} ({there})"
                )
    assert upward == [], "imports that run against the flow:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an import from a higher layer is found, also inside a function."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from assistant.answering.qa import Assistant\n", encoding="utf-8")
    assert (2, "assistant.answering.qa") in _imports(module)
    assert LAYERS[_part("assistant.answering.qa") or ""] > LAYERS["indexing"]
