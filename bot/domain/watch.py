"""The weekly watch pick's models and pure rules: the pool, schedules, runs, the poll winner, the
best predicted pool movie, what the club has watched. No I/O; storage and the service use these."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from bot.domain.movies import Movie
from bot.domain.recommend import Rating
from bot.domain.weeks import Schedule

POLL_ANSWERS_MAX = 10  # Discord's limit
POLL_ANSWERS_MIN = 2  # fewer is not a vote
POLL_HOURS_MIN, POLL_HOURS_MAX = 1, 768  # Discord: whole hours, up to 32 days
POLL_HOURS_UNSCHEDULED = 7 * 24

RunStatus = Literal["started", "posted", "skipped"]
PickReason = Literal["poll", "predicted"]
PollState = Literal["planned", "no_permission", "too_few_movies"]


@dataclass(frozen=True)
class PoolEntry:
    id: int
    movie: Movie
    suggested_by: int
    suggested_at: str


@dataclass(frozen=True)
class GuildSchedule:
    """A guild's weekly slot, with the club settings the run needs (zone, picks channel)."""

    guild_id: int
    weekday: int
    time: str  # "HH:MM", wall clock in ``timezone``
    channel_id: int  # where /club schedule was used, or the channel it named
    timezone: str
    picks_channel_id: int | None

    @property
    def schedule(self) -> Schedule:
        hour, minute = (int(part) for part in self.time.split(":"))
        return Schedule(self.weekday, time(hour, minute), self.timezone)


@dataclass(frozen=True)
class ScheduleState:
    """A schedule and what the runs table says about it: all the loop needs to decide."""

    schedule: GuildSchedule
    last_posted_week: str | None
    open_week: str | None  # the oldest 'started' run, when there is one


@dataclass(frozen=True)
class PickPlan:
    """This week's pick as decided when the run starts (kept for a retry after a crash)."""

    movie: Movie
    suggested_by: int
    suggested_at: str
    reason: PickReason
    votes: int | None
    predicted: float | None


@dataclass(frozen=True)
class WatchRun:
    id: int
    guild_id: int
    week_key: str
    status: RunStatus
    started_at: str
    posted_at: str | None
    channel_id: int
    pick_movie_id: int | None
    pick_label: str | None
    pick_suggested_by: int | None
    pick_suggested_at: str | None
    pick_reason: PickReason | None
    pick_votes: int | None
    pick_predicted: float | None
    poll_state: PollState
    pick_message_id: int | None
    poll_message_id: int | None
    poll_closed: bool
    thread_id: int | None


@dataclass(frozen=True)
class PollAnswer:
    answer_id: int  # 1-based, in the order the answers were sent
    movie_id: int
    votes: int | None  # None until the poll has been ended and counted


def marker(week: str) -> str:
    """What identifies a week's post in its channel: the pick's footer, the poll's question."""
    return f"Weekly pick · {week}"


def poll_question(week: str) -> str:
    return f"What should we watch next? ({marker(week)})"


# -- pure rules ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Candidate:
    entry: PoolEntry
    votes: int


def poll_winner(
    pool: Sequence[PoolEntry], answers: Sequence[PollAnswer], picks_by_member: Mapping[int, int]
) -> tuple[PoolEntry, int] | None:
    """The pool movie with the most votes (at least one); ties go to the suggester with the
    fewest previous picks, then to the oldest suggestion."""
    in_pool = {entry.movie.id: entry for entry in pool}
    voted = [
        _Candidate(in_pool[a.movie_id], a.votes)
        for a in answers
        if a.votes and a.movie_id in in_pool
    ]
    if not voted:
        return None
    best = min(
        voted,
        key=lambda c: (
            -c.votes,
            picks_by_member.get(c.entry.suggested_by, 0),
            c.entry.suggested_at,
            c.entry.id,
        ),
    )
    return best.entry, best.votes


def best_predicted(
    pool: Sequence[PoolEntry], predictions: Mapping[int, float]
) -> tuple[PoolEntry, float] | None:
    """The pool movie with the best predicted club rating; ties to the oldest suggestion."""
    rated = [entry for entry in pool if entry.movie.id in predictions]
    if not rated:
        return None
    best = min(
        rated,
        key=lambda e: (-round(predictions[e.movie.id], 9), e.suggested_at, e.id),
    )
    return best, predictions[best.movie.id]


def poll_hours(now: datetime, next_post: datetime | None) -> int:
    """Whole hours until the next post, rounded up, within Discord's 1..768."""
    if next_post is None:
        return POLL_HOURS_UNSCHEDULED
    hours = math.ceil((next_post - now).total_seconds() / 3600)
    return max(POLL_HOURS_MIN, min(POLL_HOURS_MAX, hours))


def watched_movies(ratings: Sequence[Rating], picked: Collection[int]) -> set[int]:
    """What the club has watched: every pick, and every movie rated by at least half of the
    members who rate (anyone who rated anything)."""
    raters = {member for member, _, _ in ratings}
    needed = math.ceil(len(raters) / 2)
    per_movie: dict[int, int] = defaultdict(int)
    for _, movie, _ in ratings:
        per_movie[movie] += 1
    return set(picked) | {movie for movie, n in per_movie.items() if raters and n >= needed}
