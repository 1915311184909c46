"""A reaction storm against the real bot: 20,000 rating reactions on 20 cards from 2,000 members.

    python bench/reaction_storm.py [--events 20000] [--rate 6000] [--one-channel]
                                   [--database postgresql://user:password@host:port/db
                                    [--shards N]]

The loopback emulator runs in a child process (Discord is not inside the bot's process), the
unmodified bot in this one; both time events on the system-wide monotonic clock. Events go out at
a steady ``--rate`` — adds, swaps and removals, as members make them — while a member runs
`/movie info` every 50 ms. Printed: events/s sustained, event-sent -> rating-committed latency
(median, p99), card edits per card and the smallest gap between two edits of one card, 429s,
`/movie info` acknowledgement latency, and whether the database and every card end exact. Two
baselines are measured in the same run: raw sqlite3 upserts committed 500 per transaction (the
storage limit) and discord.py decoding, parsing and dispatching the same events to an empty
listener (the client limit).

With ``--database postgresql://…`` the storm runs twice in the same run, on SQLite and then on a
scratch database made on that PostgreSQL server (and dropped after), and the SQLite figures are
printed beside the PostgreSQL ones as their baseline, with the ratio.

With ``--shards N`` as well, the PostgreSQL storm runs as N bot processes, as README's "One
process or several" runs them: process i runs shard i of N (SHARD_COUNT=N, SHARD_IDS=i), all on
one scratch database, all started at once (they take their login turns through the database),
against one emulator that recommends N shards. The cards are spread over N guilds, guild i on
shard i, and every member is in each. Each process reports its commit log (commit times with
the cumulative count of reaction events); an event's latency runs from its send to the commit
in the process that owns its guild. Also printed: whether the logins kept Discord's pace and
whether every guild's ratings ended exact.

The bot is denied Manage Messages on the cards, so it does not tidy swapped reactions: Discord
allows about four reaction removals a second per channel, that tidying runs in the background,
and its echo events would blur the one-to-one accounting of sent and committed events here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol, Self

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
import yarl  # noqa: E402

from bench._stats import median, percentile, seconds  # noqa: E402
from bot.client import create_bot  # noqa: E402
from bot.config import ConfigError, Settings, postgres_url, redact_url  # noqa: E402
from bot.domain.ratings import SCORE_EMOJI, RatingSummary  # noqa: E402
from bot.services.ratings import RatingsChanged  # noqa: E402
from bot.storage.connect import open_database  # noqa: E402
from bot.storage.database import Database  # noqa: E402

CARDS = 20
MEMBERS = 2_000
TICK = 0.005  # seconds between two bursts of sends
PROBE_EVERY = 0.05  # seconds between two /movie info probes
EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"
TIDY_ROUTE = "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}"


@dataclass(frozen=True)
class Action:
    member: int  # index into the member list
    card: int
    score: int
    added: bool


def workload(events: int, seed: int = 20261121) -> tuple[list[Action], dict[tuple[int, int], int]]:
    """Members acting as the Discord client lets them; the actions and the final ratings."""
    rng = random.Random(seed)
    on_card: dict[tuple[int, int], set[int]] = defaultdict(set)
    rating: dict[tuple[int, int], int] = {}
    actions: list[Action] = []
    for _ in range(events):
        member, card = rng.randrange(MEMBERS), rng.randrange(CARDS)
        key = (member, card)
        current = rating.get(key)
        if current is not None and rng.random() < 0.25:
            actions.append(Action(member, card, current, added=False))
            on_card[key].discard(current)
            del rating[key]
            continue
        score = rng.choice([s for s in range(1, 11) if s not in on_card[key]])
        actions.append(Action(member, card, score, added=True))
        on_card[key].add(score)
        rating[key] = score
    return actions, rating


# -- processes -----------------------------------------------------------------------------------
class Child:
    """A process of this bench (spawned: a fresh interpreter) and the pipe to it. It sends one
    greeting once it is up, then answers each command with one message, "stop" last."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        self._target, self._args = target, args
        self._conn: Connection | None = None
        self._process: Any = None

    async def __aenter__(self) -> Self:
        ctx = multiprocessing.get_context("spawn")
        self._conn, theirs = ctx.Pipe()
        self._process = ctx.Process(target=self._target, args=(theirs, *self._args), daemon=True)
        self._process.start()
        theirs.close()  # the child's end lives in the child only: if it dies, recv() says so
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Ask it to stop and wait; one that has not stopped within 30 s is killed."""
        if self._process.is_alive():
            with contextlib.suppress(OSError, EOFError, TimeoutError):
                await asyncio.wait_for(self.ask("stop"), 30)
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    async def receive(self) -> Any:
        assert self._conn is not None, "not started"
        return await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    async def ask(self, command: str, payload: Any = None) -> Any:
        assert self._conn is not None, "not started"
        self._conn.send((command, payload))
        return await self.receive()


async def _next_command(conn: Connection) -> tuple[str, Any]:
    """In a child: the next command from the bench (the bot or the emulator runs meanwhile)."""
    command: tuple[str, Any] = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    return command


def _point_at(hello: dict[str, Any]) -> None:
    """Send this process's discord.py to the emulator (tests/README.md, facts 1 and 2)."""
    discord.http.Route.BASE = hello["rest"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(hello["gateway"])


def guild_of(card: int, guilds: int) -> int:
    """The storm's guilds take the cards in turn: card ``card`` is in guild ``card % guilds``,
    and guild ``i`` is on shard ``i``."""
    return card % guilds


# -- the emulator process ------------------------------------------------------------------------
@dataclass
class Stage:
    """What the emulator process keeps for the storm: one guild per shard, the cards (channel id,
    message id) and, per guild, the members (a name is the same user in every guild)."""

    guilds: list[Any]
    cards: list[tuple[int, int]] = field(default_factory=list)
    members: list[list[Any]] = field(default_factory=list)


def emulator_process(conn: Connection, shards: int) -> None:
    asyncio.run(_serve(conn, shards))


async def _serve(conn: Connection, shards: int) -> None:
    from tests.emulator import Emulator, Perm

    emu = Emulator(shards=shards)
    await emu.start()
    # One guild per shard for the cards; the members join every one of them.
    guilds = [emu.world.add_guild(f"Storm {i}", shard=(i, shards)) for i in range(shards)]
    conn.send(
        {
            "rest": emu.rest_base,
            "gateway": emu.gateway_url,
            "token": emu.token,
            "guilds": [g.id for g in guilds],
        }
    )
    stage = Stage(guilds)
    while (request := await _next_command(conn))[0] != "stop":
        command, payload = request
        if command == "cards":
            stage.cards = await _add_cards(emu, Perm, guilds, one_channel=payload)
            stage.members = [[g.add_member(f"m{i}") for i in range(MEMBERS)] for g in guilds]
            conn.send(
                {
                    "cards": stage.cards,
                    "guilds": [g.id for g in guilds],
                    "members": [m.id for m in stage.members[0]],
                }
            )
        elif command == "storm":
            actions, rate = payload
            conn.send(await _storm(emu, stage, actions, rate))
        elif command == "report":
            conn.send(_report(emu, stage.cards))
    await emu.stop()
    conn.send("stopped")


async def _add_cards(
    emu: Any, perm: Any, guilds: list[Any], *, one_channel: bool
) -> list[tuple[int, int]]:
    """(channel_id, card message id) per card, made with /movie add, four at a time."""
    homes = [guilds[guild_of(i, len(guilds))] for i in range(CARDS)]
    if one_channel:
        shared = {guild.id: guild.add_channel("cards-0") for guild in guilds}
        channels = [shared[home.id] for home in homes]
    else:
        channels = [home.add_channel(f"cards-{i}") for i, home in enumerate(homes)]
    for home, channel in zip(homes, channels, strict=True):
        channel.deny(home.me, perm.MANAGE_MESSAGES)
        # CHANNEL_UPDATE, as Discord sends when overwrites change: without it the bot's cache
        # still grants Manage Messages and it tries to tidy (the emulator answers 403).
        emu.world.update_channel(channel)
    for first in range(0, CARDS, 4):  # Discord's global limit is 50 requests a second
        calls = [
            emu.slash(
                homes[i].admin,
                "movie add",
                title=f"Storm {i:02d}",
                year=2000 + i,
                channel=channels[i],
            )
            for i in range(first, min(first + 4, CARDS))
        ]
        for itx in await asyncio.gather(*calls):
            await itx.wait_done(timeout=120)
    cards = []
    for i, channel in enumerate(channels):
        title = f"Storm {i:02d} ({2000 + i})"
        card = next(
            m
            for m in emu.world.messages(channel)
            if m.get("embeds") and m["embeds"][0]["title"] == title
        )
        cards.append((channel.id, int(card["id"])))
    return cards


async def _storm(emu: Any, stage: Stage, actions: list[Action], rate: float) -> dict[str, Any]:
    """Send the actions at ``rate``; probe /movie info (in the first guild) meanwhile. Send times
    are monotonic: the system-wide clock that every bot process reads too."""
    rate_limited_before = emu.rate_limited
    edits_before = len(emu.calls_to(EDIT_ROUTE))
    stop = asyncio.Event()
    probes: list[Any] = []

    async def probe() -> None:
        prober = stage.guilds[0].add_member("prober")
        while not stop.is_set():
            probes.append(await emu.slash(prober, "movie info", movie="Storm 00 (2000)"))
            await asyncio.sleep(PROBE_EVERY)

    prober = asyncio.create_task(probe())
    per_tick = max(1, round(rate * TICK))
    sent: list[float] = []
    start = time.monotonic()
    for first in range(0, len(actions), per_tick):
        delay = start + first / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        for action in actions[first : first + per_tick]:
            channel_id, message_id = stage.cards[action.card]
            member = stage.members[guild_of(action.card, len(stage.guilds))][action.member]
            emoji = SCORE_EMOJI[action.score - 1]
            sent.append(time.monotonic())
            if action.added:
                await emu.react(member, channel_id, message_id, emoji)
            else:
                await emu.unreact(member, channel_id, message_id, emoji)
    send_seconds = time.monotonic() - start
    # Keep probing a moment after the last send: the storm is still being committed.
    await asyncio.sleep(0.5)
    stop.set()
    await prober
    # An answer after Discord's 3 s is refused (10062): that probe stays unanswered.
    with contextlib.suppress(AssertionError):  # and one the bot never answers is counted too
        await emu.wait_for(
            lambda: all(itx.responded or itx.late for itx in probes), 30, "the probes' answers"
        )
    return {
        "sent": sent,
        "info": [itx.callback_at - itx.created_at for itx in probes if itx.responded],
        "info_unanswered": sum(not itx.responded for itx in probes),
        "send_seconds": send_seconds,
        "rate_limited_before": rate_limited_before,
        "edits_before": edits_before,
    }


def _report(emu: Any, cards: list[tuple[int, int]]) -> dict[str, Any]:
    edits: dict[str, list[float]] = defaultdict(list)
    for call in emu.calls_to(EDIT_ROUTE):
        edits[call.path].append(call.at)
    shown = []
    for channel_id, message_id in cards:
        card = emu.world.message(channel_id, message_id)
        shown.append(card["embeds"][0]["description"] if card else "")
    return {
        "edits": {f"{c}/{m}": edits.get(f"/channels/{c}/messages/{m}", []) for c, m in cards},
        "rate_limited": emu.rate_limited,
        "unknown": [c.route for c in emu.unknown],
        "shown": shown,
        "tidied": len(emu.calls_to(TIDY_ROUTE)),  # tried, allowed or not; see the docstring
        "sessions": len(emu.logins.started()),
        "too_fast": len(emu.logins.too_fast()),
    }


# -- the bot side --------------------------------------------------------------------------------
@dataclass
class Commits:
    """Cumulative reaction events committed, with the monotonic time of each commit."""

    times: list[float] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    done: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    expect: int = 0

    async def follow(self, changes: asyncio.Queue[RatingsChanged]) -> None:
        while True:
            self.on_commit(await changes.get())

    def on_commit(self, event: RatingsChanged) -> None:
        if event.reactions:
            self.done += event.reactions
            self.times.append(event.committed_at)
            self.totals.append(self.done)
            if self.expect and self.done >= self.expect:
                self.all_in.set()

    def commit_time(self, index: int) -> float:
        """When event ``index`` (0-based, in send order) was committed: the writer is FIFO."""
        lo, hi = 0, len(self.totals) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.totals[mid] > index:
                hi = mid
            else:
                lo = mid + 1
        return self.times[lo]


class BotSide(Protocol):
    """What a storm asks of a bot, whether it runs in this process or in one of its own."""

    async def settle(self) -> None: ...
    async def follow(self, expect: int) -> None: ...
    async def commits(self) -> Commits: ...


class StormBot:
    """The real bot in this process (every shard, or those ``settings`` name), and the log of
    its commits."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._token = settings.token
        self.bot = create_bot(settings, db, guild_ready_timeout=0.2)
        self._running: asyncio.Task[None] | None = None
        self._log = Commits()
        self._following: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Log in and wait for every shard's READY."""
        self._running = asyncio.create_task(self.bot.start(self._token))
        try:
            await asyncio.wait_for(self.bot.wait_until_ready(), 60)
        except BaseException:
            await self.__aexit__()  # and raise why it did not start, if it says
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._following is not None:
            self._following.cancel()
        await self.bot.close()
        if self._running is not None:
            await self._running

    async def settle(self) -> None:
        """Wait until every card edit owed has been made."""
        await self.bot.card_sync.settle()

    async def follow(self, expect: int) -> None:
        """Log every commit from now on; ``expect`` reaction events are on their way."""
        self._log = Commits(expect=expect)
        changes = self.bot.services.ratings.subscribe()
        self._following = asyncio.create_task(self._log.follow(changes))

    async def commits(self) -> Commits:
        """The log, once every expected event is committed."""
        if self._log.expect:
            await asyncio.wait_for(self._log.all_in.wait(), 120)
        return self._log


def shard_process(
    conn: Connection, hello: dict[str, Any], database_url: str, shards: int, shard_id: int
) -> None:
    """One bot process: shard ``shard_id`` of ``shards`` (SHARD_COUNT and SHARD_IDS), on the
    database the other processes share; a StormBot driven over the pipe."""
    _point_at(hello)
    settings = Settings(
        token=hello["token"],
        database_url=database_url,
        shard_count=shards,
        shard_ids=(shard_id,),
    )
    asyncio.run(_run_shard(conn, settings, database_url))


async def _run_shard(conn: Connection, settings: Settings, database_url: str) -> None:
    async with _opened(database_url) as db, StormBot(settings, db) as bot:
        conn.send("ready")
        while (request := await _next_command(conn))[0] != "stop":
            command, payload = request
            if command == "settle":
                await bot.settle()
                conn.send("settled")
            elif command == "follow":
                await bot.follow(payload)
                conn.send("following")
            elif command == "commits":
                log = await bot.commits()
                conn.send((log.times, log.totals))
    conn.send("stopped")


class ShardProcess(Child):
    """A bot process, asked what a StormBot is asked."""

    async def settle(self) -> None:
        await self.ask("settle")

    async def follow(self, expect: int) -> None:
        await self.ask("follow", expect)

    async def commits(self) -> Commits:
        times, totals = await self.ask("commits")
        return Commits(times=times, totals=totals)


@contextlib.asynccontextmanager
async def _opened(target: str | Path) -> AsyncIterator[Database]:
    db = await open_database(target)
    try:
        yield db
    finally:
        await db.close()


# -- the storms ----------------------------------------------------------------------------------
async def storm(args: argparse.Namespace, database: str | None = None) -> dict[str, Any]:
    """The bot in this process against a fresh database: SQLite, or a scratch database on the
    PostgreSQL server of ``database``."""
    async with Child(emulator_process, 1) as emulator:
        hello = await emulator.receive()
        _point_at(hello)
        async with scratch_database(database) as url:
            with tempfile.TemporaryDirectory() as tmp:
                db_path = Path(tmp) / "storm.db"
                async with _opened(url or db_path) as db:
                    settings = Settings(
                        token=hello["token"],
                        database_path=db_path,
                        dev_guild_id=hello["guilds"][0],
                    )
                    async with StormBot(settings, db) as bot:
                        return await _run(emulator, [bot], db, args)


async def sharded_storm(args: argparse.Namespace) -> dict[str, Any]:
    """``args.shards`` bot processes, one shard and one guild each, all started at once (they
    take their login turns through the database), on one scratch database on the PostgreSQL
    server of ``args.database``. Shard 0's process syncs the commands, globally."""
    async with (
        Child(emulator_process, args.shards) as emulator,
        contextlib.AsyncExitStack() as stack,
    ):
        hello = await emulator.receive()
        url = await stack.enter_async_context(scratch_database(args.database))
        assert url is not None
        bots = [
            await stack.enter_async_context(
                ShardProcess(shard_process, hello, url, args.shards, shard_id)
            )
            for shard_id in range(args.shards)
        ]
        await asyncio.gather(*(bot.receive() for bot in bots))  # each says "ready"
        db = await stack.enter_async_context(_opened(url))  # the bench's own look at it
        return await _run(emulator, bots, db, args)


async def _run(
    emulator: Child, bots: Sequence[BotSide], db: Database, args: argparse.Namespace
) -> dict[str, Any]:
    """One storm, however the bot runs: ``bots[i]`` owns guild ``i`` and commits its events in
    the order they were sent, so event k of guild i was committed with the commit of ``bots[i]``
    that brought its count past k."""
    actions, expected = workload(args.events)
    made = await emulator.ask("cards", args.one_channel)
    assert len(made["guilds"]) == len(bots), "one bot (process) per guild"
    await asyncio.gather(*(bot.settle() for bot in bots))
    owners = [guild_of(action.card, len(bots)) for action in actions]
    await asyncio.gather(*(bot.follow(owners.count(i)) for i, bot in enumerate(bots)))
    storm_result = await emulator.ask("storm", (actions, args.rate))
    logs = await asyncio.gather(*(bot.commits() for bot in bots))
    await asyncio.gather(*(bot.settle() for bot in bots))
    report = await emulator.ask("report")
    sent = storm_result["sent"]
    latencies = []
    seen = [0] * len(bots)
    for sent_at, owner in zip(sent, owners, strict=True):
        latencies.append(logs[owner].commit_time(seen[owner]) - sent_at)
        seen[owner] += 1
    return {
        "storm": storm_result,
        "report": report,
        "latencies": latencies,
        "events_per_s": len(actions) / (max(log.times[-1] for log in logs if log.times) - sent[0]),
        "commits": sum(len(log.times) for log in logs),
        "exact": await _database_exact(db, made, expected),
        "cards_exact": _cards_exact(report["shown"], expected),
    }


async def _database_exact(
    db: Database, made: dict[str, Any], expected: dict[tuple[int, int], int]
) -> list[bool]:
    """Per guild: its cards' movies are its own, and their ratings in the database are what its
    members left on them."""
    member_index = {member_id: i for i, member_id in enumerate(made["members"])}
    guilds = made["guilds"]
    card_index = {}
    own = [True] * len(guilds)
    async with db.reader() as s:
        for i, (_, message_id) in enumerate(made["cards"]):
            movie = await s.movies.by_card(message_id)
            assert movie is not None
            card_index[movie.id] = i
            home = guild_of(i, len(guilds))
            own[home] = own[home] and movie.guild_id == guilds[home]
        rows = await s.queries.all("SELECT movie_id, member_id, score FROM ratings")
    got = {(member_index[r[1]], card_index[r[0]]): r[2] for r in rows if r[0] in card_index}

    def in_guild(ratings: dict[tuple[int, int], int], home: int) -> dict[tuple[int, int], int]:
        return {key: v for key, v in ratings.items() if guild_of(key[1], len(guilds)) == home}

    return [
        own[home] and in_guild(got, home) == in_guild(expected, home) for home in range(len(guilds))
    ]


def _cards_exact(shown: list[str], expected: dict[tuple[int, int], int]) -> bool:
    for index, description in enumerate(shown):
        summary = RatingSummary.from_scores([s for (_, c), s in expected.items() if c == index])
        if summary.headline() not in description or summary.histogram() not in description:
            return False
    return True


@contextlib.asynccontextmanager
async def scratch_database(server_url: str | None) -> AsyncIterator[str | None]:
    """A new, empty database on the server of ``server_url`` for one storm, dropped after."""
    if server_url is None:
        yield None
        return
    import asyncpg

    name = f"reelclub_storm_{os.getpid()}_{time.monotonic_ns()}"
    base, _, _ = server_url.rpartition("/")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{base}/{name}"
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


# -- baselines -----------------------------------------------------------------------------------
def sqlite_baseline(events: int) -> dict[str, float]:
    """Raw sqlite3: the same number of rating upserts, 500 per committed transaction."""
    actions, _ = workload(events)
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE ratings (movie_id INTEGER, member_id INTEGER, score INTEGER, "
            "PRIMARY KEY (movie_id, member_id)) STRICT"
        )
        batches = []
        start = time.perf_counter()
        for first in range(0, len(actions), 500):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO ratings VALUES (?, ?, ?) ON CONFLICT (movie_id, member_id) "
                "DO UPDATE SET score = excluded.score",
                [(a.card, a.member, a.score) for a in actions[first : first + 500]],
            )
            conn.execute("COMMIT")
            batches.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
        conn.close()
    return {
        "events_per_s": events / total,
        "txn_p50": median(batches),
        "txn_p99": percentile(batches, 99),
    }


