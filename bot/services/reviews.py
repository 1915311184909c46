"""Reviews: one per member per movie, written, edited, deleted, read, and voted helpful.

This service owns the steps of posting, editing and deleting a review, and their undo; it reaches
Discord through a :class:`ReviewPublisher` that ``cogs/reviews`` implements. Writing is three
steps so that nothing is kept when posting fails: the review is reserved (one per member per
movie), the publisher posts it, then where it went is recorded — or the posted messages are
deleted again and the reservation removed. One publish or delete at a time per review, so a
double-clicked edit or a delete racing a write never leaves orphaned messages.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from dataclasses import dataclass
from typing import Protocol

from bot.domain.clock import Clock, to_db
from bot.domain.errors import Duplicate, NotFound
from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.review_text import (
    MAX_FILE_BYTES,
    MAX_FILE_CHARS,
    MAX_MODAL_CHARS,
    ReviewFileError,
    decode_review_file,
)
from bot.domain.reviews import (
    PostedPart,
    Review,
    ReviewDraft,
    check_may_delete,
    counts_as_helpful,
    make_draft,
    parse_rating,
)
from bot.storage.database import Database

log = logging.getLogger(__name__)

PAGE_SIZE = 5


@dataclass(frozen=True)
class ReviewPage:
    movie: Movie
    member_id: int | None  # the member whose review was asked for, or None for everyone's
    page: int  # 0-based, clamped into range
    pages: int
    total: int
    reviews: list[Review]


class ReviewPublisher(Protocol):
    """The Discord side of one review command (the reviews channel and the author are known)."""

    async def open_thread(self, movie: Movie) -> Movie:
        """Make sure the movie's spoiler thread is open (re-made if it is gone)."""
        ...

    async def publish(self, review: Review, movie: Movie, draft: ReviewDraft) -> list[PostedPart]:
        """Post (or re-post over its old messages) ``draft``; every message it is now made of.
        When posting fails, the messages made by this call are deleted and the error goes up."""
        ...

    async def delete(self, parts: list[PostedPart], *, quiet: bool = False) -> None:
        """Delete posted messages (``quiet``: while undoing, when another error is reported)."""
        ...

    def card_changed(self, movie_id: int) -> None:
        """The movie's card shows the number of reviews: refresh it soon."""
        ...


