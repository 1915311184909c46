"""/watch suggest, pool and history — and the loop that posts weekly picks (admins set the
schedule and run a pick now with ``/club``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.services.movies import MovieService
from bot.services.watch import Publisher, RunResult, WatchService
from bot.ui.autocomplete import movie_choices
from bot.ui.text import safe
from cogs.watch.embeds import history_embed, pool_embed

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
        publisher: Publisher,
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
