"""The Database: migrations, units of work, and the constraints that hold the invariants.

Tests taking ``db`` run on both backends; the SQLite file and PostgreSQL server specifics
(pragmas, ``user_version``, the version table, the advisory lock) have tests of their own."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.errors import ConstraintViolation, StorageError
from bot.storage.connect import open_database
from bot.storage.database import Database
from bot.storage.migrator import Migration, bundled_migrations


async def _tables(path: Path) -> set[str]:
    query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    async with aiosqlite.connect(path) as conn, conn.execute(query) as cur:
        return {row[0] for row in await cur.fetchall()}


async def _version(path: Path) -> int:
    async with aiosqlite.connect(path) as conn, conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_fresh_database_is_migrated_to_the_newest_version(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    db = await open_database(path)
    await db.close()
    latest = bundled_migrations()[-1].version
    assert await _version(path) == latest
    assert {"movies", "ratings", "reviews", "guild_settings", "meta"} <= await _tables(path)


async def test_reopening_is_a_no_op_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    db = await open_database(path)
    async with db.session() as s:
        await s.meta.set("k", "v")
    await db.close()
    db = await open_database(path)
    try:
        async with db.reader() as s:
            assert await s.meta.get("k") == "v"
        assert db.schema_version == bundled_migrations()[-1].version
    finally:
        await db.close()


async def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "failing.db"
    good = Migration(
        1, "good", "BEGIN; CREATE TABLE a (x INTEGER); PRAGMA user_version = 1; COMMIT;"
    )
    bad = Migration(
        2,
        "bad",
        "BEGIN; CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1);"
        " INSERT INTO nowhere VALUES (1); PRAGMA user_version = 2; COMMIT;",
    )
    with pytest.raises(StorageError, match="0002_bad failed and was rolled back"):
        await open_database(path, migrations=[good, bad])
    assert await _version(path) == 1
    assert "b" not in await _tables(path)
    async with aiosqlite.connect(path) as conn, conn.execute("SELECT count(*) FROM a") as cur:
        assert await cur.fetchone() == (0,)


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA user_version = 999")
        await conn.commit()
    with pytest.raises(StorageError, match="newer than this code"):
        await open_database(path)
    assert await _version(path) == 999


def test_bundled_migrations_are_numbered_without_gaps_and_set_their_version() -> None:
    migrations = bundled_migrations("sqlite")
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    for m in migrations:
        assert f"PRAGMA user_version = {m.version};" in m.sql
        assert "BEGIN" in m.sql and "COMMIT" in m.sql


def test_both_backends_have_the_same_numbered_migrations() -> None:
    sqlite, postgresql = bundled_migrations("sqlite"), bundled_migrations("postgresql")
    assert [(m.version, m.name) for m in postgresql] == [(m.version, m.name) for m in sqlite]
    for m in postgresql:
        assert "BEGIN" not in m.sql and "COMMIT" not in m.sql  # the migrator holds the transaction


async def test_session_rolls_back_on_error_and_on_cancellation(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await s.meta.set("a", "1")
            raise RuntimeError("boom")

    started = asyncio.Event()

    async def slow_writer() -> None:
        async with db.session() as s:
            await s.meta.set("b", "2")
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow_writer())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.reader() as s:
        assert await s.meta.get("a") is None
        assert await s.meta.get("b") is None


async def test_pragmas_hold_on_every_connection(sqlite_db: Database) -> None:
    for session in (sqlite_db.session, sqlite_db.reader):
        async with session() as s:
            assert await s.queries.scalar("PRAGMA journal_mode") == "wal"
            assert await s.queries.scalar("PRAGMA foreign_keys") == 1


async def test_constraints_refuse_bad_rows(
    db: Database, expect_db_errors: Callable[..., None]
) -> None:
    expect_db_errors("violates (check|foreign key|unique) constraint", "duplicate key value")
    async with db.session() as s:
        movie = await s.movies.add(
            1,
            title="Heat",
            title_key="heat",
            year=1995,
            added_by=7,
            added_at="2026-01-01T00:00:00+00:00",
        )
    bad_rows = [
        ("INSERT INTO ratings VALUES (?, 5, 11, 'command', 'x')", (movie.id,)),
        ("INSERT INTO ratings VALUES (?, 5, 0, 'command', 'x')", (movie.id,)),
        ("INSERT INTO ratings VALUES (999, 5, 5, 'command', 'x')", ()),
        (
            "INSERT INTO movies (guild_id, title, title_key, year, added_by, added_at) "
            "VALUES (1, 'HEAT', 'heat', 1995, 8, 'x')",
            (),
        ),
    ]
    for sql, params in bad_rows:
        with pytest.raises(ConstraintViolation):
            async with db.session() as s:
                await s.queries.write(sql, params)
    async with db.reader() as s:
        assert await s.movies.count(1) == 1
        assert (await s.movies.summaries([movie.id]))[movie.id].votes == 0


async def test_memory_database_works_for_reads_and_writes() -> None:
    db = await open_database(":memory:")
    try:
        async with db.session() as s:
            await s.meta.set("x", "y")
        async with db.reader() as s:
            assert await s.meta.get("x") == "y"
    finally:
        await db.close()


async def test_a_read_sees_the_latest_commit_while_another_read_is_in_flight(db: Database) -> None:
    """Reads share one connection; none may pin it to an old snapshot."""
    async with db.session() as s:
        for i in range(300):
            await s.meta.set(f"k{i}", "old")

    async def many_reads() -> None:
        for _ in range(50):
            async with db.reader() as s:
                await s.meta.get("k1")
            await asyncio.sleep(0)

    readers = [asyncio.create_task(many_reads()) for _ in range(4)]
    for i in range(20):
        async with db.session() as s:
            await s.meta.set("fresh", str(i))
        async with db.reader() as s:
            assert await s.meta.get("fresh") == str(i)
        await asyncio.sleep(0)
    await asyncio.gather(*readers)


async def test_logins_of_one_bucket_take_turns_across_processes(
    db: Database, other_process_db: Database
) -> None:
    """Gateway logins: one per bucket per ``spacing`` seconds, whichever process asks; other
    buckets do not wait. (SQLite is one process's database: its turns are kept in memory.)"""
    spacing = 0.3
    second = other_process_db if db.backend == "postgresql" else db
    times: dict[str, float] = {}

    async def login(name: str, database: Database, bucket: int) -> None:
        await database.identify_turn(bucket, spacing)
        times[name] = time.monotonic()

    start = time.monotonic()
    await asyncio.gather(
        login("a", db, 0), login("b", second, 0), login("c", db, 0), login("other", second, 1)
    )
    bucket_zero = sorted(times[name] for name in "abc")
    assert all(b - a >= spacing * 0.95 for a, b in itertools.pairwise(bucket_zero))
    assert times["other"] - start < spacing  # bucket 1 was free


async def test_a_key_is_held_by_one_process_and_freed_when_it_stops(
    db: Database, other_process_db: Database, db_target: str
) -> None:
    """``exclusive``: what keeps two processes off one guild's weekly run. SQLite is one
    process's database, so there it always holds."""
    guild = 1_339_000_000_000_000_001
    async with db.exclusive(guild) as mine:
        assert mine
        async with other_process_db.exclusive(guild) as theirs:
            assert theirs is (db.backend == "sqlite")
        async with other_process_db.exclusive(guild + 1) as other_key:
            assert other_key
    async with other_process_db.exclusive(guild) as theirs:
        assert theirs  # let go on the way out
    if db.backend == "postgresql":
        holder = await open_database(db_target)
        async with holder.exclusive(guild) as held:
            assert held
            await holder.close()  # the process stops holding it: the server lets go at once
        async with db.exclusive(guild) as mine:
            assert mine


async def test_numbers_seen_on_cards_are_read_back_for_any_number_of_pairs(db: Database) -> None:
    """The reaction writer's one read per batch: 1,000 pairs (SQLite reads them 400 at a time,
    PostgreSQL as two arrays), members with several numbers, and pairs with none."""
    async with db.session() as s:
        movies = [
            await s.movies.add(
                1, title=f"M{i}", title_key=f"m{i}", year=2000, added_by=1, added_at="x"
            )
            for i in range(4)
        ]
        plan_rows = [
            (movie.id, member, score)
            for movie in movies
            for member in range(250)
            for score in ((member % 10) + 1, ((member + 3) % 10) + 1)
            if member % 7
        ]
        await s.queries.many(
            "INSERT INTO card_reactions (movie_id, member_id, score) VALUES (?, ?, ?)", plan_rows
        )
    pairs = [(movie.id, member) for movie in movies for member in range(250)]
    async with db.reader() as s:
        seen = await s.ratings.seen_for_pairs(pairs)
    expected: dict[tuple[int, int], set[int]] = {}
    for movie_id, member, score in plan_rows:
        expected.setdefault((movie_id, member), set()).add(score)
    assert seen == expected
    assert len(pairs) == 1000 and len(seen) < len(pairs)  # members with no number stay out
