"""Moving a club from SQLite to PostgreSQL (``python -m bot migrate --to postgresql://…``).

Every table of the SQLite schema is copied into an empty PostgreSQL database at the same schema
version, parents before children (the order comes from the foreign keys), ids kept. A target that
holds any club row, or tables that are not the club's, is refused before anything (the schema
included) is written to it.

The copy is one PostgreSQL transaction. Before it commits, every table is read back and compared
with what was read from SQLite: the row count, and a checksum computed the same way on both sides
(sha256 over the rows in primary-key order, each row written as JSON text: ``1``, ``1.0``, ``"1"``
and ``null`` all differ). Only when every table matches are the identity sequences moved past the
highest id copied (so the next insert gets a fresh id) and the transaction committed; a failure
or a difference rolls it all back, and the target stays as empty as it was found.

The SQLite file is opened read-only and read inside one transaction, so the copy is a single
consistent snapshot even if something still writes to it (the bot should be stopped anyway:
whatever it writes after the snapshot is not copied).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.config import redact_url
from bot.domain.errors import StorageError
from bot.storage.connect import POSTGRES_SCHEMES
from bot.storage.migrator import bundled_migrations, sqlite_version
from bot.storage.postgres import PostgresDatabase, describe_error

if TYPE_CHECKING:
    from asyncpg.transaction import Transaction

    from bot.storage.postgres import Connection

# Rows per read from SQLite and per fetch when reading PostgreSQL back.
BATCH = 2000
# One table's COPY may take longer than the pool's 60-second statement timeout on a big club.
COPY_TIMEOUT = 3600.0
# A running bot on the target holding a lock: give up after this long rather than wait forever.
LOCK_TIMEOUT = "10s"
_TEXT_TYPES = {"text", "character varying", "character"}
# PostgreSQL's own bookkeeping, not a club table: the migrator fills it, the copy leaves it alone.
_NOT_CLUB_TABLES = {"schema_migrations"}


@dataclass(frozen=True)
class Table:
    """A table of the SQLite schema as the copy needs it."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key's columns, in key order (every column if it has none)
    parents: tuple[str, ...]  # the tables its foreign keys point at


@dataclass(frozen=True)
class TableCheck:
    """One table after the copy: its rows and checksum on each side."""

    name: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


@dataclass(frozen=True)
class TransferReport:
    source: Path
    target: str  # the redacted URL: safe to print
    schema_version: int
    tables: tuple[TableCheck, ...]
    next_ids: tuple[tuple[str, int], ...]  # (table, the id its next insert gets)
    seconds: float

    @property
    def ok(self) -> bool:
        """Every table matches: the copy was committed. Otherwise it was rolled back."""
        return all(table.ok for table in self.tables)

    @property
    def rows(self) -> int:
        return sum(table.source_rows for table in self.tables)


class Checksum:
    """sha256 over rows fed in primary-key order; each row is its values as compact JSON and a
    newline."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add(self, rows: Sequence[Iterable[Any]]) -> None:
        """The next rows (a batch: one hash update for all of them)."""
        encode = _JSON.encode
        self._hash.update("".join([encode(list(row)) + "\n" for row in rows]).encode("utf-8"))
        self.rows += len(rows)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _tagged(value: Any) -> Any:
    """A value JSON has no form for, tagged with its kind so it equals nothing else."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    return {type(value).__name__: str(value)}


_JSON = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_tagged, check_circular=False
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def in_dependency_order(tables: Sequence[Table]) -> list[Table]:
    """Parents before children, otherwise in the order given."""
    placed: set[str] = set()
    ordered: list[Table] = []
    pending = list(tables)
    while pending:
        ready = next(
            (t for t in pending if all(p in placed or p == t.name for p in t.parents)), None
        )
        if ready is None:
            names = ", ".join(t.name for t in pending)
            raise StorageError(f"cannot order the tables {names} by their foreign keys")
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered


async def source_tables(conn: aiosqlite.Connection) -> list[Table]:
    """Every table of a SQLite database (SQLite's own excepted), parents before children."""
    names = [
        row[0]
        for row in await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        )
    ]
    tables = []
    for name in names:
        info = list(
            await conn.execute_fetchall(
                "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (name,)
            )
        )
        columns = tuple(row[0] for row in info)
        key = tuple(row[0] for row in sorted((r for r in info if r[1]), key=lambda r: r[1]))
        parents = await conn.execute_fetchall(
            'SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)', (name,)
        )
        tables.append(Table(name, columns, key or columns, tuple(row[0] for row in parents)))
    return in_dependency_order(tables)


