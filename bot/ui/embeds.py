"""Embeds the bot posts: movie cards, movie info, settings, the catalog, help."""

from __future__ import annotations

import discord

from bot.domain.club import ClubSettings
from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.ratings import RatingSummary
from bot.services.movies import MovieInfo, MoviePage
from bot.ui.text import safe

CARD_COLOUR = discord.Colour(0xE0A526)


def _title(movie: Movie) -> str:
    return safe(movie.label, 256)


def _ratings_block(summary: RatingSummary) -> str:
    return f"**{summary.headline()}**\n```\n{summary.histogram()}\n```"


def card_embed(info: MovieInfo) -> discord.Embed:
    """The movie card: what the club thinks, at a glance, and where to talk spoilers."""
    movie = info.movie
    embed = discord.Embed(title=_title(movie), colour=CARD_COLOUR)
    embed.description = _ratings_block(info.summary)
    embed.add_field(name="Reviews", value=str(info.reviews))
    if movie.thread_id is not None:
        embed.add_field(name="Spoilers", value=f"<#{movie.thread_id}>")
    embed.set_footer(text="React 1️⃣–🔟 to rate · /review write to review")
    return embed


def info_embed(info: MovieInfo) -> discord.Embed:
    movie = info.movie
    embed = discord.Embed(title=_title(movie), colour=CARD_COLOUR)
    embed.description = _ratings_block(info.summary)
    embed.add_field(name="Reviews", value=str(info.reviews))
    embed.add_field(name="Added by", value=f"<@{movie.added_by}>")
    if movie.card_channel_id is not None and movie.card_message_id is not None:
        link = message_link(movie.guild_id, movie.card_channel_id, movie.card_message_id)
        embed.add_field(name="Card", value=f"[Jump to the card]({link})")
    if movie.thread_id is not None:
        embed.add_field(name="Spoilers", value=f"<#{movie.thread_id}>")
    return embed


def settings_embed(settings: ClubSettings) -> discord.Embed:
    def channel(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else "not set — the channel where a command is used"

    embed = discord.Embed(title="Club settings", colour=CARD_COLOUR)
    embed.add_field(name="Movies channel", value=channel(settings.movies_channel_id), inline=False)
    embed.add_field(
        name="Reviews channel", value=channel(settings.reviews_channel_id), inline=False
    )
    embed.add_field(name="Picks channel", value=channel(settings.picks_channel_id), inline=False)
    embed.add_field(name="Time zone", value=settings.timezone, inline=False)
    embed.set_footer(text="Admins change these with /club setup")
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


HELP_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "The catalog",
        "`/movie add title:Parasite year:2019` adds a film and posts its card.\n"
        "`/movie info movie:Parasite` shows its ratings; `/movie list sort:top` the catalog.",
    ),
    (
        "Rating",
        "React 1️⃣…🔟 on a movie card, or `/rate movie:Parasite score:9`. `/unrate` takes it back.",
    ),
    (
        "Reviews",
        "`/review write movie:Parasite spoilers:True` opens a form; attach a .txt or .md file "
        "for long essays. Spoilers stay hidden outside the movie's spoiler thread.",
    ),
    (
        "Spoilers",
        "Each movie has a thread named `Title (Year) · spoilers`. Right-click a message → "
        "Apps → **Hide as spoiler** to hide a leak.",
    ),
    (
        "Weekly pick",
        "`/watch suggest movie:…` adds to the pool; each week the bot posts the pick, a poll for "
        "next week and recommendations from the club's ratings.",
    ),
    ("Admins", "`/club setup` sets the channels and time zone; `/club settings` shows them."),
)


def help_embed() -> discord.Embed:
    embed = discord.Embed(
        title="Reel Club",
        description=(
            "Run a movie club here: a catalog, ratings, spoiler-safe reviews and a weekly pick."
        ),
        colour=CARD_COLOUR,
    )
    for name, value in HELP_SECTIONS:
        embed.add_field(name=name, value=value, inline=False)
    return embed
