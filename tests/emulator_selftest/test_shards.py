"""Shards: /gateway/bot figures, IDENTIFY validation and pacing, and events routed to the
session that owns the guild, with real discord.py clients (tests/README.md, facts 26-29).

The IDENTIFY pacing runs on a `ManualTime` clock that the clients' pacing moves on (instead of
sleeping 5 s), so each test is quick and every IDENTIFY lands at a known moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest

from tests.emulator import Emulator, FastTime, GuildState, ManualTime
from tests.emulator.gateway import parse_shard
from tests.emulator.ids import Snowflakes, now_iso, shard_of
from tests.emulator.logins import (
    IDENTIFY_WINDOW,
    INVALID_SESSION,
    INVALID_SHARD,
    READY,
    SESSION_START_PERIOD,
    SHARDING_REQUIRED,
    TOKEN_RESET,
    Logins,
)
from tests.emulator.process import BotProcess
from tests.emulator_selftest.conftest import start_bot, stop_bot
from tests.emulator_selftest.shardbot import (
    ShardBot,
    by_bucket,
    like_discordpy,
    only_after_refusal,
)

GATEWAY_BOT = "GET /gateway/bot"


@pytest.fixture
def limit_clock() -> FastTime:
    """The REST limits at 50 times Discord's pace; the logins get their own `ManualTime`."""
    return FastTime(50)


@pytest.fixture
def clock(emu: Emulator) -> ManualTime:
    manual = ManualTime()
    emu.logins.clock = manual
    return manual


@contextlib.asynccontextmanager
async def running(emu: Emulator, *bots: discord.Client) -> AsyncIterator[None]:
    """Start the clients together (their logins race, as two processes' would) and stop them."""
    tasks = await asyncio.gather(*(start_bot(emu, bot) for bot in bots))
    try:
        yield
    finally:
        for bot, task in zip(bots, tasks, strict=True):
            await stop_bot(bot, task)
    assert emu.unknown == [] and emu.internal_errors == []


def spread(emu: Emulator, count: int, num_shards: int) -> list[GuildState]:
    return emu.world.add_guilds(count, num_shards=num_shards, name="club {index}")


def own_guilds(emu: Emulator, shard_id: int, num_shards: int) -> set[int]:
    return {g.id for g in emu.world.guilds_on_shard(shard_id, num_shards)}


async def eventually(emu: Emulator, check: Callable[[], bool], what: str) -> None:
    await emu.wait_for(check, 5.0, what)


# ---- guilds on shards ----------------------------------------------------------------------
def test_guild_ids_land_on_the_shard_asked_for() -> None:
    ids = Snowflakes()
    for num_shards in (1, 2, 3, 16):
        for shard_id in range(num_shards):
            assert shard_of(ids.next_on_shard(shard_id, num_shards), num_shards) == shard_id
    made = [ids.next_on_shard(i % 5, 5) for i in range(50)]
    assert made == sorted(set(made))  # still unique and increasing
    with pytest.raises(ValueError):
        ids.next_on_shard(2, 2)


async def test_add_guilds_spreads_them_round_robin(emu: Emulator) -> None:
    guilds = spread(emu, 7, 3)
    assert [shard_of(g.id, 3) for g in guilds] == [0, 1, 2, 0, 1, 2, 0]
    assert [g.name for g in guilds[:2]] == ["club 0", "club 1"]
    on_two = emu.world.guilds_on_shard(2, 3)
    assert {g.id for g in guilds[2::3]} <= {g.id for g in on_two}
    single = emu.world.add_guild("alone", shard=(1, 4))
    assert shard_of(single.id, 4) == 1


