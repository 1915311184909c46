"""Numbered, forward-only migrations, one folder per backend with the same numbers and names.

``migrations/sqlite/NNNN_name.sql`` opens its own transaction, sets ``PRAGMA user_version = NNNN``
and commits. ``migrations/postgresql/NNNN_name.sql`` is plain DDL: the migrator runs it in one
transaction together with the row that records it in ``schema_migrations``, under an advisory lock
so that two processes starting at once do not both migrate. Either way a failing statement rolls
the whole file back: the database is at the old version or at the new one, never in between.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal

from bot.domain.errors import StorageError

if TYPE_CHECKING:
    import aiosqlite

    from bot.storage.postgres import Connection

log = logging.getLogger(__name__)

Backend = Literal["sqlite", "postgresql"]

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# Any number: two processes migrating the same PostgreSQL database take turns on it.
MIGRATION_LOCK = 0x5EE1C1B


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(backend: Backend = "sqlite") -> list[Migration]:
    """The migrations shipped for ``backend``, in order, checked for gaps."""
    found = []
    for entry in resources.files("bot.storage.migrations").joinpath(backend).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StorageError(f"migration {migration.version:04d} is out of sequence")
        sets_version = f"user_version = {migration.version}" in migration.sql
        if backend == "sqlite" and not sets_version:
            raise StorageError(f"migration {migration.version:04d} does not set its user_version")
        if backend == "postgresql" and re.search(r"^\s*(BEGIN|COMMIT)\b", migration.sql, re.M):
            raise StorageError(
                f"migration {migration.version:04d} manages its own transaction; "
                "PostgreSQL migrations are run in one by the migrator"
            )
    return found


def _refuse_newer(current: int, latest: int, setting: str) -> None:
    if current > latest:
        raise StorageError(
            f"the database is at schema version {current}, newer than this code knows "
            f"({latest}); update Reel Club or point {setting} at another database"
        )


def _failed(migration: Migration, exc: Exception) -> StorageError:
    return StorageError(
        f"migration {migration.version:04d}_{migration.name} failed and was rolled back: {exc}"
    )


async def sqlite_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate_sqlite(conn: aiosqlite.Connection, migrations: list[Migration]) -> int:
    """Bring a SQLite database up to the newest migration; returns the version it ends at."""
    current = await sqlite_version(conn)
    _refuse_newer(
        current, migrations[-1].version if migrations else 0, "DATABASE_URL (or DATABASE_PATH)"
    )
    for migration in migrations:
        if migration.version <= current:
            continue
        try:
            await conn.executescript(migration.sql)
        except Exception as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise _failed(migration, exc) from exc
        applied = await sqlite_version(conn)
        if applied != migration.version:
            raise StorageError(f"migration {migration.version:04d} left user_version at {applied}")
        log.info("applied migration %04d_%s", migration.version, migration.name)
        current = applied
    return current


_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL"
    " DEFAULT now())"
)


async def postgres_version(conn: Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))


async def migrate_postgres(conn: Connection, migrations: list[Migration]) -> int:
    """Bring a PostgreSQL database up to the newest migration; returns the version it ends at.

    Each migration is one transaction with its ``schema_migrations`` row; all of it happens under
    a session advisory lock, so a second process waits and then finds nothing left to do.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(_VERSION_TABLE)
        current = await postgres_version(conn)
        _refuse_newer(current, migrations[-1].version if migrations else 0, "DATABASE_URL")
        for migration in migrations:
            if migration.version <= current:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
            except Exception as exc:
                raise _failed(migration, exc) from exc
            log.info("applied migration %04d_%s", migration.version, migration.name)
            current = migration.version
        return current
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
