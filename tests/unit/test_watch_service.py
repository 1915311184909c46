"""WatchService against a real migrated database, an injected clock and a fake Discord side.

The scheduler is driven the way the cog drives it — ``run_due`` once a minute (more coarsely far
from any slot) — while the clock moves; every post the fake publisher makes is recorded with the
instant it happened.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.errors import BotMissingPermissions, ConstraintViolation, Duplicate, InvalidInput
from bot.domain.movies import Movie
from bot.domain.watch import PollAnswer, PoolEntry
from bot.services import Services, build_services
from bot.services.watch import (
    ChannelCheck,
    FoundPost,
    Note,
    Outcome,
    PostedIds,
    ThreadResult,
    WatchService,
    WeeklyPost,
    best_predicted,
    marker,
    poll_hours,
    poll_winner,
    watched_movies,
)
from bot.storage.database import Database
from bot.storage.sqlite import SqliteQueries
from bot.storage.watch import WatchRepository
from bot.ui.pacing import Pacer

GUILD = 500
PICKS = 600  # the picks channel
HERE = 601  # where /club schedule was used
BERLIN = "Europe/Berlin"
MINUTE = timedelta(minutes=1)


def berlin(year: int, month: int, day: int, hour: int, minute: int, *, fold: int = 0) -> datetime:
    wall = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN), fold=fold)
    return wall.astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Crash(Exception):
    """The process dies at this point (nothing after it runs)."""


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    footer: str | None = None
    poll_question: str | None = None
    poll_movies: tuple[int, ...] = ()


@dataclass
class Posted:
    at: datetime
    post: WeeklyPost
    message_id: int


@dataclass
class FakePublisher:
    """Discord as the service sees it: channels, messages with markers, polls with votes."""

    clock: ManualClock
    channels: set[int] = field(default_factory=lambda: {PICKS, HERE})
    can_post: bool = True
    can_poll: bool = True
    can_read_history: bool = True
    crash_after: str | None = None  # "pick" or "poll": die right after sending that message
    refuse_poll: bool = False
    messages: list[FakeMessage] = field(default_factory=list)
    posts: list[Posted] = field(default_factory=list)
    votes: dict[int, dict[int, int]] = field(default_factory=dict)  # poll message -> answer: n
    closed: list[int] = field(default_factory=list)
    searches: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(10_000))

    def channel_for(self, guild_id: int, candidates: Sequence[int | None]) -> int | None:
        return next((c for c in candidates if c in self.channels), None)

    def check_channel(self, channel_id: int) -> ChannelCheck:
        missing = () if self.can_post else ("Send Messages",)
        return ChannelCheck(self.can_post, self.can_poll, self.can_read_history, missing)

    def quote(self, title: str) -> str:
        return title.replace("*", "\\*")

    async def close_poll(self, channel_id: int, message_id: int) -> Mapping[int, int] | None:
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        self.closed.append(message_id)
        if not any(m.id == message_id for m in self.messages):
            return None
        return dict(self.votes.get(message_id, {}))

    async def find_post(self, channel_id: int, marker: str, since: datetime) -> FoundPost:
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        self.searches += 1
        here = [m for m in self.messages if m.channel_id == channel_id]
        pick = next((m.id for m in here if m.footer == marker), None)
        poll = next((m.id for m in here if m.poll_question and marker in m.poll_question), None)
        return FoundPost(pick, poll)

    async def open_thread(self, movie: Movie) -> ThreadResult:
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        return ThreadResult(movie.thread_id or 90_000 + movie.id)

    async def publish(self, post: WeeklyPost, found: FoundPost) -> PostedIds:
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        pick_id = found.pick_message_id
        if pick_id is None:
            pick_id = next(self._ids)
            self.messages.append(FakeMessage(pick_id, post.channel_id, footer=post.marker))
            self.posts.append(Posted(self.clock.now(), post, pick_id))
            if self.crash_after == "pick":
                raise Crash
        poll_id = found.poll_message_id
        if post.poll is not None and poll_id is None:
            if self.refuse_poll:
                return PostedIds(pick_id, None, poll_refused=True)
            poll_id = next(self._ids)
            movies = tuple(m.id for m in post.poll.answers)
            self.messages.append(
                FakeMessage(
                    poll_id, post.channel_id, poll_question=post.poll.question, poll_movies=movies
                )
            )
        if self.crash_after == "poll":
            raise Crash
        return PostedIds(pick_id, poll_id)

    # -- what members do ---------------------------------------------------------------------
    def vote(self, poll_message_id: int, movie_id: int, n: int = 1) -> None:
        poll = next(m for m in self.messages if m.id == poll_message_id)
        answer = poll.poll_movies.index(movie_id) + 1
        counts = self.votes.setdefault(poll_message_id, {})
        counts[answer] = counts.get(answer, 0) + n

    def last_poll(self) -> FakeMessage:
        return [m for m in self.messages if m.poll_question][-1]


@pytest.fixture
def publisher(clock: ManualClock) -> FakePublisher:
    return FakePublisher(clock)


async def _movies(services: Services, count: int, *, member: int = 1) -> list[Movie]:
    return [
        await services.movies.add_entry(GUILD, member, f"Film {i:02d}", 1990 + i)
        for i in range(count)
    ]


async def _suggest(services: Services, movies: Sequence[Movie], member: int = 7) -> None:
    for movie in movies:
        await services.watch.suggest(movie, member)


async def _schedule(
    services: Services, weekday: str, at: str, timezone: str | None = BERLIN
) -> None:
    await services.watch.set_schedule(
        GUILD, weekday=weekday, at=at, timezone=timezone, channel_id=None, here_channel_id=PICKS
    )


async def _rows(
    db: Database, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    async with db.reader() as s:
        return [tuple(row) for row in await s.queries.all(sql, params)]


async def _runs(db: Database) -> list[tuple[object, ...]]:
    return await _rows(
        db, "SELECT week_key, status, pick_movie_id FROM watch_runs ORDER BY week_key"
    )


def _ticks(start: datetime, end: datetime, near: Sequence[datetime]) -> Iterator[datetime]:
    """Every minute within 90 minutes of an instant in ``near``, every 20 minutes elsewhere."""
    now = start
    while now < end:
        yield now
        close = any(abs(now - instant) <= timedelta(minutes=90) for instant in near)
        now += MINUTE if close else timedelta(minutes=20)


@dataclass
class Sim:
    services: Services
    publisher: FakePublisher
    clock: ManualClock


async def _simulate(
    sim: Sim, start: datetime, end: datetime, near: Sequence[datetime]
) -> list[tuple[str, datetime]]:
    """Run the scheduler over [start, end); (week, instant) of every post it made."""
    before = len(sim.publisher.posts)
    for now in _ticks(start, end, near):
        sim.clock.set(now)
        await sim.services.watch.run_due(sim.publisher, [GUILD])
    return [(p.post.week, p.at) for p in sim.publisher.posts[before:]]


async def _stocked(services: Services, movies: int = 30) -> list[Movie]:
    """A catalog and a pool deep enough for many weekly picks."""
    films = await _movies(services, movies)
    await _suggest(services, films)
    return films


# -- the pool ------------------------------------------------------------------------------------
async def test_suggest_puts_a_movie_in_the_pool_once(services: Services, db: Database) -> None:
    parasite, heat = await _movies(services, 2)
    pool = await services.watch.suggest(parasite, 7)
    assert [(e.movie.id, e.suggested_by) for e in pool] == [(parasite.id, 7)]
    with pytest.raises(Duplicate, match=r"already in the pool \(suggested by <@7>\)"):
        await services.watch.suggest(parasite, 8)
    await services.watch.suggest(heat, 8)
    assert [e.movie.id for e in await services.watch.pool(GUILD)] == [parasite.id, heat.id]
    assert await _rows(db, "SELECT count(*) FROM watch_pool") == [(2,)]


async def test_a_past_pick_cannot_be_suggested_again(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    (film,) = await _movies(services, 1)
    await _suggest(services, [film])
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert result.outcome is Outcome.POSTED and result.run is not None
    assert result.run.pick_movie_id == film.id
    assert await services.watch.pool(GUILD) == []  # the pick left the pool
    with pytest.raises(InvalidInput, match=r"already the club's pick \(week 2026-W47\)"):
        await services.watch.suggest(film, 9)
    assert await _rows(db, "SELECT count(*) FROM watch_pool") == [(0,)]


# -- the schedule --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    [
        ("Someday", "20:00", None, "not a day of the week"),
        ("Friday", "25:00", None, "not a time of day"),
        ("Friday", "8", None, "not a time of day"),
        ("Friday", "20:00", "Mars/Olympus", "not a time zone I know"),
    ],
)
async def test_bad_schedule_input_changes_nothing(
    services: Services, db: Database, case: tuple[str, str, str | None, str]
) -> None:
    weekday, at, timezone, says = case
    with pytest.raises(InvalidInput, match=says):
        await services.watch.set_schedule(
            GUILD,
            weekday=weekday,
            at=at,
            timezone=timezone,
            channel_id=PICKS,
            here_channel_id=HERE,
        )
    assert await _rows(db, "SELECT * FROM watch_schedules") == []
    assert await _rows(db, "SELECT * FROM guild_settings") == []


async def test_schedule_saves_zone_and_channel_and_says_when(
    services: Services, clock: ManualClock, db: Database
) -> None:
    clock.set(berlin(2026, 11, 18, 12, 0))  # a Wednesday
    info = await services.watch.set_schedule(
        GUILD,
        weekday="fri",
        at="8pm",
        timezone="europe/berlin",
        channel_id=None,
        here_channel_id=HERE,
    )
    assert (info.schedule.weekday, info.schedule.time, info.schedule.timezone) == (
        4,
        "20:00",
        BERLIN,
    )
    assert info.next_post == berlin(2026, 11, 20, 20, 0)
    assert info.posts_in == HERE
    settings = await services.club.settings(GUILD)
    assert (settings.timezone, settings.picks_channel_id) == (BERLIN, None)
    # Naming a channel makes it the club's picks channel.
    info = await services.watch.set_schedule(
        GUILD, weekday="Sunday", at="10:00", timezone=None, channel_id=PICKS, here_channel_id=HERE
    )
    assert info.posts_in == PICKS
    assert (await services.club.settings(GUILD)).picks_channel_id == PICKS
    assert await _rows(db, "SELECT weekday, time, channel_id FROM watch_schedules") == [
        (6, "10:00", PICKS)
    ]


# -- exactly one post at the right instant -------------------------------------------------------
async def test_berlin_evening_schedule_across_both_dst_changes(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    clock.set(utc(2026, 3, 9))
    await _schedule(services, "Friday", "20:00")
    spring = [berlin(2026, 3, d, 20, 0) for d in (13, 20, 27)] + [berlin(2026, 4, 3, 20, 0)]
    posts = await _simulate(
        Sim(services, publisher, clock), utc(2026, 3, 9), utc(2026, 4, 6), spring
    )
    assert posts == [
        ("2026-W11", utc(2026, 3, 13, 19)),  # CET: UTC+1
        ("2026-W12", utc(2026, 3, 20, 19)),
        ("2026-W13", utc(2026, 3, 27, 19)),  # the last Friday before the change (Sun 29th)
        ("2026-W14", utc(2026, 4, 3, 18)),  # CEST: UTC+2
    ]
    autumn = [berlin(2026, 10, d, 20, 0) for d in (16, 23, 30)]
    posts = await _simulate(
        Sim(services, publisher, clock), utc(2026, 10, 12), utc(2026, 11, 2), autumn
    )
    assert posts == [
        ("2026-W42", utc(2026, 10, 16, 18)),
        ("2026-W43", utc(2026, 10, 23, 18)),  # CEST until Sunday 25th
        ("2026-W44", utc(2026, 10, 30, 19)),  # CET again
    ]


async def test_0230_on_the_spring_forward_day_posts_once_just_after_the_gap(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    clock.set(utc(2026, 3, 16))
    await _schedule(services, "Sunday", "02:30")
    slots = [utc(2026, 3, 22, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 4, 5, 0, 30)]
    posts = await _simulate(
        Sim(services, publisher, clock), utc(2026, 3, 16), utc(2026, 4, 6), slots
    )
    assert posts == [
        ("2026-W12", utc(2026, 3, 22, 1, 30)),  # 02:30 CET
        ("2026-W13", utc(2026, 3, 29, 1, 30)),  # 02:30 does not exist: 03:30 CEST
        ("2026-W14", utc(2026, 4, 5, 0, 30)),  # 02:30 CEST
    ]


async def test_0230_on_the_fall_back_day_posts_at_the_first_0230_only(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    clock.set(utc(2026, 10, 19))
    await _schedule(services, "Sunday", "02:30")
    first, second = berlin(2026, 10, 25, 2, 30), berlin(2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(hours=1)
    posts = await _simulate(
        Sim(services, publisher, clock), utc(2026, 10, 19), utc(2026, 10, 26), [first, second]
    )
    assert posts == [("2026-W43", utc(2026, 10, 25, 0, 30))]


async def test_iso_week_53_then_week_1_each_post_once(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    clock.set(utc(2026, 12, 21))
    await _schedule(services, "Wednesday", "20:00")
    slots = [berlin(2026, 12, 23, 20, 0), berlin(2026, 12, 30, 20, 0), berlin(2027, 1, 6, 20, 0)]
    posts = await _simulate(
        Sim(services, publisher, clock), utc(2026, 12, 21), utc(2027, 1, 11), slots
    )
    assert posts == [
        ("2026-W52", utc(2026, 12, 23, 19)),
        ("2026-W53", utc(2026, 12, 30, 19)),
        ("2027-W01", utc(2027, 1, 6, 19)),
    ]
    assert publisher.posts[1].post.next_post == utc(2027, 1, 6, 19)  # week 53's poll runs into W01
    assert publisher.posts[1].post.poll is not None
    assert publisher.posts[1].post.poll.hours == 7 * 24


async def test_schedule_changed_mid_week(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    start = berlin(2026, 11, 16, 9, 0)  # Monday of 2026-W47
    clock.set(start)
    await _schedule(services, "Friday", "20:00")
    # Tuesday: moved to Thursday 18:00, still ahead: the post waits for the new slot only.
    clock.set(berlin(2026, 11, 17, 12, 0))
    await _schedule(services, "Thursday", "18:00")
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 11, 17, 12, 0),
        berlin(2026, 11, 21, 12, 0),
        [berlin(2026, 11, 19, 18, 0), berlin(2026, 11, 20, 20, 0)],
    )
    assert posts == [("2026-W47", berlin(2026, 11, 19, 18, 0))]
    # Saturday, after this week's post: moved to Sunday 10:00 — nothing more this week; next
    # week's post at the new slot, not on Thursday.
    await _schedule(services, "Sunday", "10:00")
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 11, 21, 12, 0),
        berlin(2026, 11, 30, 12, 0),
        [berlin(2026, 11, 22, 10, 0), berlin(2026, 11, 26, 18, 0), berlin(2026, 11, 29, 10, 0)],
    )
    assert posts == [("2026-W48", berlin(2026, 11, 29, 10, 0))]
    # Tuesday of W49, no post yet this week: moved to Monday 09:00, already past — posts at once.
    clock.set(berlin(2026, 12, 1, 15, 0))
    await _schedule(services, "Monday", "09:00")
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 12, 1, 15, 0),
        berlin(2026, 12, 3, 0, 0),
        [berlin(2026, 12, 1, 15, 0)],
    )
    assert posts == [("2026-W49", berlin(2026, 12, 1, 15, 0))]


async def test_offline_across_the_slot_posts_once_on_return_in_the_same_week(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services)
    clock.set(berlin(2026, 11, 16, 9, 0))
    await _schedule(services, "Friday", "20:00")
    online = Sim(services, publisher, clock)
    await _simulate(online, berlin(2026, 11, 16, 9, 0), berlin(2026, 11, 20, 18, 0), [])
    assert publisher.posts == []
    # Offline until Saturday 11:07; the first tick after the return posts, once.
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 11, 21, 11, 7),
        berlin(2026, 11, 22, 23, 0),
        [berlin(2026, 11, 21, 11, 7)],
    )
    assert posts == [("2026-W47", berlin(2026, 11, 21, 11, 7))]


async def test_offline_for_a_whole_week_skips_it_and_logs(
    services: Services,
    publisher: FakePublisher,
    clock: ManualClock,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _stocked(services)
    clock.set(berlin(2026, 11, 16, 9, 0))
    await _schedule(services, "Friday", "20:00")
    await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 11, 20, 19, 0),
        berlin(2026, 11, 21, 0, 0),
        [berlin(2026, 11, 20, 20, 0)],
    )
    # Offline from Saturday of W47 to Saturday of W49: W48 is skipped, W49 goes out at once.
    caplog.set_level(logging.INFO, logger="bot.services.watch")
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 12, 5, 9, 0),
        berlin(2026, 12, 6, 0, 0),
        [berlin(2026, 12, 5, 9, 0)],
    )
    assert posts == [("2026-W49", berlin(2026, 12, 5, 9, 0))]
    assert [r[:2] for r in await _runs(db)] == [("2026-W47", "posted"), ("2026-W49", "posted")]
    assert any(
        "skipped 1 missed week(s) 2026-W48..2026-W48" in r.getMessage() for r in caplog.records
    )


# -- a crash never leads to a second post --------------------------------------------------------
async def _restart(db: Database, clock: ManualClock) -> WatchService:
    """A new process: nothing in memory survives, the database does."""
    return WatchService(db, clock)


async def test_killed_between_posting_and_recording_posts_nothing_twice(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    publisher.crash_after = "poll"
    assert await services.watch.run_due(publisher, [GUILD]) == []  # the run died
    assert len(publisher.posts) == 1
    assert [r[:2] for r in await _runs(db)] == [("2026-W47", "started")]

    publisher.crash_after = None
    watch = await _restart(db, clock)
    clock.advance(timedelta(seconds=30))
    (result,) = await watch.run_due(publisher, [GUILD])
    assert result.outcome is Outcome.FOUND
    assert len(publisher.posts) == 1  # found by its marker, not posted again
    assert len([m for m in publisher.messages if m.poll_question]) == 1
    assert result.run is not None and result.run.status == "posted"
    assert result.run.pick_message_id == publisher.posts[0].message_id
    assert result.run.poll_message_id == publisher.last_poll().id
    # And a later tick, or pick-now, leaves it alone.
    assert await watch.run_due(publisher, [GUILD]) == []
    again = await watch.run(GUILD, publisher, force=True)
    assert again.outcome is Outcome.ALREADY and again.link is not None
    assert len(publisher.posts) == 1


async def test_killed_between_the_pick_and_its_poll_posts_only_the_poll(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    publisher.crash_after = "pick"
    await services.watch.run_due(publisher, [GUILD])
    assert publisher.messages and not any(m.poll_question for m in publisher.messages)
    publisher.crash_after = None
    watch = await _restart(db, clock)
    (result,) = await watch.run_due(publisher, [GUILD])
    assert result.outcome is Outcome.FOUND
    assert len(publisher.posts) == 1
    assert len([m for m in publisher.messages if m.poll_question]) == 1
    assert [r[:2] for r in await _runs(db)] == [("2026-W47", "posted")]


async def test_killed_after_recording_the_start_posts_once_on_return(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    publisher.can_post = True
    publisher.channels = {PICKS}
    original = publisher.publish

    async def dies_before_posting(post: WeeklyPost, found: FoundPost) -> PostedIds:
        raise Crash

    publisher.publish = dies_before_posting  # type: ignore[method-assign]
    await services.watch.run_due(publisher, [GUILD])
    started = await _runs(db)
    assert [r[:2] for r in started] == [("2026-W47", "started")]
    publisher.publish = original  # type: ignore[method-assign]
    watch = await _restart(db, clock)
    (result,) = await watch.run_due(publisher, [GUILD])
    assert result.outcome is Outcome.POSTED
    assert len(publisher.posts) == 1
    assert publisher.searches == 1  # it looked before posting
    assert result.run is not None and result.run.pick_movie_id == started[0][2]  # same pick


async def test_a_run_that_died_in_a_week_now_over_is_skipped_and_its_pick_returns(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    original = publisher.publish

    async def dies(post: WeeklyPost, found: FoundPost) -> PostedIds:
        raise Crash

    publisher.publish = dies  # type: ignore[method-assign]
    await services.watch.run_due(publisher, [GUILD])
    publisher.publish = original  # type: ignore[method-assign]
    picked = (await _runs(db))[0][2]
    assert picked not in [e.movie.id for e in await services.watch.pool(GUILD)]
    clock.set(berlin(2026, 11, 27, 20, 0))  # back a week later, at W48's slot
    watch = await _restart(db, clock)
    (result,) = await watch.run_due(publisher, [GUILD])
    assert result.week == "2026-W48" and result.outcome is Outcome.POSTED
    assert [r[:2] for r in await _runs(db)] == [("2026-W47", "skipped"), ("2026-W48", "posted")]
    assert len(publisher.posts) == 1
    assert result.run is not None  # W47's pick went back: in the pool, or W48's pick
    pool = {e.movie.id for e in await services.watch.pool(GUILD)}
    assert picked in pool | {result.run.pick_movie_id}
    assert len(pool) == 4  # five suggested, one picked in W48


async def test_a_failed_run_waits_before_the_loop_retries(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 3)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    publisher.can_post = False
    assert await services.watch.run_due(publisher, [GUILD]) == []
    assert await _runs(db) == []  # refused before anything was recorded
    publisher.can_post = True
    clock.advance(timedelta(minutes=1))
    assert await services.watch.due_guilds([GUILD]) == []
    clock.advance(timedelta(minutes=5))
    assert await services.watch.due_guilds([GUILD]) == [GUILD]


# -- pick-now is the same path -------------------------------------------------------------------
async def test_pick_now_counts_as_the_weeks_post(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 18, 12, 0))  # Wednesday, before Friday's slot
    await _schedule(services, "Friday", "20:00")
    now = await services.watch.run(GUILD, publisher, force=True, here_channel_id=HERE)
    assert now.outcome is Outcome.POSTED and now.week == "2026-W47"
    assert now.next_post == berlin(2026, 11, 27, 20, 0)
    assert publisher.posts[0].post.poll is not None
    assert publisher.posts[0].post.poll.hours == 9 * 24 + 8  # until next week's slot
    posts = await _simulate(
        Sim(services, publisher, clock),
        berlin(2026, 11, 18, 12, 0),
        berlin(2026, 11, 28, 0, 0),
        [berlin(2026, 11, 20, 20, 0), berlin(2026, 11, 27, 20, 0)],
    )
    assert posts == [("2026-W48", berlin(2026, 11, 27, 20, 0))]
    again = await services.watch.run(GUILD, publisher, force=True)
    assert again.outcome is Outcome.ALREADY
    assert again.link == (
        f"https://discord.com/channels/{GUILD}/{PICKS}/{publisher.posts[-1].message_id}"
    )


async def test_two_processes_racing_for_the_week_post_it_once(
    services: Services,
    publisher: FakePublisher,
    clock: ManualClock,
    other_process_db: Database,
    expect_db_errors: Callable[..., None],
) -> None:
    """A shard moving between processes: both run the guild's week at the same moment, each on
    its own connections. UNIQUE (guild, week) is the claim; the loser finds the winner's run."""
    expect_db_errors("duplicate key value violates unique constraint")  # the loser's insert
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 18, 12, 0))
    other = build_services(other_process_db, clock)
    results = await asyncio.gather(
        services.watch.run(GUILD, publisher, force=True, here_channel_id=HERE),
        other.watch.run(GUILD, publisher, force=True, here_channel_id=HERE),
    )
    # The loser finds the week done, or (PostgreSQL) the winner still at it.
    assert sorted(r.outcome for r in results)[1] is Outcome.POSTED
    assert sorted(r.outcome for r in results)[0] in {Outcome.ALREADY, Outcome.BUSY}
    assert [p.post.week for p in publisher.posts] == ["2026-W47"]
    assert len(await _runs(other_process_db)) == 1
    again = await other.watch.run(GUILD, publisher, force=True)
    assert again.outcome is Outcome.ALREADY and len(publisher.posts) == 1


