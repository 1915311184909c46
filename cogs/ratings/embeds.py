"""The movie card's embed."""

from __future__ import annotations

import discord

from bot.services.movies import MovieInfo
from bot.ui.embeds import CARD_COLOUR, ratings_block
from bot.ui.text import safe

CARD_FOOTER = "React 1️⃣–🔟 to rate · /review write to review"


def card_embed(info: MovieInfo) -> discord.Embed:
    """The movie card: what the club thinks, at a glance, and where to talk spoilers."""
    movie = info.movie
    embed = discord.Embed(title=safe(movie.label, 256), colour=CARD_COLOUR)
    embed.description = ratings_block(info.summary)
    embed.add_field(name="Reviews", value=str(info.reviews))
    if movie.thread_id is not None:
        embed.add_field(name="Spoilers", value=f"<#{movie.thread_id}>")
    embed.set_footer(text=CARD_FOOTER)
    return embed


def shows(message_embeds: list[discord.Embed], info: MovieInfo) -> bool:
    """Does a posted card already show what the database holds? (Start-up catches up cards
    whose edits were still owed when the bot stopped.)"""
    if not message_embeds:
        return False
    posted, wanted = message_embeds[0], card_embed(info)
    return (
        posted.title == wanted.title
        and posted.description == wanted.description
        and [(f.name, f.value) for f in posted.fields] == [(f.name, f.value) for f in wanted.fields]
    )