# ---- /gateway/bot and the session start limit ----------------------------------------------
async def test_gateway_bot_recommends_shards_and_counts_session_starts(
    emu: Emulator, clock: ManualTime
) -> None:
    emu.logins.recommended_shards = 3
    emu.logins.max_concurrency = 2
    spread(emu, 6, 3)
    bot = ShardBot(pace=by_bucket(clock, 2))  # no shard_count: discord.py asks /gateway/bot
    async with running(emu, bot):
        asked = emu.calls_to(GATEWAY_BOT)
        assert len(asked) == 1
        assert asked[0].response["shards"] == 3
        assert asked[0].response["session_start_limit"] == {
            "total": 1000,
            "remaining": 1000,
            "reset_after": 0,
            "max_concurrency": 2,
        }
        assert bot.shard_count == 3 and sorted(bot.shards) == [0, 1, 2]
        # Shards 0 and 1 (buckets 0 and 1) at once, shard 2 (bucket 0 again) 5 s later.
        assert [(r.shard_id, r.at, r.bucket) for r in emu.identifies()] == [
            (0, 0.0, 0),
            (1, 0.0, 1),
            (2, 5.0, 0),
        ]
        limits = await bot.fetch_session_start_limits()
        assert (limits.total, limits.remaining, limits.max_concurrency) == (1000, 997, 2)
        # 24 h from the first session start, which was 5 s ago on the logins' clock.
        assert limits.reset_after == (SESSION_START_PERIOD - 5.0) * 1000
        assert {g.id for g in bot.guilds} == set(emu.world.guilds)
    assert emu.logins.too_fast() == []


def test_remaining_starts_over_a_day_after_the_first_start() -> None:
    clock = ManualTime()
    logins = Logins(clock=clock, total=3)
    for shard_id in range(2):
        logins.record(shard_id, 2, READY, within_limits=True)
        clock.jump(IDENTIFY_WINDOW)
    logins.record(0, 2, INVALID_SESSION, within_limits=False)  # refused: not a start
    assert logins.remaining == 1
    assert logins.reset_after() == SESSION_START_PERIOD - 2 * IDENTIFY_WINDOW
    clock.jump(SESSION_START_PERIOD - 2 * IDENTIFY_WINDOW)
    assert logins.remaining == 3 and logins.reset_after() == 0.0
    fast = Logins(clock=FastTime(20, source=ManualTime().now))
    fast.record(0, 1, READY, within_limits=True)
    assert fast.session_start_limit()["reset_after"] == SESSION_START_PERIOD / 20 * 1000


async def test_an_identify_with_no_session_starts_left_ends_every_session_and_resets_the_token(
    emu: Emulator, clock: ManualTime
) -> None:
    emu.logins.total = 1
    first = ShardBot(shard_count=2, shard_ids=[0])
    task = await start_bot(emu, first)
    assert emu.logins.remaining == 0
    old_token = emu.token
    clock.jump(IDENTIFY_WINDOW)
    second = ShardBot(shard_count=2, shard_ids=[1])
    with pytest.raises(discord.ConnectionClosed) as refused:
        await second.start(old_token)
    assert refused.value.code == 4004
    with pytest.raises(discord.ConnectionClosed) as ended:
        await asyncio.wait_for(task, 5)
    assert ended.value.code == 4004  # the first bot's session ended too
    await first.close()
    await second.close()
    await emu.wait_for(lambda: not emu.connected, what="every session to end")
    assert emu.token != old_token
    assert [r.outcome for r in emu.identifies()] == [READY, TOKEN_RESET]
    assert emu.logins.too_fast() == emu.identifies(outcome=TOKEN_RESET)


# ---- IDENTIFY validation -------------------------------------------------------------------
def test_shard_values_are_checked_like_discord() -> None:
    assert parse_shard(None) == (0, 1)  # no shard field: the one and only shard
    assert parse_shard([0, 1]) == (0, 1)
    assert parse_shard([2, 3]) == (2, 3)
    for bad in ([1, 1], [3, 2], [-1, 2], [0, 0], [0, -1], ["0", 2], [0], [0, 1, 2], "0,1"):
        assert parse_shard(bad) is None, bad


async def test_a_shard_beyond_the_count_is_closed_with_4010(emu: Emulator) -> None:
    client = discord.Client(intents=discord.Intents.default(), shard_id=3, shard_count=2)
    with pytest.raises(discord.ConnectionClosed) as closed:
        await client.start(emu.token)
    await client.close()
    assert closed.value.code == 4010
    assert [(r.shard, r.outcome) for r in emu.identifies()] == [((3, 2), INVALID_SHARD)]
    assert not emu.gateway.sessions


