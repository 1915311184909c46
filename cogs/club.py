"""/club setup and /club settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.club import ClubService
from bot.ui.embeds import settings_embed

if TYPE_CHECKING:
    from bot.client import ClubBot


@app_commands.guild_only()
class Club(commands.GroupCog, group_name="club", group_description="Configure the movie club"):
    def __init__(self, club: ClubService) -> None:
        self.club = club

    @app_commands.command(name="setup", description="Choose the club's channels and time zone")
    @app_commands.describe(
        movies_channel="Where movie cards go (a text or forum channel)",
        reviews_channel="Where reviews are posted",
        picks_channel="Where the weekly pick and poll go",
        timezone="IANA time zone for the weekly schedule, e.g. Europe/Berlin",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def setup(
        self,
        interaction: discord.Interaction[ClubBot],
        movies_channel: discord.TextChannel | discord.ForumChannel | None = None,
        reviews_channel: discord.TextChannel | None = None,
        picks_channel: discord.TextChannel | None = None,
        timezone: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        settings = await self.club.configure(
            interaction.guild_id,
            movies_channel_id=movies_channel.id if movies_channel else None,
            reviews_channel_id=reviews_channel.id if reviews_channel else None,
            picks_channel_id=picks_channel.id if picks_channel else None,
            timezone=timezone,
        )
        await interaction.response.send_message(
            "Saved.", embed=settings_embed(settings), ephemeral=True
        )

    @app_commands.command(name="settings", description="Show how the club is configured")
    async def settings(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        settings = await self.club.settings(interaction.guild_id)
        await interaction.response.send_message(embed=settings_embed(settings), ephemeral=True)


async def setup(bot: ClubBot) -> None:
    await bot.add_cog(Club(bot.services.club))
