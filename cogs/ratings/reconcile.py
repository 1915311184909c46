"""Reconciliation: reading cards' reactions back from Discord, so that numbers added, swapped or
removed while the bot was offline (or while a session could not be resumed) are counted.

What a club expects, at any number of guilds:

* After each READY the *active* cards are reconciled: those with activity (added, rated,
  reviewed, suggested, picked) in the last :data:`ACTIVE_WITHIN`, the latest activity first.
  They are the cards members vote on now, so a vote made on one while the bot was away is
  counted within minutes of the restart.
* Any other card is reconciled the first time it is touched after that READY (a rating
  reaction on it, ``/rate``, ``/movie info``, any edit of the card), once, in the background;
  from then on it is exact. A card this process posted is exact already and is never fetched.
* Only cards of guilds this process owns (``owns``) and is in.

Reconciliation never delays a member. Its requests are paced: one every ``request_interval``
(0.1 s in production, 10 a second, a fifth of Discord's global 50), and each also takes its
turn on the bot's shared background pacer (45 a second with the weekly run), for at most
:data:`CARDS_AT_ONCE` cards at a time. Members' commands (interaction replies, which Discord
does not count against the global limit) and card edits are not paced, so they always get
through first. Database work goes through the ratings writer like every reaction.

The card publisher never calls in here: it puts every card it shows, edits or posts on a
queue (:meth:`CardPublisher.subscribe_touches`) that this reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from datetime import timedelta

import discord

from bot.domain.club import Owns
from bot.domain.movies import Movie
from bot.domain.ratings import emoji_for_score, score_for_emoji
from bot.services.movies import MovieService
from bot.services.ratings import RatingService
from bot.ui.pacing import Pacer
from cogs.ratings.cards import CardPublisher
from cogs.ratings.embeds import shows

log = logging.getLogger(__name__)

ACTIVE_WITHIN = timedelta(days=30)  # cards with activity this recent are reconciled at READY
CARDS_AT_ONCE = 3  # cards being read at the same time (enough to keep the pace, no more)
REQUEST_INTERVAL = 0.1  # seconds from one reconciliation request to the next: 10 a second
USERS_PER_PAGE = 100  # Discord lists at most this many users of a reaction per request


class CardReconciler:
    def __init__(
        self,
        client: discord.Client,
        cards: CardPublisher,
        movies: MovieService,
        ratings: RatingService,
        *,
        owns: Owns,
        pace: Pacer,
        shared: Pacer | None = None,
        cards_at_once: int = CARDS_AT_ONCE,
    ) -> None:
        """``pace`` is reconciliation's own budget; ``shared`` the pacer of all background
        work, which each request also waits for."""
        self._client = client
        self._cards = cards
        self._movies = movies
        self._ratings = ratings
        self._owns = owns
        self._pacers = [pace] if shared is None else [pace, shared]
        self._cards_at_once = cards_at_once
        self._touches = cards.subscribe_touches()
        self._done: set[int] = set()  # movies reconciled (or known exact) since the last READY
        self._touched: dict[int, None] = {}  # touched cards, first come first served
        self._backlog: deque[Movie] = deque()  # active cards, the latest activity first
        self._generation = 0  # one per READY
        self._loading = 0  # READYs whose active cards are still being looked up
        self._running = 0  # cards being read now
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._backlog_since: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.requests = 0  # requests paid for so far (benchmarks)
        self.reconciled = 0  # cards read back so far (benchmarks)
        self.caught_up_after: float | None = None  # seconds the last READY's cards took

    # -- lifecycle (the composition root starts and stops it) --------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._follow_touches(), name="card-touches")]
        self._tasks += [
            asyncio.create_task(self._work(), name=f"reconcile-{i}")
            for i in range(self._cards_at_once)
        ]

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def idle(self) -> bool:
        """No touch waiting to be looked at, no card queued or being read."""
        return self._touches.empty() and self._quiet()

    def _quiet(self) -> bool:
        return not (self._loading or self._running or self._touched or self._backlog)

    async def settle(self) -> None:
        """Wait until every touch is handled and nothing is queued or being read (tests)."""
        while True:
            await self._touches.join()
            await self._idle.wait()
            if self.idle:
                return

    # -- what to reconcile -------------------------------------------------------------------
    def reconcile_soon(self) -> None:
        """After each READY (the first, or one after a session that could not be resumed):
        events may have been missed, so every card is due again. The active cards are looked
        up and queued in the background; the rest wait until they are touched."""
        self._generation += 1
        self._done.clear()
        self._backlog.clear()
        self._loading += 1
        self._idle.clear()
        task = asyncio.create_task(self._load(self._generation), name="reconcile-load")
        self._tasks.append(task)
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _load(self, generation: int) -> None:
        try:
            active = await self._movies.active_cards(ACTIVE_WITHIN)
            if generation != self._generation:
                return  # a newer READY looks them up again
            mine = [movie for movie in active if self._mine(movie)]
            self._backlog.extend(mine)
            self._backlog_since = time.monotonic()
            log.info(
                "reconciling %d active cards (activity within %d days); others when touched",
                len(mine),
                ACTIVE_WITHIN.days,
            )
            self._wake.set()
        except Exception:
            log.exception("looking up the active cards failed; cards are reconciled when touched")
        finally:
            self._loading -= 1
            self._check_idle()

    def _mine(self, movie: Movie) -> bool:
        return (
            movie.has_card
            and self._owns(movie.guild_id)
            and self._client.get_guild(movie.guild_id) is not None
        )

    async def _follow_touches(self) -> None:
        while True:
            movie_id, posted = await self._touches.get()
            if posted:
                self._done.add(movie_id)  # posted by this process: exact from the start
            elif movie_id not in self._done and movie_id not in self._touched:
                self._touched[movie_id] = None
                self._idle.clear()
                self._wake.set()
            self._touches.task_done()  # settle() joins the queue

    def _next(self) -> int | Movie | None:
        """A touched card first (a member is looking at it), else the next active card."""
        while self._touched:
            movie_id = next(iter(self._touched))
            del self._touched[movie_id]
            if movie_id not in self._done:
                self._done.add(movie_id)
                return movie_id
        while self._backlog:
            movie = self._backlog.popleft()
            if movie.id not in self._done:
                self._done.add(movie.id)
                return movie
        return None

    async def _work(self) -> None:
        while True:
            job = self._next()
            if job is None:
                self._wake.clear()
                self._check_idle()
                await self._wake.wait()
                continue
            self._running += 1
            try:
                movie = job if isinstance(job, Movie) else await self._movies.by_id(job)
                if movie is not None and self._mine(movie):
                    await self._reconcile_logged(movie)
            except Exception:  # the worker lives as long as the bot
                log.exception("reconciling a card failed")
            finally:
                self._running -= 1

    def _check_idle(self) -> None:
        if not self._quiet():
            return
        if self._backlog_since is not None:
            self.caught_up_after = time.monotonic() - self._backlog_since
            log.info(
                "every active card is reconciled (%.1f s after READY; %d cards, %d requests)",
                self.caught_up_after,
                self.reconciled,
                self.requests,
            )
            self._backlog_since = None
        self._idle.set()

    # -- one card ----------------------------------------------------------------------------
    async def _reconcile_logged(self, movie: Movie) -> None:
        try:
            await self.reconcile_card(movie)
        except discord.HTTPException as exc:
            log.warning("could not reconcile movie %d: %s", movie.id, exc.status)
        except Exception:  # one bad card must not stop the others
            log.exception("reconciling movie %d failed", movie.id)

    async def reconcile_card(self, movie: Movie) -> None:
        """Read the card's reactions and apply what changed since the bot last saw them; live
        reactions on the card wait (briefly) until that is committed, then follow it."""
        assert movie.card_channel_id is not None and movie.card_message_id is not None
        channel = self._client.get_partial_messageable(
            movie.card_channel_id, guild_id=movie.guild_id
        )
        await self._spend(1)
        self._ratings.hold(movie.id)
        try:
            try:
                message = await channel.fetch_message(movie.card_message_id)
            except discord.NotFound:
                self._ratings.release(movie.id)
                await self._cards.card_gone(movie.card_message_id)
                return
            now_on_card, missing = await self._read_numbers(message)
            result = await self._ratings.reconcile(movie.id, now_on_card)
        finally:
            self._ratings.release(movie.id)
        self.reconciled += 1
        if not result.changes and not shows(message.embeds, await self._movies.info(movie)):
            # Unchanged since the bot last saw it, but the card is behind the database (its
            # edit was still owed when the bot stopped): catch it up, paced like any edit.
            self._cards.show_soon(movie.id)
        if missing:
            await self._spend(len(missing))
            for score in sorted(missing):
                with contextlib.suppress(discord.HTTPException):
                    await message.add_reaction(emoji_for_score(score))

    async def _read_numbers(self, message: discord.Message) -> tuple[dict[int, set[int]], set[int]]:
        """Who has which number on the card, and the numbers the bot's own reaction is missing
        from. One request per hundred users of each number that members use; none for a
        number only the bot has."""
        bot_id = self._client.user.id if self._client.user else 0
        missing = set(range(1, 11))
        listed: list[discord.Reaction] = []
        for reaction in message.reactions:
            score = score_for_emoji(str(reaction.emoji))
            if score is None:
                continue
            if reaction.me:
                missing.discard(score)
            if reaction.count > int(reaction.me):
                listed.append(reaction)
        # Paid for in one turn of the pacers: live reactions on the card, held meanwhile, wait
        # for one turn at most, not one per number.
        await self._spend(sum(math.ceil(r.count / USERS_PER_PAGE) for r in listed))
        now_on_card: dict[int, set[int]] = {}
        for reaction in listed:
            score = score_for_emoji(str(reaction.emoji))
            assert score is not None
            for member_id in await self._reacted(message, str(reaction.emoji), bot_id):
                now_on_card.setdefault(member_id, set()).add(score)
        return now_on_card, missing

    async def _reacted(self, message: discord.Message, emoji: str, bot_id: int) -> list[int]:
        """Every member who reacted with ``emoji``, a page at a time until a short page.

        Not ``Reaction.users()``: without a limit it lists only as many as the fetched message
        counted, so a member reacting between the fetch and the listing pushes the member with
        the highest id off the list, whose reaction then looks removed (and their rating goes).
        """
        found: list[int] = []
        after: int | None = None
        while True:
            page = await self._client.http.get_reaction_users(
                message.channel.id, message.id, emoji, USERS_PER_PAGE, after=after
            )
            found += [int(u["id"]) for u in page if int(u["id"]) != bot_id and not u.get("bot")]
            if len(page) < USERS_PER_PAGE:
                return found
            after = int(page[-1]["id"])

    async def _spend(self, requests: int) -> None:
        for pacer in self._pacers:
            await pacer.take(requests)
        self.requests += max(requests, 0)
