"""/club: the admin commands — setup, settings, the weekly schedule and pick-now.

The whole group is hidden from members by ``default_member_permissions`` (Manage Server; Discord
ignores it on subcommands, so it is set on the group), and each command checks the permission
again when it runs: a server can grant the group to others in its integration settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.club import ClubService
from bot.services.watch import Publisher, WatchService
from cogs.club.choices import timezone_choices, weekday_choices
from cogs.club.embeds import run_reply, schedule_reply, settings_embed

if TYPE_CHECKING:
    from bot.client import ClubBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Club(commands.GroupCog, group_name="club", group_description="Run the movie club (admins)"):
    def __init__(self, club: ClubService, watch: WatchService, publisher: Publisher) -> None:
        self.club = club
        self.watch = watch
        self.publisher = publisher

    @app_commands.command(name="setup", description="Choose the club's channels and time zone")
    @app_commands.describe(
        movies_channel="Where movie cards go (a text or forum channel)",
        reviews_channel="Where reviews are posted",
        picks_channel="Where the weekly pick and poll go",
        timezone="IANA time zone for the weekly schedule, e.g. Europe/Berlin",
    )
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
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        settings = await self.club.settings(interaction.guild_id)
        await interaction.response.send_message(embed=settings_embed(settings), ephemeral=True)

    @app_commands.command(name="schedule", description="When the weekly pick is posted")
    @app_commands.describe(
        weekday="Day of the week, e.g. Friday",
        time="Time of day, e.g. 20:00 or 8pm",
        timezone="IANA time zone, e.g. Europe/Berlin (default: the club's)",
        channel="Where to post (becomes the club's picks channel)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def schedule(
        self,
        interaction: discord.Interaction[ClubBot],
        weekday: str,
        time: str,
        timezone: str | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        info = await self.watch.set_schedule(
            interaction.guild_id,
            weekday=weekday,
            at=time,
            timezone=timezone,
            channel_id=channel.id if channel else None,
            here_channel_id=interaction.channel_id,
        )
        check = self.publisher.check_channel(info.posts_in)
        await interaction.response.send_message(schedule_reply(info, check), ephemeral=True)

    @schedule.autocomplete("weekday")
    async def _schedule_weekday(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return weekday_choices(current)

    @schedule.autocomplete("timezone")
    async def _schedule_timezone(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return timezone_choices(current)

    @app_commands.command(name="pick-now", description="Post this week's pick now")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def pick_now(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.watch.run(
            interaction.guild_id,
            self.publisher,
            force=True,
            here_channel_id=interaction.channel_id,
        )
        await interaction.followup.send(run_reply(result), ephemeral=True)
