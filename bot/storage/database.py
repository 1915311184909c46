"""The one ``Database`` of a process, whatever the backend: units of work (:class:`Session`, every
feature's repository on one connection and transaction) and the query helpers the repositories
share (:class:`Queries`).

Two backends implement it: SQLite (``bot/storage/sqlite.py``, the embedded default) and
PostgreSQL (``bot/storage/postgres.py``, for several processes). The repositories are written
once, in the SQL both accept, with ``?`` placeholders; :class:`Queries` is where the two differ.

Writes go through :meth:`Database.session`: one transaction per unit of work, committed at the
end, rolled back on any exception (cancellation included). Within a process units of work take
turns, so a service may read, decide and write in one session. Reads that need no transaction go
through :meth:`Database.reader`, which never queues behind a batch of writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import Any, Protocol

from bot.storage.club import ClubRepository
from bot.storage.meta import MetaRepository
from bot.storage.movies import MovieRepository
from bot.storage.ratings import RatingRepository
from bot.storage.reviews import ReviewRepository
from bot.storage.watch import WatchRepository


class Row(Protocol):
    """A result row: by column name or position (``sqlite3.Row`` and ``asyncpg.Record``)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Queries(ABC):
    """One connection (and transaction, in a session) and what every repository runs on it.

    SQL uses ``?`` placeholders. A unique, check or foreign-key violation raises
    :class:`~bot.domain.errors.ConstraintViolation` on every backend. ``dialect`` lets a
    repository pick the better form of a hot statement where the two differ.
    """

    dialect: str  # "sqlite" or "postgresql"

    @abstractmethod
    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT, UPDATE or DELETE; returns how many rows it changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT into a table with an ``id`` key; returns the new row's id."""

    @abstractmethod
    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (a batch, one round trip or so)."""


class Session:
    """A unit of work: the repositories of every feature, sharing one connection and
    transaction."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries

    @cached_property
    def club(self) -> ClubRepository:
        return ClubRepository(self.queries)

    @cached_property
    def movies(self) -> MovieRepository:
        return MovieRepository(self.queries)

    @cached_property
    def ratings(self) -> RatingRepository:
        return RatingRepository(self.queries)

    @cached_property
    def reviews(self) -> ReviewRepository:
        return ReviewRepository(self.queries)

    @cached_property
    def meta(self) -> MetaRepository:
        return MetaRepository(self.queries)

    @cached_property
    def watch(self) -> WatchRepository:
        return WatchRepository(self.queries)


class Database(ABC):
    """A process's database; ``bot.storage.connect.open_database`` opens the right backend."""

    #: ``"sqlite"`` or ``"postgresql"``.
    backend: str
    schema_version: int = 0

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def session(self) -> AbstractAsyncContextManager[Session]:
        """One unit of work. Never await Discord in here: sessions of a process take turns."""

    @abstractmethod
    def exclusive(self, key: int) -> AbstractAsyncContextManager[bool]:
        """``async with db.exclusive(key) as mine``: ``mine`` is True while this process holds
        ``key`` (a guild id, say), False when another process sharing the database holds it.
        Never waits. A process that dies lets go of its keys at once."""

    @abstractmethod
    async def identify_turn(self, bucket: int, spacing: float) -> None:
        """Wait until ``spacing`` seconds have passed since the last gateway login of
        ``bucket`` by any process sharing this database, and record this one as the last.

        Discord lets a bot start one session per ``max_concurrency`` bucket every 5 seconds;
        processes running different shards of one bot take turns here."""

    @abstractmethod
    def reader(self) -> AbstractAsyncContextManager[Session]:
        """Reads outside a transaction; each statement sees the last committed state.

        Don't nest: a task that opens a reader inside a reader may wait for itself.
        """
