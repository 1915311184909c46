"""The weekly pick's Discord side: the publisher the service posts through, and its request pacer.

Discord allows a bot 50 requests a second across every route (interaction responses aside).
discord.py waits out per-route buckets from the headers but does not pace that global limit, so
a hundred guilds due in the same minute would meet 429s. Every request the publisher makes first
takes a slot from the bot's background :class:`~bot.ui.pacing.Pacer` (45 a second, shared by all
guilds of a run and by card reconciliation): under the limit with room for the rest of the bot,
and close enough to it that a big run is not slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import discord

from bot.domain.errors import BotMissingPermissions
from bot.domain.movies import Movie
from bot.services.watch import (
    ChannelCheck,
    FoundPost,
    PostedIds,
    ThreadResult,
    WeeklyPost,
)
from bot.ui.cards import Cards
from bot.ui.errors import bot_action
from bot.ui.pacing import Pacer
from bot.ui.text import safe
from cogs.watch.embeds import build_poll, weekly_embeds

log = logging.getLogger(__name__)

# Messages searched for an earlier post's marker, oldest first from when its run started: the
# post follows the start within seconds, so the first page (one request) holds it.
HISTORY_SEARCHED = 100
FINAL_COUNT_WAIT = 2.0  # seconds before re-reading a poll Discord had not finished counting


class DiscordPublisher:
    """:class:`bot.services.watch.Publisher` for Discord: cache lookups cost nothing, every
    request is paced."""

    def __init__(self, client: discord.Client, cards: Cards, pacer: Pacer) -> None:
        self._client = client
        self._cards = cards
        self._pacer = pacer

    # -- cache only --------------------------------------------------------------------------
    def _text_channel(self, channel_id: int) -> discord.TextChannel | None:
        channel = self._client.get_channel(channel_id)
        return channel if isinstance(channel, discord.TextChannel) else None

    def channel_for(self, guild_id: int, candidates: Sequence[int | None]) -> int | None:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        for channel_id in candidates:
            if channel_id is not None and isinstance(
                guild.get_channel(channel_id), discord.TextChannel
            ):
                return channel_id
        return None

    def check_channel(self, channel_id: int) -> ChannelCheck:
        channel = self._text_channel(channel_id)
        if channel is None:
            return ChannelCheck(False, False, False, ("View Channel",))
        perms = channel.permissions_for(channel.guild.me)
        needed = (
            ("View Channel", perms.view_channel),
            ("Send Messages", perms.send_messages),
            ("Embed Links", perms.embed_links),
        )
        missing = tuple(name for name, granted in needed if not granted)
        return ChannelCheck(
            can_post=not missing,
            can_poll=perms.send_polls,
            can_read_history=perms.read_message_history,
            missing=missing,
        )

    def quote(self, title: str) -> str:
        return safe(title)

    # -- requests ----------------------------------------------------------------------------
    async def close_poll(self, channel_id: int, message_id: int) -> Mapping[int, int] | None:
        partial = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        await self._pacer.take()
        message: discord.Message | None
        try:
            message = await partial.end_poll()
        except discord.NotFound:
            return None
        except discord.HTTPException as exc:  # already ended (it expired), or not ours
            log.info("poll %d was not ended (%s); reading its counts", message_id, exc.code)
            message = await self._fetch(partial)
        if message is None:
            return None
        if message.poll is not None and not message.poll.is_finalised():
            await asyncio.sleep(FINAL_COUNT_WAIT)
            message = await self._fetch(partial) or message
        if message.poll is None:
            return None
        return {answer.id: answer.vote_count for answer in message.poll.answers}

    async def _fetch(self, partial: discord.PartialMessage) -> discord.Message | None:
        await self._pacer.take()
        try:
            return await partial.fetch()
        except (discord.NotFound, discord.Forbidden):
            return None

    async def find_post(self, channel_id: int, marker: str, since: datetime) -> FoundPost:
        channel = self._text_channel(channel_id)
        if channel is None or self._client.user is None:
            return FoundPost()
        me = self._client.user.id
        pick: int | None = None
        poll: int | None = None
        await self._pacer.take()
        async with bot_action(f"read the recent messages of <#{channel_id}>"):
            history = channel.history(
                limit=HISTORY_SEARCHED, after=since - timedelta(hours=1), oldest_first=True
            )
            async for message in history:
                if message.author.id != me:
                    continue
                if pick is None and any(e.footer.text == marker for e in message.embeds):
                    pick = message.id
                if poll is None and message.poll is not None and marker in message.poll.question:
                    poll = message.id
        return FoundPost(pick, poll)

    async def open_thread(self, movie: Movie) -> ThreadResult:
        await self._pacer.take(self._cards.thread_requests(movie))
        try:
            _, thread = await self._cards.ensure_thread(movie)
        except (BotMissingPermissions, discord.HTTPException):
            log.warning("could not open the spoiler thread of weekly pick %d", movie.id)
            return ThreadResult(None, failed=True)
        return ThreadResult(thread.id)

    async def publish(self, post: WeeklyPost, found: FoundPost) -> PostedIds:
        channel = self._text_channel(post.channel_id)
        if channel is None:
            raise BotMissingPermissions(
                f"I couldn't post the weekly pick: <#{post.channel_id}> is gone or is not a "
                "text channel. Choose another with `/club setup picks_channel:`."
            )
        pick_id = found.pick_message_id
        if pick_id is None:
            await self._pacer.take()
            async with bot_action(f"post the weekly pick in <#{channel.id}>"):
                message = await channel.send(embeds=weekly_embeds(post))
            pick_id = message.id
        poll_id = found.poll_message_id
        if post.poll is None or poll_id is not None:
            return PostedIds(pick_id, poll_id)
        await self._pacer.take()
        try:
            poll_message = await channel.send(poll=build_poll(post.poll))
        except discord.Forbidden as exc:  # any other failure leaves the run to be finished later
            log.warning("the weekly poll in channel %d was refused: %s", channel.id, exc.code)
            await self._pacer.take()
            try:
                await channel.get_partial_message(pick_id).edit(
                    embeds=weekly_embeds(post, poll_refused=True)
                )
            except discord.HTTPException:
                log.info("could not correct weekly pick %d after its poll failed", pick_id)
            return PostedIds(pick_id, None, poll_refused=True)
        return PostedIds(pick_id, poll_message.id)
