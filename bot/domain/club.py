"""A club is one Discord server: its channels and its time zone."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class ClubSettings:
    guild_id: int
    movies_channel_id: int | None = None
    reviews_channel_id: int | None = None
    picks_channel_id: int | None = None
    timezone: str = DEFAULT_TIMEZONE
