"""Autocomplete for ``/club schedule``: weekdays and IANA time zones."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from discord import app_commands

from bot.domain.weeks import WEEKDAYS

CHOICES_MAX = 25


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def weekday_choices(current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().casefold()
    return [
        app_commands.Choice(name=day, value=day)
        for day in WEEKDAYS
        if day.casefold().startswith(typed) or not typed
    ]


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    """IANA zones containing what was typed (``berlin`` -> ``Europe/Berlin``); prefixes first."""
    typed = current.strip().casefold().replace(" ", "_")
    found = [zone for zone in _zones() if typed in zone.casefold()]
    found.sort(key=lambda zone: (not zone.casefold().startswith(typed), zone))
    return [app_commands.Choice(name=zone, value=zone) for zone in found[:CHOICES_MAX]]
