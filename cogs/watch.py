"""/watch suggest, pool, schedule, pick-now and history — and the loop that posts weekly picks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.services.movies import MovieService
from bot.services.watch import RunResult, WatchService
from bot.ui.autocomplete import movie_choices
from bot.ui.text import safe
from bot.ui.watch import (
    DiscordPublisher,
    Pacer,
    history_embed,
    pool_embed,
    run_reply,
    schedule_reply,
    timezone_choices,
    weekday_choices,
)

if TYPE_CHECKING:
    from bot.client import ClubBot

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # due guilds are run at least once a minute


@app_commands.guild_only()
class Watch(commands.GroupCog, group_name="watch", group_description="The weekly watch pick"):
    def __init__(
        self,
        bot: ClubBot,
        watch: WatchService,
        movies: MovieService,
        publisher: DiscordPublisher,
    ) -> None:
        self.bot = bot
        self.watch = watch
        self.movies = movies
        self.publisher = publisher

    async def cog_load(self) -> None:
        self.scheduler.start()

    async def cog_unload(self) -> None:
        self.scheduler.cancel()

    # -- the schedule loop -------------------------------------------------------------------
    @tasks.loop(seconds=TICK_SECONDS)
    async def scheduler(self) -> None:
        await self.run_due()

    @scheduler.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def run_due(self) -> list[RunResult]:
        """One tick: post the pick of every guild that is due (the loop's body; tests call it)."""
        try:
            return await self.watch.run_due(self.publisher, [g.id for g in self.bot.guilds])
        except Exception:  # the loop must survive a bad tick
            log.exception("a weekly pick tick failed")
            return []

    # -- commands ----------------------------------------------------------------------------
    @app_commands.command(name="suggest", description="Put a movie from the catalog in the pool")
    @app_commands.describe(movie="Start typing a title")
    async def suggest(self, interaction: discord.Interaction[ClubBot], movie: str) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        pool = await self.watch.suggest(found, interaction.user.id)
        await interaction.response.send_message(
            f"Added **{safe(found.label)}** to the pick pool ({len(pool)} waiting). "
            "Each week's poll offers the ten longest-waiting suggestions.",
            ephemeral=True,
        )

    @suggest.autocomplete("movie")
    async def _suggest_movie(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await movie_choices(self.movies, interaction, current)

    @app_commands.command(name="pool", description="The movies waiting for a weekly pick")
    async def pool(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        entries = await self.watch.pool(interaction.guild_id)
        await interaction.response.send_message(embed=pool_embed(entries))

    @app_commands.command(name="history", description="The club's past weekly picks")
    async def history(self, interaction: discord.Interaction[ClubBot]) -> None:
        assert interaction.guild_id is not None
        found = await self.watch.history(interaction.guild_id)
        await interaction.response.send_message(embed=history_embed(found))

    @app_commands.command(name="schedule", description="When the weekly pick is posted")
    @app_commands.describe(
        weekday="Day of the week, e.g. Friday",
        time="Time of day, e.g. 20:00 or 8pm",
        timezone="IANA time zone, e.g. Europe/Berlin (default: the club's)",
        channel="Where to post (becomes the club's picks channel)",
    )
    @app_commands.default_permissions(manage_guild=True)
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
    @app_commands.default_permissions(manage_guild=True)
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


async def setup(bot: ClubBot) -> None:
    publisher = DiscordPublisher(bot, bot.cards, Pacer())
    await bot.add_cog(Watch(bot, bot.services.watch, bot.services.movies, publisher))
