"""Ratings on Discord: reactions and /rate, the movie cards (posting them: ``cards``; keeping them
in step with the database: ``sync``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.ratings.cog import Ratings

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    assert bot.user is not None  # extensions load in setup_hook, after login
    await bot.add_cog(
        Ratings(bot.user.id, bot.services.movies, bot.services.ratings, bot.cards, bot.card_sync)
    )
