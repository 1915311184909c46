"""The SQLite backend: a writer connection behind a lock, and a reader.

Writes go through :meth:`SqliteDatabase.session`, one ``BEGIN IMMEDIATE … COMMIT`` per unit of
work. Reads go through a second connection, so that ``/movie info`` is not queued behind a batch
of writes (WAL lets readers and the writer run side by side).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.domain.errors import ConstraintViolation, StorageError
from bot.storage.database import Database, Queries, Row, Session
from bot.storage.migrator import Migration, bundled_migrations, migrate_sqlite

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


class SqliteQueries(Queries):
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    # Reads run to completion in one call on the database thread. A cursor left open across an
    # ``await`` would keep a read transaction open on the shared reader connection, and every
    # other task's read would see that old snapshot instead of the latest commit.
    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return cast(list[Row], list(rows))

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        try:
            async with self.conn.execute(sql, tuple(params)) as cursor:
                return int(cursor.rowcount)
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        try:
            async with self.conn.execute(sql, tuple(params)) as cursor:
                return int(cursor.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self.conn.executemany(sql, [tuple(row) for row in rows])
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc


class SqliteDatabase(Database):
    backend = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection | None) -> None:
        self._writer = writer
        self._reader = reader  # None for ``:memory:``: reads then share the writer and its lock
        self._lock = asyncio.Lock()
        # Reader sessions take turns on their connection. aiosqlite runs one connection's
        # statements one at a time anyway, so this costs no throughput; what it prevents is a
        # statement left open by one task keeping the connection on an old snapshot while
        # another task reads (SQLite keeps a read transaction open while any statement is).
        self._read_lock = asyncio.Lock()
        # A SQLite database belongs to one process: its logins take turns in memory.
        self._identify_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._identified: dict[int, float] = {}

    @classmethod
    async def create(
        cls, target: str | Path, *, migrations: list[Migration] | None = None
    ) -> SqliteDatabase:
        """Open (creating the file and its folder if needed) and migrate to the newest schema."""
        target = str(target)
        try:
            if target != ":memory:":
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            writer = await _connect(target)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database at {target}: {exc}") from exc
        try:
            version = await migrate_sqlite(
                writer, bundled_migrations("sqlite") if migrations is None else migrations
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
        log.info("database ready at schema version %d (SQLite)", version)
        return db

    async def close(self) -> None:
        async with self._lock:
            if self._reader is not None:
                await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[bool]:
        yield True  # one process: its own locks are enough

    async def identify_turn(self, bucket: int, spacing: float) -> None:
        async with self._identify_locks[bucket]:
            loop = asyncio.get_running_loop()
            last = self._identified.get(bucket)
            if last is not None and (wait := last + spacing - loop.time()) > 0:
                await asyncio.sleep(wait)
            self._identified[bucket] = loop.time()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Session(SqliteQueries(self._writer))
            except BaseException:
                await self._writer.rollback()
                raise
            else:
                await self._writer.commit()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        if self._reader is None:
            async with self._lock:
                yield Session(SqliteQueries(self._writer))
        else:
            async with self._read_lock:
                yield Session(SqliteQueries(self._reader))
