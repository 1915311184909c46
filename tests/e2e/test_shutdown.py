"""Shutdown is bounded: SIGTERM in the middle of a reaction storm exits within 5 s, every rating
the bot received is committed, and card edits still owed are caught up at the next start.

Twenty cards share one channel, so Discord's per-channel edit bucket (5 edits per 5 s) makes a
full round of card edits take over 15 s: a shutdown that waited for them would be killed by
Docker's 10 s grace period. The bot runs as a real ``python -m bot`` process.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot import client
from bot.client import ClubBot, create_bot
from bot.config import Settings
from bot.domain.clock import SystemClock
from bot.domain.ratings import SCORE_EMOJI, RatingSummary
from bot.services import build_services
from bot.storage.connect import open_database
from bot.storage.database import Database
from bot.storage.sqlite import SqliteDatabase
from tests.emulator import Emulator
from tests.emulator.process import BotProcess

REPO = Path(__file__).resolve().parents[2]
CARDS = 20
MEMBERS = 100
EXIT_WITHIN = 5.0
CAUGHT_UP_WITHIN = 60.0


async def _seed(emu: Emulator, db_path: Path) -> dict[int, tuple[int, int]]:
    """Twenty movies whose cards (posted earlier, with 1️⃣…🔟) are in one channel: movie id ->
    (channel id, card message id)."""
    guild = emu.world.guild
    channel = guild.channel("movies")
    db = await open_database(db_path)
    services = build_services(db, SystemClock())
    cards: dict[int, tuple[int, int]] = {}
    try:
        for i in range(CARDS):
            movie = await services.movies.add_entry(guild.id, guild.admin.id, f"Storm {i}", 2000)
            info = await services.movies.info(movie)
            card = emu.world.post(
                channel,
                guild.me,
                {"embeds": [{"title": info.movie.label, "description": info.summary.headline()}]},
            )
            for emoji in SCORE_EMOJI:
                emu.world.add_reaction(card, guild.me, emoji)
            await services.movies.attach_card(movie, channel.id, int(card["id"]))
            cards[movie.id] = (channel.id, int(card["id"]))
    finally:
        await db.close()
    return cards


def _bot(emu: Emulator, db_path: Path, cwd: Path) -> BotProcess:
    """``python -m bot`` on ``db_path``, whatever the caller's environment says about databases
    and shards (an empty value is an unset one)."""
    env = {"DATABASE_PATH": str(db_path), "DEV_GUILD_ID": str(emu.world.guild.id)}
    env.update(DATABASE_URL="", SHARD_COUNT="", SHARD_IDS="", LOG_LEVEL="INFO")
    env["PYTHONPATH"] = str(REPO)  # the bot runs in ``cwd``, away from any developer's .env
    return BotProcess(emu, "bot", env=env, cwd=cwd)


READY = " ready as "


async def _ratings(db_path: Path) -> dict[tuple[int, int], int]:
    async with (
        aiosqlite.connect(db_path) as conn,
        conn.execute("SELECT movie_id, member_id, score FROM ratings") as cur,
    ):
        return {(int(m), int(u)): int(s) for m, u, s in await cur.fetchall()}


def _shown(emu: Emulator, channel_id: int, message_id: int) -> str:
    card = emu.world.message(channel_id, message_id)
    assert card is not None
    return str(card["embeds"][0].get("description", ""))


@pytest.mark.real_rate_limits  # Discord's per-channel edit bucket is what makes edits owed
async def test_sigterm_mid_storm_exits_fast_loses_nothing_and_cards_catch_up(
    emu: Emulator, tmp_path: Path
) -> None:
    db_path = tmp_path / "club.db"
    cards = await _seed(emu, db_path)
    guild = emu.world.guild
    members = [guild.add_member(f"m{i}") for i in range(MEMBERS)]
    by_id = {member.id: member for member in members}
    rng = random.Random(8)
    expected = {
        (movie_id, member.id): rng.randint(1, 10) for movie_id in cards for member in members
    }
    bot = _bot(emu, db_path, tmp_path)
    await bot.start(ready=READY, timeout=30)

    # The storm: every member rates every card once, as fast as the gateway takes it.
    order = list(expected.items())
    rng.shuffle(order)
    for index, ((movie_id, member_id), score) in enumerate(order):
        channel_id, message_id = cards[movie_id]
        member = by_id[member_id]
        await emu.react(member, channel_id, message_id, SCORE_EMOJI[score - 1])
        if index % 200 == 199:
            await asyncio.sleep(0)  # let the gateway write; the bot reads while we send
    # Wait until the first card edits went out: the bot is busy with a full round of them.
    edits_before = len(emu.calls_to("PATCH /channels/{channel_id}/messages/{message_id}"))
    deadline = time.monotonic() + 10
    while len(emu.calls_to("PATCH /channels/{channel_id}/messages/{message_id}")) == edits_before:
        assert time.monotonic() < deadline, "no card edit began:\n" + bot.output
        await asyncio.sleep(0.02)

    code, took = await bot.signal(signal.SIGTERM)
    assert code == 0, bot.output
    assert took < EXIT_WITHIN, f"exit took {took:.2f} s:\n{bot.output}"
    assert "stopped; database closed" in bot.output
    assert "Traceback" not in bot.output
    committed = await _ratings(db_path)
    # What was committed is right; anything the gateway had not yet delivered is on the cards,
    # and the next start reconciles it.
    assert all(expected[key] == score for key, score in committed.items())
    stale = [
        m for m, (c, msg) in cards.items() if _summary(committed, m) not in _shown(emu, c, msg)
    ]
    assert stale, "the storm left no card edit owed: the test would prove nothing"

    bot.lines.clear()
    await bot.start(ready=READY, timeout=30)
    deadline = time.monotonic() + CAUGHT_UP_WITHIN
    while True:
        ratings = await _ratings(db_path)
        behind = [
            m for m, (c, msg) in cards.items() if _summary(ratings, m) not in _shown(emu, c, msg)
        ]
        if ratings == expected and not behind:
            break
        assert time.monotonic() < deadline, (
            f"after {CAUGHT_UP_WITHIN} s: {len(expected) - len(ratings)} ratings missing, "
            f"{len(behind)} cards behind the database\n{bot.output}"
        )
        await asyncio.sleep(0.2)
    code, _ = await bot.signal(signal.SIGINT)
    assert code == 0, bot.output


def _summary(ratings: dict[tuple[int, int], int], movie_id: int) -> str:
    scores = [score for (movie, _), score in ratings.items() if movie == movie_id]
    summary = RatingSummary.from_scores(scores)
    return f"**{summary.headline()}**\n```\n{summary.histogram()}\n```"


async def test_run_closes_the_database_only_after_every_queued_rating_is_committed(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run()`` as ``python -m bot`` runs it, stopped the way SIGTERM stops it: the ratings
    already received are committed before the database is closed, however the closing began."""
    created: list[ClubBot] = []

    def capture(*args: Any, **kwargs: Any) -> ClubBot:
        bot = create_bot(*args, guild_ready_timeout=0.2, **kwargs)
        created.append(bot)
        return bot

    monkeypatch.setattr(client, "create_bot", capture)
    writer_at_close: list[bool] = []
    real_close = SqliteDatabase.close

    async def close_database(self: Database) -> None:
        writer_at_close.append(created[0].services.ratings.running)
        await real_close(self)

    monkeypatch.setattr(SqliteDatabase, "close", close_database)
    db_path = tmp_path / "club.db"
    settings = Settings(token=emu.token, database_path=db_path, dev_guild_id=emu.world.guild.id)
    running = asyncio.create_task(client.run(settings))
    while not created or not created[0].is_ready():
        assert not running.done(), running
        await asyncio.sleep(0.02)
    bot = created[0]
    guild, channel = emu.world.guild, emu.world.guild.channel("movies")
    movie = await bot.services.movies.add_entry(guild.id, guild.admin.id, "Heat", 1995)
    card = emu.world.post(channel, guild.me, {"embeds": [{"title": movie.label}]})
    await bot.services.movies.attach_card(movie, channel.id, int(card["id"]))
    received = [
        await bot.services.ratings.on_reaction(
            int(card["id"]), 5000 + member, SCORE_EMOJI[member % 10], added=True
        )
        for member in range(500)
    ]
    assert sum(1 for f in received if f is not None and not f.done()) > 0  # some still queued
    bot.close_soon()  # what SIGTERM does
    await asyncio.wait_for(running, 10)
    assert writer_at_close == [False], "the database was closed under the ratings writer"
    async with (
        aiosqlite.connect(db_path) as conn,
        conn.execute("SELECT member_id, score FROM ratings ORDER BY member_id") as cur,
    ):
        ratings = [tuple(row) for row in await cur.fetchall()]
    assert ratings == [(5000 + member, member % 10 + 1) for member in range(500)]
