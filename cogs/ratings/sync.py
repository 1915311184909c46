"""Keeping posted cards in step with the database: every committed rating change refreshes its
card (through the publisher's paced edits) and tidies members' older number reactions; a
moderator clearing a card's reactions gets the numbers put back. Reading back reactions made
while the bot was away is :mod:`cogs.ratings.reconcile`.

The ratings service never calls in here: it puts each committed change on a queue that
:meth:`CardSync.start` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.domain.ratings import emoji_for_score, score_for_emoji
from bot.services.movies import MovieService
from bot.services.ratings import RatingsChanged, RatingService
from cogs.ratings.cards import CardPublisher, add_rating_reactions
from cogs.ratings.reconcile import CardReconciler

log = logging.getLogger(__name__)


class CardSync:
    def __init__(
        self,
        client: discord.Client,
        cards: CardPublisher,
        movies: MovieService,
        ratings: RatingService,
        reconciler: CardReconciler,
    ) -> None:
        self._client = client
        self._cards = cards
        self._movies = movies
        self._ratings = ratings
        self._reconciler = reconciler
        self._changes = ratings.subscribe()
        self._tidy: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle (the composition root starts and stops it) --------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow_changes(), name="card-changes"),
            asyncio.create_task(self._tidy_worker(), name="card-tidy"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def settle(self) -> None:
        """Wait for reconciliation and for every committed change to reach its card (tests)."""
        while True:
            await self._reconciler.settle()
            await self._changes.join()
            if self._cards.edits_owed:
                await self._cards.settle()
                continue
            if not self._reconciler.idle:  # an edit touched a card not read back yet
                continue
            return

    # -- after each commit -------------------------------------------------------------------
    async def _follow_changes(self) -> None:
        while True:
            self._apply(await self._changes.get())
            self._changes.task_done()  # settle() joins the queue

    def _apply(self, event: RatingsChanged) -> None:
        for movie_id in event.movie_ids:
            self._cards.show_soon(movie_id)
        for item in event.tidy:
            self._tidy.put_nowait(item)

    async def _tidy_worker(self) -> None:
        """Remove members' older rating reactions, one at a time, when allowed."""
        while True:
            movie_id, member_id, score = await self._tidy.get()
            try:
                await self._tidy_one(movie_id, member_id, score)
            except Exception:  # the worker lives as long as the bot
                log.exception("tidying a reaction on movie %d failed", movie_id)

    async def _tidy_one(self, movie_id: int, member_id: int, score: int) -> None:
        if not await self._ratings.still_extra(movie_id, member_id, score):
            return
        movie = await self._movies.by_id(movie_id)
        if movie is None or movie.card_channel_id is None or movie.card_message_id is None:
            return
        channel = self._client.get_channel(movie.card_channel_id)
        guild = self._client.get_guild(movie.guild_id)
        me = guild.me if guild is not None else None
        allowed = (
            not isinstance(channel, discord.abc.GuildChannel | discord.Thread)
            or me is None
            or channel.permissions_for(me).manage_messages
        )
        if not allowed:
            return  # without Manage Messages the latest reaction simply counts
        message = self._client.get_partial_messageable(movie.card_channel_id).get_partial_message(
            movie.card_message_id
        )
        try:
            await message.remove_reaction(emoji_for_score(score), discord.Object(member_id))
        except discord.HTTPException as exc:
            log.info("could not tidy a reaction on movie %d: %s", movie_id, exc.status)

    # -- what moderators do to cards ---------------------------------------------------------
    async def message_deleted(self, message_id: int) -> None:
        await self._cards.card_gone(message_id)

    async def reactions_cleared(self, message_id: int, emoji: str | None) -> None:
        """A moderator removed reactions from a card: forget them and put the numbers back."""
        movie = await self._movies.by_card(message_id)
        if movie is None or movie.card_channel_id is None:
            return
        score = score_for_emoji(emoji) if emoji is not None else None
        if emoji is not None and score is None:
            return
        await self._ratings.reactions_gone(movie.id, score)
        card = self._client.get_partial_messageable(movie.card_channel_id, guild_id=movie.guild_id)
        message = card.get_partial_message(message_id)
        if score is None:
            await add_rating_reactions(message)
        else:
            with contextlib.suppress(discord.HTTPException):
                await message.add_reaction(emoji_for_score(score))
