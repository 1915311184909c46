"""Moving a club from SQLite to PostgreSQL (``bot/storage/transfer.py``): an exact copy that the
repositories read back unchanged, ids kept and sequences moved on; refusals that change nothing;
a failure or a checksum difference that leaves the target empty.

Every test here that copies needs PostgreSQL (``pg_cluster``): without it they are left out."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.domain.errors import StorageError
from bot.domain.reviews import ReviewDraft
from bot.storage.connect import open_database
from bot.storage.migrator import bundled_migrations
from bot.storage.transfer import (
    Checksum,
    Table,
    copy_to_postgres,
    in_dependency_order,
    source_tables,
)
from tests import sample_club
from tests.conftest import fresh_pg_database
from tests.pgcluster import Cluster

CLUB_TABLES = {
    "meta",
    "guild_settings",
    "movies",
    "ratings",
    "card_reactions",
    "reviews",
    "review_messages",
    "helpful_votes",
    "watch_pool",
    "watch_schedules",
    "watch_runs",
    "watch_poll_answers",
}
IDENTITIES = ("movies", "reviews", "watch_pool", "watch_runs")


@dataclass
class Target:
    cluster: Cluster
    name: str

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    async def counts(self) -> dict[str, int]:
        return {t: (await self.fetch(f"SELECT count(*) FROM {t}"))[0][0] for t in CLUB_TABLES}


@pytest.fixture
async def blank(pg_cluster: Cluster) -> AsyncIterator[Target]:
    """A new database with no schema at all; its server log is checked at the end."""
    admin = await asyncpg.connect(pg_cluster.url("postgres"))
    target = Target(pg_cluster, f"blank_{id(admin)}")
    await admin.execute(f"CREATE DATABASE {target.name}")
    try:
        yield target
    finally:
        await admin.execute(f"DROP DATABASE {target.name} WITH (FORCE)")
        await admin.close()
    assert pg_cluster.unexpected_errors(target.name) == []


@pytest.fixture
async def migrated(pg_cluster: Cluster) -> AsyncIterator[Target]:
    """A new database at the newest schema, empty."""
    target = Target(pg_cluster, await fresh_pg_database(pg_cluster))
    yield target
    assert pg_cluster.unexpected_errors(target.name) == []


@pytest.fixture
async def club(tmp_path: Path) -> Path:
    """The sample club in a SQLite file, closed."""
    path = tmp_path / "club.db"
    db = await open_database(path)
    try:
        await sample_club.fill(db)
    finally:
        await db.close()
    return path


def sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


# -- the copy ------------------------------------------------------------------------------------
async def test_the_club_reads_back_the_same_through_every_repository(
    club: Path, blank: Target
) -> None:
    sqlite_db = await open_database(club)
    try:
        before = await sample_club.snapshot(sqlite_db)
    finally:
        await sqlite_db.close()
    report = await copy_to_postgres(club, blank.url)
    assert report.ok
    assert report.schema_version == bundled_migrations("postgresql")[-1].version
    pg = await open_database(blank.url)
    try:
        after = await sample_club.snapshot(pg)
    finally:
        await pg.close()
    assert after == before
    # The sample is what it claims to be: every part of the club is there to compare.
    guild = sample_club.GUILD
    assert len(after[f"{guild} movies"]) == len(sample_club.MOVIES) - 1
    assert all(m.card_message_id and m.thread_id for m in after[f"{guild} movies"])
    assert len(after[f"{guild} posted"]) == 2 and len(after[f"{guild} open"]) == 1
    assert after[f"{guild} posted"][1].pick_predicted == sample_club.PREDICTED
    answers = after[f"{after[f'{guild} posted'][0].id} answers"]
    assert [a.votes for a in answers] == [3, 5, 0]
    reviews = [r for key, value in after.items() if key.endswith(" reviews") for r in value]
    assert len(reviews) == 3 and sum(r.helpful for r in reviews) == 8
    assert any(p.in_thread for r in reviews for p in r.parts)
    assert len(after[f"{guild} ratings"]) > 50 and after[f"{guild} pool"]


async def test_every_row_is_copied_as_it_is_with_its_id(club: Path, blank: Target) -> None:
    report = await copy_to_postgres(club, blank.url)
    assert {t.name for t in report.tables} == CLUB_TABLES
    for table in CLUB_TABLES:
        copied = sorted((tuple(r) for r in await blank.fetch(f"SELECT * FROM {table}")), key=repr)
        assert copied == sqlite_rows(club, table), table
    counts = {t.name: (t.source_rows, t.target_rows) for t in report.tables}
    assert counts == {t: (len(sqlite_rows(club, t)),) * 2 for t in CLUB_TABLES}
    assert report.rows == sum(len(sqlite_rows(club, t)) for t in CLUB_TABLES)
    assert all(
        t.source_sha256 == t.target_sha256 and len(t.source_sha256) == 64 for t in report.tables
    )


async def test_new_rows_after_the_copy_get_fresh_ids(club: Path, blank: Target) -> None:
    report = await copy_to_postgres(club, blank.url)
    highest = {t: (await blank.fetch(f"SELECT max(id) FROM {t}"))[0][0] for t in IDENTITIES}
    assert dict(report.next_ids) == {t: highest[t] + 1 for t in IDENTITIES}
    db = await open_database(blank.url)
    try:
        async with db.session() as s:
            movie = await s.movies.add(
                sample_club.GUILD,
                title="Parasite",
                title_key="parasite",
                year=2019,
                added_by=1,
                added_at=sample_club.at(20),
            )
            pool_id = await s.watch.add_to_pool(sample_club.GUILD, movie.id, 1, sample_club.at(20))
            run_id = await s.watch.start_run(
                sample_club.OTHER_GUILD,
                "2026-W48",
                channel_id=1,
                started_at=sample_club.at(20),
                pick=None,
                poll_state="planned",
                poll_movie_ids=[movie.id],
            )
            draft = ReviewDraft("Stairs.", None, 10, False)
            review = await s.reviews.add(movie.id, 1, draft, sample_club.at(20))
    finally:
        await db.close()
    new = {"movies": movie.id, "reviews": review.id, "watch_pool": pool_id, "watch_runs": run_id}
    assert new == {t: highest[t] + 1 for t in IDENTITIES}


async def test_tables_are_copied_parents_first_in_the_order_the_schema_gives(
    club: Path, blank: Target
) -> None:
    report = await copy_to_postgres(club, blank.url)
    order = [t.name for t in report.tables]
    with sqlite3.connect(club) as conn:
        for child in CLUB_TABLES:
            for (parent,) in conn.execute(
                'SELECT "table" FROM pragma_foreign_key_list(?)', (child,)
            ):
                assert order.index(parent) < order.index(child), (parent, child)


# -- refusals ------------------------------------------------------------------------------------
async def test_a_target_with_rows_is_refused_and_left_as_it_was(
    club: Path, migrated: Target
) -> None:
    db = await open_database(migrated.url)
    try:
        async with db.session() as s:
            await s.meta.set("their", "own")
            await s.movies.add(1, title="X", title_key="x", year=None, added_by=1, added_at="t")
    finally:
        await db.close()
    before = await migrated.counts()
    with pytest.raises(StorageError) as caught:
        await copy_to_postgres(club, migrated.url)
    message = str(caught.value)
    assert "is not empty: it has rows in meta (1), movies (1); the copy goes only" in message
    assert "nothing was written" in message and "\n" not in message
    assert migrated.cluster.password not in message and ":***@" in message
    assert (
        await migrated.counts()
        == before
        == {**dict.fromkeys(CLUB_TABLES, 0), "meta": 1, "movies": 1}
    )


async def test_a_source_at_an_older_schema_is_refused_before_the_target_is_touched(
    tmp_path: Path, blank: Target
) -> None:
    old = tmp_path / "old.db"
    db = await open_database(old, migrations=bundled_migrations("sqlite")[:2])
    await db.close()
    with pytest.raises(StorageError, match="schema version 2, not the newest") as caught:
        await copy_to_postgres(old, blank.url)
    assert "start the bot once on it" in str(caught.value)
    assert await blank.fetch("SELECT to_regclass('schema_migrations') IS NULL") == [(True,)]
    with sqlite3.connect(old) as conn:  # and the source was not migrated by the attempt
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)


async def test_a_database_holding_other_tables_is_refused_before_it_is_migrated(
    club: Path, blank: Target
) -> None:
    conn = await asyncpg.connect(blank.url)
    try:
        await conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    finally:
        await conn.close()
    with pytest.raises(StorageError, match=r"holds tables that are not Reel Club's \(invoices\)"):
        await copy_to_postgres(club, blank.url)
    tables = await blank.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert [t[0] for t in tables] == ["invoices"]


async def test_a_sqlite_file_without_the_schema_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(StorageError, match="has no Reel Club schema"):
        await copy_to_postgres(other, "postgresql://u:pw@127.0.0.1:9/club")


async def test_a_file_that_is_not_sqlite_is_one_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "club.db"
    garbage.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(StorageError) as caught:
        await copy_to_postgres(garbage, "postgresql://u:pw@127.0.0.1:9/club")
    assert str(caught.value) == (
        f"cannot read the SQLite database at {garbage} (file is not a database); "
        "nothing was written"
    )


async def test_a_missing_source_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "club.db"
    with pytest.raises(StorageError, match="there is no SQLite database at"):
        await copy_to_postgres(missing, "postgresql://u:pw@127.0.0.1:9/club")
    assert not missing.parent.exists()


async def test_a_target_that_is_not_postgresql_is_refused(club: Path, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is not a postgresql:// URL"):
        await copy_to_postgres(club, str(tmp_path / "other.db"))
    assert not (tmp_path / "other.db").exists()


# -- failures leave the target empty -------------------------------------------------------------
async def test_a_difference_found_on_reading_back_rolls_everything_back(
    club: Path, migrated: Target
) -> None:
    """A trigger on the target changes one value as it is copied: that table's checksum differs,
    the others match, and nothing stays (nor do the sequences move)."""
    await sample_club.shout_timezones_on_insert(migrated.url)
    report = await copy_to_postgres(club, migrated.url)
    assert not report.ok
    bad = [t for t in report.tables if not t.ok]
    assert [t.name for t in bad] == ["guild_settings"]
    assert bad[0].source_rows == bad[0].target_rows == 2
    assert bad[0].source_sha256 != bad[0].target_sha256
    assert report.next_ids == ()
    assert await migrated.counts() == dict.fromkeys(CLUB_TABLES, 0)
    nextval = await migrated.fetch("SELECT nextval(pg_get_serial_sequence('movies', 'id'))")
    assert nextval == [(1,)]


async def test_a_row_postgresql_refuses_rolls_back_the_tables_already_copied(
    club: Path, migrated: Target
) -> None:
    """SQLite keeps a NUL character in text; PostgreSQL refuses it halfway through the copy."""
    with sqlite3.connect(club) as conn:
        conn.execute("UPDATE reviews SET headline = 'a' || char(0) || 'b' WHERE id = 1")
    migrated.cluster.expect_errors(migrated.name, "invalid byte sequence")
    with pytest.raises(StorageError) as caught:
        await copy_to_postgres(club, migrated.url)
    message = str(caught.value)
    assert message.startswith("copying reviews failed, so the copy into postgresql://")
    assert "was rolled back (nothing was written): invalid byte sequence" in message
    assert migrated.cluster.password not in message
    assert await migrated.counts() == dict.fromkeys(CLUB_TABLES, 0)


# -- the pieces ----------------------------------------------------------------------------------
def _sum(*rows: tuple[Any, ...]) -> str:
    checksum = Checksum()
    checksum.add(list(rows))
    return checksum.hexdigest()


def test_the_checksum_tells_values_types_rows_and_order_apart() -> None:
    variants = [
        _sum((1, "a")),
        _sum((1.0, "a")),
        _sum(("1", "a")),
        _sum((None, "a")),
        _sum(("null", "a")),
        _sum(
            (1, "a "),
        ),
        _sum((1,), ("a",)),
        _sum((1, "a"), (2, "b")),
        _sum((2, "b"), (1, "a")),
        _sum((b"\x01", "a")),
        _sum((1, "a\nb")),
        _sum((1, "a"), (1, "b")),
    ]
    assert len(set(variants)) == len(variants)
    assert _sum((1, "é", 22 / 3, None)) == _sum((1, "é", 22 / 3, None))
    in_batches = Checksum()  # read in batches of any size: the same sum
    in_batches.add([(1, "a")])
    in_batches.add([(2, "b"), (3, None)])
    assert in_batches.hexdigest() == _sum((1, "a"), (2, "b"), (3, None))
    assert in_batches.rows == 3


def test_parents_come_before_children_and_a_cycle_is_refused() -> None:
    tables = [
        Table("c", ("id",), ("id",), ("b", "c")),  # a self-reference is no dependency
        Table("b", ("id",), ("id",), ("a",)),
        Table("a", ("id",), ("id",), ()),
        Table("d", ("id",), ("id",), ()),
    ]
    assert [t.name for t in in_dependency_order(tables)] == ["a", "b", "c", "d"]
    cycle = [Table("x", ("id",), ("id",), ("y",)), Table("y", ("id",), ("id",), ("x",))]
    with pytest.raises(StorageError, match="cannot order the tables x, y"):
        in_dependency_order(cycle)


async def test_the_tables_and_their_keys_come_from_the_schema(club: Path) -> None:
    import aiosqlite

    async with aiosqlite.connect(club) as conn:
        tables = {t.name: t for t in await source_tables(conn)}
    assert set(tables) == CLUB_TABLES
    assert tables["ratings"].key == ("movie_id", "member_id")
    assert tables["card_reactions"].key == ("movie_id", "member_id", "score")
    assert tables["review_messages"].key == ("review_id", "in_thread", "part")
    assert tables["meta"].key == ("key",)
    assert tables["watch_runs"].parents == ("movies",)
    assert set(tables["watch_poll_answers"].parents) == {"watch_runs", "movies"}


async def test_a_postgres_database_from_the_template_is_a_valid_target(
    club: Path, pg_cluster: Cluster
) -> None:
    """The common case: the target was created (and migrated) before, e.g. by a first start of
    the bot on it, and is still empty."""
    name = await fresh_pg_database(pg_cluster)
    report = await copy_to_postgres(club, pg_cluster.url(name))
    assert report.ok and report.rows > 100
    assert pg_cluster.unexpected_errors(name) == []