def _gateway_frame(action: Action) -> tuple[str, str]:
    member_id = str(10_000 + action.member)
    data: dict[str, Any] = {
        "user_id": member_id,
        "channel_id": str(500 + action.card),
        "message_id": str(900 + action.card),
        "guild_id": "1",
        "emoji": {"id": None, "name": SCORE_EMOJI[action.score - 1]},
        "type": 0,
        "burst": False,
    }
    event = "MESSAGE_REACTION_ADD" if action.added else "MESSAGE_REACTION_REMOVE"
    if action.added:
        user = {
            "id": member_id,
            "username": f"m{action.member}",
            "discriminator": "0",
            "avatar": None,
            "global_name": None,
        }
        data["member"] = {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        data.update(burst_colors=[], message_author_id="2")
    return event, json.dumps({"op": 0, "t": event, "s": 1, "d": data})


async def client_baseline(events: int) -> dict[str, float]:
    """discord.py alone: decode, parse and dispatch the same events to an empty raw listener."""
    actions, _ = workload(events)
    frames = [_gateway_frame(a) for a in actions]
    client = discord.Client(intents=discord.Intents(guilds=True, guild_reactions=True))
    seen = asyncio.Event()
    count = 0

    def counted() -> None:
        nonlocal count
        count += 1
        if count == len(frames):
            seen.set()

    async def on_raw_reaction_add(_: discord.RawReactionActionEvent) -> None:
        counted()

    async def on_raw_reaction_remove(_: discord.RawReactionActionEvent) -> None:
        counted()

    client.event(on_raw_reaction_add)
    client.event(on_raw_reaction_remove)
    state = client._connection
    async with client:  # binds the client to this loop without logging in
        start = time.perf_counter()
        for i, (event, frame) in enumerate(frames):
            state.parsers[event](json.loads(frame)["d"])
            if i % 200 == 0:
                await asyncio.sleep(0)
        await seen.wait()
        total = time.perf_counter() - start
    return {"events_per_s": len(frames) / total}


# -- report --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=6_000.0, help="events sent per second")
    parser.add_argument("--one-channel", action="store_true", help="all 20 cards in one channel")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="also storm a scratch database on this PostgreSQL server, SQLite as the baseline",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="with --database: the PostgreSQL storm runs as N bot processes, one shard and one "
        "guild each (default 1: the bot in this process)",
    )
    args = parser.parse_args()
    try:
        _check(args)
    except ConfigError as exc:
        parser.exit(2, f"reaction_storm: {exc}\n")  # one line, no usage

    raw = sqlite_baseline(args.events)
    client = asyncio.run(client_baseline(args.events))
    result = asyncio.run(storm(args))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print(args, raw, client, result, peak_mb)
    if args.database is None:
        return
    server = redact_url(args.database)
    if args.shards == 1:
        other = asyncio.run(storm(args, args.database))
        where = f"PostgreSQL ({server})"
    else:
        other = asyncio.run(sharded_storm(args))
        where = (
            f"PostgreSQL ({server}) in {args.shards} bot processes, one shard and one guild each"
        )
    _print_beside(
        f"reaction storm on {where}, the single-process SQLite storm (above) as the baseline:",
        result,
        other,
    )


