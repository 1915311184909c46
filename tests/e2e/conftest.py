"""End-to-end harness: the real bot (unmodified discord.py) against the loopback emulator.

``club`` gives a running emulator with the bot logged in, a temp database, and ``restart()``;
at teardown it fails the test if the bot hit a route the emulator does not know, or logged an
unhandled error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.client import ClubBot, Intervals, create_bot
from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.club import Owns, every_club
from bot.storage.connect import open_database
from bot.storage.database import Database
from tests.emulator import EmuClock, Emulator, FastTime, RealTime

READY_TIMEOUT = 15.0
# How much faster than real time the emulator's rate limits run in tests that are not about
# timing: a card's ten reactions (1 per 0.25 s) take 0.125 s instead of 2.5 s, five review
# messages a channel per 0.25 s instead of per 5 s. Every rule and header stays as on Discord.
LIMITS_SPEED = 20.0
# The bot's own waits in tests that are not about timing: a card may be edited every 0.1 s
# (Discord-friendly 2 s in production), a new session follows a lost one at once, and paced
# requests (reconciliation, the weekly run) go out LIMITS_SPEED times faster, like the limits.
_PACED = Intervals()
FAST_INTERVALS = Intervals(
    card_edit=0.1,
    reidentify=0.0,
    reconcile_request=_PACED.reconcile_request / LIMITS_SPEED,
    background_request=_PACED.background_request / LIMITS_SPEED,
)


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Club:
    emu: Emulator
    db_path: Path
    clock: Clock = field(default_factory=SystemClock)
    bot: ClubBot | None = None
    db: Database | None = None
    _task: asyncio.Task[None] | None = None
    expected_error_logs: int = 0  # a test that provokes a logged bug says how many it expects
    intervals: Intervals = FAST_INTERVALS
    owns: Owns = every_club
    database_url: str | None = None  # a PostgreSQL database instead of the file at db_path

    @property
    def guild(self) -> Any:
        return self.emu.world.guild

    async def start(self, *, settle: bool = True) -> ClubBot:
        """Start the bot and wait for READY, then (unless ``settle`` is false) for the
        reconciliation that follows it."""
        self.db = await open_database(self.database_url or self.db_path)
        settings = Settings(
            token=self.emu.token,
            database_path=self.db_path,
            database_url=self.database_url,
            dev_guild_id=self.emu.world.guild.id,
        )
        bot = create_bot(
            settings,
            self.db,
            self.clock,
            intervals=self.intervals,
            owns=self.owns,
            guild_ready_timeout=0.2,
        )
        self.bot = bot
        self._task = asyncio.create_task(bot.start(settings.token), name="bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()  # raises the start-up error
            raise TimeoutError("the bot did not become ready")
        if settle:
            await self.settle()
        return bot

    async def settle(self) -> None:
        """Wait for background work: reconciliation, queued ratings, card edits."""
        bot = self.bot
        assert bot is not None
        await bot.card_sync.settle()

    async def stop(self) -> None:
        if self.bot is not None:
            await _drain_event_handlers()
            await self.bot.close()
        if self._task is not None:
            await self._task
        if self.db is not None:
            await self.db.close()
        self.bot, self.db, self._task = None, None, None

    async def restart(self) -> ClubBot:
        await self.stop()
        return await self.start()


# Names discord.py gives the tasks that run the bot's code for an event: listeners, slash
# commands, and component and modal callbacks.
_HANDLER_TASKS = (
    "discord.py: ",
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
)


async def _drain_event_handlers(within: float = 5.0) -> None:
    """Let the bot finish handling events the emulator already sent.

    A test that ends right after the bot deleted a message would otherwise close the database
    under the MESSAGE_DELETE handler (``Cannot operate on a closed database``); one that ends
    while a command still works after its reply (a /rate re-posting a deleted card) would close
    the HTTP session under it (``Session is closed``).
    """
    await asyncio.sleep(0.05)  # frames already on the loopback socket reach the bot
    handlers = [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(_HANDLER_TASKS) and not task.done()
    ]
    if handlers:
        await asyncio.wait(handlers, timeout=within)


def _message_bodies(body: object) -> list[dict[str, object]]:
    """Message bodies in a REST call: the body itself, or an interaction callback's ``data``."""
    if not isinstance(body, dict):
        return []
    data = body.get("data")
    return [data] if isinstance(data, dict) and "type" in body else [body]


def assert_nothing_can_ping(club: Club) -> None:
    """Every message the bot created or gave text to allowed no mentions at all."""
    checked = 0
    for call in club.emu.calls:
        if call.method not in {"POST", "PATCH"}:
            continue
        for body in _message_bodies(call.json):
            creates = call.method == "POST" and ("content" in body or "embeds" in body)
            if creates or body.get("content"):
                checked += 1
                assert body.get("allowed_mentions") == {"parse": []}, f"{call.route} could ping"
    assert checked > 0


@asynccontextmanager
async def running(
    emu: Emulator,
    db_path: Path,
    clock: Clock | None = None,
    *,
    intervals: Intervals = FAST_INTERVALS,
    owns: Owns = every_club,
    settle: bool = True,
) -> AsyncIterator[Club]:
    """The bot against ``emu``; at the end, fail on unknown routes, emulator faults and logged
    errors the test did not announce in ``expected_error_logs``. ``owns`` says which guilds
    the bot looks after; without ``settle`` the test starts while reconciliation runs."""
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    harness = Club(emu, db_path, clock=clock or SystemClock(), intervals=intervals, owns=owns)
    await harness.start(settle=settle)
    try:
        yield harness
    finally:
        await harness.stop()
        logging.getLogger().removeHandler(errors)
    assert [c.route for c in emu.unknown] == [], "the bot called routes Discord does not have"
    assert emu.internal_errors == [], "the emulator itself failed"
    logged = [r.getMessage() for r in errors.records]
    assert len(logged) == harness.expected_error_logs, f"the bot logged errors: {logged}"


@pytest.fixture
def limit_clock(request: pytest.FixtureRequest) -> EmuClock:
    """The bot's behaviour is under test here, not Discord's pace: the emulator's rate limits
    run LIMITS_SPEED times faster (still enforced, still advertised). A test about pacing or
    429s says ``@pytest.mark.real_rate_limits`` and gets Discord's real pace."""
    if request.node.get_closest_marker("real_rate_limits") is not None:
        return RealTime()
    return FastTime(LIMITS_SPEED)


@pytest.fixture
def intervals(request: pytest.FixtureRequest) -> Intervals:
    """The bot's own waits: short, unless the test is about pacing (``real_rate_limits``)."""
    if request.node.get_closest_marker("real_rate_limits") is not None:
        return Intervals()
    return FAST_INTERVALS


@pytest.fixture
async def club(emu: Emulator, tmp_path: Path, intervals: Intervals) -> AsyncIterator[Club]:
    async with running(emu, tmp_path / "club.db", intervals=intervals) as harness:
        yield harness


async def db_rows(club: Club, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Query the bot's database from the test, through a connection of its own."""
    async with aiosqlite.connect(club.db_path) as conn, conn.execute(sql, params) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def eventually(check: Callable[[], Awaitable[None]], within: float = 15.0) -> None:
    """Retry ``check`` until it stops raising AssertionError (the bot works in the background)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await check()
            return
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
