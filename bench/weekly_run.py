"""The weekly run at scale: 100 guilds due in the same minute, one scheduler tick, the real bot.

    python bench/weekly_run.py [--guilds 100] [--seed 2026]

Every guild (added to the loopback emulator before the bot logs in, so they arrive in READY)
has a picks channel, twelve catalog movies whose spoiler threads exist but have auto-archived,
eight members who rated some of them, eleven movies in the pool and a schedule for Friday 20:00
Europe/Berlin. The clock is injected. A first tick at last week's slot posts every guild's pick
and poll; members vote; then the measured tick runs at this week's slot, where each guild's run
ends last week's poll, re-opens the pick's thread, and posts the pick and the new poll — four
requests per guild, all under Discord's global limit of 50 requests a second.

The emulator runs in this process, the bot is the real one (unmodified discord.py, the cog's
``run_due()`` — the scheduler loop's body — called once per tick).

Printed: guilds posted, wall time of the tick, REST requests it made (by route), the ideal time
``requests / 50 per second``, the ratio (target <= 1.5) and the number of 429s (target 0).

The movies have no card message in the database: at start-up the bot reconciles every card's
reactions (the ratings feature), which for 1,200 cards would be thousands of requests under the
same global limit while the tick is measured. The weekly run never touches a card, so the
requests it makes are the same with or without them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.clock import ManualClock
from bot.services import build_services
from bot.storage.connect import open_database

DISCORD_GLOBAL_PER_SECOND = 50
MOVIES_PER_GUILD = 12
POOL_PER_GUILD = 11
MEMBERS_PER_GUILD = 8
BERLIN = ZoneInfo("Europe/Berlin")
LAST_WEEK_SLOT = datetime(2026, 11, 13, 20, 0, tzinfo=BERLIN)  # Friday of 2026-W46
THIS_WEEK_SLOT = LAST_WEEK_SLOT + timedelta(days=7)


@dataclass
class Club:
    """One emulated guild as the set-up made it."""

    guild: Any  # tests.emulator.GuildState
    picks: Any  # the picks channel (ChannelState)
    threads: list[int]  # one per movie, archived
    members: list[Any]  # MemberState


def add_guilds(world: Any, count: int) -> list[Club]:
    """Guilds with archived spoiler threads and members; call before the bot logs in."""
    clubs = []
    for index in range(count):
        guild = world.add_guild(f"club-{index:03d}")
        movies = guild.channel("movies")
        threads = []
        for number in range(MOVIES_PER_GUILD):
            thread = world.open_thread(movies, f"Film {number:02d} (2000) · spoilers", guild.me)
            thread.archived = True  # a week after its last message
            threads.append(thread.id)
        members = [guild.add_member(f"g{index}m{m}") for m in range(MEMBERS_PER_GUILD)]
        clubs.append(Club(guild, guild.channel("picks"), threads, members))
    return clubs


async def fill_database(db_path: Path, clock: ManualClock, clubs: list[Club], seed: int) -> None:
    """Catalog, ratings, pool and schedule of every club, through the bot's own services."""
    rng = random.Random(seed)
    db = await open_database(db_path)
    try:
        services = build_services(db, clock)
        for club in clubs:
            guild_id = club.guild.id
            movies = []
            for number, thread_id in enumerate(club.threads):
                movie = await services.movies.add_entry(guild_id, 1, f"Film {number:02d}", 2000)
                movies.append(await services.movies.attach_thread(movie, thread_id))
            for member in club.members:
                for movie in rng.sample(movies, 4):
                    await services.ratings.rate(movie, member.id, rng.randint(3, 10))
            for movie in movies[:POOL_PER_GUILD]:
                await services.watch.suggest(movie, rng.choice(club.members).id)
            await services.watch.set_schedule(
                guild_id,
                weekday="Friday",
                at="20:00",
                timezone="Europe/Berlin",
                channel_id=club.picks.id,
                here_channel_id=club.picks.id,
            )
    finally:
        await db.close()