def _check(args: argparse.Namespace) -> None:
    """Options that cannot work together: one line that says what to give instead."""
    if args.shards < 1:
        raise ConfigError(f"--shards must be 1 or more, not {args.shards}.")
    if args.database is not None:
        args.database = postgres_url(args.database, "--database")
    elif args.shards > 1:
        raise ConfigError(
            f"--shards {args.shards} runs {args.shards} bot processes, which share one "
            "PostgreSQL database: add --database postgresql://user:password@host:port/db."
        )


def _print_beside(title: str, sqlite: dict[str, Any], other: dict[str, Any]) -> None:
    """A storm on PostgreSQL (one process, or one per shard), with the SQLite run above as its
    baseline: each figure, the baseline's, their ratio and the target."""
    ours, base = other["latencies"], sqlite["latencies"]
    rows: list[tuple[str, float, float, Callable[[float], str], str]] = [
        ("events/s sustained", other["events_per_s"], sqlite["events_per_s"], _count, ">= 5000"),
        ("sent -> committed median", median(ours), median(base), seconds, ""),
        ("sent -> committed p99", percentile(ours, 99), percentile(base, 99), seconds, "<= 100 ms"),
        (
            "/movie info ack p99",
            _percentile(other["storm"]["info"], 99),
            _percentile(sqlite["storm"]["info"], 99),
            seconds,
            "<= 100 ms",
        ),
        ("429 responses during the storm", _storm_429(other), _storm_429(sqlite), _count, "0"),
    ]
    print(title)
    for label, value, was, shown, target in rows:
        ratio = f"{value / was:.3f}" if was else "n/a"
        aim = f"target {target}" if target else ""
        print(f"  {label:<40} {shown(value):>12} vs {shown(was):>10}   ratio {ratio:>6}   {aim}")
    report = other["report"]
    exact = ", ".join(str(e) for e in other["exact"])
    for label, text, target in [
        ("logins too fast / sessions started", f"{report['too_fast']} / {report['sessions']}", "0"),
        ("/movie info answered too late (10062)", f"{other['storm']['info_unanswered']}", "0"),
        ("members' reactions the bot tried to remove", f"{report['tidied']}", "0"),
        ("ratings exact per guild / cards exact", f"{exact} / {other['cards_exact']}", "True"),
        ("unknown routes", f"{len(report['unknown'])}", "0"),
    ]:
        print(f"  {label:<40} {text:>12}   target {target}")


