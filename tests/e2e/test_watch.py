"""The weekly pick end to end: the real bot, an injected clock, the loopback emulator.

The scheduler loop runs as it does in production (every 30 s, and at once when the bot is
ready); tests that drive ticks themselves stop it and call the cog's ``run_due()`` — the loop's
body — after moving the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest

from bench.weekly_run import add_guilds, fill_database, posts_in, vote
from bot.client import Intervals
from bot.domain.clock import ManualClock
from bot.domain.ratings import SCORE_EMOJI
from bot.services.watch import Outcome, PostedIds
from tests.e2e.conftest import Club, assert_nothing_can_ping, db_rows, eventually, running
from tests.emulator import Emulator, Perm

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_W47 = datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)
FRIDAY_W47 = datetime(2026, 11, 20, 20, 0, tzinfo=BERLIN)
FRIDAY_W48 = FRIDAY_W47 + timedelta(days=7)
POST_ROUTE = "POST /channels/{channel_id}/messages"
EXPIRE_ROUTE = "POST /channels/{channel_id}/polls/{message_id}/expire"
HISTORY_ROUTE = "GET /channels/{channel_id}/messages"
TITLES = ("Parasite", "Heat", "Alien", "Arrival", "Amélie", "Memento", "Zodiac", "Ran")


@pytest.fixture
def week_clock() -> ManualClock:
    return ManualClock(MONDAY_W47)


@pytest.fixture
async def club(emu: Emulator, tmp_path: Path, week_clock: ManualClock) -> AsyncIterator[Club]:
    async with running(emu, tmp_path / "club.db", week_clock) as harness:
        yield harness


def cog(club: Club) -> Any:
    assert club.bot is not None
    return club.bot.get_cog("Watch")


async def stop_loop(club: Club) -> None:
    """Tests that tick by hand first stop the background loop (it would race them)."""
    loop = cog(club).scheduler
    loop.cancel()
    task = loop.get_task()
    if task is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def catalog(club: Club, titles: tuple[str, ...] = TITLES) -> dict[str, int]:
    """Movies added with /movie add (card and spoiler thread); title -> movie id.

    While they are added the bot may not add reactions in the movies channel (ten reactions per
    card take 2.5 s); then each card gets its ten number reactions as if the bot had put them
    there, so that a restart has nothing to put back.
    """
    emu, guild = club.emu, club.guild
    movies = guild.channel("movies")
    movies.deny(guild.me, Perm.ADD_REACTIONS)
    for number, title in enumerate(titles):
        itx = await emu.slash(
            guild.admin, "movie add", title=title, year=2000 + number, channel=movies
        )
        await itx.wait_done(timeout=10)
        assert "Added" in itx.texts()
    movies.clear_overwrites()
    for (card_id,) in await db_rows(club, "SELECT card_message_id FROM movies"):
        card = emu.world.message(movies, card_id)
        assert card is not None
        for emoji in SCORE_EMOJI:
            emu.world.add_reaction(card, guild.me, emoji)
    return {
        title: movie_id for movie_id, title in await db_rows(club, "SELECT id, title FROM movies")
    }


async def rate_many(club: Club, ids: dict[str, int], table: dict[str, list[int]]) -> None:
    """Ratings the club gave before this test, title -> scores (member i gives scores[i]),
    written straight to the database: no card edits to wait for."""
    assert club.db is not None
    async with club.db.session() as s:
        for title, scores in table.items():
            for member, score in enumerate(scores):
                await s.ratings.put(ids[title], 9000 + member, score, "command", "2026-11-01")


async def schedule(club: Club, **values: Any) -> Any:
    picks = club.guild.channel("picks")
    itx = await club.emu.slash(
        club.guild.admin,
        "club schedule",
        weekday=values.get("weekday", "Friday"),
        time=values.get("time", "20:00"),
        timezone=values.get("timezone", "Europe/Berlin"),
        options={"channel": picks},
    )
    await itx.wait_done()
    return itx


async def suggest(club: Club, titles: list[str]) -> None:
    for number, title in enumerate(titles):
        member = club.guild.member(f"fan{number}")
        choices = await club.emu.autocomplete(member, "watch suggest", focused="movie", value=title)
        itx = await club.emu.slash(member, "watch suggest", movie=choices[0]["value"])
        await itx.wait_done()
        assert itx.ephemeral and "to the pick pool" in itx.texts(), itx.texts()


async def pick_now(club: Club, member: Any = None) -> Any:
    itx = await club.emu.slash(member or club.guild.admin, "club pick-now")
    await itx.wait_done(timeout=15)
    return itx


async def deny(club: Club, perm: Perm) -> None:
    """Deny the bot a permission in the picks channel, as an admin would (CHANNEL_UPDATE)."""
    picks = club.guild.channel("picks")
    picks.deny(club.guild.me, perm)
    club.emu.world.update_channel(picks)
    assert club.bot is not None
    bot = club.bot

    def cache_knows() -> bool:
        channel = bot.get_channel(picks.id)
        assert isinstance(channel, discord.TextChannel)
        granted = channel.permissions_for(channel.guild.me)
        return not (granted.value & int(perm))

    await club.emu.wait_for(cache_knows, what="the bot to see the new overwrite")


def weekly_posts(club: Club) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pick messages, poll messages) in the picks channel, oldest first."""
    messages = club.emu.world.messages(club.guild.channel("picks"))
    picks = [m for m in messages if m.get("embeds") and "Weekly pick" in str(m["embeds"])]
    return picks, [m for m in messages if m.get("poll")]


