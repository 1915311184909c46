"""The club's admin commands on Discord: /club setup, settings, schedule and pick-now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.club.cog import Club

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    await bot.add_cog(Club(bot.services.club, bot.services.watch, bot.watch_publisher))
