"""The weekly schedule math, driven by a fake clock that steps a minute at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import ClubError, InvalidInput
from bot.domain.weeks import (
    Schedule,
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

BERLIN = "Europe/Berlin"
MINUTE = timedelta(minutes=1)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int, minute: int, *, fold: int = 0) -> datetime:
    """A wall-clock time in Berlin as a UTC instant."""
    wall = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN), fold=fold)
    return wall.astimezone(UTC)


def minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    now = start
    while now < end:
        yield now
        now += MINUTE


Run = tuple[str, datetime]


def simulate(
    schedule_at: Callable[[datetime], Schedule],
    start: datetime,
    end: datetime,
    *,
    online: Callable[[datetime], bool] = lambda _: True,
    last_run_week: str | None = None,
) -> list[Run]:
    """The scheduler loop with an injected clock: every minute the bot is online, ask whether a
    post is due; record it and remember its week as the loop's only state."""
    runs: list[Run] = []
    last = last_run_week
    for now in minutes(start, end):
        if not online(now):
            continue
        key = due_run(schedule_at(now), now, last)
        if key is not None:
            runs.append((key, now))
            last = key
    return runs


def fixed(schedule: Schedule) -> Callable[[datetime], Schedule]:
    return lambda _: schedule


# --- DST -------------------------------------------------------------------------------------


def test_sunday_0230_across_spring_forward_posts_once_per_week_after_the_gap() -> None:
    # 2026-03-29: Europe/Berlin jumps from 02:00 CET to 03:00 CEST; 02:30 does not exist.
    schedule = Schedule(SUN, time(2, 30), BERLIN)
    runs = simulate(fixed(schedule), utc(2026, 3, 16), utc(2026, 4, 6))
    assert runs == [
        ("2026-W12", utc(2026, 3, 22, 1, 30)),  # 02:30 CET
        ("2026-W13", utc(2026, 3, 29, 1, 30)),  # the gap: 03:30 CEST, the minute 02:30 CET would be
        ("2026-W14", utc(2026, 4, 5, 0, 30)),  # 02:30 CEST
    ]
    spring_day = runs[1][1].astimezone(ZoneInfo(BERLIN))
    assert (spring_day.hour, spring_day.minute, spring_day.tzname()) == (3, 30, "CEST")


def test_sunday_0230_across_fall_back_posts_at_the_first_0230_only() -> None:
    # 2026-10-25: Europe/Berlin falls back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    schedule = Schedule(SUN, time(2, 30), BERLIN)
    runs = simulate(fixed(schedule), utc(2026, 10, 12), utc(2026, 11, 2))
    assert runs == [
        ("2026-W42", utc(2026, 10, 18, 0, 30)),  # 02:30 CEST
        ("2026-W43", utc(2026, 10, 25, 0, 30)),  # the first 02:30 (CEST), not 01:30 UTC
        ("2026-W44", utc(2026, 11, 1, 1, 30)),  # 02:30 CET
    ]
    assert berlin(2026, 10, 25, 2, 30, fold=1) == utc(2026, 10, 25, 1, 30)
    assert all(now != utc(2026, 10, 25, 1, 30) for _, now in runs)


@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2026, 3, 16), utc(2026, 4, 6)), (utc(2026, 10, 12), utc(2026, 11, 2))],
    ids=["spring-forward", "fall-back"],
)
def test_evening_schedule_keeps_its_wall_clock_time_across_dst(
    start: datetime, end: datetime
) -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    runs = simulate(fixed(schedule), start, end)
    assert len(runs) == 3
    assert len({key for key, _ in runs}) == 3
    for key, now in runs:
        wall = now.astimezone(ZoneInfo(BERLIN))
        assert (wall.weekday(), wall.hour, wall.minute) == (FRI, 20, 0)
        assert now == scheduled_instant(schedule, key)


def test_scheduled_instant_resolves_gap_forward_and_fold_to_first_occurrence() -> None:
    schedule = Schedule(SUN, time(2, 30), BERLIN)
    assert scheduled_instant(schedule, "2026-W13") == berlin(2026, 3, 29, 3, 30)
    assert scheduled_instant(schedule, "2026-W43") == berlin(2026, 10, 25, 2, 30, fold=0)
    new_york = Schedule(SUN, time(2, 15), "America/New_York")  # springs forward 2026-03-08
    assert scheduled_instant(new_york, "2026-W10") == utc(2026, 3, 8, 7, 15)  # 03:15 EDT