def _percentile(samples: list[float], q: float) -> float:
    """Of what was answered; infinite when nothing was."""
    return percentile(samples, q) if samples else math.inf


def _count(value: float) -> str:
    return f"{value:.0f}"


def _storm_429(result: dict[str, Any]) -> int:
    return int(result["report"]["rate_limited"] - result["storm"]["rate_limited_before"])


def _print(
    args: argparse.Namespace,
    raw: dict[str, float],
    client: dict[str, float],
    result: dict[str, Any],
    peak_mb: float,
) -> None:
    storm_result, report = result["storm"], result["report"]
    edits = [len(times) for times in report["edits"].values()]
    gaps = [b - a for times in report["edits"].values() for a, b in itertools.pairwise(times)]
    latencies, info = result["latencies"], storm_result["info"]
    where = "one channel" if args.one_channel else "one channel per card"
    rows = [
        ("events/s sustained (bot)", f"{result['events_per_s']:.0f}", ">= 5000"),
        ("sent -> committed median", seconds(median(latencies)), ""),
        ("sent -> committed p99", seconds(percentile(latencies, 99)), "<= 50 ms"),
        ("commits (group commit)", f"{result['commits']}", ""),
        ("/movie info ack median", seconds(_percentile(info, 50)), ""),
        (
            "/movie info ack p99",
            f"{seconds(_percentile(info, 99))} over {len(info)} calls",
            "<= 100 ms",
        ),
        ("/movie info answered too late (10062)", f"{storm_result['info_unanswered']}", "0"),
        (
            "card edits per card min/median/max",
            f"{min(edits)}/{sorted(edits)[len(edits) // 2]}/{max(edits)}",
            "",
        ),
        ("smallest gap between edits of a card", f"{min(gaps):.2f} s" if gaps else "n/a", ">= 2 s"),
        ("429 responses during the storm", f"{_storm_429(result)}", "0"),
        ("429 responses while posting the cards", f"{storm_result['rate_limited_before']}", ""),
        (
            "final ratings exact / cards exact",
            f"{all(result['exact'])} / {result['cards_exact']}",
            "True",
        ),
        ("unknown routes", f"{len(report['unknown'])}", "0"),
        ("members' reactions the bot tried to remove", f"{report['tidied']}", "0"),
        ("baseline sqlite3 500/txn events/s", f"{raw['events_per_s']:.0f}", ""),
        (
            "baseline sqlite3 txn median / p99",
            f"{seconds(raw['txn_p50'])} / {seconds(raw['txn_p99'])}",
            "",
        ),
        ("baseline discord.py parse+dispatch /s", f"{client['events_per_s']:.0f}", ""),
        ("ratio bot / sqlite3 limit", f"{result['events_per_s'] / raw['events_per_s']:.3f}", ""),
        (
            "ratio bot / discord.py limit",
            f"{result['events_per_s'] / client['events_per_s']:.3f}",
            "",
        ),
        ("peak memory, bot process", f"{peak_mb:.0f} MB", ""),
    ]
    print(
        f"reaction storm: {len(latencies)} events on {CARDS} cards from {MEMBERS} members, sent at "
        f"{args.rate:.0f}/s over {storm_result['send_seconds']:.2f} s ({where})"
    )
    for label, value, target in rows:
        print(f"  {label:<40} {value:>24}   {('target ' + target) if target else ''}")


if __name__ == "__main__":
    main()
