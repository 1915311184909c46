"""Fixtures every test layer shares: a real migrated SQLite database, an injected clock, and a
started emulator whose rate limits run on the injected ``limit_clock``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.services import Services, build_services
from bot.storage.database import Database
from tests.emulator import EmuClock, Emulator, RealTime

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
def limit_clock() -> EmuClock:
    """The time the emulator's rate limits run on: real time, unless a layer overrides this."""
    return RealTime()


@pytest.fixture
async def emu(limit_clock: EmuClock) -> AsyncIterator[Emulator]:
    """A started loopback Discord, with discord.py in this process pointed at it."""
    emulator = Emulator(limit_clock=limit_clock)
    await emulator.start()
    emulator.install()
    try:
        yield emulator
    finally:
        emulator.uninstall()
        await emulator.stop()
