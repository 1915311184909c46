"""The weekly watch pick: the pool, the schedule, and one post per guild per week.

A week's post is a run with three steps, so that a crash never leads to a second post:

1. ``started`` is committed for (guild, ISO week) — with the pick and the poll's movies already
   decided — before anything is sent to Discord;
2. the :class:`Publisher` (the Discord side, injected) posts it, with a marker (``Weekly pick ·
   2026-W47``) in the pick's embed footer and in the poll's question;
3. ``posted`` is committed with the message ids.

A ``started`` run found later (the bot died between 1 and 3) is finished by looking for its
marker in the channel: what is there is recorded, only what is missing is posted. A started run
of a week that has ended is recorded as posted if its post is found, else skipped (its pick goes
back to the pool); a week is never posted late.

The scheduler and ``/club pick-now`` take the same path (:meth:`WatchService.run`); pick-now
only does not wait for the slot. Time comes from the injected clock, nothing here imports discord.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.clock import Clock, from_db, to_db
from bot.domain.errors import (
    BotMissingPermissions,
    ConstraintViolation,
    Duplicate,
    InvalidInput,
)
from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.recommend import Rating, predict_club, recommend
from bot.domain.watch import (
    POLL_ANSWERS_MAX,
    POLL_ANSWERS_MIN,
    GuildSchedule,
    PickPlan,
    PollAnswer,
    PollState,
    PoolEntry,
    WatchRun,
    best_predicted,
    marker,
    poll_hours,
    poll_question,
    poll_winner,
    watched_movies,
)
from bot.domain.weeks import (
    due_run,
    next_run_after,
    parse_time,
    parse_weekday,
    scheduled_instant,
    shift_week,
    skipped_weeks,
    validate_timezone,
    week_key,
)
from bot.services.club import ClubService
from bot.storage.database import Database, Session

log = logging.getLogger(__name__)

RECOMMENDATIONS = 3
HISTORY_SHOWN = 20
RETRY_AFTER = timedelta(minutes=5)  # a run that failed waits this long before the loop retries
TICK_CONCURRENCY = 25  # guilds run side by side in one tick (the publisher paces the requests)


# -- what the Discord side sees ------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelCheck:
    """What the bot may do in the picks channel, from Discord's cache (no request)."""

    can_post: bool  # View Channel, Send Messages, Embed Links
    can_poll: bool  # Send Polls
    can_read_history: bool  # needed to find an earlier post after a crash
    missing: tuple[str, ...] = ()  # names of the permissions that stop the post


@dataclass(frozen=True)
class FoundPost:
    """The parts of a week's post already in its channel."""

    pick_message_id: int | None = None
    poll_message_id: int | None = None


@dataclass(frozen=True)
class PostedIds:
    pick_message_id: int
    poll_message_id: int | None
    poll_refused: bool = False  # the poll was planned but Discord refused it


@dataclass(frozen=True)
class ThreadResult:
    thread_id: int | None
    failed: bool = False  # the pick has a thread to open but Discord refused


@dataclass(frozen=True)
class PollPlan:
    question: str
    answers: tuple[Movie, ...]  # in answer order: answer i + 1 is answers[i]
    hours: int


@dataclass(frozen=True)
class RecommendedMovie:
    movie: Movie
    predicted: float
    reason: str  # one line; titles in it were quoted with Publisher.quote


@dataclass(frozen=True)
class WeeklyPost:
    guild_id: int
    channel_id: int
    week: str
    marker: str
    pick: PickPlan | None  # None: the pool was empty
    thread: ThreadResult
    poll: PollPlan | None
    poll_state: PollState
    recommendations: tuple[RecommendedMovie, ...]
    next_post: datetime | None  # the next scheduled post, when there is a schedule