async def test_an_autosharded_client_naming_a_missing_shard_is_closed_with_4010(
    emu: Emulator,
) -> None:
    bot = ShardBot(shard_count=2, shard_ids=[5])
    with pytest.raises(discord.ConnectionClosed) as closed:
        await bot.start(emu.token)
    await bot.close()
    assert closed.value.code == 4010


async def test_too_many_guilds_for_one_session_is_closed_with_4011(emu: Emulator) -> None:
    emu.gateway.max_guilds_per_session = 2
    spread(emu, 2, 1)  # three guilds with the default one
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.ConnectionClosed) as closed:
        await client.start(emu.token)
    await client.close()
    assert closed.value.code == 4011
    assert emu.identifies()[0].outcome == SHARDING_REQUIRED


# ---- IDENTIFY pacing -----------------------------------------------------------------------
async def test_two_clients_at_once_with_max_concurrency_1_are_paced_5_s_apart(
    emu: Emulator, clock: ManualTime
) -> None:
    spread(emu, 4, 2)
    zero = ShardBot(shard_count=2, shard_ids=[0], pace=like_discordpy(clock))
    one = ShardBot(shard_count=2, shard_ids=[1], pace=like_discordpy(clock))
    async with running(emu, zero, one):
        # Both identified at once (each is its client's first); the second in bucket 0 was
        # refused with op 9, waited 5 s as discord.py does, and then got in.
        refused = emu.logins.too_fast()
        assert len(refused) == 1 and refused[0].outcome == INVALID_SESSION
        assert refused[0].at == 0.0 and not refused[0].within_limits
        started = emu.logins.started()
        assert sorted(r.shard_id for r in started) == [0, 1]
        assert [r.at for r in started] == [0.0, 5.0]
        assert all(r.within_limits for r in started)
        assert sorted(sum(b.attempts.values()) for b in (zero, one)) == [1, 2]
        assert len(emu.gateway.live_sessions) == 2


async def test_two_clients_at_once_with_max_concurrency_2_both_start_at_once(
    emu: Emulator, clock: ManualTime
) -> None:
    emu.logins.max_concurrency = 2
    zero = ShardBot(shard_count=2, shard_ids=[0], pace=like_discordpy(clock))
    one = ShardBot(shard_count=2, shard_ids=[1], pace=like_discordpy(clock))
    async with running(emu, zero, one):
        assert emu.logins.too_fast() == []
        assert sorted((r.shard_id, r.bucket, r.at) for r in emu.identifies()) == [
            (0, 0, 0.0),
            (1, 1, 0.0),
        ]


async def test_max_concurrency_2_refuses_a_third_shard_in_the_same_5_s(
    emu: Emulator, clock: ManualTime
) -> None:
    emu.logins.max_concurrency = 2
    bot = ShardBot(shard_count=4, pace=only_after_refusal(clock))  # launches all four at once
    async with running(emu, bot):
        refused = emu.logins.too_fast()
        assert sorted(r.shard_id for r in refused) == [2, 3]
        assert all(r.at == 0.0 for r in refused)
        started = {r.shard_id: r.at for r in emu.logins.started()}
        assert started[0] == started[1] == 0.0
        assert started[2] >= 5.0 and started[3] >= 5.0
        for bucket in (0, 1):
            times = sorted(r.at for r in emu.logins.started() if r.bucket == bucket)
            assert all(b - a >= IDENTIFY_WINDOW for a, b in itertools.pairwise(times))
        assert sorted(bot.shards) == [0, 1, 2, 3] and bot.is_ready()


async def test_one_client_paced_like_discordpy_is_never_refused(
    emu: Emulator, clock: ManualTime
) -> None:
    bot = ShardBot(shard_count=3, pace=like_discordpy(clock))
    async with running(emu, bot):
        assert emu.logins.too_fast() == []
        assert [(r.shard_id, r.at) for r in emu.identifies()] == [(0, 0.0), (1, 5.0), (2, 10.0)]


