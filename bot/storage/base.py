"""What every repository shares: the connection and two small query helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite


class Repository:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    # Reads run to completion in one call on the database thread. A cursor left open across an
    # ``await`` would keep a read transaction open on the shared reader connection, and every
    # other task's read would see that old snapshot instead of the latest commit.
    async def _one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        rows: Iterable[sqlite3.Row] = await self._conn.execute_fetchall(sql, tuple(params))
        return list(rows)

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the new rowid for an INSERT, else the rows changed."""
        async with self._conn.execute(sql, tuple(params)) as cursor:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)