RATINGS = {  # eight members; Parasite's fans loved Memento, which few have seen
    "Parasite": [9, 10, 9, 9, 8, 7, 9, 8],
    "Heat": [6, 7, 5, 6, 7, 6, 5, 6],
    "Alien": [8, 7, 8, 6, 7, 8, 7, 7],
    "Memento": [9, 9],
    "Zodiac": [6],
}


# -- the full post -------------------------------------------------------------------------------
async def test_pick_now_posts_the_pick_poll_recommendations_and_thread(club: Club) -> None:
    emu, guild = club.emu, club.guild
    ids = await catalog(club)
    await rate_many(club, ids, RATINGS)
    reply = await schedule(club)
    assert reply.ephemeral
    friday = int(FRIDAY_W47.timestamp())
    assert (
        f"every **Friday 20:00 (Europe/Berlin)** in <#{guild.channel('picks').id}>" in reply.texts()
    )
    assert f"<t:{friday}:F>" in reply.texts()
    for thread in list(guild.thread_channels.values()):
        await emu.archive_thread(thread)  # a week after its last message
    await suggest(club, ["Arrival", "Amélie", "Ran", "Heat"])
    pool = await emu.slash(guild.member("fan9"), "watch pool")
    await pool.wait_done()
    assert "Arrival (2003)" in pool.texts() and f"<@{guild.member('fan0').id}>" in pool.texts()

    itx = await pick_now(club)
    assert itx.kind == 5 and itx.ephemeral  # deferred at once: the post takes requests
    assert "Posted this week's pick in" in itx.texts()
    (post,), (poll,) = weekly_posts(club)
    assert int(post["id"]) < int(poll["id"])
    pick_embed, recs_embed = post["embeds"]
    run = (
        await db_rows(
            club,
            "SELECT week_key, status, pick_movie_id, pick_message_id, poll_message_id, thread_id, "
            "pick_reason FROM watch_runs",
        )
    )[0]
    week, status, pick_id, pick_message, poll_message, thread_id, reason = run
    assert (week, status, reason) == ("2026-W47", "posted", "predicted")
    assert (pick_message, poll_message) == (int(post["id"]), int(poll["id"]))
    title = next(t for t, i in ids.items() if i == pick_id)
    label = f"{title} ({2000 + TITLES.index(title)})"
    assert pick_embed["title"] == f"This week's pick: {label}"
    assert pick_embed["footer"]["text"] == "Weekly pick · 2026-W47"
    assert f"<#{thread_id}>" in pick_embed["description"]
    thread = guild.thread(thread_id)
    assert thread.name == f"{label} · spoilers" and not thread.archived  # re-opened
    assert "predicted to like best" in pick_embed["description"]
    assert f"<t:{int(FRIDAY_W48.timestamp())}:F>" in pick_embed["description"]

    lines = recs_embed["description"].splitlines()
    assert len(lines) == 3
    assert all(" — " in line for line in lines)  # each with its one-line reason
    assert lines[0].startswith("1. **Memento (2005)**")
    assert "members who rated *Parasite (2000)* 9+ gave this 9.0 on average" in lines[0]
    watched = {"Parasite", "Heat", "Alien", title}
    assert not any(f"**{w} (" in line for w in watched for line in lines)

    answers = [a["poll_media"]["text"] for a in poll["poll"]["answers"]]
    pool_titles = ["Arrival (2003)", "Amélie (2004)", "Ran (2007)", "Heat (2001)"]
    assert answers == [t for t in pool_titles if t != label]
    assert "Weekly pick · 2026-W47" in poll["poll"]["question"]["text"]
    expiry = datetime.fromisoformat(poll["poll"]["expiry"])
    hours = (FRIDAY_W48 - MONDAY_W47).total_seconds() / 3600
    assert abs((expiry - datetime.now(UTC)).total_seconds() / 3600 - hours) < 0.1
    left = await db_rows(club, "SELECT movie_id FROM watch_pool")
    assert pick_id not in {r[0] for r in left} and len(left) == 3

    history = await emu.slash(guild.member("fan9"), "watch history")
    await history.wait_done()
    assert f"**2026-W47** · {label}" in history.texts()
    again = await pick_now(club)
    assert "already out" in again.texts() and str(post["id"]) in again.texts()
    picks_posts = [c for c in emu.calls_to(POST_ROUTE) if str(guild.channel("picks").id) in c.path]
    assert len(picks_posts) == 2  # the pick and the poll; nothing twice
    assert_nothing_can_ping(club)


