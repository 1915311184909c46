"""The catalog: movies per guild, their card and spoiler thread, and what the card shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.movies import Movie, MovieSort
from bot.domain.ratings import RatingSummary

_SELECT = (
    "SELECT id, guild_id, title, year, added_by, card_channel_id, card_message_id, thread_id "
    "FROM movies "
)

if TYPE_CHECKING:
    from bot.storage.database import Queries, Row
_ORDER: dict[MovieSort, str] = {
    "recent": "m.added_at DESC, m.id DESC",
    "title": "m.title_key ASC, coalesce(m.year, 0) ASC, m.id ASC",
    # Unrated movies sink; among rated ones the better average first, then more votes.
    "top": "avg(r.score) IS NULL, avg(r.score) DESC, count(r.score) DESC, m.title_key ASC, "
    "m.id ASC",
}


def _movie(row: Row) -> Movie:
    return Movie(
        id=row["id"],
        guild_id=row["guild_id"],
        title=row["title"],
        year=row["year"],
        added_by=row["added_by"],
        card_channel_id=row["card_channel_id"],
        card_message_id=row["card_message_id"],
        thread_id=row["thread_id"],
    )


class MovieRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    async def add(
        self,
        guild_id: int,
        *,
        title: str,
        title_key: str,
        year: int | None,
        added_by: int,
        added_at: str,
    ) -> Movie:
        movie_id = await self._q.insert(
            "INSERT INTO movies (guild_id, title, title_key, year, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, title, title_key, year, added_by, added_at),
        )
        return Movie(movie_id, guild_id, title, year, added_by)

    async def get(self, guild_id: int, movie_id: int) -> Movie | None:
        row = await self._q.one(_SELECT + "WHERE guild_id = ? AND id = ?", (guild_id, movie_id))
        return None if row is None else _movie(row)

    async def by_id(self, movie_id: int) -> Movie | None:
        row = await self._q.one(_SELECT + "WHERE id = ?", (movie_id,))
        return None if row is None else _movie(row)

    async def with_cards(self, guild_id: int) -> list[Movie]:
        rows = await self._q.all(
            _SELECT + "WHERE guild_id = ? AND card_message_id IS NOT NULL ORDER BY id", (guild_id,)
        )
        return [_movie(r) for r in rows]

    async def by_identity(self, guild_id: int, title_key: str, year: int | None) -> Movie | None:
        row = await self._q.one(
            _SELECT + "WHERE guild_id = ? AND title_key = ? AND coalesce(year, 0) = ?",
            (guild_id, title_key, year or 0),
        )
        return None if row is None else _movie(row)

    async def by_title_key(self, guild_id: int, title_key: str) -> list[Movie]:
        rows = await self._q.all(
            _SELECT + "WHERE guild_id = ? AND title_key = ? ORDER BY coalesce(year, 0)",
            (guild_id, title_key),
        )
        return [_movie(r) for r in rows]

    async def by_card(self, card_message_id: int) -> Movie | None:
        row = await self._q.one(_SELECT + "WHERE card_message_id = ?", (card_message_id,))
        return None if row is None else _movie(row)

    async def all_for_guild(self, guild_id: int) -> list[Movie]:
        """The whole catalog, newest first (the order autocomplete shows for an empty query)."""
        rows = await self._q.all(
            _SELECT + "WHERE guild_id = ? ORDER BY added_at DESC, id DESC", (guild_id,)
        )
        return [_movie(r) for r in rows]

    async def count(self, guild_id: int) -> int:
        return int(
            await self._q.scalar("SELECT count(*) FROM movies WHERE guild_id = ?", (guild_id,))
        )

    async def page(
        self, guild_id: int, sort: MovieSort, offset: int, limit: int
    ) -> list[tuple[Movie, RatingSummary]]:
        rows = await self._q.all(
            "SELECT m.id, m.guild_id, m.title, m.year, m.added_by, m.card_channel_id, "
            "m.card_message_id, m.thread_id "
            "FROM movies m LEFT JOIN ratings r ON r.movie_id = m.id WHERE m.guild_id = ? "
            f"GROUP BY m.id ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        ids = [row["id"] for row in rows]
        summaries = await self.summaries(ids)
        return [(_movie(row), summaries[row["id"]]) for row in rows]

    async def summaries(self, movie_ids: list[int]) -> dict[int, RatingSummary]:
        counts: dict[int, dict[int, int]] = {movie_id: {} for movie_id in movie_ids}
        if movie_ids:
            marks = ", ".join("?" * len(movie_ids))
            rows = await self._q.all(
                f"SELECT movie_id, score, count(*) AS n FROM ratings WHERE movie_id IN ({marks}) "
                "GROUP BY movie_id, score",
                movie_ids,
            )
            for row in rows:
                counts[row["movie_id"]][row["score"]] = row["n"]
        return {movie_id: RatingSummary.from_counts(c) for movie_id, c in counts.items()}

    async def review_count(self, movie_id: int) -> int:
        return int(
            await self._q.scalar("SELECT count(*) FROM reviews WHERE movie_id = ?", (movie_id,))
        )

    async def set_card(self, movie_id: int, channel_id: int | None, message_id: int | None) -> None:
        await self._q.write(
            "UPDATE movies SET card_channel_id = ?, card_message_id = ? WHERE id = ?",
            (channel_id, message_id, movie_id),
        )

    async def set_thread(self, movie_id: int, thread_id: int | None) -> None:
        await self._q.write("UPDATE movies SET thread_id = ? WHERE id = ?", (thread_id, movie_id))

    async def delete(self, movie_id: int) -> None:
        await self._q.write("DELETE FROM movies WHERE id = ?", (movie_id,))

    async def active_cards(self, since: str) -> list[Movie]:
        """Movies with a card and with activity at or after ``since``, the latest activity first.

        Activity is read from what the tables already record: when the movie was added, when a
        rating or a review of it last changed, when it was suggested for a pick or posted as
        one. (Each part is filtered before grouping, so only recent rows are grouped.)
        """
        rows = await self._q.all(
            "SELECT m.id, m.guild_id, m.title, m.year, m.added_by, m.card_channel_id, "
            "m.card_message_id, m.thread_id, a.active_at "
            "FROM movies m JOIN ("
            "SELECT movie_id, max(at) AS active_at FROM ("
            "SELECT id AS movie_id, added_at AS at FROM movies WHERE added_at >= ? "
            "UNION ALL SELECT movie_id, updated_at AS at FROM ratings WHERE updated_at >= ? "
            "UNION ALL SELECT movie_id, updated_at AS at FROM reviews WHERE updated_at >= ? "
            "UNION ALL SELECT movie_id, suggested_at AS at FROM watch_pool "
            "WHERE suggested_at >= ? "
            "UNION ALL SELECT pick_movie_id AS movie_id, posted_at AS at FROM watch_runs "
            "WHERE pick_movie_id IS NOT NULL AND posted_at >= ?"
            ") AS recent GROUP BY movie_id"
            ") AS a ON a.movie_id = m.id "
            "WHERE m.card_message_id IS NOT NULL "
            "ORDER BY active_at DESC, m.id DESC",
            (since, since, since, since, since),
        )
        return [_movie(r) for r in rows]