async def vote(emu: Any, clubs: list[Club], seed: int) -> int:
    """Every member votes once in their guild's open poll; returns the number of votes."""
    rng = random.Random(seed)
    votes = 0
    for club in clubs:
        poll = next(m for m in reversed(emu.world.messages(club.picks)) if m.get("poll"))
        answers = [a["answer_id"] for a in poll["poll"]["answers"]]
        for member in club.members:
            await emu.vote_poll(member, club.picks, int(poll["id"]), rng.choice(answers))
            votes += 1
    return votes


def posts_in(emu: Any, club: Club) -> tuple[int, int]:
    """(pick messages, polls) the bot posted in a club's picks channel."""
    messages = emu.world.messages(club.picks)
    picks = sum(1 for m in messages if m.get("embeds") and "Weekly pick" in str(m["embeds"]))
    polls = sum(1 for m in messages if m.get("poll"))
    return picks, polls


async def run(guilds: int, seed: int) -> dict[str, Any]:
    from bot.services.watch import Outcome
    from tests.e2e.conftest import Club as Harness
    from tests.emulator import Emulator

    emu = Emulator()
    await emu.start()
    emu.install()
    clock = ManualClock(LAST_WEEK_SLOT - timedelta(minutes=5))
    clubs = add_guilds(emu.world, guilds)
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "weekly.db"
        await fill_database(db_path, clock, clubs, seed)
        harness = Harness(emu, db_path, clock=clock)
        bot = await harness.start()
        try:
            cog: Any = bot.get_cog("Watch")
            cog.scheduler.cancel()  # this benchmark runs the ticks itself
            loop_task = cog.scheduler.get_task()
            if loop_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task
            clock.set(LAST_WEEK_SLOT + timedelta(seconds=5))
            warmup = await cog.run_due()
            votes = await vote(emu, clubs, seed)
            clock.set(THIS_WEEK_SLOT + timedelta(seconds=5))
            calls_before, limited_before = len(emu.calls), emu.rate_limited
            started = time.perf_counter()
            results = await cog.run_due()
            elapsed = time.perf_counter() - started
            calls = emu.calls[calls_before:]
            limited = emu.rate_limited - limited_before
        finally:
            await harness.stop()
            emu.uninstall()
            await emu.stop()
    return {
        "guilds": guilds,
        "warmup_posted": sum(r.outcome is Outcome.POSTED for r in warmup),
        "votes": votes,
        "posted": sum(r.outcome is Outcome.POSTED for r in results),
        "by_vote": sum(1 for r in results if r.run is not None and r.run.pick_reason == "poll"),
        "posts": [posts_in(emu, club) for club in clubs],
        "elapsed": elapsed,
        "requests": len(calls),
        "routes": Counter(c.route or f"unknown {c.method} {c.path}" for c in calls),
        "rate_limited": limited,
        "rate_limited_total": emu.rate_limited,
    }


def report(figures: dict[str, Any]) -> None:
    requests = figures["requests"]
    ideal = requests / DISCORD_GLOBAL_PER_SECOND
    ratio = figures["elapsed"] / ideal if ideal else float("nan")
    two_each = sum(1 for picks, polls in figures["posts"] if (picks, polls) == (2, 2))
    print(f"== weekly run: {figures['guilds']} guilds due in the same minute, one tick")
    print(
        f"   warm-up tick (last week): {figures['warmup_posted']} posted; {figures['votes']} votes"
    )
    print(f"   guilds posted this tick:  {figures['posted']} / {figures['guilds']}")
    print(f"   picks decided by votes:   {figures['by_vote']}")
    print(f"   channels with exactly 2 picks + 2 polls (one per week): {two_each}")
    print(f"   REST requests in the tick: {requests}")
    for route, count in sorted(figures["routes"].items(), key=lambda kv: -kv[1]):
        print(f"     {count:>5}  {route}")
    print(f"   time:  {figures['elapsed']:.2f} s")
    print(
        f"   ideal: {ideal:.2f} s  ({requests} requests / {DISCORD_GLOBAL_PER_SECOND} per second)"
    )
    print(f"   ratio: {ratio:.2f}x  (target <= 1.5)")
    print(
        f"   429s:  {figures['rate_limited']} in the tick, {figures['rate_limited_total']} in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guilds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    report(asyncio.run(run(args.guilds, args.seed)))


if __name__ == "__main__":
    main()
