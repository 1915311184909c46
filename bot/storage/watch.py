"""The weekly watch pick: the pool, the schedules, and one run per guild and week with its poll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.domain.movies import Movie
from bot.domain.watch import (
    GuildSchedule,
    PickPlan,
    PollAnswer,
    PollState,
    PoolEntry,
    ScheduleState,
    WatchRun,
)

_MOVIE_COLUMNS = (
    "m.id AS m_id, m.guild_id AS m_guild_id, m.title AS m_title, m.year AS m_year, "
    "m.added_by AS m_added_by, m.card_channel_id AS m_card_channel_id, "
    "m.card_message_id AS m_card_message_id, m.thread_id AS m_thread_id"
)

if TYPE_CHECKING:
    from bot.storage.database import Queries, Row
_RUN_COLUMNS = (
    "id, guild_id, week_key, status, started_at, posted_at, channel_id, pick_movie_id, "
    "pick_label, pick_suggested_by, pick_suggested_at, pick_reason, pick_votes, pick_predicted, "
    "poll_state, pick_message_id, poll_message_id, poll_closed, thread_id"
)


def _movie(row: Row) -> Movie:
    return Movie(
        id=row["m_id"],
        guild_id=row["m_guild_id"],
        title=row["m_title"],
        year=row["m_year"],
        added_by=row["m_added_by"],
        card_channel_id=row["m_card_channel_id"],
        card_message_id=row["m_card_message_id"],
        thread_id=row["m_thread_id"],
    )


def _entry(row: Row) -> PoolEntry:
    return PoolEntry(row["id"], _movie(row), row["suggested_by"], row["suggested_at"])


def _run(row: Row) -> WatchRun:
    return WatchRun(
        id=row["id"],
        guild_id=row["guild_id"],
        week_key=row["week_key"],
        status=row["status"],
        started_at=row["started_at"],
        posted_at=row["posted_at"],
        channel_id=row["channel_id"],
        pick_movie_id=row["pick_movie_id"],
        pick_label=row["pick_label"],
        pick_suggested_by=row["pick_suggested_by"],
        pick_suggested_at=row["pick_suggested_at"],
        pick_reason=row["pick_reason"],
        pick_votes=row["pick_votes"],
        pick_predicted=row["pick_predicted"],
        poll_state=row["poll_state"],
        pick_message_id=row["pick_message_id"],
        poll_message_id=row["poll_message_id"],
        poll_closed=bool(row["poll_closed"]),
        thread_id=row["thread_id"],
    )


def _schedule(row: Row) -> GuildSchedule:
    return GuildSchedule(
        guild_id=row["guild_id"],
        weekday=row["weekday"],
        time=row["time"],
        channel_id=row["channel_id"],
        timezone=row["timezone"],
        picks_channel_id=row["picks_channel_id"],
    )


_SCHEDULE_SELECT = (
    "SELECT s.guild_id, s.weekday, s.time, s.channel_id, "
    "coalesce(g.timezone, 'UTC') AS timezone, g.picks_channel_id "
    "FROM watch_schedules s LEFT JOIN guild_settings g ON g.guild_id = s.guild_id "
)


class WatchRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    # -- the pool ----------------------------------------------------------------------------
    async def pool(self, guild_id: int) -> list[PoolEntry]:
        """The pool, longest-waiting suggestion first."""
        rows = await self._q.all(
            f"SELECT p.id, p.suggested_by, p.suggested_at, {_MOVIE_COLUMNS} "
            "FROM watch_pool p JOIN movies m ON m.id = p.movie_id "
            "WHERE p.guild_id = ? ORDER BY p.suggested_at, p.id",
            (guild_id,),
        )
        return [_entry(row) for row in rows]

    async def pool_entry(self, guild_id: int, movie_id: int) -> PoolEntry | None:
        row = await self._q.one(
            f"SELECT p.id, p.suggested_by, p.suggested_at, {_MOVIE_COLUMNS} "
            "FROM watch_pool p JOIN movies m ON m.id = p.movie_id "
            "WHERE p.guild_id = ? AND p.movie_id = ?",
            (guild_id, movie_id),
        )
        return None if row is None else _entry(row)

    async def add_to_pool(self, guild_id: int, movie_id: int, member_id: int, at: str) -> int:
        return await self._q.insert(
            "INSERT INTO watch_pool (guild_id, movie_id, suggested_by, suggested_at) "
            "VALUES (?, ?, ?, ?)",
            (guild_id, movie_id, member_id, at),
        )

    async def remove_from_pool(self, guild_id: int, movie_id: int) -> bool:
        removed = await self._q.write(
            "DELETE FROM watch_pool WHERE guild_id = ? AND movie_id = ?", (guild_id, movie_id)
        )
        return removed > 0

    async def return_to_pool(self, guild_id: int, movie_id: int, member_id: int, at: str) -> None:
        """Put back a pick that was never posted, with its original suggester and time."""
        await self._q.write(
            "INSERT INTO watch_pool (guild_id, movie_id, suggested_by, suggested_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, movie_id, member_id, at),
        )

    # -- schedules ---------------------------------------------------------------------------
    async def schedule(self, guild_id: int) -> GuildSchedule | None:
        row = await self._q.one(_SCHEDULE_SELECT + "WHERE s.guild_id = ?", (guild_id,))
        return None if row is None else _schedule(row)

    async def save_schedule(
        self, guild_id: int, weekday: int, at_time: str, channel_id: int, now: str
    ) -> None:
        await self._q.write(
            "INSERT INTO watch_schedules (guild_id, weekday, time, channel_id, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "weekday = excluded.weekday, time = excluded.time, channel_id = excluded.channel_id, "
            "updated_at = excluded.updated_at",
            (guild_id, weekday, at_time, channel_id, now, now),
        )

    async def schedule_states(self) -> list[ScheduleState]:
        """Every schedule with its guild's last posted week and any unfinished run: one query."""
        rows = await self._q.all(
            "SELECT s.guild_id, s.weekday, s.time, s.channel_id, "
            "coalesce(g.timezone, 'UTC') AS timezone, g.picks_channel_id, "
            "(SELECT max(r.week_key) FROM watch_runs r "
            " WHERE r.guild_id = s.guild_id AND r.status = 'posted') AS last_posted, "
            "(SELECT min(r.week_key) FROM watch_runs r "
            " WHERE r.guild_id = s.guild_id AND r.status = 'started') AS open_week "
            "FROM watch_schedules s LEFT JOIN guild_settings g ON g.guild_id = s.guild_id "
            "ORDER BY s.guild_id"
        )
        return [ScheduleState(_schedule(r), r["last_posted"], r["open_week"]) for r in rows]

    async def guilds_with_open_runs(self) -> list[int]:
        rows = await self._q.all(
            "SELECT DISTINCT guild_id FROM watch_runs WHERE status = 'started' ORDER BY guild_id"
        )
        return [row[0] for row in rows]

    # -- runs --------------------------------------------------------------------------------
    async def run_for_week(self, guild_id: int, week_key: str) -> WatchRun | None:
        row = await self._q.one(
            f"SELECT {_RUN_COLUMNS} FROM watch_runs WHERE guild_id = ? AND week_key = ?",
            (guild_id, week_key),
        )
        return None if row is None else _run(row)

    async def run_by_id(self, run_id: int) -> WatchRun | None:
        row = await self._q.one(f"SELECT {_RUN_COLUMNS} FROM watch_runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    async def open_runs(self, guild_id: int) -> list[WatchRun]:
        """Runs recorded as started and never finished, oldest first."""
        rows = await self._q.all(
            f"SELECT {_RUN_COLUMNS} FROM watch_runs WHERE guild_id = ? AND status = 'started' "
            "ORDER BY week_key",
            (guild_id,),
        )
        return [_run(row) for row in rows]

    async def last_posted(self, guild_id: int, before_week: str | None = None) -> WatchRun | None:
        """The latest posted run (before ``before_week`` when given)."""
        sql = f"SELECT {_RUN_COLUMNS} FROM watch_runs WHERE guild_id = ? AND status = 'posted' "
        params: list[object] = [guild_id]
        if before_week is not None:
            sql, params = sql + "AND week_key < ? ", [*params, before_week]
        row = await self._q.one(sql + "ORDER BY week_key DESC LIMIT 1", params)
        return None if row is None else _run(row)

    async def start_run(
        self,
        guild_id: int,
        week_key: str,
        *,
        channel_id: int,
        started_at: str,
        pick: PickPlan | None,
        poll_state: PollState,
        poll_movie_ids: Sequence[int],
    ) -> int:
        """Record the run as started, with its pick and its poll's movies in answer order."""
        run_id = await self._q.insert(
            "INSERT INTO watch_runs (guild_id, week_key, status, started_at, channel_id, "
            "pick_movie_id, pick_label, pick_suggested_by, pick_suggested_at, pick_reason, "
            "pick_votes, pick_predicted, poll_state) "
            "VALUES (?, ?, 'started', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                week_key,
                started_at,
                channel_id,
                pick.movie.id if pick else None,
                pick.movie.label if pick else None,
                pick.suggested_by if pick else None,
                pick.suggested_at if pick else None,
                pick.reason if pick else None,
                pick.votes if pick else None,
                pick.predicted if pick else None,
                poll_state,
            ),
        )
        await self._q.many(
            "INSERT INTO watch_poll_answers (run_id, answer_id, movie_id) VALUES (?, ?, ?)",
            [(run_id, index, movie_id) for index, movie_id in enumerate(poll_movie_ids, 1)],
        )
        return run_id

    async def mark_posted(
        self,
        run_id: int,
        posted_at: str,
        pick_message_id: int,
        poll_message_id: int | None,
        thread_id: int | None,
    ) -> None:
        await self._q.write(
            "UPDATE watch_runs SET status = 'posted', posted_at = ?, pick_message_id = ?, "
            "poll_message_id = ?, thread_id = ? WHERE id = ? AND status = 'started'",
            (posted_at, pick_message_id, poll_message_id, thread_id, run_id),
        )

    async def retarget(self, run_id: int, channel_id: int) -> None:
        """An unfinished run whose channel was deleted posts in another one."""
        await self._q.write(
            "UPDATE watch_runs SET channel_id = ? WHERE id = ? AND status = 'started'",
            (channel_id, run_id),
        )

    async def delete_started(self, run_id: int) -> None:
        """A started run of which nothing was posted (Discord refused the first message)."""
        await self._q.write("DELETE FROM watch_runs WHERE id = ? AND status = 'started'", (run_id,))

    async def mark_skipped(self, run_id: int) -> None:
        await self._q.write(
            "UPDATE watch_runs SET status = 'skipped' WHERE id = ? AND status = 'started'",
            (run_id,),
        )

    async def poll_answers(self, run_id: int) -> list[PollAnswer]:
        rows = await self._q.all(
            "SELECT answer_id, movie_id, votes FROM watch_poll_answers WHERE run_id = ? "
            "ORDER BY answer_id",
            (run_id,),
        )
        return [PollAnswer(row[0], row[1], row[2]) for row in rows]

    async def record_poll_counts(self, run_id: int, counts: Mapping[int, int] | None) -> None:
        """The poll ended: its final counts per answer (None: the poll is gone, no votes)."""
        await self._q.many(
            "UPDATE watch_poll_answers SET votes = ? WHERE run_id = ? AND answer_id = ?",
            [
                (max(0, int((counts or {}).get(answer.answer_id, 0))), run_id, answer.answer_id)
                for answer in await self.poll_answers(run_id)
            ],
        )
        await self._q.write("UPDATE watch_runs SET poll_closed = 1 WHERE id = ?", (run_id,))

    # -- history -----------------------------------------------------------------------------
    async def posted_runs(self, guild_id: int, limit: int) -> list[WatchRun]:
        rows = await self._q.all(
            f"SELECT {_RUN_COLUMNS} FROM watch_runs WHERE guild_id = ? AND status = 'posted' "
            "ORDER BY week_key DESC LIMIT ?",
            (guild_id, limit),
        )
        return [_run(row) for row in rows]

    async def count_posted(self, guild_id: int) -> int:
        return int(
            await self._q.scalar(
                "SELECT count(*) FROM watch_runs WHERE guild_id = ? AND status = 'posted'",
                (guild_id,),
            )
        )

    async def picked_movies(self, guild_id: int) -> dict[int, str]:
        """Movie id -> the week it was picked, for every pick that was posted or is going out."""
        rows = await self._q.all(
            "SELECT pick_movie_id, min(week_key) FROM watch_runs WHERE guild_id = ? "
            "AND status IN ('started', 'posted') AND pick_movie_id IS NOT NULL "
            "GROUP BY pick_movie_id",
            (guild_id,),
        )
        return {row[0]: row[1] for row in rows}

    async def picks_by_member(self, guild_id: int) -> dict[int, int]:
        """How many past picks each member suggested."""
        rows = await self._q.all(
            "SELECT pick_suggested_by, count(*) FROM watch_runs WHERE guild_id = ? "
            "AND status = 'posted' AND pick_suggested_by IS NOT NULL GROUP BY pick_suggested_by",
            (guild_id,),
        )
        return {row[0]: row[1] for row in rows}
