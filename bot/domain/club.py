"""A club is one Discord server: its channels and its time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_TIMEZONE = "UTC"

# Does this process look after the club with this guild id? Work the bot starts on its own
# (reconciling cards after a READY; later also card upkeep and the weekly runs) is done only
# for the clubs it owns, so that several processes can share the clubs between them.
Owns = Callable[[int], bool]


def every_club(guild_id: int) -> bool:
    """The ownership of a bot that runs in one process: every club is its own."""
    return True


@dataclass(frozen=True)
class ClubSettings:
    guild_id: int
    movies_channel_id: int | None = None
    reviews_channel_id: int | None = None
    picks_channel_id: int | None = None
    timezone: str = DEFAULT_TIMEZONE
