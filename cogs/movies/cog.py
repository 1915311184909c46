"""/movie add, /movie info, /movie list — and the catalog's page buttons."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.links import message_link
from bot.domain.movies import MovieSort
from bot.services.club import ClubService
from bot.services.movies import MovieInfo, MoviePage, MovieService, PostedCard
from bot.ui.autocomplete import movie_choices
from bot.ui.cards import Cards
from bot.ui.channels import posting_channel
from bot.ui.paging import PageButton, Side, pager, side_of
from bot.ui.text import safe
from cogs.movies.embeds import info_embed, movie_page_embed

if TYPE_CHECKING:
    from bot.client import ClubBot

log = logging.getLogger(__name__)


class MoviePageButton(
    PageButton, template=r"movies:(?P<sort>recent|top|title):(?P<page>\d+):(?P<side>[pn])"
):
    """Previous/next on a ``/movie list`` message."""

    def __init__(self, sort: MovieSort, page: int, side: Side, *, disabled: bool = False):
        super().__init__(f"movies:{sort}:{page}:{side}", side, disabled=disabled)
        self.sort: MovieSort = sort
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> MoviePageButton:
        sort: MovieSort = match["sort"]  # type: ignore[assignment]  # the template allows only these
        return cls(sort, int(match["page"]), side_of(match["side"]))

    async def render(
        self, interaction: discord.Interaction[Any]
    ) -> tuple[discord.Embed, discord.ui.View]:
        bot: ClubBot = interaction.client
        assert interaction.guild_id is not None
        page = await bot.services.movies.page(interaction.guild_id, self.sort, self.page)
        return movie_page_embed(page), page_view(page)


def page_view(page: MoviePage) -> discord.ui.View:
    return pager(
        MoviePageButton(page.sort, max(page.page - 1, 0), "p", disabled=page.page == 0),
        MoviePageButton(page.sort, page.page + 1, "n", disabled=page.page + 1 >= page.pages),
    )


class CardHere:
    """:class:`bot.services.movies.CardPoster` for one ``/movie add``: the card goes in the
    movies channel, else where the command was used."""

    def __init__(
        self, interaction: discord.Interaction[ClubBot], cards: Cards, club: ClubService
    ) -> None:
        self._interaction = interaction
        self._cards = cards
        self._club = club

    async def post(self, info: MovieInfo) -> PostedCard:
        interaction = self._interaction
        assert interaction.guild_id is not None
        # Posting takes a few requests: answer Discord first (it waits three seconds at most).
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self._club.settings(interaction.guild_id)
        channel = posting_channel(interaction, settings.movies_channel_id, allow_forum=True)
        return await self._cards.publish(info, channel)

    async def finish(self, info: MovieInfo, card: PostedCard) -> None:
        await self._cards.finish(info, card)

    async def withdraw(self, card: PostedCard) -> None:
        await self._cards.withdraw(card)


@app_commands.guild_only()
class Movies(commands.GroupCog, group_name="movie", group_description="The club's movie catalog"):
    def __init__(self, movies: MovieService, club: ClubService, cards: Cards) -> None:
        self.movies = movies
        self.club = club
        self.cards = cards

    @app_commands.command(
        name="add", description="Add a movie, post its card and open its spoiler thread"
    )
    @app_commands.describe(title="The film's title", year="Release year — tells remakes apart")
    async def add(
        self, interaction: discord.Interaction[ClubBot], title: str, year: int | None = None
    ) -> None:
        assert interaction.guild_id is not None
        here = CardHere(interaction, self.cards, self.club)
        movie = await self.movies.add(interaction.guild_id, interaction.user.id, title, year, here)
        assert movie.card_channel_id is not None and movie.card_message_id is not None
        link = message_link(interaction.guild_id, movie.card_channel_id, movie.card_message_id)
        if movie.thread_id is not None:
            spoilers = f" Spoilers go in <#{movie.thread_id}>."
        else:
            spoilers = (
                " I couldn't open its spoiler thread (I need **Create Public Threads** there);"
                " it will be opened when it is needed."
            )
        await interaction.followup.send(
            f"Added **{safe(movie.label)}** — [its card]({link}).{spoilers}", ephemeral=True
        )

    @app_commands.command(name="info", description="A movie's ratings, reviews and links")
    @app_commands.describe(movie="Start typing a title")
    async def info(self, interaction: discord.Interaction[ClubBot], movie: str) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        await interaction.response.send_message(embed=info_embed(await self.movies.info(found)))
        if not found.has_card:  # a moderator deleted it: put it back, with its reactions
            await self.cards.ensure(found)
        else:
            self.cards.touched(found.id)

    @info.autocomplete("movie")
    async def _info_movie(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await movie_choices(self.movies, interaction, current)

    @app_commands.command(name="list", description="Browse the club's catalog")
    @app_commands.describe(sort="Order of the list")
    async def list(
        self,
        interaction: discord.Interaction[ClubBot],
        sort: Literal["recent", "top", "title"] = "recent",
    ) -> None:
        assert interaction.guild_id is not None
        page = await self.movies.page(interaction.guild_id, sort, 0)
        await interaction.response.send_message(embed=movie_page_embed(page), view=page_view(page))
