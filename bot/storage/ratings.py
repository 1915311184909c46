"""Ratings and the card reactions the bot last saw; batches are applied set-wise."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Literal

from bot.domain.ratings import BatchPlan

if TYPE_CHECKING:
    from bot.storage.database import Queries

Source = Literal["reaction", "command"]


class RatingRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    async def movie_for_card(self, message_id: int) -> int | None:
        """The movie whose card is this message (the reaction hot path asks, then caches)."""
        value = await self._q.scalar(
            "SELECT id FROM movies WHERE card_message_id = ?", (message_id,)
        )
        return None if value is None else int(value)

    async def get(self, movie_id: int, member_id: int) -> int | None:
        value = await self._q.scalar(
            "SELECT score FROM ratings WHERE movie_id = ? AND member_id = ?", (movie_id, member_id)
        )
        return None if value is None else int(value)

    async def put(self, movie_id: int, member_id: int, score: int, source: Source, at: str) -> None:
        await self._q.write(
            "INSERT INTO ratings (movie_id, member_id, score, source, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (movie_id, member_id) DO UPDATE SET "
            "score = excluded.score, source = excluded.source, updated_at = excluded.updated_at",
            (movie_id, member_id, score, source, at),
        )

    async def delete(self, movie_id: int, member_id: int) -> bool:
        removed = await self._q.write(
            "DELETE FROM ratings WHERE movie_id = ? AND member_id = ?", (movie_id, member_id)
        )
        return removed > 0

    async def apply(self, plan: BatchPlan, at: str) -> None:
        """One batch of reaction changes: a handful of statements, however many events."""
        q = self._q
        if plan.seen_remove:
            await q.many(
                "DELETE FROM card_reactions WHERE movie_id = ? AND member_id = ? AND score = ?",
                sorted(plan.seen_remove),
            )
        if plan.seen_add:
            await q.many(
                "INSERT INTO card_reactions (movie_id, member_id, score) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                sorted(plan.seen_add),
            )
        if plan.conditional_deletes:
            await q.many(
                "DELETE FROM ratings WHERE movie_id = ? AND member_id = ? AND score = ?",
                sorted(plan.conditional_deletes),
            )
        if plan.deletes:
            await q.many(
                "DELETE FROM ratings WHERE movie_id = ? AND member_id = ?", sorted(plan.deletes)
            )
        if plan.upserts:
            await q.many(
                "INSERT INTO ratings (movie_id, member_id, score, source, updated_at) "
                "VALUES (?, ?, ?, 'reaction', ?) ON CONFLICT (movie_id, member_id) DO UPDATE SET "
                "score = excluded.score, source = 'reaction', updated_at = excluded.updated_at",
                [
                    (movie, member, score, at)
                    for (movie, member), score in sorted(plan.upserts.items())
                ],
            )

    async def forget_seen(self, movie_id: int, score: int | None = None) -> None:
        """The card's reactions are gone (cleared or deleted); ratings stay."""
        if score is None:
            await self._q.write("DELETE FROM card_reactions WHERE movie_id = ?", (movie_id,))
        else:
            await self._q.write(
                "DELETE FROM card_reactions WHERE movie_id = ? AND score = ?", (movie_id, score)
            )

    async def seen_on_card(self, movie_id: int) -> dict[int, set[int]]:
        rows = await self._q.all(
            "SELECT member_id, score FROM card_reactions WHERE movie_id = ?", (movie_id,)
        )
        seen: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            seen[row["member_id"]].add(row["score"])
        return dict(seen)

    async def seen_for(self, movie_id: int, member_ids: list[int]) -> dict[int, set[int]]:
        seen: dict[int, set[int]] = defaultdict(set)
        for start in range(0, len(member_ids), 500):
            chunk = member_ids[start : start + 500]
            rows = await self._q.all(
                "SELECT member_id, score FROM card_reactions WHERE movie_id = ? "
                f"AND member_id IN ({', '.join('?' * len(chunk))})",
                (movie_id, *chunk),
            )
            for row in rows:
                seen[row["member_id"]].add(row["score"])
        return dict(seen)

    async def seen_for_pairs(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], set[int]]:
        """Numbers last seen on cards for many (movie, member) pairs, in one query per 400
        (PostgreSQL: one query, its pairs as two arrays, the same statement every batch)."""
        seen: dict[tuple[int, int], set[int]] = defaultdict(set)
        if self._q.dialect == "postgresql" and pairs:
            rows = await self._q.all(
                "SELECT c.movie_id, c.member_id, c.score FROM card_reactions c "
                "JOIN unnest(?::bigint[], ?::bigint[]) AS p (movie_id, member_id) "
                "ON c.movie_id = p.movie_id AND c.member_id = p.member_id",
                ([movie for movie, _ in pairs], [member for _, member in pairs]),
            )
            for row in rows:
                seen[(row[0], row[1])].add(row[2])
            return dict(seen)
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            rows = await self._q.all(
                "SELECT movie_id, member_id, score FROM card_reactions "
                "WHERE (movie_id, member_id) IN "
                f"(VALUES {', '.join(['(CAST(? AS BIGINT), CAST(? AS BIGINT))'] * len(chunk))})",
                [value for pair in chunk for value in pair],
            )
            for row in rows:
                seen[(row[0], row[1])].add(row[2])
        return dict(seen)

    async def all_for_guild(self, guild_id: int) -> list[tuple[int, int, int]]:
        """(member_id, movie_id, score) for every rating in the club — the recommender's input."""
        rows = await self._q.all(
            "SELECT r.member_id, r.movie_id, r.score FROM ratings r "
            "JOIN movies m ON m.id = r.movie_id WHERE m.guild_id = ?",
            (guild_id,),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def changed_after(self, movie_id: int, after: str) -> dict[int, int]:
        """member_id -> score of the movie's ratings set or changed after ``after``."""
        rows = await self._q.all(
            "SELECT member_id, score FROM ratings WHERE movie_id = ? AND updated_at > ?",
            (movie_id, after),
        )
        return {row["member_id"]: row["score"] for row in rows}
