"""The catalog on Discord: /movie add, info and list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.movies.cog import MoviePageButton, Movies

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    bot.add_dynamic_items(MoviePageButton)
    await bot.add_cog(Movies(bot.services.movies, bot.services.club, bot.cards))
