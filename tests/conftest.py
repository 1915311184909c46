"""Fixtures every test layer shares: a real migrated database, an injected clock, and a started
emulator whose rate limits run on the injected ``limit_clock``.

``db`` is the storage contract: every test that takes it (and ``services``, built on it) runs once
on SQLite and once on PostgreSQL — a real server in a throwaway cluster (``tests/pgcluster.py``).
Without PostgreSQL on the machine the PostgreSQL runs are left out, with one line at the end of
the run saying how to get it; under ``CI=true`` they run and fail instead. An ERROR in the server
log that the test did not declare with ``expect_db_errors`` fails the test.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.clock import ManualClock
from bot.services import Services, build_services
from bot.storage.connect import open_database
from bot.storage.database import Database
from tests.emulator import EmuClock, Emulator, RealTime
from tests.pgcluster import HOW_TO_GET, Cluster, find_bin, running_cluster

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = REPO_ROOT.parent / "shared" / "samples"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 21, 18, 0, tzinfo=UTC))


BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "reelclub_template"
_names = itertools.count(1)
_DB_NAME = pytest.StashKey[str]()
_DB_TARGET = pytest.StashKey[str]()


def postgres_missing() -> str | None:
    """Why the PostgreSQL leg cannot run here, or None when it can."""
    if find_bin() is None:
        return HOW_TO_GET
    if importlib.util.find_spec("asyncpg") is None:
        return "asyncpg is not installed: python3 tasks.py test installs it"
    return None


def _under_ci() -> bool:
    return os.environ.get("CI") == "true"


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and callspec.params.get("db") == "postgresql"
    return on_postgres or "pg_cluster" in getattr(item, "fixturenames", ())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = postgres_missing()
    if reason is not None and not _under_ci():
        terminalreporter.write_line(
            f"SKIPPED the PostgreSQL leg (its tests were left out): {reason}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """No PostgreSQL here: leave its tests out (one header line says why) — unless under CI,
    where they stay in and fail, since CI must run them."""
    if postgres_missing() is None or _under_ci():
        return
    skipped = [item for item in items if _needs_postgres(item)]
    if skipped:
        items[:] = [item for item in items if not _needs_postgres(item)]
        config.hook.pytest_deselected(items=skipped)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway cluster per test process (each xdist worker has its own)."""
    bin_dir = find_bin()
    if bin_dir is None or (reason := postgres_missing()) is not None:
        pytest.fail(f"{reason or HOW_TO_GET} (CI=true: the PostgreSQL leg must run)", pytrace=False)
    with running_cluster(bin_dir) as cluster:
        yield cluster


async def fresh_pg_database(cluster: Cluster) -> str:
    """A new database on ``cluster`` at the newest schema (a copy of a migrated template)."""
    import asyncpg  # the dev install has it; without it the PostgreSQL leg is left out

    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", TEMPLATE):
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
            await (await open_database(cluster.url(TEMPLATE))).close()
        name = f"test_{os.getpid()}_{next(_names)}"
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return name
    finally:
        await admin.close()


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        request.node.stash[_DB_TARGET] = str(tmp_path / "club.db")
        database = await open_database(tmp_path / "club.db")
        try:
            yield database
        finally:
            await database.close()
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = await fresh_pg_database(cluster)
    request.node.stash[_DB_NAME] = name
    request.node.stash[_DB_TARGET] = cluster.url(name)
    database = await open_database(cluster.url(name))
    try:
        yield database
    finally:
        await database.close()
    if unexpected := cluster.unexpected_errors(name):
        pytest.fail(
            "PostgreSQL logged errors this test did not expect:\n" + "\n".join(unexpected),
            pytrace=False,
        )


@pytest.fixture
def expect_db_errors(request: pytest.FixtureRequest, db: Database) -> Callable[..., None]:
    """``expect_db_errors("duplicate key")``: the test provokes server errors matching these."""

    def expect(*patterns: str) -> None:
        if db.backend == "postgresql":
            cluster: Cluster = request.getfixturevalue("pg_cluster")
            cluster.expect_errors(request.node.stash[_DB_NAME], *patterns)

    return expect


@pytest.fixture
def db_target(request: pytest.FixtureRequest, db: Database) -> str:
    """What ``db`` was opened from: a SQLite path or a PostgreSQL URL."""
    return request.node.stash[_DB_TARGET]


@pytest.fixture
async def other_process_db(db_target: str) -> AsyncIterator[Database]:
    """The same database as ``db``, opened again: what a second bot process would have (its own
    connections, its own in-process turn-taking)."""
    database = await open_database(db_target)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """For the few tests about SQLite itself (pragmas, files, its shared reader)."""
    database = await open_database(tmp_path / "club.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def services(db: Database, clock: ManualClock) -> Services:
    return build_services(db, clock)


@pytest.fixture
def limit_clock() -> EmuClock:
    """The time the emulator's rate limits run on: real time, unless a layer overrides this."""
    return RealTime()


@pytest.fixture
async def emu(limit_clock: EmuClock) -> AsyncIterator[Emulator]:
    """A started loopback Discord, with discord.py in this process pointed at it."""
    emulator = Emulator(limit_clock=limit_clock)
    await emulator.start()
    emulator.install()
    try:
        yield emulator
    finally:
        emulator.uninstall()
        await emulator.stop()
