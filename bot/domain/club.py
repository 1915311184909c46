"""A club is one Discord server: its channels and its time zone."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import InvalidInput

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class ClubSettings:
    guild_id: int
    movies_channel_id: int | None = None
    reviews_channel_id: int | None = None
    picks_channel_id: int | None = None
    timezone: str = DEFAULT_TIMEZONE


def check_timezone(name: str) -> str:
    """An IANA zone name as typed (``Europe/Berlin``), or an error that says what to type."""
    candidate = name.strip()
    try:
        if not candidate or candidate.startswith(("/", ".")) or ".." in candidate:
            raise ValueError(candidate)
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = _suggest(candidate)
        raise InvalidInput(
            f"`{candidate[:60]}` is not a time zone I know. Use an IANA name such as "
            f"`Europe/Berlin`, `America/New_York` or `UTC`{hint}."
        ) from exc
    return candidate


def _suggest(candidate: str) -> str:
    city = candidate.rsplit("/", 1)[-1].casefold()
    if not city:
        return ""
    for zone in sorted(available_timezones()):
        if zone.rsplit("/", 1)[-1].casefold() == city:
            return f" (did you mean `{zone}`?)"
    return ""
