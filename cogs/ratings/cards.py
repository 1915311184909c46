"""Publishing movie cards: posting a card with its spoiler thread and its 1️⃣…🔟, re-posting a
card a moderator deleted, opening (or re-opening) spoiler threads, and editing a card — paced,
at most once every 2 s per card, one edit at a time per channel.

This is :class:`bot.ui.cards.Cards` for every feature; keeping cards in step with ratings after
they are posted is :mod:`cogs.ratings.sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Literal

import discord

from bot.domain.errors import BotMissingPermissions
from bot.domain.movies import Movie
from bot.domain.ratings import SCORE_EMOJI
from bot.services.club import ClubService
from bot.services.movies import MovieInfo, MovieService, PostedCard
from bot.services.ratings import RatingService
from bot.ui.cards import CardChannel
from bot.ui.errors import bot_action
from bot.ui.text import plain_cap
from cogs.ratings.coalesce import Coalescer
from cogs.ratings.embeds import card_embed

log = logging.getLogger(__name__)

THREAD_SUFFIX = " · spoilers"
ONE_WEEK_MINUTES: Literal[10080] = 10080
SPOILER_TAG = "Spoilers"
CARD_EDIT_INTERVAL = 2.0  # seconds from one edit of a card to the next (see Coalescer)


def thread_name(movie: Movie) -> str:
    """``Title (Year) · spoilers`` within Discord's 100 characters; never any review text."""
    return plain_cap(movie.label, 100 - len(THREAD_SUFFIX)) + THREAD_SUFFIX


def _spoiler_tags(forum: discord.ForumChannel) -> list[discord.ForumTag]:
    return [tag for tag in forum.available_tags if tag.name.casefold() == SPOILER_TAG.casefold()]


async def add_rating_reactions(message: discord.Message | discord.PartialMessage) -> None:
    """Put 1️⃣…🔟 on a card, in order. Without permission the card still works via /rate."""
    for emoji in SCORE_EMOJI:
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as exc:  # 403 without Add Reactions; /rate still works
            log.warning("could not add rating reactions on %d: %s", message.id, exc.status)
            return