# ---- routing -------------------------------------------------------------------------------
async def test_each_shard_gets_only_its_guilds_events(emu: Emulator, clock: ManualTime) -> None:
    guilds = spread(emu, 4, 2)
    a, b = guilds[0], guilds[1]  # a on shard 0, b on shard 1
    zero = ShardBot(shard_count=2, shard_ids=[0], pace=like_discordpy(clock))
    one = ShardBot(shard_count=2, shard_ids=[1], pace=like_discordpy(clock))
    async with running(emu, zero, one):
        # READY and the GUILD_CREATEs: each shard's own guilds only.
        assert {g.id for g in zero.guilds} == own_guilds(emu, 0, 2)
        assert {g.id for g in one.guilds} == own_guilds(emu, 1, 2)
        (session0,) = emu.gateway.live_on_shard(0)
        (session1,) = emu.gateway.live_on_shard(1)
        ready_ids = {int(g["id"]) for g in session0.sent("READY")[0]["d"]["guilds"]}
        assert ready_ids == own_guilds(emu, 0, 2)

        # Messages, reactions, channels and interactions of guild a reach shard 0 only.
        posted = await emu.post_message(a.admin, a.channel("general"), "hello a")
        await emu.react(a.member("alice"), a.channel("general"), int(posted["id"]), "🎬")
        a.add_channel("late-night")
        ping_a = await emu.slash(a.member("alice"), "ping")
        await ping_a.response()
        assert ping_a.content == "pong from shard 0"
        await eventually(emu, lambda: bool(zero.reactions and zero.channels_created), "shard 0")
        assert {m.guild.id for m in zero.messages if m.guild} == {a.id}
        assert [e.guild_id for e in zero.reactions] == [a.id]
        assert zero.pinged == [a.id] and one.pinged == []

        # ... and guild b's to shard 1 only.
        await emu.post_message(b.admin, b.channel("general"), "hello b")
        ping_b = await emu.slash(b.member("bob"), "ping")
        await ping_b.response()
        assert ping_b.content == "pong from shard 1"
        await eventually(emu, lambda: bool(one.messages), "shard 1's message")
        assert {m.guild.id for m in one.messages if m.guild} == {b.id}
        assert one.pinged == [b.id] and zero.pinged == [a.id]
        assert one.reactions == [] and one.channels_created == []

        # Everything either session was sent belongs to one of its own guilds.
        for shard_id, session in ((0, session0), (1, session1)):
            for frame in session.sent():
                if frame["t"] != "READY":
                    assert _guild_of(frame) in own_guilds(emu, shard_id, 2), frame["t"]


async def test_events_outside_any_guild_go_to_shard_0_only(
    emu: Emulator, clock: ManualTime
) -> None:
    zero = ShardBot(shard_count=2, shard_ids=[0], pace=like_discordpy(clock))
    one = ShardBot(shard_count=2, shard_ids=[1], pace=like_discordpy(clock))
    async with running(emu, zero, one):
        alice = emu.world.guild.member("alice")
        dm = _direct_message(emu, alice.user_payload(), "hi in private")
        emu.world.emit("MESSAGE_CREATE", dm, None)
        await eventually(emu, lambda: any(m.guild is None for m in zero.messages), "the DM")
        assert [m.content for m in zero.messages if m.guild is None] == ["hi in private"]
        await asyncio.sleep(0.1)
        assert all(m.guild is not None for m in one.messages)


async def test_one_client_owning_two_of_three_shards(emu: Emulator, clock: ManualTime) -> None:
    guilds = spread(emu, 6, 3)
    bot = ShardBot(shard_count=3, shard_ids=[0, 2], pace=like_discordpy(clock))
    async with running(emu, bot):
        assert {g.id for g in bot.guilds} == own_guilds(emu, 0, 3) | own_guilds(emu, 2, 3)
        for guild in guilds[:3]:
            await emu.post_message(guild.admin, guild.channel("general"), guild.name)
        await eventually(emu, lambda: len(bot.messages) == 2, "two messages")
        await asyncio.sleep(0.1)
        got = sorted((m.guild.id, m.guild.shard_id) for m in bot.messages if m.guild)
        assert got == sorted([(guilds[0].id, 0), (guilds[2].id, 2)])


