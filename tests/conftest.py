"""Fixtures every test layer shares: a real migrated SQLite database and an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.services import Services, build_services
from bot.storage.database import Database
from tests.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = REPO_ROOT.parent / "shared" / "samples"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 21, 18, 0, tzinfo=UTC))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "club.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def services(db: Database, clock: ManualClock) -> Services:
    return build_services(db, clock)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A started loopback Discord, with discord.py in this process pointed at it."""
    emulator = Emulator()
    await emulator.start()
    emulator.install()
    try:
        yield emulator
    finally:
        emulator.uninstall()
        await emulator.stop()