async def copy_to_postgres(source: Path, target_url: str) -> TransferReport:
    """Copy the SQLite database at ``source`` into the empty PostgreSQL database at
    ``target_url`` (migrated to the newest schema first). Refusals and failures raise
    :class:`StorageError` with one line that never holds the password, and leave the target
    without a single club row; a checksum difference rolls back too and is in the report."""
    started = time.perf_counter()
    shown = redact_url(target_url)
    if not target_url.startswith(POSTGRES_SCHEMES):
        raise StorageError(
            f"the copy goes into PostgreSQL; {shown[:60]!r} is not a postgresql:// URL"
        )
    sqlite = await _open_source(source)
    try:
        await sqlite.execute("BEGIN")  # one snapshot for the schema and every row
        version = await _checked_version(sqlite, source)
        tables = await source_tables(sqlite)
        # Looked at before it is migrated: a database that is not empty gets nothing, not even
        # the schema.
        target = await PostgresDatabase.create(target_url, migrate=False)
        try:
            async with target.connection() as conn:
                await _refuse_other_data(conn, tables, shown)
            await target.migrate()
            async with target.connection() as conn:
                checks, next_ids = await _copy(sqlite, conn, tables, target_url)
        finally:
            await target.close()
    except sqlite3.Error as exc:
        raise StorageError(
            f"cannot read the SQLite database at {source} ({exc}); nothing was written"
        ) from exc
    finally:
        await sqlite.close()
    return TransferReport(source, shown, version, checks, next_ids, time.perf_counter() - started)


async def _open_source(path: Path) -> aiosqlite.Connection:
    """Read-only: nothing is created, migrated or written on the SQLite side."""
    uri = _read_only_uri(path)
    try:
        return await aiosqlite.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the SQLite database at {path}: {exc}") from exc


def _read_only_uri(path: Path) -> str:
    """(Blocking file-system calls, once, before anything else.)"""
    if not path.is_file():
        raise StorageError(f"there is no SQLite database at {path}")
    return f"{path.resolve().as_uri()}?mode=ro"


async def _checked_version(conn: aiosqlite.Connection, path: Path) -> int:
    version = await sqlite_version(conn)
    latest = bundled_migrations("sqlite")[-1].version
    if version > latest:
        raise StorageError(
            f"the SQLite database at {path} is at schema version {version}, newer than this code "
            f"knows ({latest}): update Reel Club, then run the copy again"
        )
    if version == 0:
        raise StorageError(
            f"the SQLite file at {path} has no Reel Club schema (schema version 0): is it the "
            "club's database?"
        )
    if version < latest:
        raise StorageError(
            f"the SQLite database at {path} is at schema version {version}, not the newest "
            f"({latest}): start the bot once on it (python -m bot), which migrates it, stop it, "
            "then run the copy again"
        )
    return version


async def _copy(
    sqlite: aiosqlite.Connection, conn: Connection, tables: list[Table], url: str
) -> tuple[tuple[TableCheck, ...], tuple[tuple[str, int], ...]]:
    """The copy proper, in one transaction: committed only if every table reads back the same."""
    import asyncpg  # noqa: PLC0415 (the optional extra; open_database has made sure it is there)

    shown = redact_url(url)
    target = await _target_schema(conn)
    _same_schema(tables, target, shown)
    step = "checking that it is empty"
    next_ids: tuple[tuple[str, int], ...] = ()
    transaction = conn.transaction()
    await transaction.start()
    try:
        names = ", ".join(_ident(t.name) for t in tables)
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await conn.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        await _refuse_rows(conn, tables, shown)
        sums = {}
        for table in tables:
            step = f"copying {table.name}"
            sums[table.name] = await _copy_table(sqlite, conn, table)
        checks = []
        for table in tables:
            step = f"reading {table.name} back"
            back = await _read_back(conn, table, target.text_columns)
            source = sums[table.name]
            checks.append(
                TableCheck(table.name, source.rows, back.rows, source.hexdigest(), back.hexdigest())
            )
        if all(check.ok for check in checks):
            # Last: setval is not undone by a rollback, so only a copy that is kept moves them.
            step = "setting the identity sequences"
            next_ids = await _set_sequences(conn, target.identities)
            step = "committing"
            await transaction.commit()
        else:
            await transaction.rollback()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        await _roll_back(transaction)
        raise StorageError(
            f"{step} failed, so the copy into {shown} was rolled back (nothing was written): "
            f"{describe_error(exc, url)}"
        ) from exc
    except BaseException:
        await _roll_back(transaction)
        raise
    return tuple(checks), next_ids


async def _roll_back(transaction: Transaction) -> None:
    """Roll back unless that already happened (or the connection is gone: the server then
    rolls back by itself)."""
    import asyncpg  # noqa: PLC0415

    with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
        await transaction.rollback()


