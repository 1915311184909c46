"""The catalog: adding movies, finding them, and what a movie's page shows.

Adding a movie touches Discord (its card and spoiler thread): :meth:`MovieService.add` owns the
steps and their undo and reaches Discord through a :class:`CardPoster` that the cog side
implements. A movie whose card could not be posted is not kept, so the member can retry.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from bot.domain.clock import Clock, to_db
from bot.domain.errors import Duplicate, InvalidInput, NotFound
from bot.domain.links import message_link
from bot.domain.movies import Movie, MovieSort, check_year, clean_title, fold, split_label
from bot.domain.ratings import RatingSummary
from bot.domain.search import rank_movies
from bot.storage.database import Database

log = logging.getLogger(__name__)

PAGE_SIZE = 10
CHOICE_PREFIX = "movie:"  # autocomplete values name a movie by id; typed text is matched by title


@dataclass(frozen=True)
class MovieInfo:
    movie: Movie
    summary: RatingSummary
    reviews: int


@dataclass(frozen=True)
class MoviePage:
    sort: MovieSort
    page: int  # 0-based, clamped into range
    pages: int
    total: int
    rows: list[tuple[Movie, RatingSummary]]


@dataclass(frozen=True)
class PostedCard:
    """Where a movie's card went: its message, and its spoiler thread when one was opened."""

    channel_id: int
    message_id: int
    thread_id: int | None


class CardPoster(Protocol):
    """The Discord side of putting a new movie's card up."""

    async def post(self, info: MovieInfo) -> PostedCard:
        """Post the card and open its spoiler thread; a refused card raises a ``ClubError``
        (a refused thread is only logged: it is opened when it is first needed)."""
        ...

    async def finish(self, info: MovieInfo, card: PostedCard) -> None:
        """After the card is recorded: link its thread on it, put the rating reactions on it."""
        ...

    async def withdraw(self, card: PostedCard) -> None:
        """Undo :meth:`post` (the card could not be recorded)."""
        ...


