"""/help: what the bot does, with examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.ui.embeds import help_embed

if TYPE_CHECKING:
    from bot.client import ClubBot


class Help(commands.Cog):
    @app_commands.command(name="help", description="What Reel Club does, with examples")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction[ClubBot]) -> None:
        await interaction.response.send_message(embed=help_embed(), ephemeral=True)


async def setup(bot: ClubBot) -> None:
    await bot.add_cog(Help())
