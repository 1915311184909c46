"""Numbered, forward-only migrations kept in ``PRAGMA user_version``.

Each ``migrations/NNNN_name.sql`` file is one atomic batch: it opens its own transaction, sets
``PRAGMA user_version = NNNN`` and commits. A failing statement rolls the whole file back, so the
database is either at the old version or at the new one, never in between.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from bot.domain.errors import StorageError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``bot/storage/migrations``, in order, checked for gaps."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StorageError(f"migration {migration.version:04d} is out of sequence")
        if f"user_version = {migration.version}" not in migration.sql:
            raise StorageError(f"migration {migration.version:04d} does not set its user_version")
    return found


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, migrations: list[Migration]) -> int:
    """Bring the database up to the newest migration; returns the version it ends at."""
    current = await schema_version(conn)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise StorageError(
            f"the database is at schema version {current}, newer than this code knows "
            f"({latest}); update Reel Club or point DATABASE_PATH at another file"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        try:
            await conn.executescript(migration.sql)
        except Exception as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise StorageError(
                f"migration {migration.version:04d}_{migration.name} failed and was rolled "
                f"back: {exc}"
            ) from exc
        applied = await schema_version(conn)
        if applied != migration.version:
            raise StorageError(f"migration {migration.version:04d} left user_version at {applied}")
        log.info("applied migration %04d_%s", migration.version, migration.name)
        current = applied
    return current
