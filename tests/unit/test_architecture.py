"""The layering of STYLE.md, checked on every run: imports point down only, SQL stays in storage."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cogs").rglob("*.py")])
# SELECT matches in capitals only (prose says "select a movie from"); the rest in any case.
SQL = re.compile(
    r"\bSELECT\s.+\sFROM\b"
    r"|(?i:\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b)",
    re.S,
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parts[:2])


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_there_is_something_to_check() -> None:
    assert len(SOURCES) > 15


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    imports = _imports(path)
    top = {name.split(".")[0] for name in imports}
    layer = _layer(path)
    if layer == "bot.domain":
        assert not top & {"discord", "aiosqlite", "sqlite3"}, "domain is pure"
        assert not any(
            n.startswith(("bot.services", "bot.storage", "bot.ui", "cogs")) for n in imports
        )
    if layer == "bot.services":
        assert "discord" not in top, "services never import discord"
        assert not any(n.startswith(("bot.ui", "cogs", "bot.client")) for n in imports)
    if layer == "bot.storage":
        assert "discord" not in top
        assert not any(n.startswith(("bot.services", "bot.ui", "cogs")) for n in imports)
    if path.parts[-2] == "cogs":
        assert not top & {"aiosqlite", "sqlite3"}, "cogs never touch the database"
        assert not any(n.startswith("cogs.") for n in imports), "a cog never reaches into another"
        assert not any(n.startswith("bot.storage") for n in imports), "cogs go through services"
    if layer == "bot.ui":
        assert not top & {"aiosqlite", "sqlite3"} and not any(n.startswith("cogs") for n in imports)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_lives_only_in_storage(path: Path) -> None:
    if _layer(path) == "bot.storage":
        return
    offending = [s[:60] for s in _strings(path) if SQL.search(s)]
    assert offending == []


def test_the_sql_detector_detects_sql() -> None:
    assert SQL.search("SELECT id FROM movies")
    assert SQL.search("delete from ratings where x")
    assert not SQL.search("Select a movie from the list")
