"""Shard settings the bot resolves against Discord: ``SHARD_IDS`` without ``SHARD_COUNT`` takes
the count ``GET /gateway/bot`` recommends, and ids beyond it stop the start with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.client import ShardSettingsError, create_bot
from bot.config import Settings
from bot.storage.connect import open_database
from tests.emulator import Emulator

pytestmark = pytest.mark.e2e


async def test_shard_ids_alone_take_discords_recommended_count(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.logins.recommended_shards = 2
    mine = emu.world.add_guild("on shard 1", shard=(1, 2))
    theirs = emu.world.add_guild("on shard 0", shard=(0, 2))
    db = await open_database(tmp_path / "club.db")
    bot = create_bot(
        Settings(token=emu.token, database_path=tmp_path / "club.db", shard_ids=(1,)), db
    )
    try:
        await bot.login(emu.token)
        await bot.resolve_shards()
        assert bot.shard_count == 2
        assert bot.owns(mine.id) and not bot.owns(theirs.id)
    finally:
        await bot.close()
        await db.close()


async def test_shard_ids_beyond_the_recommended_count_are_one_clear_error(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.logins.recommended_shards = 1
    db = await open_database(tmp_path / "club.db")
    bot = create_bot(
        Settings(token=emu.token, database_path=tmp_path / "club.db", shard_ids=(1,)), db
    )
    try:
        await bot.login(emu.token)
        with pytest.raises(
            ShardSettingsError, match="SHARD_IDS names shard 1, but Discord recommends 1"
        ):
            await bot.resolve_shards()
    finally:
        await bot.close()
        await db.close()
