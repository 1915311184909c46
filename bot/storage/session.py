"""A unit of work: the repositories of every feature, sharing one connection and transaction."""

from __future__ import annotations

from functools import cached_property

import aiosqlite

from bot.storage.club import ClubRepository
from bot.storage.meta import MetaRepository
from bot.storage.movies import MovieRepository
from bot.storage.ratings import RatingRepository
from bot.storage.reviews import ReviewRepository
from bot.storage.watch import WatchRepository


class Session:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @cached_property
    def club(self) -> ClubRepository:
        return ClubRepository(self.conn)

    @cached_property
    def movies(self) -> MovieRepository:
        return MovieRepository(self.conn)

    @cached_property
    def ratings(self) -> RatingRepository:
        return RatingRepository(self.conn)

    @cached_property
    def reviews(self) -> ReviewRepository:
        return ReviewRepository(self.conn)

    @cached_property
    def meta(self) -> MetaRepository:
        return MetaRepository(self.conn)

    @cached_property
    def watch(self) -> WatchRepository:
        return WatchRepository(self.conn)
