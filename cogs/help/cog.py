"""/help: what the bot does, with examples, and where this club's things are."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.club import ClubService
from bot.services.watch import WatchService
from cogs.help.embeds import help_embed

if TYPE_CHECKING:
    from bot.client import ClubBot


class Help(commands.Cog):
    def __init__(self, club: ClubService, watch: WatchService) -> None:
        self.club = club
        self.watch = watch

    @app_commands.command(name="help", description="What Reel Club does, with examples")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        settings = await self.club.settings(interaction.guild_id)
        schedule = await self.watch.schedule_info(interaction.guild_id)
        await interaction.response.send_message(
            embed=help_embed(settings, schedule), ephemeral=True
        )
