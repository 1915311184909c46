"""Autocomplete for every ``movie`` option: the guild's catalog, best matches first."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from bot.services.movies import CHOICE_PREFIX, MovieService
from bot.ui.text import plain_cap

log = logging.getLogger(__name__)

AUTOCOMPLETE_DEADLINE = 2.5  # seconds; Discord drops autocomplete answers after 3


async def movie_choices(
    movies: MovieService, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """The 25 best catalog matches for what the member is typing, as ``Title (Year)``."""
    if interaction.guild_id is None:
        return []
    try:
        found = await asyncio.wait_for(
            movies.suggest(interaction.guild_id, current), AUTOCOMPLETE_DEADLINE
        )
    except TimeoutError:
        log.warning("autocomplete missed its deadline in guild %d", interaction.guild_id)
        return []
    return [
        app_commands.Choice(name=plain_cap(m.label, 100), value=f"{CHOICE_PREFIX}{m.id}")
        for m in found
    ]
