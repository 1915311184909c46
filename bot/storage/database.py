"""The one ``Database`` of a process: a writer connection behind a lock, and a reader; the unit
of work (:class:`Session`, every feature's repository on one connection and transaction) and the
query helpers the repositories share (:class:`Queries`).

Writes go through :meth:`Database.session`, one ``BEGIN IMMEDIATE … COMMIT`` per unit of work,
rolled back on any exception (cancellation included). Reads that need no transaction go through
:meth:`Database.reader`, a second connection, so that ``/movie info`` is not queued behind a batch
of writes (WAL lets readers and the writer run side by side).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain.errors import StorageError
from bot.storage.club import ClubRepository
from bot.storage.meta import MetaRepository
from bot.storage.migrator import Migration, bundled_migrations, migrate
from bot.storage.movies import MovieRepository
from bot.storage.ratings import RatingRepository
from bot.storage.reviews import ReviewRepository
from bot.storage.watch import WatchRepository

log = logging.getLogger(__name__)

_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
)


async def _connect(target: str, *, uri: bool = False) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(target, isolation_level=None, uri=uri)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class Queries:
    """One connection and the small helpers every repository uses on it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    # Reads run to completion in one call on the database thread. A cursor left open across an
    # ``await`` would keep a read transaction open on the shared reader connection, and every
    # other task's read would see that old snapshot instead of the latest commit.
    async def one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        rows: Iterable[sqlite3.Row] = await self.conn.execute_fetchall(sql, tuple(params))
        return list(rows)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the new rowid for an INSERT, else the rows changed."""
        async with self.conn.execute(sql, tuple(params)) as cursor:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)


class Session:
    """A unit of work: the repositories of every feature, sharing one connection and
    transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._q = Queries(conn)

    @property
    def conn(self) -> aiosqlite.Connection:
        return self._q.conn

    @cached_property
    def club(self) -> ClubRepository:
        return ClubRepository(self._q)

    @cached_property
    def movies(self) -> MovieRepository:
        return MovieRepository(self._q)

    @cached_property
    def ratings(self) -> RatingRepository:
        return RatingRepository(self._q)

    @cached_property
    def reviews(self) -> ReviewRepository:
        return ReviewRepository(self._q)

    @cached_property
    def meta(self) -> MetaRepository:
        return MetaRepository(self._q)

    @cached_property
    def watch(self) -> WatchRepository:
        return WatchRepository(self._q)


class Database:
    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection | None) -> None:
        self._writer = writer
        self._reader = reader  # None for ``:memory:``: reads then share the writer and its lock
        self._lock = asyncio.Lock()
        # Reader sessions take turns on their connection. aiosqlite runs one connection's
        # statements one at a time anyway, so this costs no throughput; what it prevents is a
        # statement left open by one task keeping the connection on an old snapshot while
        # another task reads (SQLite keeps a read transaction open while any statement is).
        self._read_lock = asyncio.Lock()
        self.schema_version = 0

    @classmethod
    async def open(cls, path: str | Path, *, migrations: list[Migration] | None = None) -> Database:
        """Open (creating the file and its folder if needed) and migrate to the newest schema."""
        target = str(path)
        try:
            if target != ":memory:":
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            writer = await _connect(target)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database at {target}: {exc}") from exc
        try:
            version = await migrate(
                writer, bundled_migrations() if migrations is None else migrations
            )
            reader = None
            if target != ":memory:":
                uri = Path(target).resolve().as_uri()  # noqa: ASYNC240 (once, at start-up)
                reader = await _connect(f"{uri}?mode=ro", uri=True)
        except BaseException:
            await writer.close()
            raise
        db = cls(writer, reader)
        db.schema_version = version
        log.info("database ready at schema version %d", version)
        return db

    async def close(self) -> None:
        async with self._lock:
            if self._reader is not None:
                await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """One unit of work. Never await Discord in here: the lock serialises every writer."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Session(self._writer)
            except BaseException:
                await self._writer.rollback()
                raise
            else:
                await self._writer.commit()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        """Reads outside a transaction; each statement sees the last committed state.

        Don't nest: a task that opens a reader inside a reader waits for itself.
        """
        if self._reader is None:
            async with self._lock:
                yield Session(self._writer)
        else:
            async with self._read_lock:
                yield Session(self._reader)
