"""A small sharded discord.py client for the emulator's shard self-tests (not the project's bot).

It keeps what each of its shards received, answers ``/ping`` with the shard that got it, and
lets the test decide how it paces its IDENTIFYs (`Pace`): discord.py's own hook sleeps 5 s
before every IDENTIFY but a client's first, and these tests move the emulator's clock instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from tests.emulator.clock import EmuClock
from tests.emulator.logins import IDENTIFY_WINDOW

# (shard_id, attempt for that shard starting at 1, initial) -> None; may jump a clock.
Pace = Callable[[int, int, bool], None]


def like_discordpy(clock: EmuClock) -> Pace:
    """discord.py's default: wait 5 s before every IDENTIFY but the client's first."""

    def pace(shard_id: int, attempt: int, initial: bool) -> None:
        if not initial:
            clock.jump(IDENTIFY_WINDOW)

    return pace


def only_after_refusal(clock: EmuClock) -> Pace:
    """A client that launches every shard at once and waits 5 s only after a refusal."""

    def pace(shard_id: int, attempt: int, initial: bool) -> None:
        if attempt > 1:
            clock.jump(IDENTIFY_WINDOW)

    return pace


def by_bucket(clock: EmuClock, max_concurrency: int) -> Pace:
    """Discord's advice: start a bucket's worth of shards at once, then wait 5 s."""

    def pace(shard_id: int, attempt: int, initial: bool) -> None:
        if not initial and shard_id % max_concurrency == 0:
            clock.jump(IDENTIFY_WINDOW)

    return pace


class ShardBot(discord.AutoShardedClient):
    def __init__(
        self,
        *,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
        pace: Pace | None = None,
    ) -> None:
        sharding: dict[str, Any] = {"shard_count": shard_count}
        if shard_ids is not None:
            sharding["shard_ids"] = shard_ids
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05, **sharding)
        self.pace = pace
        self.attempts: Counter[int] = Counter()
        self.tree = app_commands.CommandTree(self)
        self.messages: list[discord.Message] = []
        self.reactions: list[discord.RawReactionActionEvent] = []
        self.channels_created: list[discord.abc.GuildChannel] = []
        self.pinged: list[int] = []  # the guild of each /ping this client answered

        @self.tree.command(name="ping", description="Answers with the shard that got it")
        async def ping(interaction: discord.Interaction) -> None:
            assert interaction.guild is not None
            self.pinged.append(interaction.guild.id)
            await interaction.response.send_message(f"pong from shard {interaction.guild.shard_id}")

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        shard = shard_id or 0
        self.attempts[shard] += 1
        if self.pace is not None:
            self.pace(shard, self.attempts[shard], initial)

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        self.reactions.append(event)

    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self.channels_created.append(channel)