async def test_next_weeks_pick_is_the_poll_winner(club: Club, week_clock: ManualClock) -> None:
    emu, guild = club.emu, club.guild
    await stop_loop(club)
    ids = await catalog(club, TITLES[:5])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat", "Alien", "Arrival", "Amélie"])
    week_clock.set(FRIDAY_W47)
    (first,) = await cog(club).run_due()
    assert first.outcome is Outcome.POSTED
    _, (poll,) = weekly_posts(club)
    answers = {
        a["poll_media"]["text"].split(" (")[0]: a["answer_id"] for a in poll["poll"]["answers"]
    }
    winner = next(t for t in ("Arrival", "Heat", "Alien") if t in answers)
    runner_up = next(t for t in answers if t != winner)
    picks = guild.channel("picks")
    for name in ("v1", "v2"):
        await emu.vote_poll(guild.member(name), picks, int(poll["id"]), answers[winner])
    await emu.vote_poll(guild.member("v3"), picks, int(poll["id"]), answers[runner_up])

    week_clock.set(FRIDAY_W48 - timedelta(minutes=1))
    assert await cog(club).run_due() == []
    week_clock.set(FRIDAY_W48)
    (second,) = await cog(club).run_due()
    assert second.outcome is Outcome.POSTED and second.week == "2026-W48"
    assert [c.path for c in emu.calls_to(EXPIRE_ROUTE)] == [
        f"/channels/{picks.id}/polls/{poll['id']}/expire"
    ]
    assert poll["poll"]["results"]["is_finalized"]
    assert second.run is not None and second.run.pick_movie_id == ids[winner]
    (_, post), (_, new_poll) = weekly_posts(club)
    assert "Last week's poll winner, with **2** votes." in post["embeds"][0]["description"]
    new_answers = [a["poll_media"]["text"] for a in new_poll["poll"]["answers"]]
    assert not any(a.startswith(winner) for a in new_answers)
    counts = await db_rows(
        club,
        "SELECT a.movie_id, a.votes FROM watch_poll_answers a JOIN watch_runs r ON r.id = a.run_id "
        "WHERE r.week_key = '2026-W47' AND a.votes > 0 ORDER BY a.votes DESC",
    )
    assert counts == [(ids[winner], 2), (ids[runner_up], 1)]