# --- ISO week 53 -> 1 --------------------------------------------------------------------------


def test_iso_week_53_then_week_1_each_post_once() -> None:
    # 2026 has 53 ISO weeks: 2026-W53 is Mon 2026-12-28 .. Sun 2027-01-03.
    schedule = Schedule(SUN, time(20, 0), BERLIN)
    runs = simulate(fixed(schedule), utc(2026, 12, 21), utc(2027, 1, 11))
    assert runs == [
        ("2026-W52", utc(2026, 12, 27, 19, 0)),
        ("2026-W53", utc(2027, 1, 3, 19, 0)),  # week 53's slot is in January
        ("2027-W01", utc(2027, 1, 10, 19, 0)),
    ]


def test_week_53_in_a_zone_ahead_of_utc() -> None:
    # Monday 00:30 at UTC+14 is still Sunday in UTC, and still in the previous UTC week.
    schedule = Schedule(MON, time(0, 30), "Pacific/Kiritimati")
    runs = simulate(fixed(schedule), utc(2026, 12, 26), utc(2027, 1, 9), last_run_week="2026-W52")
    assert runs == [("2026-W53", utc(2026, 12, 27, 10, 30)), ("2027-W01", utc(2027, 1, 3, 10, 30))]


def test_week_key_uses_the_guilds_calendar() -> None:
    assert week_key(utc(2026, 12, 27, 23, 30), "UTC") == "2026-W52"
    assert week_key(utc(2026, 12, 27, 23, 30), BERLIN) == "2026-W53"  # Mon 00:30 in Berlin
    assert week_key(utc(2021, 1, 3, 12), BERLIN) == "2020-W53"
    assert week_key(utc(2027, 1, 4, 12), BERLIN) == "2027-W01"
    assert shift_week("2026-W53", 1) == "2027-W01"
    assert shift_week("2027-W01", -1) == "2026-W53"
    assert shift_week("2025-W52", 1) == "2026-W01"  # 2025 has 52 weeks


def test_week_key_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        week_key(datetime(2026, 1, 1), BERLIN)


def test_scheduled_instant_refuses_a_week_53_that_does_not_exist() -> None:
    with pytest.raises(ValueError):
        scheduled_instant(Schedule(MON, time(20), BERLIN), "2025-W53")


# --- schedule changed mid-week -----------------------------------------------------------------


def test_schedule_moved_to_a_past_slot_midweek_posts_at_once() -> None:
    friday = Schedule(FRI, time(20, 0), BERLIN)
    tuesday = Schedule(TUE, time(20, 0), BERLIN)
    changed = berlin(2026, 5, 13, 12, 0)  # Wednesday noon, this week has not posted

    runs = simulate(
        lambda now: friday if now < changed else tuesday,
        utc(2026, 5, 11),  # Monday of 2026-W20
        utc(2026, 5, 25),
    )
    assert runs == [
        ("2026-W20", changed),  # not Friday as well
        ("2026-W21", berlin(2026, 5, 19, 20, 0)),
    ]


def test_schedule_moved_after_this_weeks_post_waits_for_next_week() -> None:
    monday = Schedule(MON, time(20, 0), BERLIN)
    friday = Schedule(FRI, time(20, 0), BERLIN)
    changed = berlin(2026, 5, 12, 9, 0)  # Tuesday, after Monday's post

    runs = simulate(
        lambda now: monday if now < changed else friday, utc(2026, 5, 11), utc(2026, 5, 25)
    )
    assert runs == [
        ("2026-W20", berlin(2026, 5, 11, 20, 0)),
        ("2026-W21", berlin(2026, 5, 22, 20, 0)),
    ]


def test_schedule_moved_to_a_later_slot_posts_at_the_new_slot_only() -> None:
    friday = Schedule(FRI, time(20, 0), BERLIN)
    thursday = Schedule(THU, time(21, 15), BERLIN)
    changed = berlin(2026, 5, 13, 12, 0)  # Wednesday

    runs = simulate(
        lambda now: friday if now < changed else thursday, utc(2026, 5, 11), utc(2026, 5, 18)
    )
    assert runs == [("2026-W20", berlin(2026, 5, 14, 21, 15))]


def test_pick_now_before_the_slot_counts_as_this_weeks_post() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    # /club pick-now on Tuesday stored this week as run; the Friday slot then stays quiet.
    runs = simulate(fixed(schedule), utc(2026, 5, 12), utc(2026, 5, 25), last_run_week="2026-W20")
    assert runs == [("2026-W21", berlin(2026, 5, 22, 20, 0))]


