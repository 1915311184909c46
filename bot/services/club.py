"""Club configuration: which channels the bot posts in, and the club's time zone."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.clock import Clock, to_db
from bot.domain.club import ClubSettings
from bot.domain.weeks import validate_timezone
from bot.storage.database import Database


class ClubService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def settings(self, guild_id: int) -> ClubSettings:
        async with self._db.reader() as s:
            return await s.club.get(guild_id)

    async def configure(
        self,
        guild_id: int,
        *,
        movies_channel_id: int | None = None,
        reviews_channel_id: int | None = None,
        picks_channel_id: int | None = None,
        timezone: str | None = None,
    ) -> ClubSettings:
        """Change the options that were given; the others keep their value."""
        zone = (
            validate_timezone(timezone) if timezone is not None else None
        )  # validate before writing
        async with self._db.session() as s:
            current = await s.club.get(guild_id)
            updated = replace(
                current,
                movies_channel_id=movies_channel_id or current.movies_channel_id,
                reviews_channel_id=reviews_channel_id or current.reviews_channel_id,
                picks_channel_id=picks_channel_id or current.picks_channel_id,
                timezone=zone or current.timezone,
            )
            if updated != current:
                await s.club.save(updated, to_db(self._clock.now()))
            return updated
