"""Reviews, the messages each one was posted as, and helpful votes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.domain.reviews import PostedPart, Review, ReviewDraft

_SELECT = (
    "SELECT r.id, r.movie_id, r.author_id, r.headline, r.body, r.spoilers, r.rating, "
    "r.created_at, r.updated_at, "
    "(SELECT count(*) FROM helpful_votes h WHERE h.review_id = r.id) AS helpful "
    "FROM reviews r "
)

if TYPE_CHECKING:
    from bot.storage.database import Queries, Row


def _review(row: Row) -> Review:
    return Review(
        id=row["id"],
        movie_id=row["movie_id"],
        author_id=row["author_id"],
        headline=row["headline"],
        body=row["body"],
        spoilers=bool(row["spoilers"]),
        rating=row["rating"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        helpful=row["helpful"],
    )


class ReviewRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    # -- reviews -----------------------------------------------------------------------------
    async def get(self, movie_id: int, author_id: int) -> Review | None:
        row = await self._q.one(
            _SELECT + "WHERE r.movie_id = ? AND r.author_id = ?", (movie_id, author_id)
        )
        return None if row is None else await self._with_parts(_review(row))

    async def by_id(self, review_id: int) -> Review | None:
        row = await self._q.one(_SELECT + "WHERE r.id = ?", (review_id,))
        return None if row is None else await self._with_parts(_review(row))

    async def add(self, movie_id: int, author_id: int, draft: ReviewDraft, at: str) -> Review:
        review_id = await self._q.insert(
            "INSERT INTO reviews (movie_id, author_id, headline, body, spoilers, rating, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                movie_id,
                author_id,
                draft.headline,
                draft.body,
                int(draft.spoilers),
                draft.rating,
                at,
                at,
            ),
        )
        return Review(
            review_id,
            movie_id,
            author_id,
            draft.headline,
            draft.body,
            draft.spoilers,
            draft.rating,
            at,
            at,
        )

    async def update(self, review: Review, draft: ReviewDraft, at: str) -> Review:
        await self._q.write(
            "UPDATE reviews SET headline = ?, body = ?, spoilers = ?, rating = ?, updated_at = ? "
            "WHERE id = ?",
            (draft.headline, draft.body, int(draft.spoilers), draft.rating, at, review.id),
        )
        return replace(
            review,
            headline=draft.headline,
            body=draft.body,
            spoilers=draft.spoilers,
            rating=draft.rating,
            updated_at=at,
        )

    async def delete(self, review_id: int) -> bool:
        """The review, its posted-message rows and its votes (ON DELETE CASCADE)."""
        return await self._q.write("DELETE FROM reviews WHERE id = ?", (review_id,)) > 0

    async def count(self, movie_id: int, author_id: int | None = None) -> int:
        sql, params = "SELECT count(*) FROM reviews WHERE movie_id = ?", [movie_id]
        if author_id is not None:
            sql, params = sql + " AND author_id = ?", [*params, author_id]
        return int(await self._q.scalar(sql, params))

    async def page(
        self, movie_id: int, author_id: int | None, offset: int, limit: int
    ) -> list[Review]:
        """Most helpful first; among equals the oldest first, so early reviews keep their place."""
        sql, params = _SELECT + "WHERE r.movie_id = ?", [movie_id]
        if author_id is not None:
            sql, params = sql + " AND r.author_id = ?", [*params, author_id]
        rows = await self._q.all(
            sql + " ORDER BY helpful DESC, r.created_at ASC, r.id ASC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        reviews = [_review(row) for row in rows]
        parts = await self._parts([r.id for r in reviews])
        return [replace(r, parts=tuple(parts.get(r.id, ()))) for r in reviews]

    # -- posted messages ---------------------------------------------------------------------
    async def replace_parts(self, review_id: int, parts: list[PostedPart]) -> None:
        """What is on Discord now: the old rows go, these come in."""
        await self._q.write("DELETE FROM review_messages WHERE review_id = ?", (review_id,))
        await self._q.many(
            "INSERT INTO review_messages (review_id, channel_id, message_id, part, in_thread) "
            "VALUES (?, ?, ?, ?, ?)",
            [(review_id, p.channel_id, p.message_id, p.part, int(p.in_thread)) for p in parts],
        )

    async def by_message(self, message_id: int) -> tuple[int, int] | None:
        """(review id, author id) of the review a posted message belongs to."""
        row = await self._q.one(
            "SELECT r.id, r.author_id FROM review_messages m JOIN reviews r ON r.id = m.review_id "
            "WHERE m.message_id = ?",
            (message_id,),
        )
        return None if row is None else (int(row[0]), int(row[1]))

    async def _with_parts(self, review: Review) -> Review:
        parts = await self._parts([review.id])
        return replace(review, parts=tuple(parts.get(review.id, ())))

    async def _parts(self, review_ids: list[int]) -> dict[int, list[PostedPart]]:
        found: dict[int, list[PostedPart]] = defaultdict(list)
        if not review_ids:
            return found
        marks = ", ".join("?" * len(review_ids))
        rows = await self._q.all(
            "SELECT review_id, channel_id, message_id, part, in_thread FROM review_messages "
            f"WHERE review_id IN ({marks}) ORDER BY review_id, in_thread, part",
            review_ids,
        )
        for row in rows:
            found[row["review_id"]].append(
                PostedPart(
                    row["channel_id"], row["message_id"], row["part"], bool(row["in_thread"])
                )
            )
        return found

    # -- helpful votes -----------------------------------------------------------------------
    async def add_vote(self, review_id: int, member_id: int) -> bool:
        """True when the vote is new (a second 👍 from the same member changes nothing)."""
        added = await self._q.write(
            "INSERT INTO helpful_votes (review_id, member_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (review_id, member_id),
        )
        return added > 0

    async def remove_vote(self, review_id: int, member_id: int) -> bool:
        removed = await self._q.write(
            "DELETE FROM helpful_votes WHERE review_id = ? AND member_id = ?",
            (review_id, member_id),
        )
        return removed > 0

    async def helpful(self, review_id: int) -> int:
        return int(
            await self._q.scalar(
                "SELECT count(*) FROM helpful_votes WHERE review_id = ?", (review_id,)
            )
        )
