"""Ratings: reactions through a group-commit writer, /rate and /unrate, and reconciliation.

Reaction events are the hot path: a popular card can get hundreds a second. They go on a queue;
one writer task takes everything waiting, folds it into its net effect (``plan_batch``) and
commits it in one transaction. Commands and reconciliation go through the same rules, so every
path leads to the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.domain.clock import Clock, to_db
from bot.domain.movies import Movie
from bot.domain.ratings import (
    RatingSummary,
    ReactionChange,
    Reconciliation,
    check_score,
    plan_batch,
    reconcile_card,
    score_for_emoji,
)
from bot.storage.database import Database, Session

log = logging.getLogger(__name__)
T = TypeVar("T")

_CARD_CACHE_SIZE = 20_000
_STOP_WAIT = 2.0  # seconds stop() waits for events still finding their card


@dataclass(frozen=True)
class RatingsChanged:
    """Told to listeners after a commit: which cards to refresh, which reactions to tidy."""

    movie_ids: frozenset[int]
    tidy: tuple[tuple[int, int, int], ...] = ()  # (movie_id, member_id, score)
    reactions: int = 0  # reaction events this commit applied (they commit in arrival order)
    committed_at: float = field(default_factory=time.monotonic)  # for latency measurements


@dataclass
class _Reconcile:
    movie_id: int
    now_on_card: Mapping[int, set[int]]
    done: asyncio.Future[Reconciliation]


@dataclass
class _Forget:
    """The card's reactions are gone (cleared by a moderator, or the card deleted)."""

    movie_id: int
    score: int | None
    done: asyncio.Future[None]


@dataclass
class _Change:
    change: ReactionChange
    done: asyncio.Future[None] | None = None


@dataclass
class _Held:
    changes: list[_Change] = field(default_factory=list)