@dataclass(frozen=True)
class _TargetSchema:
    columns: dict[str, tuple[str, ...]]
    text_columns: set[tuple[str, str]]
    identities: list[tuple[str, str]]


async def _target_schema(conn: Connection) -> _TargetSchema:
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_identity "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name, c.ordinal_position"
    )
    columns: dict[str, list[str]] = {}
    text, identities = set(), []
    for table, column, data_type, is_identity in rows:
        if table in _NOT_CLUB_TABLES:
            continue
        columns.setdefault(table, []).append(column)
        if data_type in _TEXT_TYPES:
            text.add((table, column))
        if is_identity == "YES":
            identities.append((table, column))
    return _TargetSchema({t: tuple(c) for t, c in columns.items()}, text, identities)


def _same_schema(tables: list[Table], target: _TargetSchema, shown: str) -> None:
    """The same tables with the same columns on both sides (a check on the two migration
    folders: they are kept in step by hand)."""
    source = {t.name: set(t.columns) for t in tables}
    differences = sorted(set(source) ^ set(target.columns))
    differences += sorted(
        name
        for name in set(source) & set(target.columns)
        if source[name] != set(target.columns[name])
    )
    if differences:
        raise StorageError(
            f"the schema at {shown} does not match the SQLite one (tables {', '.join(differences)}"
            "); nothing was copied"
        )


async def _refuse_other_data(conn: Connection, tables: list[Table], shown: str) -> None:
    """Refuse a target with tables that are not the club's, or with rows in the club's."""
    existing = {
        row[0]
        for row in await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    }
    others = sorted(existing - {t.name for t in tables} - _NOT_CLUB_TABLES)
    if others:
        raise StorageError(
            f"the database at {shown} holds tables that are not Reel Club's "
            f"({', '.join(others[:5])}{', …' if len(others) > 5 else ''}); the copy goes only "
            "into an empty database, so nothing was written"
        )
    await _refuse_rows(conn, [t for t in tables if t.name in existing], shown)


async def _refuse_rows(conn: Connection, tables: list[Table], shown: str) -> None:
    found = []
    for table in tables:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_ident(table.name)})"):
            count = await conn.fetchval(f"SELECT count(*) FROM {_ident(table.name)}")
            found.append(f"{table.name} ({count:,})")
    if found:
        listed = ", ".join(found[:4])
        if len(found) > 4:
            listed += f" and {len(found) - 4} more tables"
        raise StorageError(
            f"the database at {shown} is not empty: it has rows in {listed}; the copy goes "
            "only into an empty database, so nothing was written"
        )


async def _copy_table(sqlite: aiosqlite.Connection, conn: Connection, table: Table) -> Checksum:
    columns = ", ".join(_ident(c) for c in table.columns)
    order = ", ".join(f"{_ident(c)} COLLATE BINARY" for c in table.key)
    checksum = Checksum()

    async def rows() -> AsyncIterator[tuple[Any, ...]]:
        async with sqlite.execute(
            f"SELECT {columns} FROM {_ident(table.name)} ORDER BY {order}"
        ) as cursor:
            while batch := list(await cursor.fetchmany(BATCH)):
                checksum.add(batch)
                for row in batch:
                    yield tuple(row)

    await conn.copy_records_to_table(
        table.name, records=rows(), columns=list(table.columns), timeout=COPY_TIMEOUT
    )
    return checksum


async def _set_sequences(
    conn: Connection, identities: list[tuple[str, str]]
) -> tuple[tuple[str, int], ...]:
    """Each identity column's sequence past the highest id copied: the next insert gets
    max + 1 (1 in an empty table)."""
    next_ids = []
    for table, column in identities:
        value = await conn.fetchval(
            f"SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({_ident(column)}), 0) + 1,"
            f" false) FROM {_ident(table)}",
            _ident(table),
            column,
        )
        next_ids.append((table, int(value)))
    return tuple(next_ids)


async def _read_back(
    conn: Connection, table: Table, text_columns: set[tuple[str, str]]
) -> Checksum:
    """The table as PostgreSQL now holds it, in the order SQLite gave it: text keys compared
    byte by byte (COLLATE "C", as SQLite's BINARY), numbers as numbers."""
    columns = ", ".join(_ident(c) for c in table.columns)
    order = ", ".join(
        _ident(c) + (' COLLATE "C"' if (table.name, c) in text_columns else "") for c in table.key
    )
    checksum = Checksum()
    cursor = await conn.cursor(f"SELECT {columns} FROM {_ident(table.name)} ORDER BY {order}")
    while batch := await cursor.fetch(BATCH):
        checksum.add(batch)
    return checksum