# -- exactly once across a crash and while offline -----------------------------------------------
async def test_killed_between_posting_and_recording_then_restarted_posts_once(
    club: Club, week_clock: ManualClock
) -> None:
    """The bot dies after Discord accepted the post and before the database recorded it: the
    publisher's reply is held (the process is frozen there), then the run and the bot are
    cancelled and closed — a ``started`` row and a post in the channel, as a kill leaves them.
    The restarted bot's first tick finds the post by its marker and records it."""
    emu = club.emu
    await stop_loop(club)
    await catalog(club, TITLES[:4])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat", "Alien"])
    watch_cog = cog(club)
    real_publish = watch_cog.publisher.publish
    posted = asyncio.Event()

    async def publish_then_die(post: Any, found: Any) -> PostedIds:
        await real_publish(post, found)
        posted.set()
        await asyncio.Event().wait()  # never returns: the process is gone
        raise AssertionError("unreachable")

    watch_cog.publisher.publish = publish_then_die
    week_clock.set(FRIDAY_W47)
    tick = asyncio.create_task(watch_cog.run_due())
    await asyncio.wait_for(posted.wait(), 10)
    tick.cancel()
    with pytest.raises(asyncio.CancelledError):
        await tick
    await club.stop()
    assert await db_rows(club, "SELECT week_key, status, pick_message_id FROM watch_runs") == [
        ("2026-W47", "started", None)
    ]
    (post,), (poll,) = weekly_posts(club)
    # A lively channel while the bot is down: the post is no longer among the last 100.
    chatter = club.guild.add_member("chatter")
    for i in range(150):
        await emu.post_message(chatter, int(post["channel_id"]), f"which one next? {i}")

    week_clock.set(FRIDAY_W47 + timedelta(minutes=3))
    await club.start()  # the loop's first tick runs as soon as the bot is ready

    async def recorded() -> None:
        found = await db_rows(
            club, "SELECT status, pick_message_id, poll_message_id FROM watch_runs"
        )
        assert found == [("posted", int(post["id"]), int(poll["id"]))]

    await eventually(recorded)
    await stop_loop(club)
    assert await cog(club).run_due() == []
    assert weekly_posts(club) == ([post], [poll])  # still one post, one poll
    assert len(emu.calls_to(HISTORY_ROUTE)) >= 1  # it looked for the marker


async def test_offline_across_the_slot_posts_once_when_back(
    club: Club, week_clock: ManualClock
) -> None:
    await catalog(club, TITLES[:4])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat", "Alien"])
    week_clock.set(FRIDAY_W47 - timedelta(hours=1))
    await club.stop()  # offline from 19:00 ...
    assert weekly_posts(club) == ([], [])
    week_clock.set(FRIDAY_W47 + timedelta(hours=2, minutes=13))  # ... until 22:13
    await club.start()

    async def posted() -> None:
        assert await db_rows(club, "SELECT week_key, status FROM watch_runs") == [
            ("2026-W47", "posted")
        ]

    await eventually(posted)
    await stop_loop(club)
    for minutes in (1, 30, 60 * 24):
        week_clock.set(FRIDAY_W47 + timedelta(hours=2, minutes=13 + minutes))
        assert await cog(club).run_due() == []
    picks, polls = weekly_posts(club)
    assert len(picks) == 1 and len(polls) == 1


async def test_0230_on_the_spring_forward_day_posts_once_at_0330(
    emu: Emulator, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 3, 23, 9, 0, tzinfo=BERLIN))
    async with running(emu, tmp_path / "club.db", clock) as club:
        await stop_loop(club)
        await catalog(club, TITLES[:3])
        await schedule(club, weekday="Sunday", time="02:30")
        await suggest(club, ["Parasite", "Heat", "Alien"])
        posted_at = []
        now = datetime(2026, 3, 29, 0, 45, tzinfo=UTC)  # 01:45 CET
        while now < datetime(2026, 3, 29, 2, 15, tzinfo=UTC):
            clock.set(now)
            if await cog(club).run_due():
                posted_at.append(now)
            now += timedelta(minutes=1)
        assert posted_at == [datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]  # 03:30 CEST
        assert len(weekly_posts(club)[0]) == 1


# -- many guilds in the same minute --------------------------------------------------------------
@pytest.mark.real_rate_limits
async def test_twenty_guilds_due_in_the_same_minute_all_post_without_a_429(
    emu: Emulator, tmp_path: Path, intervals: Intervals
) -> None:
    """Four requests a guild: 80 in one tick, more than Discord's 50 a second allow at once."""
    clubs = add_guilds(emu.world, 20)
    clock = ManualClock(FRIDAY_W47 - timedelta(minutes=10))
    await fill_database(tmp_path / "club.db", clock, clubs, seed=7)
    async with running(emu, tmp_path / "club.db", clock, intervals=intervals) as club:
        await stop_loop(club)
        clock.set(FRIDAY_W47)
        first = await cog(club).run_due()
        await vote(emu, clubs, seed=7)
        clock.set(FRIDAY_W48)
        calls_before = len(emu.calls)
        second = await cog(club).run_due()
        tick_calls = emu.calls[calls_before:]
    assert [r.outcome for r in first] == [Outcome.POSTED] * 20
    assert [r.outcome for r in second] == [Outcome.POSTED] * 20
    assert all(r.run is not None and r.run.pick_reason == "poll" for r in second)
    assert [posts_in(emu, c) for c in clubs] == [(2, 2)] * 20
    assert len(tick_calls) == 80
    assert emu.rate_limited == 0