# SQLite has one writer across connections, so the other process could not commit inside our
# transaction there: this interleaving exists only on PostgreSQL.
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_the_claim_refused_by_the_database_is_another_process_having_the_week(  # noqa: PLR0917
    services: Services,
    publisher: FakePublisher,
    clock: ManualClock,
    other_process_db: Database,
    expect_db_errors: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backstop under the per-guild lock: should another process record this week between
    this one's check and its insert (its lock connection lost, say), the database refuses the
    second claim and this process posts nothing."""
    expect_db_errors("duplicate key value violates unique constraint")
    await _stocked(services, 5)
    clock.set(berlin(2026, 11, 18, 12, 0))
    real_start_run = WatchRepository.start_run

    async def start_run_after_the_other(self: WatchRepository, *args: Any, **kwargs: Any) -> int:
        monkeypatch.setattr(WatchRepository, "start_run", real_start_run)
        async with other_process_db.session() as s:  # the other process claims the week
            await s.watch.start_run(
                GUILD,
                "2026-W47",
                channel_id=HERE,
                started_at="2026-11-18T11:00:00+00:00",
                pick=None,
                poll_state="too_few_movies",
                poll_movie_ids=[],
            )
        return await real_start_run(self, *args, **kwargs)

    monkeypatch.setattr(WatchRepository, "start_run", start_run_after_the_other)
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=HERE)
    assert result.outcome is Outcome.ALREADY
    assert publisher.posts == []
    assert [r[:2] for r in await _runs(other_process_db)] == [("2026-W47", "started")]


async def test_pick_now_without_a_schedule_posts_where_it_was_used(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services, 3)
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=HERE)
    assert result.outcome is Outcome.POSTED
    post = publisher.posts[0].post
    assert post.channel_id == HERE and post.next_post is None
    assert post.poll is not None and post.poll.hours == 168


# -- the pick, the poll, the recommendations -----------------------------------------------------
async def test_last_weeks_poll_winner_is_this_weeks_pick(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    films = await _stocked(services, 14)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    (first,) = await services.watch.run_due(publisher, [GUILD])
    post = publisher.posts[0].post
    assert post.pick is not None and post.pick.reason == "predicted"
    assert post.poll is not None
    assert [m.id for m in post.poll.answers] == [f.id for f in films if f.id != post.pick.movie.id][
        :10
    ]  # the ten longest-waiting suggestions, in answer order
    poll = publisher.last_poll()
    winner = post.poll.answers[3]
    publisher.vote(poll.id, winner.id, 4)
    publisher.vote(poll.id, post.poll.answers[0].id, 2)
    clock.set(berlin(2026, 11, 27, 20, 0))
    (second,) = await services.watch.run_due(publisher, [GUILD])
    assert publisher.closed == [poll.id]  # ended at the next run and counted
    assert second.run is not None and second.run.pick_movie_id == winner.id
    this_week = publisher.posts[1].post
    assert this_week.pick is not None
    assert (this_week.pick.reason, this_week.pick.votes) == ("poll", 4)
    assert winner.id not in [m.id for m in this_week.poll.answers] if this_week.poll else True
    assert winner.id not in [e.movie.id for e in await services.watch.pool(GUILD)]
    counts = await _rows(
        db,
        "SELECT answer_id, votes FROM watch_poll_answers WHERE run_id = ? ORDER BY 1",
        (first.run.id if first.run else 0,),
    )
    assert counts[:5] == [(1, 2), (2, 0), (3, 0), (4, 4), (5, 0)]


def _entry(entry_id: int, movie_id: int, member: int, at: str) -> PoolEntry:
    return PoolEntry(entry_id, Movie(movie_id, GUILD, f"M{movie_id}", 2000, 1), member, at)


def test_poll_ties_go_to_the_suggester_with_fewer_picks_then_the_oldest_suggestion() -> None:
    pool = [
        _entry(1, 11, member=1, at="2026-01-01T00:00:00+00:00"),
        _entry(2, 12, member=2, at="2026-01-02T00:00:00+00:00"),
        _entry(3, 13, member=3, at="2026-01-03T00:00:00+00:00"),
    ]
    answers = [PollAnswer(1, 11, 3), PollAnswer(2, 12, 3), PollAnswer(3, 13, 3)]
    assert poll_winner(pool, answers, {1: 2, 2: 1, 3: 1}) == (pool[1], 3)  # 2 and 3 tie: older
    assert poll_winner(pool, answers, {1: 0, 2: 1, 3: 1}) == (pool[0], 3)
    assert poll_winner(pool, answers, {}) == (pool[0], 3)
    more = [PollAnswer(1, 11, 3), PollAnswer(2, 12, 1), PollAnswer(3, 13, 4)]
    assert poll_winner(pool, more, {3: 9}) == (pool[2], 4)  # votes first
    assert poll_winner(pool, [PollAnswer(1, 11, 0)], {}) is None  # no votes
    assert poll_winner(pool[1:], [PollAnswer(1, 11, 5)], {}) is None  # winner left the pool
    predicted = best_predicted(pool, {11: 7.0, 12: 7.5, 13: 7.5})
    assert predicted == (pool[1], 7.5)


def test_poll_hours_are_whole_and_within_discords_limits() -> None:
    now = utc(2026, 11, 20, 19)
    assert poll_hours(now, now + timedelta(days=7)) == 168
    assert poll_hours(now, now + timedelta(hours=2, minutes=1)) == 3
    assert poll_hours(now, now + timedelta(minutes=5)) == 1
    assert poll_hours(now, now + timedelta(days=40)) == 768
    assert poll_hours(now, None) == 168


def test_watched_is_picks_and_movies_half_the_raters_rated() -> None:
    ratings = [(1, 10, 8), (2, 10, 9), (3, 11, 7), (4, 12, 6), (1, 12, 6)]
    assert watched_movies(ratings, {99}) == {99, 10, 12}
    assert watched_movies([], {5}) == {5}


async def test_tied_votes_pick_the_suggester_with_fewer_picks(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    films = await _movies(services, 6)
    await services.watch.suggest(films[0], 1)
    await services.watch.suggest(films[1], 1)  # member 1 will have one pick already
    await services.watch.suggest(films[2], 2)
    await services.watch.suggest(films[3], 1)
    await services.watch.suggest(films[4], 3)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await _schedule(services, "Friday", "20:00")
    for member, film in ((1, films[0]), (1, films[1])):  # make member 1's suggestion win once
        await services.ratings.rate(film, 50 + member, 10)
    await services.watch.run_due(publisher, [GUILD])
    first = publisher.posts[0].post
    assert first.pick is not None and first.pick.suggested_by == 1
    poll = publisher.last_poll()
    publisher.vote(poll.id, films[3].id, 2)  # member 1's
    publisher.vote(poll.id, films[4].id, 2)  # member 3's, suggested later
    clock.set(berlin(2026, 11, 27, 20, 0))
    await services.watch.run_due(publisher, [GUILD])
    second = publisher.posts[1].post
    assert second.pick is not None
    assert (second.pick.movie.id, second.pick.votes) == (films[4].id, 2)


async def test_no_votes_picks_the_best_predicted_pool_movie(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    films = await _movies(services, 8)
    for member in range(20, 26):  # six members: films 0-3 rated, 4-7 unrated
        for i, film in enumerate(films[:4]):
            await services.ratings.rate(film, member, 9 if i == 2 else 5)
    await _suggest(services, [films[0], films[2], films[5]])
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert result.run is not None and result.run.pick_movie_id == films[2].id
    post = publisher.posts[0].post
    assert post.pick is not None and post.pick.reason == "predicted"
    assert post.pick.predicted is not None and post.pick.predicted > 8.0


async def test_recommendations_skip_what_the_club_watched_and_give_reasons(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    films = await _movies(services, 10)
    # Members 1-6 watched and rated films 0-3; a couple of fans also rated 4-6.
    for member in range(1, 7):
        for film in films[:4]:
            await services.ratings.rate(film, member, 9 if film is films[0] else 6)
    for member in (1, 2):
        await services.ratings.rate(films[4], member, 9)
        await services.ratings.rate(films[5], member, 4)
    await services.ratings.rate(films[6], 3, 8)
    await _suggest(services, [films[7], films[8]])
    await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    post = publisher.posts[0].post
    recommended = [r.movie.id for r in post.recommendations]
    assert len(recommended) == 3
    assert post.pick is not None
    assert not {*[f.id for f in films[:4]], post.pick.movie.id} & set(recommended)
    assert recommended[0] == films[4].id  # its fans rated 9
    assert all(r.reason for r in post.recommendations)
    assert "members who rated *Film 00 (1990)* 9+ gave this 9.0 on average" in (
        post.recommendations[0].reason
    )
    # Deterministic: the same ratings give the same recommendations.
    again = await services.watch._recommend(
        await _all_ratings(services),
        await _catalog(services),
        {post.pick.movie.id: "w"},
        publisher,
    )
    assert [r.movie.id for r in again] == recommended


async def _all_ratings(services: Services) -> list[tuple[int, int, int]]:
    async with services.watch._db.reader() as s:
        return await s.ratings.all_for_guild(GUILD)


async def _catalog(services: Services) -> list[Movie]:
    async with services.watch._db.reader() as s:
        return await s.movies.all_for_guild(GUILD)


async def test_an_empty_pool_still_makes_the_weeks_post(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _movies(services, 2)
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert result.outcome is Outcome.POSTED
    assert result.notes == (Note.POOL_EMPTY, Note.POLL_TOO_FEW)
    post = publisher.posts[0].post
    assert post.pick is None and post.poll is None
    assert await _runs(db) == [("2026-W47", "posted", None)]


async def test_without_send_polls_the_pick_goes_out_without_a_poll(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    await _stocked(services, 4)
    publisher.can_poll = False
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert result.outcome is Outcome.POSTED and Note.POLL_NO_PERMISSION in result.notes
    assert publisher.posts[0].post.poll is None
    assert not any(m.poll_question for m in publisher.messages)
    assert result.run is not None and result.run.poll_message_id is None


async def test_without_permission_to_post_nothing_is_recorded(
    services: Services, publisher: FakePublisher, db: Database
) -> None:
    await _stocked(services, 2)
    publisher.can_post = False
    with pytest.raises(BotMissingPermissions, match=r"I need \*\*Send Messages\*\* there"):
        await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert await _runs(db) == []
    assert len(await services.watch.pool(GUILD)) == 2


async def test_no_channel_at_all_is_explained(services: Services, publisher: FakePublisher) -> None:
    publisher.channels = set()
    with pytest.raises(InvalidInput, match="no channel for the weekly pick"):
        await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)


async def test_due_guilds_reads_every_schedule_in_one_pass(
    services: Services, clock: ManualClock, db: Database
) -> None:
    clock.set(berlin(2026, 11, 20, 19, 59))
    for guild in range(1, 101):
        await services.watch.set_schedule(
            guild,
            weekday="Friday",
            at="20:00",
            timezone=BERLIN,
            channel_id=None,
            here_channel_id=guild * 10,
        )
    assert await services.watch.due_guilds(range(1, 101)) == []
    clock.set(berlin(2026, 11, 20, 20, 0))
    assert await services.watch.due_guilds(range(1, 101)) == list(range(1, 101))
    assert await services.watch.due_guilds([5, 7, 1000]) == [5, 7]


def test_marker_names_the_week() -> None:
    assert marker("2026-W53") == "Weekly pick · 2026-W53"


async def test_the_schema_keeps_one_run_per_guild_and_week(
    db: Database, expect_db_errors: Callable[..., None]
) -> None:
    expect_db_errors("duplicate key value", "violates check constraint")
    insert = (
        "INSERT INTO watch_runs (guild_id, week_key, status, started_at, channel_id, "
        "poll_state) VALUES (1, '2026-W47', 'started', ?, 2, 'planned')"
    )
    async with db.session() as s:
        await s.queries.write(insert, ("x",))
    with pytest.raises(ConstraintViolation):
        async with db.session() as s:
            await s.queries.write(insert, ("y",))
    with pytest.raises(ConstraintViolation):  # posted needs its message
        async with db.session() as s:
            await s.queries.write(
                "UPDATE watch_runs SET status = 'posted', posted_at = 'z' WHERE guild_id = 1"
            )


async def test_guilds_due_together_each_get_their_poll_and_next_week_their_winner(
    services: Services, publisher: FakePublisher, clock: ManualClock
) -> None:
    guilds = {GUILD + n: 2000 + n for n in range(12)}  # guild -> its picks channel
    publisher.channels |= set(guilds.values())
    clock.set(berlin(2026, 11, 16, 9, 0))
    films: dict[int, list[Movie]] = {}
    for guild, channel in guilds.items():
        films[guild] = [
            await services.movies.add_entry(guild, 1, f"Film {i}", 2000 + i) for i in range(4)
        ]
        for movie in films[guild]:
            await services.watch.suggest(movie, 7)
        await services.watch.set_schedule(
            guild,
            weekday="Fri",
            at="20:00",
            timezone=BERLIN,
            channel_id=None,
            here_channel_id=channel,
        )
    clock.set(berlin(2026, 11, 20, 20, 0))
    first = await services.watch.run_due(publisher, list(guilds))
    assert sorted(r.guild_id for r in first if r.outcome is Outcome.POSTED) == sorted(guilds)
    winners = {}
    for posted in publisher.posts:
        assert posted.post.poll is not None and len(posted.post.poll.answers) == 3
        poll = next(
            m
            for m in publisher.messages
            if m.channel_id == posted.post.channel_id and m.poll_question
        )
        winners[posted.post.guild_id] = poll.poll_movies[-1]
        publisher.vote(poll.id, poll.poll_movies[-1], 3)
    clock.set(berlin(2026, 11, 27, 20, 0))
    second = await services.watch.run_due(publisher, list(guilds))
    assert {r.guild_id: r.run.pick_movie_id for r in second if r.run} == winners


async def test_a_post_discord_refuses_keeps_nothing(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    films = await _stocked(services, 3)

    async def refused(post: WeeklyPost, found: FoundPost) -> PostedIds:
        raise BotMissingPermissions("I couldn't post the weekly pick")

    original = publisher.publish
    publisher.publish = refused  # type: ignore[method-assign]
    with pytest.raises(BotMissingPermissions):
        await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert await _runs(db) == []
    left = await services.watch.pool(GUILD)  # all suggested in the same second: order aside
    assert sorted(e.movie.id for e in left) == [f.id for f in films]
    publisher.publish = original  # type: ignore[method-assign]
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    assert result.outcome is Outcome.POSTED


async def test_a_read_in_flight_elsewhere_does_not_hide_last_weeks_votes(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    """Another task's query still open on the shared reader connection keeps that connection
    on an old snapshot; the counts of last week's poll, committed a moment ago, must still
    decide the pick."""
    await _stocked(services, 6)
    clock.set(berlin(2026, 11, 18, 12, 0))
    await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    poll = publisher.last_poll()
    publisher.vote(poll.id, poll.poll_movies[-1], 2)
    clock.set(berlin(2026, 11, 25, 12, 0))
    reading = asyncio.Event()

    async def slow_reader() -> None:
        async with db.reader() as other:
            if isinstance(other.queries, SqliteQueries):
                cursor = await other.queries.conn.execute("SELECT id FROM movies")
                assert await cursor.fetchone() is not None  # its statement stays open a while
                reading.set()
                await asyncio.sleep(0.2)
                await cursor.close()
            else:  # PostgreSQL readers each have their own connection: one stays busy
                reading.set()
                await other.queries.all("SELECT pg_sleep(0.2)")

    elsewhere = asyncio.create_task(slow_reader())
    await reading.wait()
    result = await services.watch.run(GUILD, publisher, force=True, here_channel_id=PICKS)
    await elsewhere
    assert result.run is not None
    assert (result.run.pick_movie_id, result.run.pick_reason) == (poll.poll_movies[-1], "poll")


async def test_an_unfinished_run_whose_channel_was_deleted_posts_in_the_picks_channel(
    services: Services, publisher: FakePublisher, clock: ManualClock, db: Database
) -> None:
    await _stocked(services, 4)
    clock.set(berlin(2026, 11, 20, 20, 0))
    await services.watch.set_schedule(
        GUILD, weekday="Fri", at="20:00", timezone=BERLIN, channel_id=None, here_channel_id=HERE
    )
    original = publisher.publish

    async def dies(post: WeeklyPost, found: FoundPost) -> PostedIds:
        raise Crash

    publisher.publish = dies  # type: ignore[method-assign]
    await services.watch.run_due(publisher, [GUILD])
    publisher.publish = original  # type: ignore[method-assign]
    publisher.channels = {PICKS}  # HERE was deleted meanwhile
    await services.club.configure(GUILD, picks_channel_id=PICKS)
    watch = await _restart(db, clock)
    (result,) = await watch.run_due(publisher, [GUILD])
    assert result.outcome is Outcome.POSTED and result.run is not None
    assert result.run.channel_id == PICKS
    assert [p.post.channel_id for p in publisher.posts] == [PICKS]
    assert publisher.searches == 0  # nothing can be left in a deleted channel


# -- the pacer -----------------------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.released: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_pacer_spaces_requests_across_callers() -> None:
    time = FakeTime()
    pacer = Pacer(40.0, clock=time.clock, sleep=time.sleep)

    async def request(n: int = 1) -> None:
        await pacer.take(n)
        time.released.append(time.now)

    await asyncio.gather(*(request() for _ in range(5)))
    assert time.released == pytest.approx([100.0, 100.025, 100.05, 100.075, 100.1])
    await request(3)  # three requests in one turn: the next turn waits for all three
    await request()
    assert time.released[-2:] == pytest.approx([100.125, 100.2])
    time.now += 5.0  # idle: no debt, no burst allowance either
    await request()
    await request()
    assert time.released[-2:] == pytest.approx([105.2, 105.225])
    assert pacer.taken == 11


async def test_the_pacer_never_bursts_after_a_stall() -> None:
    time = FakeTime()
    stalled = False

    async def slow_sleep(seconds: float) -> None:
        nonlocal stalled
        time.now += seconds + (0.5 if not stalled else 0.0)  # the loop was busy for 0.5 s once
        stalled = True

    pacer = Pacer(10.0, clock=time.clock, sleep=slow_sleep)

    async def request() -> None:
        await pacer.take()
        time.released.append(time.now)

    await asyncio.gather(*(request() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(time.released)]
    assert all(gap >= 0.1 - 1e-9 for gap in gaps)  # late, but still spaced
