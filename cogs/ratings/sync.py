"""Keeping posted cards in step with the database: every committed rating change refreshes its
card (through the publisher's paced edits) and tidies members' older number reactions; after
each READY, reactions made while the bot was away are reconciled and cards that still show an
old state (edits owed when the bot stopped) are refreshed; a moderator clearing a card's
reactions gets the numbers put back.

The ratings service never calls in here: it puts each committed change on a queue that
:meth:`CardSync.start` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.domain.movies import Movie
from bot.domain.ratings import emoji_for_score, score_for_emoji
from bot.services.movies import MovieService
from bot.services.ratings import RatingsChanged, RatingService
from cogs.ratings.cards import CardPublisher, add_rating_reactions
from cogs.ratings.embeds import shows

log = logging.getLogger(__name__)

REACTION_PAGE = 100  # Discord's most users per request for one reaction


class CardSync:
    def __init__(
        self,
        client: discord.Client,
        cards: CardPublisher,
        movies: MovieService,
        ratings: RatingService,
    ) -> None:
        self._client = client
        self._cards = cards
        self._movies = movies
        self._ratings = ratings
        self._changes = ratings.subscribe()
        self._tidy: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._reconciling: asyncio.Task[None] | None = None
        self._reconcile_again = False

    # -- lifecycle (the composition root starts and stops it) --------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow_changes(), name="card-changes"),
            asyncio.create_task(self._tidy_worker(), name="card-tidy"),
        ]

    async def close(self) -> None:
        for task in [*self._tasks, self._reconciling]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []

    async def settle(self) -> None:
        """Wait for reconciliation and for every committed change to reach its card (tests)."""
        while True:
            task = self._reconciling
            if task is not None and not task.done():
                await asyncio.wait({task})
                continue
            await self._changes.join()
            if self._cards.edits_owed:
                await self._cards.settle()
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

    # -- reconciliation ----------------------------------------------------------------------
    def reconcile_soon(self) -> None:
        """Reconcile in the background; commands never wait for it. Asked again while running
        (another READY after an unresumable reconnect), it runs once more when done: cards it
        had already passed may have missed the second outage."""
        if self._reconciling is not None and not self._reconciling.done():
            self._reconcile_again = True
            return
        self._reconciling = asyncio.create_task(self._reconcile_until_current(), name="reconcile")

    async def _reconcile_until_current(self) -> None:
        while True:
            self._reconcile_again = False
            await self.reconcile_all()
            if not self._reconcile_again:
                return

    async def reconcile_all(self) -> None:
        cards = 0
        for guild in list(self._client.guilds):
            for movie in await self._movies.with_cards(guild.id):
                try:
                    await self._reconcile_card(movie)
                    cards += 1
                except discord.HTTPException as exc:
                    log.warning("could not reconcile movie %d: %s", movie.id, exc.status)
                except Exception:  # one bad card must not stop the others
                    log.exception("reconciling movie %d failed", movie.id)
                finally:
                    self._ratings.release(movie.id)
        log.info("reconciled %d cards", cards)

    async def _reacted(self, message: discord.Message, emoji: str, bot_id: int) -> list[int]:
        """Every member who reacted with ``emoji``, a page of 100 at a time until a short page.

        Not ``Reaction.users()``: without a limit it lists only as many as the fetched message
        counted, so a member reacting between the fetch and the listing pushes the member with
        the highest id off the list, whose reaction then looks removed (and their rating goes).
        """
        found: list[int] = []
        after: int | None = None
        while True:
            page = await self._client.http.get_reaction_users(
                message.channel.id, message.id, emoji, REACTION_PAGE, after=after
            )
            found += [int(u["id"]) for u in page if int(u["id"]) != bot_id and not u.get("bot")]
            if len(page) < REACTION_PAGE:
                return found
            after = int(page[-1]["id"])

    async def _reconcile_card(self, movie: Movie) -> None:
        assert movie.card_channel_id is not None and movie.card_message_id is not None
        channel = self._client.get_partial_messageable(
            movie.card_channel_id, guild_id=movie.guild_id
        )
        self._ratings.hold(movie.id)
        try:
            message = await channel.fetch_message(movie.card_message_id)
        except discord.NotFound:
            self._ratings.release(movie.id)
            await self._cards.card_gone(movie.card_message_id)
            return
        bot_id = self._client.user.id if self._client.user else 0
        now_on_card: dict[int, set[int]] = {}
        missing = set(range(1, 11))
        for reaction in message.reactions:
            score = score_for_emoji(str(reaction.emoji))
            if score is None:
                continue
            if reaction.me:
                missing.discard(score)
            if reaction.count <= int(reaction.me):
                continue  # only the bot's own number: no member to list (saves a request)
            for member_id in await self._reacted(message, str(reaction.emoji), bot_id):
                now_on_card.setdefault(member_id, set()).add(score)
        result = await self._ratings.reconcile(movie.id, now_on_card)
        if not result.changes and not shows(message.embeds, await self._movies.info(movie)):
            # Unchanged since the bot last saw it, but the card is behind the database (its
            # edit was still owed when the bot stopped): catch it up, paced like any edit.
            self._cards.show_soon(movie.id)
        for score in sorted(missing):
            with contextlib.suppress(discord.HTTPException):
                await message.add_reaction(emoji_for_score(score))
