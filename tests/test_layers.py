"""The package's rooms import one way: connector -> ingest -> quality/search, wiring on top.

Read from the source with ``ast``, so a lazy import inside a function counts as much as one at
the top of a module: a room that needs to reach back up the chain shows up here, by file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aura_platform"

BASE = {"settings", "config", "warehouse"}
# room -> the rooms (besides itself) it may import
ALLOWED: dict[str, set[str]] = {
    "settings": set(),
    "config": {"settings"},
    "warehouse": {"settings", "config"},
    "sources": BASE,
    "ingest": BASE | {"sources"},
    "quality": BASE | {"ingest"},
    "search": BASE,
    "execution": {"settings"},
    "ops": BASE | {"sources", "ingest", "quality", "search"},
    "defs": BASE | {"sources", "ingest", "quality", "search", "ops", "execution"},
    "definitions": {"settings", "execution", "defs"},
    "cli": BASE
    | {"sources", "ingest", "quality", "search", "ops", "execution", "defs", "definitions"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name ``path`` imports, with its line, lazy imports included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _room(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def test_every_module_lives_in_a_known_room() -> None:
    assert {_room(p) for p in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_rooms_at_or_below_its_own(path: Path) -> None:
    room = _room(path)
    wrong = [
        f"line {line}: {module}"
        for line, module in _imports(path)
        if module.startswith("aura_platform.")
        and (target := module.split(".")[1]) != room
        and target not in ALLOWED[room]
    ]
    assert not wrong, f"{path.relative_to(PACKAGE)} ({room}) reaches up the chain: {wrong}"


# The demo extra's in-memory MongoDB, behind the ``mongomock:///<folder>`` stand-in URL only.
MONGOMOCK_HOME = PACKAGE / "sources" / "mongo.py"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_command_line_knows_the_demo(path: Path) -> None:
    """The demo generator is never on a production run's path, nor its extra's mongomock."""
    demo = [
        f"line {line}: {module}"
        for line, module in _imports(path)
        if module.split(".")[0] == "aura_demo"
        or (module.split(".")[0] == "mongomock" and path != MONGOMOCK_HOME)
    ]
    assert _room(path) == "cli" or not demo, f"{path.relative_to(PACKAGE)} imports {demo}"


def test_mongomock_is_imported_only_when_a_stand_in_url_is_opened() -> None:
    """Not at the top of the module: a real MongoDB's path never needs the demo extra."""
    tree = ast.parse(MONGOMOCK_HOME.read_text())
    top_level = [
        alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names
    ]
    assert "mongomock" not in top_level
