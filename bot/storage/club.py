"""Per-guild configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.club import ClubSettings

if TYPE_CHECKING:
    from bot.storage.database import Queries

_COLUMNS = ("movies_channel_id", "reviews_channel_id", "picks_channel_id", "timezone")


class ClubRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    async def get(self, guild_id: int) -> ClubSettings:
        row = await self._q.one(
            "SELECT guild_id, movies_channel_id, reviews_channel_id, picks_channel_id, timezone "
            "FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return ClubSettings(guild_id)
        return ClubSettings(**dict(row))

    async def save(self, settings: ClubSettings, updated_at: str) -> None:
        values = [getattr(settings, column) for column in _COLUMNS]
        await self._q.write(
            f"INSERT INTO guild_settings (guild_id, {', '.join(_COLUMNS)}, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS, "updated_at")),
            (settings.guild_id, *values, updated_at),
        )
