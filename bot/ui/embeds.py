"""Embed pieces more than one feature shows: the club's colour and a movie's ratings block."""

from __future__ import annotations

import discord

from bot.domain.ratings import RatingSummary

CARD_COLOUR = discord.Colour(0xE0A526)


def ratings_block(summary: RatingSummary) -> str:
    """The average, the vote count and the histogram (on the card and in ``/movie info``)."""
    return f"**{summary.headline()}**\n```\n{summary.histogram()}\n```"
