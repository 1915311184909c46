"""Spoilers on Discord: the **Hide as spoiler** message menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.spoilers.cog import Spoilers

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    assert bot.user is not None  # extensions load in setup_hook, after login
    await bot.add_cog(Spoilers(bot.user.id, bot.tree))