class ReviewService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        # One publish or delete at a time per review. A lock lives as long as someone holds or
        # waits for it, and no longer.
        self._turns: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _turn(self, review_id: int) -> asyncio.Lock:
        lock = self._turns.get(review_id)
        if lock is None:
            lock = self._turns[review_id] = asyncio.Lock()
        return lock

    # -- the use cases that touch Discord -----------------------------------------------------
    async def post(
        self, movie: Movie, author_id: int, draft: ReviewDraft, publisher: ReviewPublisher
    ) -> tuple[Movie, Review]:
        """Reserve, post and record a new review; nothing is kept when posting fails."""
        if draft.spoilers:
            movie = await publisher.open_thread(movie)
        review = await self.create(movie, author_id, draft)
        parts: list[PostedPart] = []
        try:
            # Recorded inside the turn: a delete waiting for it then sees every posted part.
            async with self._turn(review.id):
                parts = await publisher.publish(review, movie, draft)
                review = await self.record_parts(review, parts)
        except BaseException:
            try:
                await publisher.delete(parts, quiet=True)  # posted, but not recorded
            finally:
                # Even when the clean-up fails or is cancelled: a reservation left behind would
                # refuse the member's next try as "already reviewed".
                await asyncio.shield(self.discard(review))
            raise
        publisher.card_changed(movie.id)
        return movie, review

    async def edit(
        self, movie: Movie, author_id: int, draft: ReviewDraft, publisher: ReviewPublisher
    ) -> tuple[Movie, Review]:
        """Re-post an edited review over its old messages (stale ones are deleted) and save it."""
        if draft.spoilers:
            movie = await publisher.open_thread(movie)
        review = await self.mine(movie, author_id)
        async with self._turn(review.id):
            review = await self.mine(movie, author_id)  # its parts, now
            parts = await publisher.publish(review, movie, draft)
            try:
                review = await self.save_edit(review, draft, parts)
            except NotFound:  # deleted while it was being re-posted: leave nothing behind
                await publisher.delete(parts, quiet=True)
                raise
            except BaseException:  # not saved: the review keeps its old parts, drop the new ones
                kept = {part.message_id for part in review.parts}
                await publisher.delete([p for p in parts if p.message_id not in kept], quiet=True)
                raise
        return movie, review

    async def delete(
        self, movie: Movie, review: Review, actor_id: int, publisher: ReviewPublisher
    ) -> Review:
        """Delete a review's messages, then the review (checked by :meth:`check_may_delete`)."""
        async with self._turn(review.id):
            # Read again in the turn: an edit or a write that held it may have changed the parts.
            review = await self.find(movie, review.author_id, actor_id=actor_id)
            await publisher.delete(list(review.parts))
            await self.remove(review)
        publisher.card_changed(movie.id)
        return review

    # -- input -------------------------------------------------------------------------------
    @staticmethod
    def draft_from_form(
        body: str, headline: str | None, rating: str | None, *, spoilers: bool
    ) -> ReviewDraft:
        """What the review form gave: up to 4,000 characters of review."""
        return make_draft(
            body, headline, parse_rating(rating), spoilers=spoilers, max_chars=MAX_MODAL_CHARS
        )

    @staticmethod
    def check_file_size(size: int) -> None:
        """Refuse a file too big to hold a postable review before downloading it."""
        if size > MAX_FILE_BYTES:
            raise ReviewFileError(
                f"That file is {size // 1000:,} KB; a review file can be at most "
                f"{MAX_FILE_BYTES // 1000} KB ({MAX_FILE_CHARS:,} characters). "
                "Shorten the review and try again."
            )

    @staticmethod
    def draft_from_file(
        data: bytes, filename: str, headline: str | None, rating: int | None, *, spoilers: bool
    ) -> ReviewDraft:
        """An attached .txt/.md file: up to 40,000 characters of review."""
        text = decode_review_file(data, filename)
        return make_draft(text, headline, rating, spoilers=spoilers, max_chars=MAX_FILE_CHARS)

    # -- writing -----------------------------------------------------------------------------
    async def check_not_reviewed(self, movie: Movie, author_id: int) -> None:
        """Before the member types anything: one review per member per movie."""
        async with self._db.reader() as s:
            existing = await s.reviews.get(movie.id, author_id)
        if existing is not None:
            raise _already_reviewed(movie, existing)

    async def create(self, movie: Movie, author_id: int, draft: ReviewDraft) -> Review:
        """Reserve the member's review of ``movie``; posting it is the caller's next step."""
        async with self._db.session() as s:
            existing = await s.reviews.get(movie.id, author_id)
            if existing is not None:
                raise _already_reviewed(movie, existing)
            review = await s.reviews.add(movie.id, author_id, draft, to_db(self._clock.now()))
        log.info("review %d of movie %d by member %d created", review.id, movie.id, author_id)
        return review

    async def discard(self, review: Review) -> None:
        """Undo :meth:`create` when the review could not be posted."""
        async with self._db.session() as s:
            await s.reviews.delete(review.id)
        log.info("review %d discarded (not posted)", review.id)

    async def record_parts(self, review: Review, parts: list[PostedPart]) -> Review:
        """Where the review is on Discord now (every posted message, in both copies)."""
        async with self._db.session() as s:
            if await s.reviews.by_id(review.id) is None:  # deleted while it was being posted
                raise NotFound("That review was deleted while it was being posted.")
            await s.reviews.replace_parts(review.id, parts)
            stored = await s.reviews.by_id(review.id)
        assert stored is not None
        return stored

    # -- changing ----------------------------------------------------------------------------
    async def mine(self, movie: Movie, author_id: int) -> Review:
        """The member's own review of ``movie``, for editing."""
        async with self._db.reader() as s:
            review = await s.reviews.get(movie.id, author_id)
        if review is None:
            raise NotFound(
                f"You haven't reviewed {movie.label} yet. Write one with `/review write`."
            )
        return review

    async def save_edit(
        self, review: Review, draft: ReviewDraft, parts: list[PostedPart]
    ) -> Review:
        """The edited text and where it is posted now, in one transaction."""
        async with self._db.session() as s:
            current = await s.reviews.by_id(review.id)
            if current is None:
                raise NotFound("That review was deleted in the meantime.")
            await s.reviews.update(current, draft, to_db(self._clock.now()))
            await s.reviews.replace_parts(review.id, parts)
            updated = await s.reviews.by_id(review.id)
        assert updated is not None
        log.info("review %d edited", review.id)
        return updated

    async def find(self, movie: Movie, author_id: int, *, actor_id: int) -> Review:
        """``author_id``'s review of ``movie``, looked up by ``actor_id`` (for the wording)."""
        async with self._db.reader() as s:
            review = await s.reviews.get(movie.id, author_id)
        if review is None:
            whose = "You haven't" if author_id == actor_id else f"<@{author_id}> hasn't"
            raise NotFound(f"{whose} reviewed {movie.label}.")
        return review

    @staticmethod
    def check_may_delete(review: Review, actor_id: int, *, manages_messages: bool) -> None:
        check_may_delete(review, actor_id, manages_messages=manages_messages)

    async def remove(self, review: Review) -> None:
        """The row, its posted-message rows and its votes (after its messages are deleted)."""
        async with self._db.session() as s:
            await s.reviews.delete(review.id)
        log.info("review %d deleted", review.id)

    # -- reading -----------------------------------------------------------------------------
    async def page(self, movie: Movie, member_id: int | None, page: int) -> ReviewPage:
        async with self._db.reader() as s:
            total = await s.reviews.count(movie.id, member_id)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            current = min(max(page, 0), pages - 1)
            reviews = await s.reviews.page(movie.id, member_id, current * PAGE_SIZE, PAGE_SIZE)
        return ReviewPage(movie, member_id, current, pages, total, reviews)

    # -- helpful votes -----------------------------------------------------------------------
    async def vote(self, message_id: int, member_id: int, emoji: str, *, added: bool) -> bool:
        """A reaction on any message: True when it changed a review's helpful count.

        Only 👍 counts, once per member per review, never the author's own.
        """
        if not counts_as_helpful(emoji):
            return False
        async with self._db.reader() as s:
            found = await s.reviews.by_message(message_id)
        if found is None or found[1] == member_id:
            return False
        async with self._db.session() as s:
            if await s.reviews.by_message(message_id) is None:  # deleted since
                return False
            review_id = found[0]
            if added:
                return await s.reviews.add_vote(review_id, member_id)
            return await s.reviews.remove_vote(review_id, member_id)

    async def helpful(self, review_id: int) -> int:
        async with self._db.reader() as s:
            return await s.reviews.helpful(review_id)


def _already_reviewed(movie: Movie, existing: Review) -> Duplicate:
    where = ""
    first = existing.first_message
    if first is not None:
        link = message_link(movie.guild_id, first.channel_id, first.message_id)
        where = f" ([your review]({link}))"
    return Duplicate(
        f"You already reviewed {movie.label}{where}. One review per movie: change it with "
        "`/review edit`, or remove it with `/review delete`."
    )
