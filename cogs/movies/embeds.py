"""What ``/movie info`` and ``/movie list`` show."""

from __future__ import annotations

import discord

from bot.domain.links import message_link
from bot.services.movies import MovieInfo, MoviePage
from bot.ui.embeds import CARD_COLOUR, ratings_block
from bot.ui.text import safe


def info_embed(info: MovieInfo) -> discord.Embed:
    movie = info.movie
    embed = discord.Embed(title=safe(movie.label, 256), colour=CARD_COLOUR)
    embed.description = ratings_block(info.summary)
    embed.add_field(name="Reviews", value=str(info.reviews))
    embed.add_field(name="Added by", value=f"<@{movie.added_by}>")
    if movie.card_channel_id is not None and movie.card_message_id is not None:
        link = message_link(movie.guild_id, movie.card_channel_id, movie.card_message_id)
        embed.add_field(name="Card", value=f"[Jump to the card]({link})")
    if movie.thread_id is not None:
        embed.add_field(name="Spoilers", value=f"<#{movie.thread_id}>")
    return embed


_SORT_NAMES = {"recent": "newest first", "top": "best rated first", "title": "by title"}


def movie_page_embed(page: MoviePage) -> discord.Embed:
    embed = discord.Embed(title=f"The catalog — {_SORT_NAMES[page.sort]}", colour=CARD_COLOUR)
    if not page.rows:
        embed.description = "The catalog is empty. Add the first movie with `/movie add`."
    else:
        lines = []
        for movie, summary in page.rows:
            name = safe(movie.label, 120)
            if movie.card_channel_id is not None and movie.card_message_id is not None:
                link = message_link(movie.guild_id, movie.card_channel_id, movie.card_message_id)
                name = f"[{name}]({link})"
            lines.append(f"{name} — {summary.headline()}")
        embed.description = "\n".join(lines)
    embed.set_footer(text=f"Page {page.page + 1}/{page.pages} · {page.total} movies")
    return embed
