"""The PostgreSQL backend's own ground: its version table and migrations, two processes
migrating at once, connection errors that never show the password, and 64-bit Discord ids.

What both backends share (repositories, units of work, constraints) is tested through the ``db``
fixture, which runs every such test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.domain.errors import StorageError
from bot.storage.connect import open_database
from bot.storage.database import Database
from bot.storage.migrator import Migration, bundled_migrations
from bot.storage.postgres import numbered
from tests.conftest import fresh_pg_database
from tests.pgcluster import Cluster

SNOWFLAKE = 1_339_000_000_000_000_001  # a Discord id: needs all 64 bits


@pytest.fixture
async def empty(pg_cluster: Cluster) -> AsyncIterator[str]:
    """The URL of a new, empty database (no schema at all)."""
    admin = await asyncpg.connect(pg_cluster.url("postgres"))
    name = f"empty_{id(admin)}"
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_cluster.url(name)
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def test_question_marks_become_numbered_parameters_outside_quotes() -> None:
    assert numbered("SELECT ? , ?") == "SELECT $1 , $2"
    assert numbered("WHERE a = '?' AND b = ? AND c = 'it''s ?'") == (
        "WHERE a = '?' AND b = $1 AND c = 'it''s ?'"
    )
    assert numbered('SELECT "odd?name" FROM t WHERE x IN (?, ?, ?)') == (
        'SELECT "odd?name" FROM t WHERE x IN ($1, $2, $3)'
    )


async def test_a_fresh_database_is_migrated_and_records_each_version(empty: str) -> None:
    db = await open_database(empty)
    await db.close()
    rows = await _fetch(empty, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r[0], r[1]) for r in rows] == [(m.version, m.name) for m in bundled_migrations()]
    assert db.schema_version == bundled_migrations("postgresql")[-1].version
    again = await open_database(empty)  # a no-op the second time
    await again.close()
    assert len(await _fetch(empty, "SELECT * FROM schema_migrations")) == len(rows)


async def test_a_failing_migration_leaves_no_trace(empty: str, pg_cluster: Cluster) -> None:
    pg_cluster.expect_errors(empty.rsplit("/", 1)[1], 'relation "nowhere" does not exist')
    good = Migration(1, "good", "CREATE TABLE a (x INTEGER);")
    bad = Migration(
        2,
        "bad",
        "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1); INSERT INTO nowhere VALUES (1);",
    )
    with pytest.raises(StorageError, match="0002_bad failed and was rolled back"):
        await open_database(empty, migrations=[good, bad])
    assert [r[0] for r in await _fetch(empty, "SELECT version FROM schema_migrations")] == [1]
    assert await _fetch(empty, "SELECT to_regclass('b') IS NULL") == [(True,)]
    assert await _fetch(empty, "SELECT count(*) FROM a") == [(0,)]
    assert pg_cluster.unexpected_errors(empty.rsplit("/", 1)[1]) == []


async def test_a_database_newer_than_the_code_is_refused(empty: str) -> None:
    db = await open_database(empty)
    await db.close()
    conn = await asyncpg.connect(empty)
    await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    await conn.close()
    with pytest.raises(StorageError, match="newer than this code"):
        await open_database(empty)


async def test_two_processes_starting_at_once_migrate_once(empty: str) -> None:
    """The advisory lock: the second waits, then finds every migration applied."""
    first, second = await asyncio.gather(open_database(empty), open_database(empty))
    await first.close()
    await second.close()
    rows = await _fetch(empty, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == [m.version for m in bundled_migrations("postgresql")]


@pytest.mark.parametrize(
    "change", ["wrong password", "no such database", "nothing listening"], ids=str
)
async def test_connection_errors_are_one_line_without_the_password(
    pg_cluster: Cluster, change: str
) -> None:
    url = pg_cluster.url("postgres")
    if change == "wrong password":
        url = url.replace(pg_cluster.password, "not-" + pg_cluster.password)
        database = "postgres"
    elif change == "no such database":
        url = url.rsplit("/", 1)[0] + "/no_such_db"
        database = "no_such_db"
    else:
        url = url.replace(f":{pg_cluster.port}/", ":1/")
        database = None
    if database is not None:  # the server logs the refused login as FATAL
        pg_cluster.expect_errors(database, "password authentication failed|does not exist")
    with pytest.raises(StorageError) as caught:
        await open_database(url)
    message = str(caught.value)
    assert pg_cluster.password not in message
    assert "***" in message and "\n" not in message
    assert pg_cluster.unexpected_errors("postgres") == []
    assert pg_cluster.unexpected_errors("no_such_db") == []


async def test_discord_ids_keep_all_64_bits(pg_cluster: Cluster) -> None:
    name = await fresh_pg_database(pg_cluster)
    db: Database = await open_database(pg_cluster.url(name))
    try:
        async with db.session() as s:
            movie = await s.movies.add(
                SNOWFLAKE,
                title="Heat",
                title_key="heat",
                year=1995,
                added_by=SNOWFLAKE + 1,
                added_at="2026-01-01T00:00:00+00:00",
            )
            await s.movies.set_card(movie.id, SNOWFLAKE + 2, SNOWFLAKE + 3)
            await s.ratings.put(movie.id, SNOWFLAKE + 4, 9, "command", "2026-01-01")
        async with db.reader() as s:
            found = await s.movies.by_card(SNOWFLAKE + 3)
            assert found is not None
            assert (found.guild_id, found.added_by, found.card_channel_id) == (
                SNOWFLAKE,
                SNOWFLAKE + 1,
                SNOWFLAKE + 2,
            )
            assert await s.ratings.get(movie.id, SNOWFLAKE + 4) == 9
    finally:
        await db.close()
    assert pg_cluster.unexpected_errors(name) == []