# --- offline -----------------------------------------------------------------------------------


def offline_between(start: datetime, end: datetime) -> Callable[[datetime], bool]:
    return lambda now: not start <= now < end


def test_offline_across_the_slot_catches_up_once_on_return_in_the_same_week() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    back = berlin(2026, 5, 16, 10, 0)  # Saturday morning
    runs = simulate(
        fixed(schedule),
        utc(2026, 5, 11),
        utc(2026, 5, 25),
        online=offline_between(berlin(2026, 5, 15, 19, 0), back),
    )
    assert runs == [("2026-W20", back), ("2026-W21", berlin(2026, 5, 22, 20, 0))]


def test_offline_until_the_next_week_skips_the_missed_week() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    back = berlin(2026, 5, 18, 9, 0)  # Monday of 2026-W21
    runs = simulate(
        fixed(schedule),
        utc(2026, 5, 4),
        utc(2026, 5, 25),
        online=offline_between(berlin(2026, 5, 15, 19, 0), back),
    )
    assert runs == [
        ("2026-W19", berlin(2026, 5, 8, 20, 0)),
        ("2026-W21", berlin(2026, 5, 22, 20, 0)),  # W20 never posted; W21 at its own slot
    ]
    assert skipped_weeks(schedule, back, "2026-W19") == ["2026-W20"]


def test_offline_past_the_next_slot_posts_only_the_current_week() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    back = berlin(2026, 5, 23, 9, 0)  # Saturday of 2026-W21, both slots missed
    runs = simulate(
        fixed(schedule),
        utc(2026, 5, 4),
        utc(2026, 5, 25),
        online=offline_between(berlin(2026, 5, 15, 19, 0), back),
    )
    assert runs == [
        ("2026-W19", berlin(2026, 5, 8, 20, 0)),
        ("2026-W21", back),
    ]
    assert skipped_weeks(schedule, back, "2026-W19") == ["2026-W20"]


def test_skipped_weeks_across_a_year_end() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    now = berlin(2027, 1, 12, 9, 0)  # 2027-W02
    assert skipped_weeks(schedule, now, "2026-W52") == ["2026-W53", "2027-W01"]
    assert skipped_weeks(schedule, now, "2027-W01") == []
    assert skipped_weeks(schedule, now, None) == []


# --- next run ------------------------------------------------------------------------------------


def test_next_run_after() -> None:
    schedule = Schedule(FRI, time(20, 0), BERLIN)
    wednesday = berlin(2026, 5, 13, 12, 0)
    saturday = berlin(2026, 5, 16, 12, 0)
    this_friday = berlin(2026, 5, 15, 20, 0)
    next_friday = berlin(2026, 5, 22, 20, 0)
    assert next_run_after(schedule, wednesday, "2026-W19") == this_friday
    assert next_run_after(schedule, wednesday, None) == this_friday
    assert next_run_after(schedule, wednesday, "2026-W20") == next_friday  # picked early
    assert next_run_after(schedule, saturday, "2026-W19") == saturday  # due: catch up now
    assert next_run_after(schedule, saturday, "2026-W20") == next_friday
    assert next_run_after(schedule, this_friday, "2026-W19") == this_friday


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weekday"),
    [
        ("monday", MON),
        ("Mon", MON),
        ("mo", MON),
        ("TUESDAY", TUE),
        ("tues", TUE),
        ("Wed.", WED),
        ("weds", WED),
        ("thurs", THU),
        ("th", THU),
        ("fri", FRI),
        ("Saturdays", SAT),
        (" su ", SUN),
    ],
)
def test_parse_weekday(text: str, weekday: int) -> None:
    assert parse_weekday(text) == weekday


@pytest.mark.parametrize("text", ["", "t", "s", "funday", "mondayy", "7", "Montag"])
def test_parse_weekday_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="day of the week"):
        parse_weekday(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:00", time(20, 0)),
        ("8pm", time(20, 0)),
        ("8:30 pm", time(20, 30)),
        ("8:30 P.M.", time(20, 30)),
        ("20h", time(20, 0)),
        ("20h30", time(20, 30)),
        ("20.45", time(20, 45)),
        ("7am", time(7, 0)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("0:05", time(0, 5)),
        ("noon", time(12, 0)),
        ("Midnight", time(0, 0)),
    ],
)
def test_parse_time(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "8", "20", "24:00", "13pm", "0am", "20:60", "8:5pm", "eight"])
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="20:00, 8pm or 8:30 pm"):
        parse_time(text)


