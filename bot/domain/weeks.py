"""Weekly schedule math: which week a guild is in and when its weekly post is due.

A guild's schedule is a weekday and a wall-clock time in its IANA time zone. Every instant that
goes in or comes out of this module is a timezone-aware ``datetime`` in UTC; local time exists
only inside. A *week* is an ISO week of the guild's local calendar, keyed ``"YYYY-Www"``
(``"2026-W53"``, ``"2027-W01"``); keys sort in time order as plain strings.

The rules, in one place:

* Each week gets its post once: at the week's slot or, when the slot passed without one (the bot
  was offline, or the schedule moved to a moment already past), as soon as possible afterwards
  within the same week. See :func:`due_run`.
* A week that ended without its post is skipped, never posted late; :func:`skipped_weeks` names
  those weeks so the caller can log them.
* The caller stores the week key :func:`due_run` returned once the post is out, and passes it
  back as ``last_run_week``. That key is all the state there is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import InvalidInput

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_WEEKDAY_ALIASES = {"weds": 2}  # everything else is a prefix of the full name
_WEEK_KEY = re.compile(r"(\d{4})-W(\d{2})")
_TIME = re.compile(
    r"(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?P<suffix>am|pm|a\.m\.|p\.m\.|h)?"
)
_SHOWN_INPUT = 40  # how much of a bad value an error message repeats


@dataclass(frozen=True)
class Schedule:
    """When a guild's weekly post goes out: ``weekday`` 0 = Monday ... 6 = Sunday, ``time`` a
    naive wall-clock time in the IANA zone ``timezone``."""

    weekday: int
    time: time
    timezone: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if self.time.tzinfo is not None:
            raise ValueError("Schedule.time is a wall-clock time; the zone goes in `timezone`")
        ZoneInfo(self.timezone)  # fails loudly on a zone that does not exist

    def describe(self) -> str:
        """``Friday 20:00 (Europe/Berlin)``"""
        return f"{WEEKDAYS[self.weekday]} {self.time:%H:%M} ({self.timezone})"


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_INPUT else text[: _SHOWN_INPUT - 1] + "…"


def parse_weekday(text: str) -> int:
    """``"monday"``, ``"Mon"``, ``"mo"``, ``"Tues"``, ``"thurs"``, ``"Sundays"`` -> 0..6.

    Any prefix of at least two letters of a day's name works, case-insensitively, with an optional
    trailing dot or plural ``s``.
    """
    word = text.strip().lower().rstrip(".")
    names = [name.lower() for name in WEEKDAYS]
    if word.endswith("s") and word[:-1] in names:
        word = word[:-1]
    if word in _WEEKDAY_ALIASES:
        return _WEEKDAY_ALIASES[word]
    if len(word) >= 2:
        matches = [i for i, name in enumerate(names) if name.startswith(word)]
        if len(matches) == 1:
            return matches[0]
    raise InvalidInput(
        f"“{_shown(text)}” is not a day of the week. Use a day name such as Friday, Fri or fr."
    )


def parse_time(text: str) -> time:
    """``"20:00"``, ``"8pm"``, ``"8:30 pm"``, ``"20h"``, ``"20h30"``, ``"20.30"``, ``"noon"``,
    ``"midnight"`` -> a wall-clock time.

    A bare number (``"8"``) is refused: it could be morning or evening.
    """
    cleaned = " ".join(text.strip().lower().split())
    if cleaned == "noon":
        return time(12, 0)
    if cleaned == "midnight":
        return time(0, 0)
    match = _TIME.fullmatch(cleaned)
    if match is not None:
        hour = int(match["hour"])
        minute = int(match["minute"] or 0)
        suffix = match["suffix"]
        if minute <= 59 and (suffix is not None or match["minute"] is not None):
            if suffix in ("am", "a.m.", "pm", "p.m.") and 1 <= hour <= 12:
                is_pm = suffix.startswith("p")
                return time(hour % 12 + (12 if is_pm else 0), minute)
            if suffix in (None, "h") and hour <= 23:
                return time(hour, minute)
    raise InvalidInput(
        f"“{_shown(text)}” is not a time of day. Write it like 20:00, 8pm or 8:30 pm."
    )


@cache
def _zone_names() -> dict[str, str]:
    """Every zone key this machine knows, by its lower-case spelling."""
    return {name.lower(): name for name in available_timezones()}


def validate_timezone(name: str) -> str:
    """The canonical IANA name for ``name`` (matched case-insensitively), e.g. ``Europe/Berlin``."""
    key = name.strip()
    canonical = _zone_names().get(key.lower())
    if canonical is not None:
        try:
            ZoneInfo(canonical)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return canonical
    close = difflib.get_close_matches(key.lower(), list(_zone_names()), n=1, cutoff=0.75)
    if not close:  # a bare city: "Berlin" -> Europe/Berlin
        city = key.lower().rsplit("/", 1)[-1]
        close = sorted(z for z in _zone_names() if city and z.rsplit("/", 1)[-1] == city)[:1]
    hint = f" Did you mean {_zone_names()[close[0]]}?" if close else ""
    raise InvalidInput(
        f"“{_shown(name)}” is not a time zone I know.{hint} "
        "Use an IANA name such as Europe/Berlin, America/New_York or Asia/Tokyo."
    )


def _require_utc_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime (UTC)")


def _parse_week_key(key: str) -> tuple[int, int]:
    match = _WEEK_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a week key: {key!r} (expected e.g. '2026-W09')")
    year, week = int(match[1]), int(match[2])
    date.fromisocalendar(year, week, 1)  # ValueError for week 53 of a 52-week year, or week 0
    return year, week


def _monday(key: str) -> date:
    year, week = _parse_week_key(key)
    return date.fromisocalendar(year, week, 1)


def _key_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def shift_week(key: str, weeks: int) -> str:
    """The week ``weeks`` weeks after (or before, when negative) ``key``:
    ``shift_week("2026-W53", 1) == "2027-W01"``."""
    return _key_of(_monday(key) + timedelta(weeks=weeks))


def week_key(instant_utc: datetime, tz: str) -> str:
    """The ISO week that ``instant_utc`` falls in on the local calendar of zone ``tz``."""
    _require_utc_aware(instant_utc)
    return _key_of(instant_utc.astimezone(ZoneInfo(tz)).date())


def scheduled_instant(schedule: Schedule, week_key: str) -> datetime:
    """The UTC instant of ``schedule``'s slot in the week ``week_key``.

    The slot is the schedule's weekday in that ISO week at the schedule's wall-clock time, in the
    schedule's zone, resolved the way :pep:`495` resolves ``fold=0``:

    * a wall-clock time that does not exist (the spring-forward gap) is read with the offset in
      force before the gap, so it lands *after* the gap, shifted forward by the gap's length:
      02:30 on the day Europe/Berlin springs forward (02:00 -> 03:00) is 03:30 CEST, 01:30 UTC;
    * a wall-clock time that happens twice (the autumn fold) is its first occurrence: 02:30 on
      the day Europe/Berlin falls back (03:00 -> 02:00) is 02:30 CEST, 00:30 UTC.
    """
    day = _monday(week_key) + timedelta(days=schedule.weekday)
    wall = datetime.combine(day, schedule.time.replace(fold=0), tzinfo=ZoneInfo(schedule.timezone))
    return wall.astimezone(UTC)


def _after(key: str, last_run_week: str | None) -> bool:
    return last_run_week is None or _parse_week_key(key) > _parse_week_key(last_run_week)


def due_run(schedule: Schedule, now_utc: datetime, last_run_week: str | None) -> str | None:
    """The week whose post should go out now, or None.

    It is the current local week, when its slot is at or before ``now_utc`` and that week has not
    had its post (``last_run_week`` is an earlier week, or None). Consequences:

    * the bot was offline across the slot: the post goes out once when it returns, if that is
      still the same week; a week that ended meanwhile is skipped (never returned here);
    * the schedule changed mid-week: a week that already had its post gets nothing more; a week
      that has not had it gets it once, at the new slot, or at once if the new slot is already
      past ("I set it for Tuesday; it is Wednesday: post now"). A first schedule set after this
      week's slot therefore posts at once, like a schedule moved there;
    * ``last_run_week`` later than the current week (the zone moved west) never posts again
      until the calendar passes it.
    """
    current = week_key(now_utc, schedule.timezone)
    if not _after(current, last_run_week):
        return None
    if now_utc >= scheduled_instant(schedule, current):
        return current
    return None


def next_run_after(schedule: Schedule, now_utc: datetime, last_run_week: str | None) -> datetime:
    """When the next post goes out if the bot stays online: the earliest instant at or after
    ``now_utc`` at which :func:`due_run` returns a week (``now_utc`` itself when one is due)."""
    current = week_key(now_utc, schedule.timezone)
    week = current
    if last_run_week is not None and not _after(current, last_run_week):
        week = shift_week(last_run_week, 1)
    return max(now_utc, scheduled_instant(schedule, week))


def skipped_weeks(schedule: Schedule, now_utc: datetime, last_run_week: str | None) -> list[str]:
    """Weeks after ``last_run_week`` that ended without their post and never will get it, oldest
    first: every week strictly between ``last_run_week`` and the current one. Empty when there is
    no previous run (a new schedule has nothing to catch up on)."""
    if last_run_week is None:
        return []
    current = week_key(now_utc, schedule.timezone)
    weeks: list[str] = []
    week = shift_week(last_run_week, 1)
    while _after(current, week):
        weeks.append(week)
        week = shift_week(week, 1)
    return weeks
