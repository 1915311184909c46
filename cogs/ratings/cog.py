"""Rating: number reactions on cards (raw events only), /rate and /unrate, and what moderators do
to cards (delete one, clear its reactions)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.ratings import show_score
from bot.services.movies import MovieService
from bot.services.ratings import RatingService
from bot.ui.autocomplete import movie_choices
from bot.ui.text import safe
from cogs.ratings.cards import CardPublisher
from cogs.ratings.sync import CardSync

if TYPE_CHECKING:
    from bot.client import ClubBot

log = logging.getLogger(__name__)


class Ratings(commands.Cog):
    def __init__(
        self,
        bot_id: int,
        movies: MovieService,
        ratings: RatingService,
        cards: CardPublisher,
        sync: CardSync,
    ) -> None:
        self.bot_id = bot_id
        self.movies = movies
        self.ratings = ratings
        self.cards = cards
        self.sync = sync

    # -- reactions ---------------------------------------------------------------------------
    def _counts(self, event: discord.RawReactionActionEvent) -> bool:
        if event.guild_id is None or event.user_id == self.bot_id:
            return False
        return not (event.member is not None and event.member.bot)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        if self._counts(event):
            await self.ratings.on_reaction(
                event.message_id, event.user_id, str(event.emoji), added=True
            )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        if self._counts(event):
            await self.ratings.on_reaction(
                event.message_id, event.user_id, str(event.emoji), added=False
            )

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, event: discord.RawReactionClearEvent) -> None:
        await self.sync.reactions_cleared(event.message_id, None)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, event: discord.RawReactionClearEmojiEvent) -> None:
        await self.sync.reactions_cleared(event.message_id, str(event.emoji))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self.sync.message_deleted(event.message_id)

    # -- commands ----------------------------------------------------------------------------
    @app_commands.command(name="rate", description="Rate a movie from 1 to 10 (same as reacting)")
    @app_commands.describe(movie="Start typing a title", score="1 (awful) to 10 (masterpiece)")
    @app_commands.guild_only()
    async def rate(self, interaction: discord.Interaction[ClubBot], movie: str, score: int) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        summary = await self.ratings.rate(found, interaction.user.id, score)
        await interaction.response.send_message(
            f"You rated **{safe(found.label)}** {show_score(score)}. Club: {summary.headline()}.",
            ephemeral=True,
        )
        await self.cards.ensure(found)

    @app_commands.command(name="unrate", description="Remove your rating of a movie")
    @app_commands.describe(movie="Start typing a title")
    @app_commands.guild_only()
    async def unrate(self, interaction: discord.Interaction[ClubBot], movie: str) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        removed = await self.ratings.unrate(found, interaction.user.id)
        text = "Your rating of **{}** is removed." if removed else "You had not rated **{}**."
        await interaction.response.send_message(text.format(safe(found.label)), ephemeral=True)

    @rate.autocomplete("movie")
    @unrate.autocomplete("movie")
    async def _movie(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await movie_choices(self.movies, interaction, current)