class CardPublisher:
    """Posts and edits cards; the database records where they are (through ``MovieService``)."""

    def __init__(
        self,
        client: discord.Client,
        movies: MovieService,
        ratings: RatingService,
        club: ClubService,
        *,
        edit_interval: float = CARD_EDIT_INTERVAL,
    ) -> None:
        self._client = client
        self._movies = movies
        self._ratings = ratings
        self._club = club
        self._edits: Coalescer[int] = Coalescer(self._edit, edit_interval)
        self._edit_turns: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._reposting: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._touch_queues: list[asyncio.Queue[tuple[int, bool]]] = []

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def edits_owed(self) -> bool:
        return self._edits.busy

    async def settle(self) -> None:
        """Wait until every owed edit is made (tests and benchmarks)."""
        await self._edits.settle()

    async def close(self) -> None:
        """Stop at once: edits still owed are caught up at the next start (see sync)."""
        await self._edits.close()

    # -- touches -----------------------------------------------------------------------------
    def subscribe_touches(self) -> asyncio.Queue[tuple[int, bool]]:
        """A queue that gets ``(movie_id, posted)`` for every card shown, edited or used
        (``posted`` false) and every card this process posted (``posted`` true). Whoever keeps
        cards exact (reconciliation) reads it; nothing here waits for it."""
        queue: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()
        self._touch_queues.append(queue)
        return queue

    def touched(self, movie_id: int) -> None:
        """Someone looked at or used this movie's card (``/movie info``, a rating, an edit)."""
        self._tell(movie_id, posted=False)

    def _tell(self, movie_id: int, *, posted: bool) -> None:
        for queue in self._touch_queues:
            queue.put_nowait((movie_id, posted))

    # -- a new card --------------------------------------------------------------------------
    async def publish(
        self, info: MovieInfo, channel: CardChannel, *, open_thread: bool = True
    ) -> PostedCard:
        """Post the card; open the thread. A 403 on the card is an error, on the thread a
        warning. In a forum the card is always a new post (its own thread); in a text channel
        the thread is opened off the card unless ``open_thread`` is false."""
        where = f"post the movie card in <#{channel.id}>"
        if isinstance(channel, discord.ForumChannel):
            async with bot_action(where):
                created = await channel.create_thread(
                    name=thread_name(info.movie),
                    embed=card_embed(info),
                    applied_tags=_spoiler_tags(channel),
                    auto_archive_duration=ONE_WEEK_MINUTES,
                )
            return PostedCard(created.thread.id, created.message.id, created.thread.id)
        async with bot_action(where):
            message = await channel.send(embed=card_embed(info))
        if not open_thread:
            return PostedCard(channel.id, message.id, None)
        try:
            thread = await message.create_thread(
                name=thread_name(info.movie), auto_archive_duration=ONE_WEEK_MINUTES
            )
        except discord.HTTPException as exc:
            log.warning("could not open the spoiler thread in %d: %s", channel.id, exc.code)
            return PostedCard(channel.id, message.id, None)
        return PostedCard(channel.id, message.id, thread.id)

    async def finish(self, info: MovieInfo, card: PostedCard) -> None:
        movie = info.movie
        if movie.card_channel_id is None or movie.card_message_id is None:
            return
        self._ratings.card_moved(None, movie.card_message_id, movie.id)
        self._tell(movie.id, posted=True)  # it has seen every reaction: nothing to reconcile
        message = self._client.get_partial_messageable(
            movie.card_channel_id, guild_id=movie.guild_id
        ).get_partial_message(movie.card_message_id)
        if card.thread_id is not None and card.thread_id != card.channel_id:
            # Opened off a text-channel card after it was posted: the card links it now. (A
            # forum card is its thread's first message; a re-posted card showed its old thread.)
            with contextlib.suppress(discord.HTTPException):
                async with self._edit_turns[movie.card_channel_id]:
                    await message.edit(embed=card_embed(info))
        await add_rating_reactions(message)

    async def withdraw(self, card: PostedCard) -> None:
        if card.thread_id != card.channel_id:  # in a forum, deleting the post deletes both
            channel = self._client.get_partial_messageable(card.channel_id)
            with contextlib.suppress(discord.HTTPException):
                await channel.get_partial_message(card.message_id).delete()
        if card.thread_id is not None:
            with contextlib.suppress(discord.HTTPException):
                thread = self._client.get_channel(
                    card.thread_id
                ) or await self._client.fetch_channel(card.thread_id)
                if isinstance(thread, discord.Thread):
                    await thread.delete()

    async def post(self, movie: Movie, channel: CardChannel) -> tuple[Movie, discord.Thread | None]:
        """A new card for ``movie`` (which has none) in ``channel``, recorded, with reactions."""
        keeps_thread = movie.thread_id is not None and isinstance(channel, discord.TextChannel)
        card = await self.publish(
            await self._movies.info(movie), channel, open_thread=not keeps_thread
        )
        old_card = movie.card_message_id
        movie = await self._movies.attach_card(movie, card.channel_id, card.message_id)
        self._ratings.card_moved(old_card, None, movie.id)
        if card.thread_id is not None:
            movie = await self._movies.attach_thread(movie, card.thread_id)
        await self.finish(await self._movies.info(movie), card)
        thread = self._client.get_channel(card.thread_id) if card.thread_id else None
        return movie, thread if isinstance(thread, discord.Thread) else None

    # -- a deleted card ----------------------------------------------------------------------
    async def ensure(self, movie: Movie) -> Movie:
        """Re-post the card if a moderator deleted it (called by /rate and /movie info).

        One re-post per movie at a time: two members rating right after a deletion get one
        new card, not two.
        """
        if movie.has_card:
            return movie
        async with self._reposting[movie.id]:
            current = await self._movies.by_id(movie.id)
            if current is None or current.has_card:
                return current or movie
            return await self._repost(current)

    async def _repost(self, movie: Movie) -> Movie:
        settings = await self._club.settings(movie.guild_id)
        channel = self._client.get_channel(settings.movies_channel_id or 0)
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            channel = self._client.get_channel(movie.card_channel_id or 0)
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            log.info("no channel to re-post the card of movie %d", movie.id)
            return movie
        try:
            movie, _ = await self.post(movie, channel)
        except Exception:
            log.warning("could not re-post the card of movie %d", movie.id, exc_info=True)
        return movie

    async def card_gone(self, message_id: int) -> None:
        """A card message was deleted: the movie keeps its ratings and gets a new card when it
        is next needed."""
        movie = await self._movies.by_card(message_id)
        if movie is not None:
            await self._movies.detach_card(movie)
            self._ratings.card_moved(message_id, None, movie.id)
            await self._ratings.reactions_gone(movie.id)
            log.info("card of movie %d was deleted; ratings kept", movie.id)

    # -- spoiler threads ---------------------------------------------------------------------
    async def ensure_thread(self, movie: Movie) -> tuple[Movie, discord.Thread]:
        """Raises ``BotMissingPermissions`` (via ``bot_action``) when Discord refuses."""
        thread = await self._existing_thread(movie)
        if thread is not None:
            if thread.archived:
                async with bot_action(f"re-open the spoiler thread <#{thread.id}>"):
                    thread = await thread.edit(archived=False)
            return movie, thread
        movie = await self.ensure(movie)
        thread = await self._existing_thread(movie)  # a re-posted card may come with one
        if thread is not None:
            return movie, thread
        channel = self._client.get_channel(movie.card_channel_id or 0)
        if channel is None:
            # A forum card is its own post: when the post is deleted, so is the card's channel.
            settings = await self._club.settings(movie.guild_id)
            channel = self._client.get_channel(settings.movies_channel_id or 0)
        where = f"open a spoiler thread for {movie.label}"
        if isinstance(channel, discord.TextChannel) and movie.card_message_id is not None:
            card = channel.get_partial_message(movie.card_message_id)
            async with bot_action(where):
                try:
                    thread = await card.create_thread(
                        name=thread_name(movie), auto_archive_duration=ONE_WEEK_MINUTES
                    )
                except discord.HTTPException as exc:
                    if isinstance(exc, discord.Forbidden):
                        raise
                    # The card already had a thread (deleted since): open one beside it.
                    thread = await channel.create_thread(
                        name=thread_name(movie),
                        type=discord.ChannelType.public_thread,
                        auto_archive_duration=ONE_WEEK_MINUTES,
                    )
        elif isinstance(channel, discord.ForumChannel):
            movie, thread = await self._new_forum_post(movie, channel)
        else:
            raise BotMissingPermissions(
                f"I couldn't {where}: its card's channel is gone. "
                "Ask an admin to run `/club setup`."
            )
        movie = await self._movies.attach_thread(movie, thread.id)
        self.show_soon(movie.id)  # the card links the new thread
        log.info("opened a new spoiler thread %d for movie %d", thread.id, movie.id)
        return movie, thread

    def thread_requests(self, movie: Movie) -> int:
        """How many requests :meth:`ensure_thread` will make, to reserve them."""
        if movie.thread_id is not None:
            cached = self._client.get_channel(movie.thread_id)
            if isinstance(cached, discord.Thread):
                return 1 if cached.archived else 0
            return 3  # fetch it; then re-open it, or open another (two tries)
        if not movie.has_card:
            return 14  # a new card: post, thread, edit, ten reactions
        return 2  # off its card, or beside it

    async def _existing_thread(self, movie: Movie) -> discord.Thread | None:
        if movie.thread_id is None:
            return None
        cached = self._client.get_channel(movie.thread_id)
        if isinstance(cached, discord.Thread):
            return cached
        try:
            fetched = await self._client.fetch_channel(movie.thread_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        return fetched if isinstance(fetched, discord.Thread) else None

    async def _new_forum_post(
        self, movie: Movie, forum: discord.ForumChannel
    ) -> tuple[Movie, discord.Thread]:
        """In a forum the card is the post's first message: a lost thread means a new post."""
        if movie.has_card:
            movie = await self._movies.detach_card(movie)
        movie = await self._movies.attach_thread(movie, None)
        movie, thread = await self.post(movie, forum)
        if thread is None:
            raise BotMissingPermissions(f"I couldn't open a forum post for {movie.label}.")
        return movie, thread

    # -- editing -----------------------------------------------------------------------------
    def show_soon(self, movie_id: int) -> None:
        self._edits.mark(movie_id)
        self.touched(movie_id)

    async def _edit(self, movie_id: int) -> None:
        movie = await self._movies.by_id(movie_id)
        if movie is None or movie.card_channel_id is None or movie.card_message_id is None:
            return
        card = self._client.get_partial_messageable(movie.card_channel_id, guild_id=movie.guild_id)
        try:
            # One edit at a time per channel: Discord's edit bucket is per channel, and discord.py
            # can only wait for it if it has seen the previous reply's rate-limit headers.
            async with self._edit_turns[movie.card_channel_id]:
                await card.get_partial_message(movie.card_message_id).edit(
                    embed=card_embed(await self._movies.info(movie))
                )
        except discord.NotFound:
            await self.card_gone(movie.card_message_id)
            refreshed = await self._movies.by_id(movie_id)
            if refreshed is not None:
                await self.ensure(refreshed)
        except discord.HTTPException as exc:
            log.warning("could not refresh the card of movie %d: %s", movie_id, exc.status)
