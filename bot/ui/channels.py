"""Finding the channel a feature posts in: the configured one, else where the command was used."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain.errors import InvalidInput

Postable = discord.TextChannel | discord.ForumChannel


def posting_channel(
    interaction: discord.Interaction[Any], configured_id: int | None, *, allow_forum: bool
) -> Postable:
    """The configured channel if it still exists, else the command's channel (a thread's parent)."""
    guild = interaction.guild
    assert guild is not None
    candidates: list[Any] = []
    if configured_id is not None:
        candidates.append(guild.get_channel(configured_id))
    here = interaction.channel
    candidates.append(here.parent if isinstance(here, discord.Thread) else here)
    for channel in candidates:
        if isinstance(channel, discord.TextChannel):
            return channel
        if allow_forum and isinstance(channel, discord.ForumChannel):
            return channel
    raise InvalidInput(
        "I can't post here. Use this command in a text channel, or ask an admin to pick one "
        "with `/club setup`."
    )
