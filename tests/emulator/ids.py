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

    def next_on_shard(self, shard_id: int, num_shards: int) -> int:
        """The next snowflake whose guild would be routed to ``shard_id`` of ``num_shards``:
        ``shard_of(id, num_shards) == shard_id``. Its timestamp moves at most
        ``num_shards - 1`` milliseconds ahead to get there."""
        check_shard(shard_id, num_shards)
        candidate = self.next()
        stamp = candidate >> 22
        ahead = (shard_id - stamp) % num_shards
        if ahead:
            candidate = (stamp + ahead) << 22
            self._last = candidate
        return candidate


def shard_of(guild_id: int, num_shards: int) -> int:
    """The shard a guild's events go to: Discord's ``(guild_id >> 22) % num_shards``."""
    return (guild_id >> 22) % num_shards


def check_shard(shard_id: int, num_shards: int) -> None:
    if not 0 <= shard_id < num_shards:
        raise ValueError(f"shard {shard_id} does not exist among {num_shards} shard(s)")


def snowflake_time(snowflake: int) -> datetime.datetime:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


def now_iso() -> str:
    return iso(datetime.datetime.now(tz=datetime.UTC))


def iso_in(seconds: float) -> str:
    return iso(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=seconds))