async def test_a_shard_resumes_alone_and_the_other_keeps_receiving(
    emu: Emulator, clock: ManualTime
) -> None:
    a, b = spread(emu, 2, 2)
    zero = ShardBot(shard_count=2, shard_ids=[0], pace=like_discordpy(clock))
    one = ShardBot(shard_count=2, shard_ids=[1], pace=like_discordpy(clock))
    async with running(emu, zero, one):

        async def while_zero_is_away() -> None:
            await emu.post_message(a.admin, a.channel("general"), "missed by shard 0")
            await emu.post_message(b.admin, b.channel("general"), "live on shard 1")
            await eventually(emu, lambda: len(one.messages) == 1, "shard 1's live message")

        await emu.reconnect(resume=True, shard_id=0, during=while_zero_is_away)
        await eventually(emu, lambda: len(zero.messages) == 1, "the replayed message")
        assert zero.messages[0].guild is not None and zero.messages[0].guild.id == a.id
        assert len(emu.logins.started()) == 2  # a RESUME is not a session start


# ---- several processes ---------------------------------------------------------------------
async def test_two_processes_each_with_one_shard_share_one_emulator(emu: Emulator) -> None:
    assert isinstance(emu.logins.clock, FastTime)
    a, b = spread(emu, 2, 2)
    pause = {"IDENTIFY_PAUSE": str(emu.logins.clock.real_seconds(IDENTIFY_WINDOW))}
    module = "tests.emulator_selftest.launched_bot"
    procs = [
        BotProcess(emu, module, shard_count=2, shard_ids=[shard], env=pause) for shard in (0, 1)
    ]
    try:
        await asyncio.gather(*(p.start() for p in procs))
        for proc, shard in zip(procs, (0, 1), strict=True):
            line = await proc.wait_for_line("SHARDS")
            assert line.startswith(f"SHARDS [{shard}] GUILDS ")
            assert line.endswith(str(sorted(own_guilds(emu, shard, 2))))
        bot = f"<@{emu.world.bot_user_id}>"
        for guild in (a, b):
            await emu.post_message(guild.member("alice"), guild.channel("general"), f"{bot} hi")
        await emu.wait_for(
            lambda: bool(_answers(a) and _answers(b)), 10, "both processes to answer"
        )
        await asyncio.sleep(0.2)  # time for a second, wrong answer to show up
        assert _answers(a) == ["pong from shard 0"]  # one answer, from the owning process
        assert _answers(b) == ["pong from shard 1"]
    finally:
        codes = [await p.stop() for p in procs]
    assert codes == [0, 0], [p.output for p in procs]
    # Started at once, the two never logged in faster than max_concurrency 1 allows.
    started = emu.logins.started()
    assert sorted(r.shard_id for r in started) == [0, 1]
    assert abs(started[1].at - started[0].at) >= IDENTIFY_WINDOW
    assert all(r.outcome == INVALID_SESSION for r in emu.logins.too_fast())
    assert emu.unknown == []


def _answers(guild: GuildState) -> list[str]:
    posted = guild.world.messages(guild.channel("general"))
    return [m["content"] for m in posted if m["content"].startswith("pong")]


def _guild_of(frame: dict[str, Any]) -> int:
    data = frame["d"]
    return int(data["id"] if frame["t"] == "GUILD_CREATE" else data["guild_id"])


def _direct_message(emu: Emulator, author: dict[str, object], content: str) -> dict[str, object]:
    """A MESSAGE_CREATE from a DM channel: no guild_id, so it belongs to no shard but 0."""
    return {
        "id": str(emu.world.ids.next()),
        "channel_id": str(emu.world.ids.next()),
        "author": author,
        "content": content,
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