class Publisher(Protocol):
    """The Discord side of a run; every method that talks to Discord is one paced request or a
    few."""

    def channel_for(self, guild_id: int, candidates: Sequence[int | None]) -> int | None:
        """The first candidate that is still a text channel of the guild."""
        ...

    def check_channel(self, channel_id: int) -> ChannelCheck: ...

    def quote(self, title: str) -> str:
        """A title as it may appear inside a recommendation's reason (markdown escaped)."""
        ...

    async def close_poll(self, channel_id: int, message_id: int) -> Mapping[int, int] | None:
        """End a poll; its final count per answer id, or None if the poll is gone."""
        ...

    async def find_post(self, channel_id: int, marker: str, since: datetime) -> FoundPost:
        """The bot's post carrying ``marker`` among the messages sent after ``since``."""
        ...

    async def open_thread(self, movie: Movie) -> ThreadResult: ...

    async def publish(self, post: WeeklyPost, found: FoundPost) -> PostedIds:
        """Post what ``found`` lacks: the pick message, then the poll."""
        ...


# -- what callers get back -----------------------------------------------------------------------
class Outcome(enum.StrEnum):
    POSTED = "posted"  # this run posted the week's pick
    FOUND = "found"  # an earlier attempt had posted it; recorded now, nothing posted twice
    ALREADY = "already"  # the week already had its post
    NOT_DUE = "not_due"
    BUSY = "busy"  # another process is running this guild's week right now


class Note(enum.StrEnum):
    """Things a run could not do, for the admin's reply and the logs (codes, not text)."""

    POOL_EMPTY = "pool_empty"
    POLL_NO_PERMISSION = "poll_no_permission"
    POLL_TOO_FEW = "poll_too_few"
    POLL_REFUSED = "poll_refused"
    NO_THREAD = "no_thread"


@dataclass(frozen=True)
class RunResult:
    guild_id: int
    week: str
    outcome: Outcome
    run: WatchRun | None = None
    notes: tuple[Note, ...] = ()
    next_post: datetime | None = None

    @property
    def link(self) -> str | None:
        run = self.run
        if run is None or run.pick_message_id is None:
            return None
        return message_link(run.guild_id, run.channel_id, run.pick_message_id)


@dataclass(frozen=True)
class ScheduleInfo:
    schedule: GuildSchedule
    next_post: datetime
    posts_in: int  # the channel the post goes to: the picks channel, else the schedule's
    posts_now: bool  # this week's slot has passed without a post: it goes out at the next tick


@dataclass(frozen=True)
class History:
    runs: list[WatchRun]
    total: int


@dataclass
class _GuildState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    retry_at: datetime | None = None


