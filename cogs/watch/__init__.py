"""The weekly pick on Discord: /watch suggest, pool and history, the loop that posts each club's
pick on schedule, and the publisher that posts it (``publisher``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.watch.cog import Watch

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    await bot.add_cog(Watch(bot, bot.services.watch, bot.services.movies, bot.watch_publisher))
