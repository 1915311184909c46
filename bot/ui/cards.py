"""Posting a movie's card and opening its spoiler thread (a forum post in a forum channel)."""

from __future__ import annotations

import logging
from typing import Literal

import discord

from bot.domain.movies import Movie
from bot.services.movies import MovieInfo
from bot.ui.embeds import card_embed
from bot.ui.errors import bot_action
from bot.ui.text import plain_cap

log = logging.getLogger(__name__)

THREAD_SUFFIX = " · spoilers"
ONE_WEEK_MINUTES: Literal[10080] = 10080
SPOILER_TAG = "Spoilers"

CardChannel = discord.TextChannel | discord.ForumChannel


def thread_name(movie: Movie) -> str:
    """``Title (Year) · spoilers`` within Discord's 100 characters; never any review text."""
    return plain_cap(movie.label, 100 - len(THREAD_SUFFIX)) + THREAD_SUFFIX


def _spoiler_tags(forum: discord.ForumChannel) -> list[discord.ForumTag]:
    return [tag for tag in forum.available_tags if tag.name.casefold() == SPOILER_TAG.casefold()]


async def publish_card(
    channel: CardChannel, info: MovieInfo
) -> tuple[discord.Message, discord.Thread | None]:
    """Post the card; open the thread. A 403 on the card is an error, on the thread a warning."""
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
    try:
        thread = await message.create_thread(
            name=thread_name(info.movie), auto_archive_duration=ONE_WEEK_MINUTES
        )
    except discord.HTTPException as exc:
        log.warning("could not open the spoiler thread in %d: %s", channel.id, exc.code)
        return message, None
    return message, thread


async def refresh_card(message: discord.Message, info: MovieInfo) -> None:
    await message.edit(embed=card_embed(info))