class WatchService:
    def __init__(self, db: Database, clock: Clock, *, concurrency: int = TICK_CONCURRENCY) -> None:
        self._db = db
        self._clock = clock
        self._club = ClubService(db, clock)
        self._concurrency = concurrency
        self._guilds: dict[int, _GuildState] = defaultdict(_GuildState)
        self._tick = asyncio.Lock()

    # -- the pool ----------------------------------------------------------------------------
    async def suggest(self, movie: Movie, member_id: int) -> list[PoolEntry]:
        """Put a catalog movie in the pool; returns the pool."""
        async with self._db.session() as s:
            existing = await s.watch.pool_entry(movie.guild_id, movie.id)
            if existing is not None:
                raise Duplicate(
                    f"{movie.label} is already in the pool "
                    f"(suggested by <@{existing.suggested_by}>)."
                )
            picked_in = (await s.watch.picked_movies(movie.guild_id)).get(movie.id)
            if picked_in is not None:
                raise InvalidInput(
                    f"{movie.label} was already the club's pick (week {picked_in}). "
                    "Suggest a movie the club has not watched yet."
                )
            await s.watch.add_to_pool(movie.guild_id, movie.id, member_id, to_db(self._clock.now()))
            pool = await s.watch.pool(movie.guild_id)
        log.info("movie %d suggested for the pool of guild %d", movie.id, movie.guild_id)
        return pool

    async def pool(self, guild_id: int) -> list[PoolEntry]:
        async with self._db.reader() as s:
            return await s.watch.pool(guild_id)

    async def history(self, guild_id: int) -> History:
        async with self._db.reader() as s:
            runs = await s.watch.posted_runs(guild_id, HISTORY_SHOWN)
            total = await s.watch.count_posted(guild_id)
        return History(runs, total)

    # -- the schedule ------------------------------------------------------------------------
    async def set_schedule(
        self,
        guild_id: int,
        *,
        weekday: str,
        at: str,
        timezone: str | None,
        channel_id: int | None,
        here_channel_id: int,
    ) -> ScheduleInfo:
        """Validate everything first (bad input changes nothing), then save. A ``channel``
        given becomes the club's picks channel; without one, the channel where the command
        was used is where posts go while no picks channel is set."""
        day = parse_weekday(weekday)
        wall = parse_time(at)
        zone = validate_timezone(timezone) if timezone is not None else None
        if zone is not None or channel_id is not None:
            await self._club.configure(guild_id, picks_channel_id=channel_id, timezone=zone)
        now = self._clock.now()
        async with self._db.session() as s:
            await s.watch.save_schedule(
                guild_id, day, f"{wall:%H:%M}", channel_id or here_channel_id, to_db(now)
            )
            saved = await s.watch.schedule(guild_id)
            last = await s.watch.last_posted(guild_id)
        assert saved is not None
        log.info("guild %d scheduled its weekly pick", guild_id)
        return _schedule_info(saved, last, now)

    async def schedule_info(self, guild_id: int) -> ScheduleInfo | None:
        """The club's weekly slot and its next post, or None when no schedule is set."""
        async with self._db.reader() as s:
            saved = await s.watch.schedule(guild_id)
            last = await s.watch.last_posted(guild_id)
        return None if saved is None else _schedule_info(saved, last, self._clock.now())

    # -- the loop ----------------------------------------------------------------------------
    async def due_guilds(self, guild_ids: Collection[int]) -> list[int]:
        """Guilds (of ``guild_ids``) whose week's post is due, or that have a run to finish."""
        now = self._clock.now()
        async with self._db.reader() as s:
            states = await s.watch.schedule_states()
            unfinished = set(await s.watch.guilds_with_open_runs())
        wanted = set(guild_ids)
        due = {
            state.schedule.guild_id
            for state in states
            if state.open_week is not None
            or due_run(state.schedule.schedule, now, state.last_posted_week) is not None
        }
        due |= unfinished
        return sorted(g for g in due & wanted if not self._waiting(g, now))

    def _waiting(self, guild_id: int, now: datetime) -> bool:
        retry_at = self._guilds[guild_id].retry_at if guild_id in self._guilds else None
        return retry_at is not None and now < retry_at

    async def run_due(self, publisher: Publisher, guild_ids: Collection[int]) -> list[RunResult]:
        """One tick of the scheduler: every due guild, a bounded number at a time. A tick that
        starts while the previous one still runs does nothing."""
        if self._tick.locked():
            return []
        async with self._tick:
            due = await self.due_guilds(guild_ids)
            if not due:
                return []
            gate = asyncio.Semaphore(self._concurrency)

            async def one(guild_id: int) -> RunResult | None:
                async with gate:
                    return await self._run_logged(guild_id, publisher)

            results = await asyncio.gather(*(one(guild_id) for guild_id in due))
        return [result for result in results if result is not None]

    async def _run_logged(self, guild_id: int, publisher: Publisher) -> RunResult | None:
        try:
            return await self.run(guild_id, publisher)
        except BotMissingPermissions:
            log.warning("weekly pick of guild %d not posted: missing permissions", guild_id)
        except InvalidInput:
            log.warning("weekly pick of guild %d not posted: no channel to post in", guild_id)
        except Exception:
            log.exception("weekly pick of guild %d failed; retrying later", guild_id)
        return None

    # -- one guild ---------------------------------------------------------------------------
    async def run(
        self,
        guild_id: int,
        publisher: Publisher,
        *,
        force: bool = False,
        here_channel_id: int | None = None,
    ) -> RunResult:
        """This week's post for one guild, at most once per week. ``force`` (pick-now) does not
        wait for the slot; ``here_channel_id`` is the last resort for where to post."""
        state = self._guilds[guild_id]
        async with state.lock, self._db.exclusive(guild_id) as mine:
            if not mine:  # a shard moving between processes: the other one is at it
                settings = await self._club.settings(guild_id)
                return RunResult(
                    guild_id, week_key(self._clock.now(), settings.timezone), Outcome.BUSY
                )
            try:
                result = await self._run(guild_id, publisher, force, here_channel_id)
            except Exception:
                state.retry_at = self._clock.now() + RETRY_AFTER
                raise
            state.retry_at = None
        if result.outcome in (Outcome.POSTED, Outcome.FOUND):
            log.info(
                "guild %d week %s: %s%s",
                guild_id,
                result.week,
                result.outcome,
                "".join(f" [{note}]" for note in result.notes),
            )
        return result

    async def _run(
        self, guild_id: int, publisher: Publisher, force: bool, here_channel_id: int | None
    ) -> RunResult:
        now = self._clock.now()
        settings = await self._club.settings(guild_id)
        week = week_key(now, settings.timezone)
        async with self._db.reader() as s:
            schedule = await s.watch.schedule(guild_id)
            unfinished = await s.watch.open_runs(guild_id)
        candidates = [
            settings.picks_channel_id,
            schedule.channel_id if schedule else None,
            here_channel_id,
        ]
        for run in unfinished:
            if run.week_key == week:
                return await self._resume(run, publisher, schedule, candidates)
            await self._settle_stale(run, publisher)

        async with self._db.reader() as s:
            existing = await s.watch.run_for_week(guild_id, week)
            previous = await s.watch.last_posted(guild_id, week)  # its poll decides this week
            latest = await s.watch.last_posted(guild_id)
        next_post = _next_post(schedule, week)
        if existing is not None:
            return RunResult(guild_id, week, Outcome.ALREADY, existing, next_post=next_post)
        last_week = latest.week_key if latest else None
        if not force:
            if schedule is None or due_run(schedule.schedule, now, last_week) is None:
                return RunResult(guild_id, week, Outcome.NOT_DUE, next_post=next_post)
            missed = skipped_weeks(schedule.schedule, now, last_week)
            if missed:
                log.info(
                    "guild %d: skipped %d missed week(s) %s..%s",
                    guild_id,
                    len(missed),
                    missed[0],
                    missed[-1],
                )

        channel_id = _channel(publisher, guild_id, candidates)
        check = _check(publisher, channel_id)
        if previous is not None:
            await self._close_poll(previous, publisher)
        started = await self._start(guild_id, week, channel_id, previous, can_poll=check.can_poll)
        if started is None:  # another process started this week between our read and our write
            async with self._db.reader() as s:
                existing = await s.watch.run_for_week(guild_id, week)
            return RunResult(guild_id, week, Outcome.ALREADY, existing, next_post=next_post)
        return await self._post(started, publisher, schedule, FoundPost())

    async def _resume(
        self,
        run: WatchRun,
        publisher: Publisher,
        schedule: GuildSchedule | None,
        candidates: list[int | None],
    ) -> RunResult:
        """This week's run was started and never recorded as posted: post only what is not
        in the channel already."""
        channel_id = publisher.channel_for(run.guild_id, [run.channel_id])
        if channel_id is None:  # the channel is gone, and with it anything posted there
            channel_id = _channel(publisher, run.guild_id, candidates)
            async with self._db.session() as s:
                await s.watch.retarget(run.id, channel_id)
                moved = await s.watch.run_by_id(run.id)
            assert moved is not None
            run = moved
            found = FoundPost()
        else:
            if not publisher.check_channel(channel_id).can_read_history:
                raise BotMissingPermissions(
                    f"I can't check <#{channel_id}> for this week's pick, which I may have "
                    "posted already: I need **Read Message History** there."
                )
            found = await publisher.find_post(
                channel_id, marker(run.week_key), from_db(run.started_at)
            )
        complete = found.pick_message_id is not None and (
            found.poll_message_id is not None or run.poll_state != "planned"
        )
        if not complete:
            _check(publisher, channel_id)
            result = await self._post(run, publisher, schedule, found)
            if found.pick_message_id is None and found.poll_message_id is None:
                return result
            return replace(result, outcome=Outcome.FOUND)
        done = await self._record_found(run, found)
        return RunResult(
            run.guild_id,
            run.week_key,
            Outcome.FOUND,
            done,
            next_post=_next_post(schedule, run.week_key),
        )

    async def _record_found(self, run: WatchRun, found: FoundPost) -> WatchRun | None:
        """Record as posted what an earlier attempt posted (its ids come from the channel)."""
        assert found.pick_message_id is not None
        async with self._db.session() as s:
            pick = await s.movies.by_id(run.pick_movie_id) if run.pick_movie_id else None
            await s.watch.mark_posted(
                run.id,
                to_db(self._clock.now()),
                found.pick_message_id,
                found.poll_message_id,
                pick.thread_id if pick else None,
            )
            return await s.watch.run_by_id(run.id)

    async def _settle_stale(self, run: WatchRun, publisher: Publisher) -> None:
        """A started run of a week that has ended: posted if its post is there, else skipped."""
        found = FoundPost()
        channel_id = publisher.channel_for(run.guild_id, [run.channel_id])
        if channel_id is not None and publisher.check_channel(channel_id).can_read_history:
            found = await publisher.find_post(
                channel_id, marker(run.week_key), from_db(run.started_at)
            )
        if found.pick_message_id is not None:
            await self._record_found(run, found)
            log.info("guild %d week %s: found its post late", run.guild_id, run.week_key)
            return
        async with self._db.session() as s:
            await s.watch.mark_skipped(run.id)
            await _return_pick(s, run)
        log.info("guild %d week %s: never posted; skipped", run.guild_id, run.week_key)

    async def _close_poll(self, previous: WatchRun, publisher: Publisher) -> None:
        """End last week's poll and keep its final counts (once; a retry reads them back)."""
        if previous.poll_message_id is None or previous.poll_closed:
            return
        counts = await publisher.close_poll(previous.channel_id, previous.poll_message_id)
        async with self._db.session() as s:
            await s.watch.record_poll_counts(previous.id, counts)

    async def _start(
        self,
        guild_id: int,
        week: str,
        channel_id: int,
        previous: WatchRun | None,
        *,
        can_poll: bool,
    ) -> WatchRun | None:
        """Decide the pick and the poll and commit the run as started — before any post."""
        async with self._db.reader() as s:  # sees last week's counts, just committed
            pool = await s.watch.pool(guild_id)
            answers = await s.watch.poll_answers(previous.id) if previous else []
            picks_by_member = await s.watch.picks_by_member(guild_id)
        async with self._db.reader() as s:
            ratings = await s.ratings.all_for_guild(guild_id)
        predictions: Mapping[int, float] = {}
        if poll_winner(pool, answers, picks_by_member) is None and pool:
            ids = [entry.movie.id for entry in pool]
            predictions = await asyncio.to_thread(predict_club, ratings, ids)
        now = to_db(self._clock.now())
        try:
            return await self._claim(
                guild_id,
                week,
                channel_id=channel_id,
                now=now,
                answers=answers,
                picks_by_member=picks_by_member,
                predictions=predictions,
                can_poll=can_poll,
            )
        except ConstraintViolation:
            # UNIQUE (guild_id, week_key) is the claim: another process (one that ran this
            # guild's shard a moment ago) recorded this week between our check and our insert.
            log.info("guild %d week %s: claimed by another process", guild_id, week)
            return None

    async def _claim(
        self,
        guild_id: int,
        week: str,
        *,
        channel_id: int,
        now: str,
        answers: Sequence[PollAnswer],
        picks_by_member: Mapping[int, int],
        predictions: Mapping[int, float],
        can_poll: bool,
    ) -> WatchRun | None:
        async with self._db.session() as s:
            if await s.watch.run_for_week(guild_id, week) is not None:
                return None
            pool = await s.watch.pool(guild_id)  # as it is now; a new suggestion has no
            pick = _decide(pool, answers, picks_by_member, predictions)  # prediction: no pick
            rest = [e.movie.id for e in pool if pick is None or e.movie.id != pick.movie.id]
            poll_state: PollState = "planned"
            if not can_poll:
                poll_state = "no_permission"
            elif len(rest) < POLL_ANSWERS_MIN:
                poll_state = "too_few_movies"
            poll_ids = rest[:POLL_ANSWERS_MAX] if poll_state == "planned" else []
            run_id = await s.watch.start_run(
                guild_id,
                week,
                channel_id=channel_id,
                started_at=now,
                pick=pick,
                poll_state=poll_state,
                poll_movie_ids=poll_ids,
            )
            if pick is not None:
                await s.watch.remove_from_pool(guild_id, pick.movie.id)
            return await s.watch.run_by_id(run_id)

    async def _post(
        self,
        run: WatchRun,
        publisher: Publisher,
        schedule: GuildSchedule | None,
        found: FoundPost,
    ) -> RunResult:
        post = await self._compose(run, publisher, schedule)
        try:
            posted = await publisher.publish(post, found)
        except BotMissingPermissions:
            if found == FoundPost():  # Discord refused the first message: nothing went out
                await self._abandon(run)
            raise
        async with self._db.session() as s:
            await s.watch.mark_posted(
                run.id,
                to_db(self._clock.now()),
                posted.pick_message_id,
                posted.poll_message_id,
                post.thread.thread_id,
            )
            done = await s.watch.run_by_id(run.id)
        return RunResult(
            run.guild_id,
            run.week_key,
            Outcome.POSTED,
            done,
            _notes(post, posted),
            post.next_post,
        )

    async def _abandon(self, run: WatchRun) -> None:
        """Forget a started run of which nothing was posted, as if it had never started."""
        async with self._db.session() as s:
            await s.watch.delete_started(run.id)
            await _return_pick(s, run)
        log.info("guild %d week %s: refused by Discord; nothing kept", run.guild_id, run.week_key)

    async def _compose(
        self, run: WatchRun, publisher: Publisher, schedule: GuildSchedule | None
    ) -> WeeklyPost:
        async with self._db.reader() as s:  # sees the run and its poll, just committed
            pick = await _pick_of(s, run)
            answers = await s.watch.poll_answers(run.id)
            poll_movies = [await s.movies.by_id(a.movie_id) for a in answers]
            picked = await s.watch.picked_movies(run.guild_id)
        async with self._db.reader() as s:
            ratings = await s.ratings.all_for_guild(run.guild_id)
            catalog = await s.movies.all_for_guild(run.guild_id)
        thread = ThreadResult(None)
        if pick is not None:
            thread = await publisher.open_thread(pick.movie)
        next_post = _next_post(schedule, run.week_key)
        poll = None
        movies = tuple(m for m in poll_movies if m is not None)
        if run.poll_state == "planned" and movies:
            poll = PollPlan(
                poll_question(run.week_key), movies, poll_hours(self._clock.now(), next_post)
            )
        recommendations = await self._recommend(ratings, catalog, picked, publisher)
        return WeeklyPost(
            guild_id=run.guild_id,
            channel_id=run.channel_id,
            week=run.week_key,
            marker=marker(run.week_key),
            pick=pick,
            thread=thread,
            poll=poll,
            poll_state=run.poll_state,
            recommendations=recommendations,
            next_post=next_post,
        )

    @staticmethod
    async def _recommend(
        ratings: list[Rating],
        catalog: list[Movie],
        picked: Mapping[int, str],
        publisher: Publisher,
    ) -> tuple[RecommendedMovie, ...]:
        by_id = {movie.id: movie for movie in catalog}
        titles = {movie.id: publisher.quote(movie.label) for movie in catalog}
        watched = watched_movies(ratings, picked)
        found = await asyncio.to_thread(
            lambda: recommend(
                ratings, candidates=by_id, watched=watched, titles=titles, k=RECOMMENDATIONS
            )
        )
        return tuple(RecommendedMovie(by_id[r.movie_id], r.predicted, r.reason) for r in found)


