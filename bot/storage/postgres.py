"""The PostgreSQL backend (``reelclub[postgres]``): an asyncpg pool behind the same repositories.

Units of work of one process take turns, as on SQLite, so services keep their read-decide-write
steps; between processes, integrity is the database's (unique and check constraints, the weekly
claim in ``watch_runs``) and each guild's events reach only the process that owns its shard.
Readers take their own pooled connection and never wait for a writer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from bot.config import redact_url
from bot.domain.errors import ConstraintViolation, StorageError
from bot.storage.database import Database, Queries, Row, Session
from bot.storage.migrator import Migration, bundled_migrations, migrate_postgres

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

log = logging.getLogger(__name__)

POOL_SIZE = 8
# The advisory-lock class of gateway logins (two-key locks, apart from the migration lock).
IDENTIFY_LOCK = 0x1D
# ``?`` outside quotes; the repositories' SQL has no other question marks.
_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"])*\"|\?")


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _MARK.sub(number, sql)


@cache
def _driver() -> Any:
    try:
        import asyncpg  # noqa: PLC0415 (optional extra, imported only when PostgreSQL is used)
    except ImportError as exc:
        raise StorageError(
            "DATABASE_URL names a PostgreSQL database, but its driver is not installed: "
            "pip install 'reelclub[postgres]' (python3 tasks.py does it when DATABASE_URL is set)"
        ) from exc
    return asyncpg


class PgQueries(Queries):
    dialect = "postgresql"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._violation: type[Exception] = _driver().IntegrityConstraintViolationError

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        rows = await self.conn.fetch(numbered(sql), *params)
        return cast(list[Row], rows)

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        try:
            status = await self.conn.execute(numbered(sql), *params)
        except self._violation as exc:
            raise ConstraintViolation(str(exc)) from exc
        # "UPDATE 3", "DELETE 0", "INSERT 0 1": the last word is the count.
        return int(status.rsplit(" ", 1)[-1])

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        try:
            return int(await self.conn.fetchval(numbered(sql) + " RETURNING id", *params))
        except self._violation as exc:
            raise ConstraintViolation(str(exc)) from exc

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(row) for row in rows]
        if not batch:
            return
        try:
            await self.conn.executemany(numbered(sql), batch)
        except self._violation as exc:
            raise ConstraintViolation(str(exc)) from exc


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, shown: str = "") -> None:
        self._pool = pool
        self._lock = asyncio.Lock()
        self._locks: PoolConnectionProxy[Any] | None = None  # holds the exclusive() keys
        self._lock_calls = asyncio.Lock()
        self._shown = shown  # the redacted URL, for logs

    @classmethod
    async def create(
        cls,
        url: str | Path,
        *,
        migrations: list[Migration] | None = None,
        pool_size: int = POOL_SIZE,
        migrate: bool = True,
    ) -> PostgresDatabase:
        """Connect a pool to ``url`` and migrate to the newest schema (``migrate=False``: not
        yet, for a caller that looks at the database first). Errors name the database by its
        redacted URL: the password never reaches a message or a log."""
        asyncpg = _driver()
        url = str(url)
        shown = redact_url(url)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, command_timeout=60
            )
        except (
            OSError,
            TimeoutError,
            ValueError,  # a URL asyncpg cannot parse
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            raise StorageError(
                f"cannot open the database at {shown}: {describe_error(exc, url)}"
            ) from exc
        db = cls(pool, shown)
        if migrate:
            try:
                await db.migrate(migrations)
            except BaseException:
                await pool.close()
                raise
        return db

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        """Bring the schema up to the newest migration; returns the version it ends at."""
        async with self._pool.acquire() as conn:
            version = await migrate_postgres(
                conn, bundled_migrations("postgresql") if migrations is None else migrations
            )
        self.schema_version = version
        log.info("database ready at schema version %d (PostgreSQL at %s)", version, self._shown)
        return version

    async def close(self) -> None:
        async with self._lock:
            if self._locks is not None:
                await self._pool.release(self._locks)
                self._locks = None
            await self._pool.close()

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[bool]:
        """A session advisory lock on one connection kept for them: the server lets go of them
        all if this process dies (its connection closes). Keys share the one-number lock space
        with the migration lock; guild ids never equal it."""
        conn = await self._lock_connection()
        async with self._lock_calls:
            mine = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
        try:
            yield mine
        finally:
            if mine:
                async with self._lock_calls:
                    if self._locks is conn and not conn.is_closed():  # else closed: let go
                        await conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def _lock_connection(self) -> PoolConnectionProxy[Any]:
        async with self._lock_calls:
            if self._locks is None or self._locks.is_closed():
                self._locks = await self._pool.acquire()
            return self._locks

    async def identify_turn(self, bucket: int, spacing: float) -> None:
        """The turn is a transaction-scoped advisory lock per bucket; the last login's time is
        the server's clock (every process reads the same one), kept in ``meta``. The lock is held
        through the wait, so processes queue for the bucket in turn. A connection of its own:
        units of work never wait for a login."""
        key = f"gateway.identify.{bucket}"
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", IDENTIFY_LOCK, bucket)
            last = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
            now = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
            if last is not None and (wait := float(last) + spacing - now) > 0:
                await asyncio.sleep(wait)
            await conn.execute(
                "INSERT INTO meta (key, value) "
                "VALUES ($1, extract(epoch FROM clock_timestamp())::float8::text) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
            )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock, self._pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            try:
                yield Session(PgQueries(conn))
            except BaseException:
                await transaction.rollback()
                raise
            else:
                await transaction.commit()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        async with self._pool.acquire() as conn:
            yield Session(PgQueries(conn))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection of the pool for storage work the repositories do not cover (the bulk
        copy of ``bot/storage/transfer.py``); the caller runs its own transaction on it. Takes
        its turn with the units of work."""
        async with self._lock, self._pool.acquire() as conn:
            yield conn


def describe_error(exc: BaseException, url: str) -> str:
    """The driver's words, with the password (should a driver ever repeat it) taken out."""
    text = " ".join((str(exc) or type(exc).__name__).split())
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None
