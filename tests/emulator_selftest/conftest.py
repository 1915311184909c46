"""Fixtures: a started, installed emulator and a small in-process bot logged in to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest

from tests.emulator import Emulator
from tests.emulator_selftest.minibot import MiniBot

READY_TIMEOUT = 10.0


async def start_bot(emu: Emulator, bot: discord.Client) -> asyncio.Task[None]:
    """Log `bot` in against the emulator and wait until discord.py says it is ready."""
    task = asyncio.create_task(bot.start(emu.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {task, ready}, timeout=READY_TIMEOUT, return_when="FIRST_COMPLETED"
    )
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # re-raise the login failure
        raise AssertionError("the bot did not become ready")
    return task


async def stop_bot(bot: discord.Client, task: asyncio.Task[None]) -> None:
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[MiniBot]:
    client = MiniBot(emu.world.guild.id)
    task = await start_bot(emu, client)
    try:
        yield client
    finally:
        await stop_bot(client, task)
    assert emu.unknown == [], f"unknown routes were hit: {[str(c) for c in emu.unknown]}"
    assert emu.internal_errors == [], f"emulator errors: {emu.internal_errors}"