# -- helpers -------------------------------------------------------------------------------------
def _decide(
    pool: Sequence[PoolEntry],
    answers: Sequence[PollAnswer],
    picks_by_member: Mapping[int, int],
    predictions: Mapping[int, float],
) -> PickPlan | None:
    won = poll_winner(pool, answers, picks_by_member)
    if won is not None:
        entry, votes = won
        return PickPlan(entry.movie, entry.suggested_by, entry.suggested_at, "poll", votes, None)
    best = best_predicted(pool, predictions)
    if best is None:
        return None
    entry, predicted = best
    return PickPlan(
        entry.movie, entry.suggested_by, entry.suggested_at, "predicted", None, predicted
    )


async def _pick_of(s: Session, run: WatchRun) -> PickPlan | None:
    """The run's pick, with the movie as it is now (its card or thread may have changed)."""
    if run.pick_movie_id is None or run.pick_reason is None:
        return None
    movie = await s.movies.by_id(run.pick_movie_id)
    if movie is None:
        return None
    return PickPlan(
        movie,
        run.pick_suggested_by or movie.added_by,
        run.pick_suggested_at or run.started_at,
        run.pick_reason,
        run.pick_votes,
        run.pick_predicted,
    )


def _schedule_info(saved: GuildSchedule, last: WatchRun | None, now: datetime) -> ScheduleInfo:
    next_post = next_run_after(saved.schedule, now, last.week_key if last else None)
    return ScheduleInfo(
        saved, next_post, saved.picks_channel_id or saved.channel_id, next_post <= now
    )