class RatingService:
    def __init__(self, db: Database, clock: Clock, *, max_batch: int = 2000) -> None:
        self._db = db
        self._clock = clock
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Change | _Reconcile | _Forget | None] = asyncio.Queue()
        self._cards: OrderedDict[int, int | None] = OrderedDict()  # card message id -> movie id
        self._held: dict[int, _Held] = {}  # movies being reconciled: live changes wait here
        self._subscribers: list[asyncio.Queue[RatingsChanged]] = []
        self._writer: asyncio.Task[None] | None = None
        self._looking_up = 0  # reaction events reading which movie their card is
        self._none_looking_up = asyncio.Event()
        self._none_looking_up.set()

    # -- lifecycle ---------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[RatingsChanged]:
        """A queue that gets every :class:`RatingsChanged` after its commit. The service only
        puts into it: whoever keeps the cards current reads it, so nothing calls back here."""
        queue: asyncio.Queue[RatingsChanged] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def start(self) -> None:
        """Start the writer (the composition root does, before the bot logs in)."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="ratings-writer")

    @property
    def running(self) -> bool:
        """Is the writer still taking changes?"""
        return self._writer is not None and not self._writer.done()

    async def stop(self) -> None:
        """Commit every change received so far, then stop the writer (the composition root
        calls this after the gateway is closed, so nothing arrives behind it)."""
        if self._writer is None:
            return
        # Events received just before the close may still be looking up their card.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_looking_up.wait(), _STOP_WAIT)
        for movie_id in list(self._held):  # a reconciliation cut short by the shutdown
            self.release(movie_id)
        await self._queue.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    # -- the hot path ------------------------------------------------------------------------
    async def movie_for_card(self, message_id: int) -> int | None:
        if message_id in self._cards:
            self._cards.move_to_end(message_id)
            return self._cards[message_id]
        # Only a cache miss waits; stop() lets such lookups finish, so their event is queued.
        self._looking_up += 1
        self._none_looking_up.clear()
        try:
            async with self._db.reader() as s:
                movie_id = await s.ratings.movie_for_card(message_id)
        finally:
            self._looking_up -= 1
            if not self._looking_up:
                self._none_looking_up.set()
        self._remember_card(message_id, movie_id)
        return movie_id

    def _remember_card(self, message_id: int, movie_id: int | None) -> None:
        self._cards[message_id] = movie_id
        self._cards.move_to_end(message_id)
        while len(self._cards) > _CARD_CACHE_SIZE:
            self._cards.popitem(last=False)

    def card_moved(
        self, old_message_id: int | None, new_message_id: int | None, movie_id: int
    ) -> None:
        """A card was re-posted (``new_message_id``) or deleted (None)."""
        if old_message_id is not None:
            self._cards.pop(old_message_id, None)
        if new_message_id is not None:
            self._remember_card(new_message_id, movie_id)

    async def on_reaction(
        self, message_id: int, member_id: int, emoji: str, *, added: bool
    ) -> asyncio.Future[None] | None:
        """A raw reaction event. Returns a future that resolves at commit, or None if ignored."""
        score = score_for_emoji(emoji)
        if score is None:
            return None
        movie_id = await self.movie_for_card(message_id)
        if movie_id is None:
            return None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        item = _Change(ReactionChange(movie_id, member_id, score, added), done)
        held = self._held.get(movie_id)
        if held is not None:
            held.changes.append(item)
        else:
            self._queue.put_nowait(item)
        return done

    # -- commands ----------------------------------------------------------------------------
    async def rate(self, movie: Movie, member_id: int, score: int) -> RatingSummary:
        check_score(score)
        async with self._db.session() as s:
            await s.ratings.put(movie.id, member_id, score, "command", to_db(self._clock.now()))
            seen = (await s.ratings.seen_for(movie.id, [member_id])).get(member_id, set())
            summary = (await s.movies.summaries([movie.id]))[movie.id]
        tidy = tuple((movie.id, member_id, other) for other in sorted(seen) if other != score)
        self._notify(RatingsChanged(frozenset({movie.id}), tidy))
        return summary

    async def unrate(self, movie: Movie, member_id: int) -> bool:
        async with self._db.session() as s:
            removed = await s.ratings.delete(movie.id, member_id)
            seen = (await s.ratings.seen_for(movie.id, [member_id])).get(member_id, set())
        tidy = tuple((movie.id, member_id, score) for score in sorted(seen))
        self._notify(RatingsChanged(frozenset({movie.id}), tidy))
        return removed

    async def my_rating(self, movie: Movie, member_id: int) -> int | None:
        async with self._db.reader() as s:
            return await s.ratings.get(movie.id, member_id)

    async def summary(self, movie_id: int) -> RatingSummary:
        async with self._db.reader() as s:
            return (await s.movies.summaries([movie_id]))[movie_id]

    # -- reconciliation ----------------------------------------------------------------------
    def hold(self, movie_id: int) -> None:
        """Before reading a card's reactions from Discord: park live changes for that card."""
        self._held.setdefault(movie_id, _Held())

    async def reconcile(self, movie_id: int, now_on_card: Mapping[int, set[int]]) -> Reconciliation:
        """Apply what changed on the card since last seen; then release the parked changes."""
        done: asyncio.Future[Reconciliation] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Reconcile(movie_id, now_on_card, done))
        self.release(movie_id)
        return await done

    def release(self, movie_id: int) -> None:
        held = self._held.pop(movie_id, None)
        for item in held.changes if held else []:
            self._queue.put_nowait(item)

    async def still_extra(self, movie_id: int, member_id: int, score: int) -> bool:
        """Is this older number still on the card and not the member's rating? (Tidy skips it
        otherwise: Discord allows about four reaction removals a second per channel.)"""
        async with self._db.reader() as s:
            seen = (await s.ratings.seen_for(movie_id, [member_id])).get(member_id, set())
            current = await s.ratings.get(movie_id, member_id)
        return score in seen and score != current

    async def reactions_gone(self, movie_id: int, score: int | None = None) -> None:
        """A card's reactions (or one number's) are gone: forget them; ratings are kept.

        This goes through the writer like reaction events, so changes that arrived before it
        are applied before it — never after, where they would be "seen" again.
        """
        if self._writer is None or self._writer.done():
            async with self._db.session() as s:
                await s.ratings.forget_seen(movie_id, score)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Forget(movie_id, score, done))
        await done

    async def seen_on_card(self, movie_id: int) -> dict[int, set[int]]:
        async with self._db.reader() as s:
            return await s.ratings.seen_on_card(movie_id)

    # -- the writer --------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stop = None in batch
            pending: list[_Change] = []
            for item in batch:
                if isinstance(item, _Change):
                    pending.append(item)
                    continue
                await self._commit_changes(pending)
                pending = []
                if isinstance(item, _Reconcile):
                    await self._commit_reconcile(item)
                elif isinstance(item, _Forget):
                    await self._commit_forget(item)
            await self._commit_changes(pending)
            if stop:
                return

    async def _commit_changes(self, items: list[_Change]) -> None:
        if not items:
            return
        plan = plan_batch(item.change for item in items)
        try:
            async with self._db.session() as s:
                await s.ratings.apply(plan, to_db(self._clock.now()))
                tidy = await _tidy_after(s, plan.upserts)
        except Exception as exc:
            log.exception("a batch of %d rating changes failed", len(items))
            for item in items:
                if item.done is not None and not item.done.done():
                    item.done.set_exception(exc)
            return
        for item in items:
            if item.done is not None and not item.done.done():
                item.done.set_result(None)
        self._notify(RatingsChanged(frozenset(plan.movies), tidy, reactions=len(items)))

    async def _commit_reconcile(self, item: _Reconcile) -> None:
        try:
            async with self._db.session() as s:
                last_seen = await s.ratings.seen_on_card(item.movie_id)
                result = reconcile_card(item.movie_id, last_seen, item.now_on_card)
                plan = plan_batch(result.changes)
                await s.ratings.apply(plan, to_db(self._clock.now()))
        except Exception as exc:
            log.exception("reconciling movie %d failed", item.movie_id)
            _settle(item.done, exc)
            return
        _settle(item.done, result)
        tidy = tuple((item.movie_id, member, score) for member, score in result.extra)
        if result.changes or tidy:
            self._notify(RatingsChanged(frozenset({item.movie_id}), tidy))

    async def _commit_forget(self, item: _Forget) -> None:
        try:
            async with self._db.session() as s:
                await s.ratings.forget_seen(item.movie_id, item.score)
        except Exception as exc:
            log.exception("forgetting the reactions of movie %d failed", item.movie_id)
            _settle(item.done, exc)
            return
        _settle(item.done, None)

    def _notify(self, event: RatingsChanged) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)


def _settle(done: asyncio.Future[T], outcome: T | Exception) -> None:
    """Tell the caller waiting for queued work how it went, unless it stopped waiting (the bot
    closing cancels a reconciliation in flight): the writer must go on either way."""
    if done.done():
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


async def _tidy_after(
    s: Session, upserts: Mapping[tuple[int, int], int]
) -> tuple[tuple[int, int, int], ...]:
    """Older numbers still on the card of members whose rating just changed by reaction."""
    seen = await s.ratings.seen_for_pairs(sorted(upserts))
    return tuple(
        (movie_id, member_id, score)
        for (movie_id, member_id), scores in sorted(seen.items())
        for score in sorted(scores)
        if score != upserts[(movie_id, member_id)]
    )
