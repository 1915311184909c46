"""The layering of the house style, checked on every run: imports point down only, SQL stays in
storage, each feature's Discord side is one package, and ``bot/ui`` holds only shared pieces.

The rules are written as functions over a module's path and imports, so that the tests at the
bottom can show each rule failing on a made-up offender (a rule that cannot fail checks nothing).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cogs").rglob("*.py")])
FEATURES = ("club", "help", "movies", "ratings", "reviews", "spoilers", "watch")
DRIVERS = {"aiosqlite", "sqlite3", "asyncpg"}
# SELECT matches in capitals only (prose says "select a movie from"); the rest in any case.
SQL = re.compile(
    r"\bSELECT\s.+\sFROM\b"
    r"|(?i:\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b)",
    re.S,
)


def _imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # ``from cogs import ratings`` reaches ``cogs.ratings`` as surely as a dotted import.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _feature_of(module: str) -> str | None:
    """``cogs.reviews.poster`` -> ``reviews``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "cogs" and len(parts) > 1 else None


def violations(module: str, imports: set[str]) -> list[str]:
    """Every layering rule ``module`` breaks with these imports."""
    top = {name.split(".")[0] for name in imports}
    found: list[str] = []

    def reaches(*prefixes: str) -> list[str]:
        return sorted(n for n in imports if n.startswith(prefixes))

    if module.startswith("bot.domain"):
        if top & ({"discord"} | DRIVERS):
            found.append("domain imports discord or a database driver")
        if bad := reaches("bot.services", "bot.storage", "bot.ui", "bot.client", "cogs"):
            found.append(f"domain imports {bad}")
    if module.startswith("bot.services"):
        if "discord" in top or top & DRIVERS:
            found.append("a service imports discord or a database driver")
        if bad := reaches("bot.ui", "cogs", "bot.client"):
            found.append(f"a service imports {bad}")
    if module.startswith("bot.storage"):
        if "discord" in top:
            found.append("storage imports discord")
        if bad := reaches("bot.services", "bot.ui", "cogs", "bot.client"):
            found.append(f"storage imports {bad}")
    if module.startswith("bot.ui"):
        if top & DRIVERS or (bad := reaches("bot.storage")):
            found.append("bot/ui imports storage")
        if bad := reaches("cogs", "bot.client"):
            found.append(f"bot/ui imports {bad}")
    feature = _feature_of(module)
    if module.startswith("cogs"):
        if top & DRIVERS or reaches("bot.storage"):
            found.append("a cog imports storage (cogs go through services)")
        others = {_feature_of(n) for n in reaches("cogs.")} - {feature}
        if others:
            found.append(f"cogs.{feature} reaches into another feature: {sorted(map(str, others))}")
    return found


def sql_outside_storage(module: str, source: str) -> list[str]:
    if module.startswith("bot.storage"):
        return []
    tree = ast.parse(source)
    strings = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    return [s[:60] for s in strings if SQL.search(s)]


# -- the real code ---------------------------------------------------------------------------------
def test_there_is_something_to_check() -> None:
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    assert violations(_module(path), _imports(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_lives_only_in_storage(path: Path) -> None:
    assert sql_outside_storage(_module(path), path.read_text(encoding="utf-8")) == []


def test_each_feature_is_one_package_with_a_tiny_setup() -> None:
    cogs = ROOT / "cogs"
    loose = sorted(p.name for p in cogs.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "every feature's Discord side is a package under cogs/"
    packages = sorted(p.name for p in cogs.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(FEATURES)
    for feature in FEATURES:
        init = (cogs / feature / "__init__.py").read_text(encoding="utf-8")
        tree = ast.parse(init)
        setups = [n for n in tree.body if isinstance(n, ast.AsyncFunctionDef) and n.name == "setup"]
        assert len(setups) == 1, f"cogs/{feature}/__init__.py has one async setup()"
        assert len(setups[0].body) <= 4, f"cogs/{feature}'s setup() only wires"
        for layer in ("services", "storage"):
            # One word per feature in every layer: a feature's other layers use its name.
            for module in (ROOT / "bot" / layer).glob("*.py"):
                plumbing = {"__init__", "database", "migrator", "meta", "install", "connect"}
                backends = {"sqlite", "postgres"}  # one implementation of Queries each
                # Moves a whole club between backends: every feature's tables at once, no one's.
                between_backends = {"transfer"}
                if module.stem in plumbing | backends | between_backends:
                    continue
                assert module.stem in FEATURES, f"bot/{layer}/{module.name} names no feature"


def test_extensions_are_the_feature_packages() -> None:
    from bot.client import EXTENSIONS

    assert sorted(EXTENSIONS) == sorted(f"cogs.{feature}" for feature in FEATURES)


def test_bot_ui_holds_only_what_two_features_share() -> None:
    users: dict[str, set[str]] = defaultdict(set)
    for path in SOURCES:
        module = _module(path)
        feature = _feature_of(module)
        if feature is None:
            continue
        for name in _imports(path.read_text(encoding="utf-8")):
            if name.startswith("bot.ui."):
                users[name].add(feature)
    shared = sorted(_module(p) for p in (ROOT / "bot" / "ui").glob("*.py") if p.stem != "__init__")
    lonely = {module: sorted(users[module]) for module in shared if len(users[module]) < 2}
    assert lonely == {}, "a bot/ui module used by fewer than two features belongs in its cogs/"


# -- the rules can fail ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "imports"),
    [
        ("bot.ui.text", {"bot.storage.database"}),
        ("bot.ui.cards", {"aiosqlite"}),
        ("cogs.reviews.cog", {"cogs.ratings.cards"}),
        ("cogs.movies.cog", {"bot.storage.movies"}),
        ("bot.domain.watch", {"discord"}),
        ("bot.domain.ratings", {"bot.storage.ratings"}),
        ("bot.services.watch", {"discord.ext.commands"}),
        ("bot.services.reviews", {"cogs.reviews.poster"}),
        ("bot.storage.watch", {"bot.services.watch"}),
    ],
)
def test_each_rule_catches_its_offender(module: str, imports: set[str]) -> None:
    assert violations(module, imports) != []


def test_an_import_of_a_sibling_package_by_name_is_seen() -> None:
    imports = _imports("from cogs import ratings\n")
    assert violations("cogs.movies.cog", imports) != []


def test_a_feature_may_import_its_own_modules_and_shared_ui() -> None:
    assert violations("cogs.ratings.sync", {"cogs.ratings.cards", "bot.ui.errors"}) == []


def test_the_sql_detector_detects_sql() -> None:
    assert SQL.search("SELECT id FROM movies")
    assert SQL.search("delete from ratings where x")
    assert not SQL.search("Select a movie from the list")
    assert sql_outside_storage("cogs.movies.cog", 'q = "SELECT id FROM movies"') != []
    assert sql_outside_storage("bot.storage.movies", 'q = "SELECT id FROM movies"') == []