def _next_post(schedule: GuildSchedule | None, week: str) -> datetime | None:
    if schedule is None:
        return None
    return scheduled_instant(schedule.schedule, shift_week(week, 1))


def _channel(publisher: Publisher, guild_id: int, candidates: Sequence[int | None]) -> int:
    channel_id = publisher.channel_for(guild_id, candidates)
    if channel_id is None:
        raise InvalidInput(
            "I have no channel for the weekly pick. Choose one with "
            "`/club setup picks_channel:` or `/club schedule channel:`."
        )
    return channel_id


def _check(publisher: Publisher, channel_id: int) -> ChannelCheck:
    check = publisher.check_channel(channel_id)
    if not check.can_post:
        needed = ", ".join(f"**{name}**" for name in check.missing) or "permission to post"
        raise BotMissingPermissions(
            f"I can't post the weekly pick in <#{channel_id}>: I need {needed} there. "
            "Ask an admin to check my role's permissions in that channel."
        )
    return check


def _notes(post: WeeklyPost, posted: PostedIds) -> tuple[Note, ...]:
    notes: list[Note] = []
    if post.pick is None:
        notes.append(Note.POOL_EMPTY)
    if post.poll_state == "no_permission":
        notes.append(Note.POLL_NO_PERMISSION)
    elif post.poll_state == "too_few_movies":
        notes.append(Note.POLL_TOO_FEW)
    if posted.poll_refused:
        notes.append(Note.POLL_REFUSED)
    if post.thread.failed:
        notes.append(Note.NO_THREAD)
    return tuple(notes)


async def _return_pick(s: Session, run: WatchRun) -> None:
    """A run that never went out gives its pick back to the pool, as it was suggested."""
    if run.pick_movie_id is not None and run.pick_suggested_by is not None:
        await s.watch.return_to_pool(
            run.guild_id,
            run.pick_movie_id,
            run.pick_suggested_by,
            run.pick_suggested_at or run.started_at,
        )