def test_validate_timezone() -> None:
    assert validate_timezone("Europe/Berlin") == "Europe/Berlin"
    assert validate_timezone(" europe/berlin ") == "Europe/Berlin"
    assert validate_timezone("UTC") == "UTC"
    with pytest.raises(ClubError, match=r"Did you mean Europe/Berlin\?.*Europe/Berlin"):
        validate_timezone("Europe/Berln")
    for bad in ["", "Mars/Olympus_Mons", "../../etc/passwd", "+02:00"]:
        with pytest.raises(InvalidInput, match="Europe/Berlin"):
            validate_timezone(bad)


def test_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Schedule(7, time(20), BERLIN)
    with pytest.raises(ValueError):
        Schedule(MON, time(20, tzinfo=UTC), BERLIN)
    assert Schedule(FRI, time(20), BERLIN).describe() == "Friday 20:00 (Europe/Berlin)"


# --- properties ----------------------------------------------------------------------------------

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight
    "America/Havana",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
    "Africa/Casablanca",  # suspends DST for Ramadan
    "Asia/Kolkata",
    "UTC",
]

schedules = st.builds(
    Schedule,
    weekday=st.integers(0, 6),
    time=st.builds(time, st.integers(0, 23), st.integers(0, 59)),
    timezone=st.sampled_from(ZONES),
)
starts = st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 1)).map(
    lambda naive: naive.replace(second=0, microsecond=0, tzinfo=UTC)
)
# A mix of the normal one-minute tick, short hiccups and long outages.
gaps = st.lists(
    st.one_of(
        st.integers(1, 3),
        st.integers(4, 180),
        st.integers(181, 10 * 24 * 60),
    ).map(lambda n: timedelta(minutes=n)),
    min_size=1,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, start=starts, steps=gaps)
def test_never_two_posts_in_a_week_and_never_before_the_slot(
    schedule: Schedule, start: datetime, steps: list[timedelta]
) -> None:
    runs: list[Run] = []
    last: str | None = None
    now = start
    for step in steps:
        now += step
        key = due_run(schedule, now, last)
        if key is not None:
            runs.append((key, now))
            last = key
        # Whenever the bot is up after this week's slot, this week has had its post.
        current = week_key(now, schedule.timezone)
        if now >= scheduled_instant(schedule, current):
            assert last == current
    keys = [key for key, _ in runs]
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)
    for key, at in runs:
        assert at >= scheduled_instant(schedule, key)
        assert week_key(at, schedule.timezone) == key  # posted within its own week


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, start=starts)
def test_slot_is_the_wall_clock_time_or_just_after_a_gap(
    schedule: Schedule, start: datetime
) -> None:
    zone = ZoneInfo(schedule.timezone)
    key = week_key(start, schedule.timezone)
    slot = scheduled_instant(schedule, key)
    assert slot.tzinfo is UTC
    wall = slot.astimezone(zone)
    assert week_key(slot, schedule.timezone) == key
    requested = datetime.combine(wall.date(), schedule.time)
    shift = wall.replace(tzinfo=None) - requested
    if shift:
        # Only a wall-clock time that does not exist moves, forward by the gap's length.
        naive = requested.replace(tzinfo=zone)
        assert naive.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != requested
        gap = naive.replace(fold=1).utcoffset() - naive.replace(fold=0).utcoffset()  # type: ignore[operator]
        assert shift == gap > timedelta(0)
    else:
        assert (wall.weekday(), wall.time()) == (schedule.weekday, schedule.time)


@settings(max_examples=200, deadline=None)
@given(
    schedule=schedules,
    now=starts,
    last_offset=st.one_of(st.none(), st.integers(-3, 1)),
)
def test_next_run_after_agrees_with_due_run(
    schedule: Schedule, now: datetime, last_offset: int | None
) -> None:
    current = week_key(now, schedule.timezone)
    last = None if last_offset is None else shift_week(current, last_offset)
    nxt = next_run_after(schedule, now, last)
    assert nxt >= now
    assert due_run(schedule, nxt, last) is not None
    if nxt > now:
        assert due_run(schedule, now, last) is None
        if nxt - MINUTE >= now:
            assert due_run(schedule, nxt - MINUTE, last) is None