class MovieService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self, guild_id: int, member_id: int, title: str, year: int | None, cards: CardPoster
    ) -> Movie:
        """Add a movie with its card and spoiler thread; all or nothing."""
        movie = await self.add_entry(guild_id, member_id, title, year)
        card: PostedCard | None = None
        try:
            card = await cards.post(await self.info(movie))
            movie = await self.attach_card(movie, card.channel_id, card.message_id)
            if card.thread_id is not None:
                movie = await self.attach_thread(movie, card.thread_id)
        except BaseException:
            try:
                if card is not None:
                    await cards.withdraw(card)
            finally:
                # No card, no catalog entry, even when the withdrawal fails or is cancelled:
                # the member can retry.
                await asyncio.shield(self.discard(movie))
            raise
        await cards.finish(await self.info(movie), card)
        return movie

    async def add_entry(self, guild_id: int, member_id: int, title: str, year: int | None) -> Movie:
        """Put a movie in the catalog without a card (seeding and tests; members use
        :meth:`add`); a duplicate points at the existing card."""
        clean = clean_title(title)
        checked_year = check_year(year, self._clock.now())
        key = fold(clean)
        async with self._db.session() as s:
            existing = await s.movies.by_identity(guild_id, key, checked_year)
            if existing is not None:
                raise _duplicate(existing)
            if checked_year is None:
                same_title = await s.movies.by_title_key(guild_id, key)
                if same_title:
                    labels = ", ".join(m.label for m in same_title[:5])
                    raise InvalidInput(
                        f"The catalog already has {labels}. Give the `year` to say which film "
                        "you mean, or to add another one with the same title."
                    )
            movie = await s.movies.add(
                guild_id,
                title=clean,
                title_key=key,
                year=checked_year,
                added_by=member_id,
                added_at=to_db(self._clock.now()),
            )
        log.info("movie %d added to guild %d", movie.id, guild_id)
        return movie

    async def discard(self, movie: Movie) -> None:
        """Undo :meth:`add` when its card could not be posted."""
        async with self._db.session() as s:
            await s.movies.delete(movie.id)

    async def attach_card(self, movie: Movie, channel_id: int, message_id: int) -> Movie:
        async with self._db.session() as s:
            await s.movies.set_card(movie.id, channel_id, message_id)
        return replace(movie, card_channel_id=channel_id, card_message_id=message_id)

    async def detach_card(self, movie: Movie) -> Movie:
        """The card was deleted: ratings and reviews stay; a new card is posted when needed, in
        the movies channel, else where this one was (so its channel id is kept)."""
        async with self._db.session() as s:
            await s.movies.set_card(movie.id, movie.card_channel_id, None)
        return replace(movie, card_message_id=None)

    async def by_id(self, movie_id: int) -> Movie | None:
        async with self._db.reader() as s:
            return await s.movies.by_id(movie_id)

    async def by_card(self, message_id: int) -> Movie | None:
        async with self._db.reader() as s:
            return await s.movies.by_card(message_id)

    async def with_cards(self, guild_id: int) -> list[Movie]:
        async with self._db.reader() as s:
            return await s.movies.with_cards(guild_id)

    async def active_cards(self, within: timedelta) -> list[Movie]:
        """Movies of every guild whose card saw activity (added, rated, reviewed, suggested or
        picked) in the last ``within``, the latest activity first."""
        since = to_db(self._clock.now() - within)
        async with self._db.reader() as s:
            return await s.movies.active_cards(since)

    async def attach_thread(self, movie: Movie, thread_id: int | None) -> Movie:
        async with self._db.session() as s:
            await s.movies.set_thread(movie.id, thread_id)
        return replace(movie, thread_id=thread_id)

    async def resolve(self, guild_id: int, text: str) -> Movie:
        """The movie a ``movie`` option names: an autocomplete choice, or typed text."""
        raw = text.strip()
        async with self._db.reader() as s:
            if raw.startswith(CHOICE_PREFIX) and raw[len(CHOICE_PREFIX) :].isdigit():
                movie = await s.movies.get(guild_id, int(raw[len(CHOICE_PREFIX) :]))
                if movie is not None:
                    return movie
            title, year = split_label(raw)
            key = fold(title)
            if year is not None:
                movie = await s.movies.by_identity(guild_id, key, year)
                if movie is not None:
                    return movie
            exact = await s.movies.by_title_key(guild_id, key)
            if len(exact) == 1:
                return exact[0]
            catalog = await s.movies.all_for_guild(guild_id)
        if len(exact) > 1:
            labels = ", ".join(m.label for m in exact[:5])
            raise InvalidInput(f"More than one movie matches: {labels}. Pick one from the list.")
        close = rank_movies(raw, catalog, limit=3)
        hint = f" Did you mean {', '.join(m.label for m in close)}?" if close else ""
        shown = raw[:80] if raw else "(nothing)"
        raise NotFound(
            f"No movie called `{shown}` in this club's catalog.{hint} "
            "Pick one from the list as you type, or add it with `/movie add`."
        )

    async def suggest(self, guild_id: int, query: str) -> list[Movie]:
        async with self._db.reader() as s:
            catalog = await s.movies.all_for_guild(guild_id)
        return rank_movies(query, catalog)

    async def info(self, movie: Movie) -> MovieInfo:
        async with self._db.reader() as s:
            summary = (await s.movies.summaries([movie.id]))[movie.id]
            reviews = await s.movies.review_count(movie.id)
        return MovieInfo(movie, summary, reviews)

    async def page(self, guild_id: int, sort: MovieSort, page: int) -> MoviePage:
        async with self._db.reader() as s:
            total = await s.movies.count(guild_id)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            current = min(max(page, 0), pages - 1)
            rows = await s.movies.page(guild_id, sort, current * PAGE_SIZE, PAGE_SIZE)
        return MoviePage(sort, current, pages, total, rows)


def _duplicate(existing: Movie) -> Duplicate:
    link = None
    if existing.card_channel_id and existing.card_message_id:
        link = message_link(existing.guild_id, existing.card_channel_id, existing.card_message_id)
    return Duplicate(f"{existing.label} is already in the catalog.", link=link)
