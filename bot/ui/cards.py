"""The movie cards as other features use them. ``cogs/ratings/cards.py`` implements this; the
composition root hands that one object to every feature that needs a card or a spoiler thread,
so no feature package imports another."""

from __future__ import annotations

from typing import Protocol

import discord

from bot.domain.movies import Movie
from bot.services.movies import MovieInfo, PostedCard

CardChannel = discord.TextChannel | discord.ForumChannel


class Cards(Protocol):
    async def publish(self, info: MovieInfo, channel: CardChannel) -> PostedCard:
        """Post a new card in ``channel`` and open its spoiler thread (nothing is recorded)."""
        ...

    async def finish(self, info: MovieInfo, card: PostedCard) -> None:
        """A recorded new card: link its thread on it and put 1️⃣…🔟 on it."""
        ...

    async def withdraw(self, card: PostedCard) -> None:
        """Delete a card that could not be recorded, and its thread."""
        ...

    async def ensure(self, movie: Movie) -> Movie:
        """Re-post the movie's card if a moderator deleted it."""
        ...

    async def ensure_thread(self, movie: Movie) -> tuple[Movie, discord.Thread]:
        """The movie's spoiler thread, open: un-archived, or made again if it is gone."""
        ...

    def show_soon(self, movie_id: int) -> None:
        """The card should show something new (paced: at most one edit per card every 2 s)."""
        ...

    def touched(self, movie_id: int) -> None:
        """Someone looked at the movie: a card the bot has not read back since it started is
        reconciled in the background (once), so the numbers on it are counted."""
        ...

    def thread_requests(self, movie: Movie) -> int:
        """How many requests :meth:`ensure_thread` will make, for callers that pace them."""
        ...