# -- permissions and bad input -------------------------------------------------------------------
async def test_without_send_polls_the_pick_goes_out_and_the_admin_is_told(club: Club) -> None:
    await catalog(club, TITLES[:3])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat", "Alien"])
    await deny(club, Perm.SEND_POLLS)
    warned = await schedule(club)
    assert "Without the **Send Polls** permission there, the post will have no poll" in (
        warned.texts()
    )
    itx = await pick_now(club)
    assert "Posted this week's pick" in itx.texts()
    assert "I need the **Send Polls** permission" in itx.texts()
    (post,), polls = weekly_posts(club)
    assert polls == []
    assert "No poll this week: I need the **Send Polls** permission" in str(post["embeds"])
    assert await db_rows(club, "SELECT status, poll_message_id FROM watch_runs") == [
        ("posted", None)
    ]


async def test_without_send_messages_nothing_is_posted_or_recorded(club: Club) -> None:
    await catalog(club, TITLES[:2])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat"])
    picks = club.guild.channel("picks")
    await deny(club, Perm.SEND_MESSAGES)  # the bot knows before it tries
    itx = await pick_now(club)
    assert itx.ephemeral
    assert f"I can't post the weekly pick in <#{picks.id}>: I need **Send Messages**" in (
        itx.texts()
    )
    assert await db_rows(club, "SELECT * FROM watch_runs") == []
    assert len(await db_rows(club, "SELECT * FROM watch_pool")) == 2


async def test_a_refused_post_keeps_nothing(club: Club) -> None:
    """Discord refuses the post though the bot's cache said it may (the overwrite changed and
    no CHANNEL_UPDATE has arrived yet): nothing went out, so the run is forgotten."""
    await catalog(club, TITLES[:2])
    await schedule(club)
    await suggest(club, ["Parasite", "Heat"])
    picks = club.guild.channel("picks")
    picks.deny(club.guild.me, Perm.SEND_MESSAGES)
    itx = await pick_now(club)
    assert itx.ephemeral
    assert f"I couldn't post the weekly pick in <#{picks.id}>" in itx.texts()
    assert await db_rows(club, "SELECT * FROM watch_runs") == []
    assert len(await db_rows(club, "SELECT * FROM watch_pool")) == 2
    picks.clear_overwrites()
    again = await pick_now(club)
    assert "Posted this week's pick" in again.texts()
    assert [len(found) for found in weekly_posts(club)] == [1, 0]  # one movie left: no poll


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"weekday": "Someday"}, "is not a day of the week"),
        ({"time": "8"}, "is not a time of day"),
        ({"timezone": "Mars/Olympus"}, "is not a time zone I know"),
    ],
)
async def test_bad_schedule_input_is_explained_and_changes_nothing(
    club: Club, values: dict[str, str], says: str
) -> None:
    itx = await schedule(club, **values)
    assert itx.ephemeral and says in itx.texts()
    assert await db_rows(club, "SELECT * FROM watch_schedules") == []
    assert await db_rows(club, "SELECT * FROM guild_settings") == []


async def test_members_may_suggest_but_not_schedule_or_pick(club: Club) -> None:
    await catalog(club, TITLES[:1])
    member = club.guild.member("bob")
    for path, values in (
        ("club pick-now", {}),
        ("club schedule", {"weekday": "fri", "time": "8pm"}),
    ):
        itx = await club.emu.slash(member, path, **values)
        await itx.wait_done()
        assert itx.ephemeral and "You need the **Manage Server** permission" in itx.texts()
    await suggest(club, ["Parasite"])
    again = await club.emu.slash(member, "watch suggest", movie="Parasite (2000)")
    await again.wait_done()
    assert again.ephemeral and "already in the pool" in again.texts()
    unknown = await club.emu.slash(member, "watch suggest", movie="Nope")
    await unknown.wait_done()
    assert unknown.ephemeral and "No movie called `Nope`" in unknown.texts()
    assert len(await db_rows(club, "SELECT * FROM watch_pool")) == 1
    assert await db_rows(club, "SELECT * FROM watch_runs") == []


async def test_schedule_autocompletes_days_and_zones(club: Club) -> None:
    admin = club.guild.admin
    days = await club.emu.autocomplete(
        admin, "club schedule", focused="weekday", value="t", time="20:00"
    )
    assert [c["name"] for c in days] == ["Tuesday", "Thursday"]
    zones = await club.emu.autocomplete(
        admin, "club schedule", focused="timezone", value="berl", weekday="Friday", time="20:00"
    )
    assert [c["value"] for c in zones] == ["Europe/Berlin"]
