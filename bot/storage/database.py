"""The one ``Database`` of a process: a writer connection behind a lock, and a reader.

Writes go through :meth:`Database.session`, one ``BEGIN IMMEDIATE … COMMIT`` per unit of work,
rolled back on any exception (cancellation included). Reads that need no transaction go through
:meth:`Database.reader`, a second connection, so that ``/movie info`` is not queued behind a batch
of writes (WAL lets readers and the writer run side by side).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.domain.errors import StorageError
from bot.storage.migrator import Migration, bundled_migrations, migrate
from bot.storage.session import Session

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
