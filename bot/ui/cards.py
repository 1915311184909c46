"""Movie cards on Discord: posting them with their reactions, keeping them current, re-posting a
deleted one, tidying old rating reactions, and reconciling reactions made while the bot was away.
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
from bot.domain.ratings import SCORE_EMOJI, emoji_for_score, score_for_emoji
from bot.services.club import ClubService
from bot.services.coalesce import Coalescer
from bot.services.movies import MovieInfo, MovieService
from bot.services.ratings import RatingsChanged, RatingService
from bot.ui.embeds import card_embed
from bot.ui.errors import bot_action
from bot.ui.text import plain_cap

log = logging.getLogger(__name__)

THREAD_SUFFIX = " · spoilers"
ONE_WEEK_MINUTES: Literal[10080] = 10080
SPOILER_TAG = "Spoilers"
CARD_EDIT_INTERVAL = 2.0  # seconds from one edit of a card to the next (see Coalescer)

CardChannel = discord.TextChannel | discord.ForumChannel


def thread_name(movie: Movie) -> str:
    """``Title (Year) · spoilers`` within Discord's 100 characters; never any review text."""
    return plain_cap(movie.label, 100 - len(THREAD_SUFFIX)) + THREAD_SUFFIX


def _spoiler_tags(forum: discord.ForumChannel) -> list[discord.ForumTag]:
    return [tag for tag in forum.available_tags if tag.name.casefold() == SPOILER_TAG.casefold()]


async def publish_card(
    channel: CardChannel, info: MovieInfo, *, open_thread: bool = True
) -> tuple[discord.Message, discord.Thread | None]:
    """Post the card; open the thread. A 403 on the card is an error, on the thread a warning.

    In a forum the card is always a new post (its own thread); in a text channel the thread is
    opened off the card unless ``open_thread`` is false (the movie keeps the thread it has).
    """
    where = f"post the movie card in <#{channel.id}>"
    if isinstance(channel, discord.ForumChannel):
        async with bot_action(where):
            created = await channel.create_thread(
                name=thread_name(info.movie),
                embed=card_embed(info),
                applied_tags=_spoiler_tags(channel),
                auto_archive_duration=ONE_WEEK_MINUTES,
            )
        return created.message, created.thread
    async with bot_action(where):
        message = await channel.send(embed=card_embed(info))
    if not open_thread:
        return message, None
    try:
        thread = await message.create_thread(
            name=thread_name(info.movie), auto_archive_duration=ONE_WEEK_MINUTES
        )
    except discord.HTTPException as exc:
        log.warning("could not open the spoiler thread in %d: %s", channel.id, exc.code)
        return message, None
    return message, thread


async def add_rating_reactions(message: discord.Message | discord.PartialMessage) -> None:
    """Put 1️⃣…🔟 on a card, in order. Without permission the card still works via /rate."""
    for emoji in SCORE_EMOJI:
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as exc:  # 403 without Add Reactions; /rate still works
            log.warning("could not add rating reactions on %d: %s", message.id, exc.status)
            return


class CardKeeper:
    """Keeps every card's embed and reactions true to the database."""

    def __init__(
        self,
        client: discord.Client,
        movies: MovieService,
        ratings: RatingService,
        club: ClubService,
    ) -> None:
        self._client = client
        self._movies = movies
        self._ratings = ratings
        self._club = club
        self.refresher: Coalescer[int] = Coalescer(self._refresh, CARD_EDIT_INTERVAL)
        self._edit_turns: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tidy: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._reconciling: asyncio.Task[None] | None = None
        self._reconcile_again = False
        self._reposting: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    def start(self) -> None:
        self._ratings.subscribe(self._on_ratings_changed)
        self._ratings.start()
        self._tasks.append(asyncio.create_task(self._tidy_worker(), name="card-tidy"))

    async def close(self) -> None:
        await self._ratings.stop()
        await self.refresher.settle()
        for task in [*self._tasks, self._reconciling]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- posting -----------------------------------------------------------------------------
    async def post(self, movie: Movie, channel: CardChannel) -> tuple[Movie, discord.Thread | None]:
        """A new card for ``movie`` (which has none) in ``channel``, with reactions and thread."""
        keeps_thread = movie.thread_id is not None and isinstance(channel, discord.TextChannel)
        message, thread = await publish_card(
            channel, await self._movies.info(movie), open_thread=not keeps_thread
        )
        old_card = movie.card_message_id
        movie = await self._movies.attach_card(movie, message.channel.id, message.id)
        self._ratings.card_moved(old_card, message.id, movie.id)
        if thread is not None:
            movie = await self._movies.attach_thread(movie, thread.id)
            if isinstance(channel, discord.TextChannel):  # a forum card is the thread's own start
                with contextlib.suppress(discord.HTTPException):
                    await message.edit(embed=card_embed(await self._movies.info(movie)))
        await add_rating_reactions(message)
        return movie, thread

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

    async def ensure_thread(self, movie: Movie) -> tuple[Movie, discord.Thread]:
        """The movie's spoiler thread, open: un-archived if archived, re-created if deleted.

        Raises ``BotMissingPermissions`` (via ``bot_action``) when Discord refuses.
        """
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
        self.refresher.mark(movie.id)  # the card links the new thread
        log.info("opened a new spoiler thread %d for movie %d", thread.id, movie.id)
        return movie, thread

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

    # -- keeping cards current ---------------------------------------------------------------
    async def _on_ratings_changed(self, event: RatingsChanged) -> None:
        for movie_id in event.movie_ids:
            self.refresher.mark(movie_id)
        for item in event.tidy:
            self._tidy.put_nowait(item)

    async def _refresh(self, movie_id: int) -> None:
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
            await self.card_deleted(movie.card_message_id)
            refreshed = await self._movies.by_id(movie_id)
            if refreshed is not None:
                await self.ensure(refreshed)
        except discord.HTTPException as exc:
            log.warning("could not refresh the card of movie %d: %s", movie_id, exc.status)

    async def card_deleted(self, message_id: int) -> None:
        movie = await self._movies.by_card(message_id)
        if movie is not None:
            await self._movies.detach_card(movie)
            self._ratings.card_moved(message_id, None, movie.id)
            await self._ratings.reactions_gone(movie.id)
            log.info("card of movie %d was deleted; ratings kept", movie.id)

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
            await self.card_deleted(movie.card_message_id)
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
            async for user in reaction.users(limit=None):
                if user.id != bot_id and not user.bot:
                    now_on_card.setdefault(user.id, set()).add(score)
        await self._ratings.reconcile(movie.id, now_on_card)
        for score in sorted(missing):
            with contextlib.suppress(discord.HTTPException):
                await message.add_reaction(emoji_for_score(score))
