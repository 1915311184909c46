"""Snowflakes and timestamps shaped like Discord's."""

from __future__ import annotations

import datetime
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Unique, increasing snowflakes whose timestamp part is the current time.

    discord.py derives `created_at` from the id (polls compute their duration from it), so ids
    must carry a realistic time rather than being a bare counter.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_time(snowflake: int) -> datetime.datetime:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


def now_iso() -> str:
    return iso(datetime.datetime.now(tz=datetime.UTC))


def iso_in(seconds: float) -> str:
    return iso(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=seconds))
