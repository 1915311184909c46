"""Start-up at scale: the real bot restarting into 1,000 guilds of 20 movie cards each.

    python bench/startup.py [--guilds 1000] [--cards 20] [--small 10] [--speed 20]
                            [--window 600] [--baseline-seconds 30]

Each run builds a fresh world in the loopback emulator (a child process) and the matching SQLite
database directly (no /movie add): one card a week per club, members' numbers on the cards as
the database last saw them, and numbers members added while the bot was away where they were
voting anyway (on half the cards active this week, a fifth of those active this month, one old
card in thirty). Then the unmodified bot starts in a child process of its own, so that its
memory is its own.

Printed, for the bot as it is (reconcile the cards active in the last 30 days, newest first,
within its budget; other cards when touched): time from launching the bot's process to READY
(discord.py waits its 2 s ``guild_ready_timeout`` after the last GUILD_CREATE), REST requests
spent on reconciliation in the first ``--window`` seconds after READY (when reconciliation
starts), how far it got with the active cards and with the votes made offline, how long a
member's `/movie info` takes (one every 0.1 s, in a random guild, from the moment the bot is on
the gateway; each touches its card), and memory per guild: (RSS with ``--guilds`` guilds - RSS
with ``--small`` guilds) / the difference, both at the end of the window, with the number of
members discord.py keeps.

The window runs on a fast clock: the emulator's rate limits (``FastTime``) and the bot's own
paces (card edits, reconciliation, the background pacer) run ``--speed`` times faster, so ten
minutes take 30 s; those figures are in the bot's (emulated) seconds. Time to READY and
`/movie info` latencies are real seconds: discord.py and members are not sped up.

The baseline, measured in the same run on the same data: the old policy, every card of every
guild one at a time as fast as Discord lets it, after every READY. It runs at real speed
(loopback answers in a millisecond or two, so Discord's global limit of 50 requests a second is
what holds it back, as it would in production) for ``--baseline-seconds`` and is extrapolated to
the window: it is nowhere near done by then (its total is printed too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._stats import median, percentile, ratio, seconds  # noqa: E402

RECONCILE_ROUTES = (
    "GET /channels/{channel_id}/messages/{message_id}",
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
)
EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"
MEMBERS_PER_GUILD = 8
PROBE_EVERY = 0.1  # real seconds between two /movie info
ACTIVE_DAYS = 30
# How likely a card got a number while the bot was away, by its last activity before that.
OFFLINE_VOTE = {"week": 0.5, "month": 0.2, "old": 0.03}
SEED = 20261121


@dataclass(frozen=True)
class Spec:
    policy: str  # "budgeted" (the bot as it is) or "everything" (the old policy)
    guilds: int
    cards: int
    speed: float
    window: float  # seconds on the bot's (emulated) clock
    db_path: str

    @property
    def real_window(self) -> float:
        return self.window / self.speed


# -- the world and the database ------------------------------------------------------------------
@dataclass
class Built:
    cards: int = 0
    active: int = 0
    demand: int = 0  # requests that reading every card back takes
    active_demand: int = 0  # ... every active card
    # (movie, member, score, how recent the card's activity: "week", "month" or "old")
    offline_votes: list[tuple[int, int, int, str]] = field(default_factory=list)
    active_paths: set[str] = field(default_factory=set)  # card paths, for the emulator's count

    def summary(self) -> dict[str, Any]:
        """What the parent needs (plain data: the class lives in another process's main)."""
        return {
            "cards": self.cards,
            "active": self.active,
            "demand": self.demand,
            "active_demand": self.active_demand,
            "offline_votes": self.offline_votes,
        }


def build(world: Any, spec: Spec) -> Built:
    """Guilds with a card a week (newest first), ratings in the fortnight after each card was
    added and, now and then, a late one; what the database saw is on the cards, plus one number
    in five cards that a member added while the bot was away."""
    from bot.domain.clock import to_db
    from bot.domain.movies import Movie, fold
    from bot.domain.ratings import SCORE_EMOJI, RatingSummary
    from bot.services.movies import MovieInfo
    from cogs.ratings.embeds import card_embed

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    movies, ratings, seen = [], [], []
    built = Built()
    movie_id = 0
    for g in range(spec.guilds):
        guild = world.guild if g == 0 else world.add_guild(f"Club {g}")
        members = [guild.add_member(f"m{j}") for j in range(MEMBERS_PER_GUILD)]
        channel = guild.channel("movies")
        for k in range(spec.cards):
            movie_id += 1
            added = now - timedelta(days=7 * k + rng.uniform(0.5, 6.5))
            age = (now - added).total_seconds()
            scores: dict[int, tuple[int, datetime]] = {}
            for member in rng.sample(members, rng.randint(0, 5)):
                late = rng.random() < 0.03
                at = now - timedelta(days=rng.uniform(0, ACTIVE_DAYS)) if late else None
                if at is None or at < added:
                    at = added + timedelta(seconds=rng.uniform(0, min(age, 14 * 86400)))
                scores[member.id] = (rng.randint(1, 10), at)
            last = max([added, *(at for _, at in scores.values())])
            active = now - last < timedelta(days=ACTIVE_DAYS)
            recency = "week" if now - last < timedelta(days=7) else "month" if active else "old"
            title = f"Film {k}"
            summary = RatingSummary.from_scores([s for s, _ in scores.values()])
            movie = Movie(movie_id, guild.id, title, 2000 + k, guild.admin.id)
            embed = card_embed(MovieInfo(movie, summary, 0)).to_dict()
            message = world.post(channel, guild.me, {"embeds": [embed]})
            for emoji in SCORE_EMOJI:
                world.add_reaction(message, guild.me, emoji)
            numbers = set()
            for member in members:
                if member.id in scores:
                    score, at = scores[member.id]
                    world.add_reaction(message, member, SCORE_EMOJI[score - 1])
                    ratings.append((movie_id, member.id, score, "reaction", to_db(at)))
                    seen.append((movie_id, member.id, score))
                    numbers.add(score)
            # A number added while the bot was away, where members were voting anyway.
            if rng.random() < OFFLINE_VOTE[recency]:
                member = rng.choice([m for m in members if m.id not in scores])
                score = rng.randint(1, 10)
                world.add_reaction(message, member, SCORE_EMOJI[score - 1])
                built.offline_votes.append((movie_id, member.id, score, recency))
                numbers.add(score)
            movies.append(
                (
                    movie_id,
                    guild.id,
                    title,
                    fold(title),
                    2000 + k,
                    guild.admin.id,
                    to_db(added),
                    channel.id,
                    int(message["id"]),
                )
            )
            built.cards += 1
            built.demand += 1 + len(numbers)
            if active:
                built.active += 1
                built.active_demand += 1 + len(numbers)
                built.active_paths.add(f"/channels/{channel.id}/messages/{message['id']}")
    _write(spec.db_path, movies, ratings, seen)
    return built


def _write(path: str, movies: list[Any], ratings: list[Any], seen: list[Any]) -> None:
    from bot.storage.connect import open_database

    async def migrate() -> None:
        db = await open_database(path)
        await db.close()

    asyncio.run(migrate())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO movies (id, guild_id, title, title_key, year, added_by, added_at, "
        "card_channel_id, card_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        movies,
    )
    conn.executemany(
        "INSERT INTO ratings (movie_id, member_id, score, source, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        ratings,
    )
    conn.executemany(
        "INSERT INTO card_reactions (movie_id, member_id, score) VALUES (?, ?, ?)", seen
    )
    conn.execute("COMMIT")
    conn.close()


# -- the emulator process ------------------------------------------------------------------------
def emulator_process(conn: Connection, spec: Spec) -> None:
    from tests.emulator import FastTime, RealTime, World

    world = World()
    started = time.monotonic()
    built = build(world, spec)
    build_seconds = time.monotonic() - started
    limit_clock = FastTime(spec.speed) if spec.speed != 1 else RealTime()
    asyncio.run(_serve(conn, world, limit_clock, built, build_seconds))


async def _serve(
    conn: Connection, world: Any, limit_clock: Any, built: Built, build_seconds: float
) -> None:
    from tests.emulator import Emulator

    emu = Emulator(world, limit_clock=limit_clock)
    await emu.start()
    loop = asyncio.get_running_loop()
    conn.send(
        {
            "rest": emu.rest_base,
            "gateway": emu.gateway_url,
            "token": emu.token,
            "built": built.summary(),
            "build_seconds": build_seconds,
        }
    )
    probes: list[Any] = []
    prober: asyncio.Task[None] | None = None
    while True:
        command, payload = await loop.run_in_executor(None, conn.recv)
        if command == "probe":
            prober = asyncio.create_task(_probe(emu, probes))
        elif command == "report":
            if prober is not None:
                prober.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prober
                await asyncio.sleep(0.5)  # answers to the last ones on their way
            conn.send(_report(emu, probes, built, *payload))
        else:
            await emu.stop()
            conn.send("stopped")
            return


async def _probe(emu: Any, probes: list[Any]) -> None:
    """/movie info every 0.1 s from the moment the bot is on the gateway, in a random guild,
    about a random film (most of them old: each one touches its card)."""
    rng = random.Random(SEED + 1)
    guilds = list(emu.world.guilds.values())
    cards = len(emu.world.messages(guilds[0].channel("movies")))
    await emu.wait_for(
        lambda: emu.connected and bool(emu.world.commands.get(None)), 120, "the bot on the gateway"
    )
    while True:
        guild = rng.choice(guilds)
        k = rng.randrange(cards)
        member = guild.member(f"m{rng.randrange(MEMBERS_PER_GUILD)}")
        probes.append(await emu.slash(member, "movie info", movie=f"Film {k} ({2000 + k})"))
        await asyncio.sleep(PROBE_EVERY)


def _report(emu: Any, probes: list[Any], built: Built, start: float, end: float) -> dict[str, Any]:
    """Asked once the bot has exited: what it answered, it answered."""
    in_window = [c for c in emu.calls if start <= c.at <= end]
    probes = [i for i in probes if i.created_at <= end]  # sent before the window ended
    answered = [(i.created_at, i.callback_at) for i in probes if i.callback_at is not None]
    read = {c.path for c in in_window if c.route == RECONCILE_ROUTES[0]}
    return {
        "reconcile": {r: sum(1 for c in in_window if c.route == r) for r in RECONCILE_ROUTES},
        "active_read": len(read & built.active_paths),
        "old_read": len(read - built.active_paths),
        "calls": len(in_window),
        "edits": sum(1 for c in in_window if c.route == EDIT_ROUTE),
        "rate_limited": emu.rate_limited,
        "probes": len(probes),
        "answered": answered,
        "unknown": sorted({c.route or c.path for c in emu.unknown}),
        "internal_errors": [repr(e) for e in emu.internal_errors],
    }


# -- the bot process -----------------------------------------------------------------------------
def bot_process(conn: Connection, spec: Spec, hello: dict[str, Any], start: float) -> None:
    asyncio.run(_run_bot(conn, spec, hello, start))


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _run_bot(conn: Connection, spec: Spec, hello: dict[str, Any], start: float) -> None:
    import discord
    import yarl

    from bot.client import Intervals, create_bot
    from bot.config import Settings
    from bot.storage.connect import open_database

    discord.http.Route.BASE = hello["rest"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(hello["gateway"])
    production = Intervals()
    intervals = Intervals(
        card_edit=production.card_edit / spec.speed,
        reidentify=production.reidentify / spec.speed,
        reconcile_request=production.reconcile_request / spec.speed,
        background_request=production.background_request / spec.speed,
    )
    db = await open_database(spec.db_path)
    settings = Settings(token=hello["token"], database_path=Path(spec.db_path))
    budgeted = spec.policy == "budgeted"
    # The old policy is played by the bench below; the bot's own reconciliation stays out of it.
    bot = create_bot(settings, db, intervals=intervals, owns=lambda _: budgeted)
    task = asyncio.create_task(bot.start(settings.token))
    await asyncio.wait_for(bot.wait_until_ready(), 120)
    ready = time.monotonic()
    old = None if budgeted else asyncio.create_task(reconcile_everything(bot))
    await asyncio.sleep(spec.real_window)
    result = {
        "ready_at": ready,
        "ready": ready - start,
        "rss_mb": _rss_mb(),
        "guilds": len(bot.guilds),
        "members_cached": sum(len(g.members) for g in bot.guilds),
        "users_cached": len(bot.users),
        "reconciled": bot.reconciler.reconciled,
        "caught_up_after": bot.reconciler.caught_up_after,
    }
    if old is not None:
        result["old_done"] = old.done()
        old.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await old
    conn.send(result)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # members have stopped
    await bot.close()
    await task
    await db.close()


async def reconcile_everything(bot: Any) -> None:
    """The old policy, kept only here: after READY, every card of every guild, one at a time,
    unpaced (discord.py waits out 429s), with the bot's own code for one card."""
    import discord

    from bot.domain.club import every_club
    from bot.ui.pacing import Pacer
    from cogs.ratings.reconcile import CardReconciler

    services = bot.services
    old = CardReconciler(
        bot, bot.cards, services.movies, services.ratings, owns=every_club, pace=Pacer(1e9)
    )
    for guild in list(bot.guilds):
        for movie in await services.movies.with_cards(guild.id):
            with contextlib.suppress(discord.HTTPException):
                await old.reconcile_card(movie)


# -- one run -------------------------------------------------------------------------------------
def run(spec: Spec) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    emu_end, here = ctx.Pipe()
    emulator = ctx.Process(target=emulator_process, args=(emu_end, spec), daemon=True)
    emulator.start()
    hello = here.recv()
    start = time.monotonic()
    here.send(("probe", None))
    bot_end, bot_here = ctx.Pipe()
    bot = ctx.Process(target=bot_process, args=(bot_end, spec, hello, start), daemon=True)
    bot.start()
    result = bot_here.recv()
    here.send(("report", (result["ready_at"], result["ready_at"] + spec.real_window)))
    report = here.recv()
    bot_here.send("close")
    bot.join(60)
    here.send(("stop", None))
    here.recv()
    emulator.join(10)
    built = Built(**hello["built"])
    return {
        **result,
        **report,
        "built": built,
        "build_seconds": hello["build_seconds"],
        "start": start,
        "counted": _counted(spec.db_path, built),
    }


def _counted(db_path: str, built: Built) -> dict[str, tuple[int, int]]:
    """Offline votes now in the database, by the card's recency: (counted, all)."""
    conn = sqlite3.connect(db_path)
    found: dict[str, list[int]] = {r: [0, 0] for r in OFFLINE_VOTE}
    for movie_id, member_id, score, recency in built.offline_votes:
        row = conn.execute(
            "SELECT score FROM ratings WHERE movie_id = ? AND member_id = ?", (movie_id, member_id)
        ).fetchone()
        found[recency][0] += int(row is not None and row[0] == score)
        found[recency][1] += 1
    conn.close()
    return {k: (v[0], v[1]) for k, v in found.items()}


# -- report --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--cards", type=int, default=20, help="cards per guild")
    parser.add_argument("--small", type=int, default=10, help="guilds of the memory baseline")
    parser.add_argument("--speed", type=float, default=20.0, help="clock speed-up of the window")
    parser.add_argument("--window", type=float, default=600.0, help="bot seconds measured")
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = Spec("budgeted", args.guilds, args.cards, args.speed, args.window, "")
        big = run(replace(base, db_path=f"{tmp}/big.db"))
        small = run(replace(base, guilds=args.small, db_path=f"{tmp}/small.db"))
        old = run(
            replace(
                base,
                policy="everything",
                speed=1.0,
                window=args.baseline_seconds,
                db_path=f"{tmp}/old.db",
            )
        )
    _print(args, big, small, old)


def _spent(result: dict[str, Any]) -> int:
    return sum(result["reconcile"].values())


def _print(
    args: argparse.Namespace, big: dict[str, Any], small: dict[str, Any], old: dict[str, Any]
) -> None:
    built: Built = big["built"]
    minutes = args.window / 60
    spent = _spent(big)
    old_spent = _spent(old)
    old_rate = old_spent / args.baseline_seconds
    old_extrapolated = min(old_rate * args.window, built.demand)  # it stops when all are read
    latencies = [b - a for a, b in big["answered"]]
    sent, answered = min(big["answered"], default=(float("nan"), float("nan")))
    first = answered - big["start"]
    caught = big["caught_up_after"]
    per_guild_kb = (big["rss_mb"] - small["rss_mb"]) * 1024 / (args.guilds - args.small)
    counted = {r: f"{n} of {of}" for r, (n, of) in big["counted"].items()}
    rows = [
        ("time to READY (incl. 2 s guild_ready_timeout)", seconds(big["ready"]), ""),
        (
            f"reconciliation requests, first {minutes:g} min after READY",
            f"{spent} ({spent / args.window:.1f}/s)",
            f"<= {10 * args.window:.0f}",
        ),
        (
            "  of which card / users / own reaction",
            " / ".join(str(n) for n in big["reconcile"].values()),
            "",
        ),
        (
            "active cards read back in the window",
            f"{big['active_read']} of {built.active}",
            "",
        ),
        ("old cards read back (touched by /movie info)", f"{big['old_read']}", ""),
        (
            "all active cards read back after",
            seconds(caught * args.speed)
            if caught is not None
            else f"~{built.active_demand / 10 / 60:.0f} min (extrapolated: 10/s)",
            "",
        ),
        ("offline votes counted: cards active this week", counted["week"], ""),
        ("  ... active 7-30 days ago", counted["month"], ""),
        ("  ... older (read back when touched)", counted["old"], ""),
        (
            "/movie info: first answer after launch",
            f"{seconds(first)} (sent at {seconds(sent - big['start'])})",
            "",
        ),
        ("/movie info ack median", seconds(median(latencies)), ""),
        (
            "/movie info ack p99",
            f"{seconds(percentile(latencies, 99))} over {len(latencies)} of {big['probes']}",
            "<= 1 s",
        ),
        ("card edits in the window", f"{big['edits']}", ""),
        ("429 responses", f"{big['rate_limited']}", "0"),
        ("RSS at the end of the window", f"{big['rss_mb']:.0f} MB", ""),
        (f"RSS with {args.small} guilds", f"{small['rss_mb']:.0f} MB", ""),
        ("memory per guild", f"{per_guild_kb:.1f} KB", ""),
        (
            "members / users cached",
            f"{big['members_cached']} / {big['users_cached']} in {big['guilds']} guilds",
            "1 per guild (the bot)",
        ),
        ("unknown routes / emulator faults", f"{big['unknown']} / {big['internal_errors']}", ""),
        ("baseline (old policy): time to READY", seconds(old["ready"]), ""),
        (
            f"baseline requests, first {args.baseline_seconds:g} s (real speed)",
            f"{old_spent} ({old_rate:.1f}/s), {old['rate_limited']} x 429",
            "",
        ),
        (
            f"baseline requests, first {minutes:g} min",
            f"~{old_extrapolated:.0f} (extrapolated)",
            "",
        ),
        (
            "baseline: requests to reconcile every card",
            f"{built.demand} (~{built.demand / max(old_rate, 1e-9) / 60:.0f} min at its rate)",
            "",
        ),
        ("baseline /movie info ack p99", seconds(percentile(_lat(old), 99)), ""),
        ("ratio baseline / budgeted requests", ratio(old_extrapolated, spent), ""),
    ]
    print(
        f"start-up: {args.guilds} guilds x {args.cards} cards ({built.cards} cards, "
        f"{built.active} active in the last {ACTIVE_DAYS} days, {built.demand} requests to read "
        f"them all back); window {args.window:g} bot seconds at {args.speed:g}x; world and "
        f"database built in {big['build_seconds']:.1f} s"
    )
    for label, value, target in rows:
        print(f"  {label:<48} {value:>30}   {('target ' + target) if target else ''}")
    if math.isnan(first):
        print("  (no /movie info was answered)")


def _lat(result: dict[str, Any]) -> list[float]:
    return [b - a for a, b in result["answered"]] or [float("nan")]


if __name__ == "__main__":
    main()
