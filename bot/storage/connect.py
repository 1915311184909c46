"""Open the database a setting names: a SQLite file, or a PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

from bot.storage.database import Database
from bot.storage.migrator import Migration
from bot.storage.sqlite import SqliteDatabase

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


async def open_database(
    target: str | Path, *, migrations: list[Migration] | None = None
) -> Database:
    """Open and migrate to the newest schema. ``target``: a SQLite file path (created with its
    folder if needed), ``:memory:``, or a ``postgresql://`` URL."""
    text = str(target)
    if text.startswith(POSTGRES_SCHEMES):
        # asyncpg is the optional extra ``reelclub[postgres]``: imported only when asked for.
        from bot.storage.postgres import PostgresDatabase  # noqa: PLC0415

        return await PostgresDatabase.create(text, migrations=migrations)
    return await SqliteDatabase.create(target, migrations=migrations)
