"""/help on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.help.cog import Help

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    await bot.add_cog(Help(bot.services.club, bot.services.watch))
