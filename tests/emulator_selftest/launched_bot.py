"""A minimal bot for the launcher tests: it must not know about the emulator at all.

Plain by default. With ``SHARD_COUNT`` (and ``SHARD_IDS``, like ``0,2``) in its environment it
runs as an `AutoShardedClient` owning those shards, and pauses ``IDENTIFY_PAUSE`` seconds
(discord.py's 5 unless given) before every IDENTIFY but its first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import discord


async def announce(client: discord.Client) -> None:
    assert client.user is not None
    # The tests wait for this line on stdout.
    ready = f"READY {client.user.id} guilds={len(client.guilds)} args={sys.argv[1:]}"
    print(ready, flush=True)  # noqa: T201


async def answer(client: discord.Client, message: discord.Message, *, say_shard: bool) -> None:
    """Answer a mention with "pong" (and, if asked, the shard that got the message)."""
    if client.user is None or message.author == client.user:
        return
    if client.user.mentioned_in(message):
        shard = message.guild.shard_id if message.guild is not None else 0
        await message.channel.send(f"pong from shard {shard}" if say_shard else "pong")


class EchoClient(discord.Client):
    async def on_ready(self) -> None:
        await announce(self)

    async def on_message(self, message: discord.Message) -> None:
        await answer(self, message, say_shard=False)


class ShardedEchoClient(discord.AutoShardedClient):
    def __init__(self, pause: float, **options: Any) -> None:
        super().__init__(**options)
        self.pause = pause

    async def on_ready(self) -> None:
        await announce(self)
        guilds = sorted(g.id for g in self.guilds)
        print(f"SHARDS {sorted(self.shards)} GUILDS {guilds}", flush=True)  # noqa: T201

    async def on_message(self, message: discord.Message) -> None:
        await answer(self, message, say_shard=True)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.pause)


def main() -> None:
    options: dict[str, Any] = {"intents": discord.Intents.default(), "guild_ready_timeout": 0.05}
    client: discord.Client
    if os.environ.get("SHARD_COUNT"):
        ids = [int(i) for i in os.environ.get("SHARD_IDS", "0").split(",")]
        pause = float(os.environ.get("IDENTIFY_PAUSE", "5"))
        count = int(os.environ["SHARD_COUNT"])
        client = ShardedEchoClient(pause, shard_count=count, shard_ids=ids, **options)
    else:
        client = EchoClient(**options)
    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)


if __name__ == "__main__":
    main()
