"""Session starts: Discord's limits on IDENTIFY, and the record of every IDENTIFY.

What Discord documents (tests/README.md, facts 26 and 28):

* IDENTIFYs are paced per *bucket*, ``shard_id % max_concurrency``: one IDENTIFY a bucket per
  5 seconds. One that comes sooner is answered with INVALID_SESSION (op 9, ``d: false``) and
  starts no session.
* An app may start ``total`` sessions (1,000) in 24 hours; RESUMEs do not count.
  ``/gateway/bot`` reports what is left (``remaining``) and when the count starts over
  (``reset_after``, in ms). An IDENTIFY with nothing left ends every session of the app and
  resets its token.

The rules run on an injected clock (`tests.emulator.clock`), by default the rate limits' one,
so a test on a fast clock keeps every rule with shorter waits, and a test can `jump()` it (or
`pass_window()`), or give ``emu.logins.clock`` a clock of its own before a bot logs in.

Every IDENTIFY is recorded as an `Identify`, whatever became of it; `Logins.identifies()`
queries the record, `Logins.too_fast()` lists the ones that broke the pacing::

    emu.logins.max_concurrency = 2
    ...                                  # start the bot's processes
    assert emu.logins.too_fast() == []   # nobody identified sooner than Discord allows
    starts = emu.logins.identifies(outcome=READY)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.emulator.clock import EmuClock, RealTime

IDENTIFY_WINDOW = 5.0  # seconds between two IDENTIFYs of one bucket
SESSION_START_PERIOD = 24 * 3600.0  # the daily session start limit's period
SESSION_STARTS = 1000  # Discord's `total` for a bot under 150,000 guilds

# What became of an IDENTIFY.
READY = "READY"  # a session started
INVALID_SESSION = "INVALID_SESSION"  # too soon for its bucket: op 9, no session
TOKEN_RESET = "TOKEN_RESET"  # no session starts left: every session ended, token reset
AUTHENTICATION_FAILED = "CLOSED 4004"
INVALID_SHARD = "CLOSED 4010"
SHARDING_REQUIRED = "CLOSED 4011"
DISALLOWED_INTENTS = "CLOSED 4014"


@dataclass(frozen=True)
class Identify:
    """One IDENTIFY the gateway received."""

    at: float  # on the logins' clock
    shard_id: int  # what IDENTIFY named; [0, 1] when it named no shard
    num_shards: int
    bucket: int  # shard_id % max_concurrency at the time
    within_limits: bool  # False: sooner than its bucket allows, or no session starts left
    outcome: str  # READY, INVALID_SESSION, TOKEN_RESET or "CLOSED <code>"
    session_id: str | None = None  # the session it started

    @property
    def shard(self) -> tuple[int, int]:
        return (self.shard_id, self.num_shards)


@dataclass
class Logins:
    """The session start limit and the IDENTIFY pacing, with the record of every IDENTIFY.

    ``recommended_shards`` is what ``GET /gateway/bot`` recommends; the other fields are
    Discord's session start limit.
    """

    clock: EmuClock = field(default_factory=RealTime)
    max_concurrency: int = 1
    total: int = SESSION_STARTS
    recommended_shards: int = 1
    records: list[Identify] = field(default_factory=list)
    _last_start: dict[int, float] = field(default_factory=dict)  # bucket -> clock time
    _period_start: float | None = None
    _started_in_period: int = 0

    # ---- the rules -------------------------------------------------------------------------
    def bucket(self, shard_id: int) -> int:
        """Discord's rate limit key for a shard."""
        return shard_id % max(1, self.max_concurrency)

    def _roll_period(self, now: float) -> None:
        if self._period_start is not None and now >= self._period_start + SESSION_START_PERIOD:
            self._period_start, self._started_in_period = None, 0

    @property
    def remaining(self) -> int:
        self._roll_period(self.clock.now())
        return max(0, self.total - self._started_in_period)

    def reset_after(self) -> float:
        """Seconds on the clock until ``remaining`` is back to ``total`` (0 if it is)."""
        now = self.clock.now()
        self._roll_period(now)
        if self._period_start is None:
            return 0.0
        return self._period_start + SESSION_START_PERIOD - now

    def paced(self, shard_id: int) -> bool:
        """Whether an IDENTIFY for ``shard_id`` now comes late enough for its bucket."""
        last = self._last_start.get(self.bucket(shard_id))
        return last is None or self.clock.now() - last >= IDENTIFY_WINDOW

    def pass_window(self) -> None:
        """Jump the clock on by one IDENTIFY window, so that every bucket may identify again:
        what a test does, instead of waiting, before it starts another bot."""
        self.clock.jump(IDENTIFY_WINDOW)

    def session_start_limit(self) -> dict[str, int]:
        """The ``session_start_limit`` object of ``GET /gateway/bot``; ``reset_after`` in the
        real milliseconds a client would wait."""
        reset_ms = self.clock.real_seconds(self.reset_after()) * 1000
        return {
            "total": self.total,
            "remaining": self.remaining,
            "reset_after": int(reset_ms),
            "max_concurrency": self.max_concurrency,
        }

    # ---- recording -------------------------------------------------------------------------
    def record(
        self,
        shard_id: int,
        num_shards: int,
        outcome: str,
        *,
        within_limits: bool,
        session_id: str | None = None,
    ) -> Identify:
        """Keep one IDENTIFY; one that started a session takes its bucket's slot and one of
        the day's session starts."""
        now = self.clock.now()
        entry = Identify(
            now,
            shard_id,
            num_shards,
            self.bucket(shard_id),
            within_limits,
            outcome,
            session_id,
        )
        self.records.append(entry)
        if outcome == READY:
            self._last_start[entry.bucket] = now
            self._roll_period(now)
            if self._period_start is None:
                self._period_start = now
            self._started_in_period += 1
        return entry

    # ---- queries ---------------------------------------------------------------------------
    def identifies(
        self,
        *,
        shard_id: int | None = None,
        outcome: str | None = None,
        within_limits: bool | None = None,
    ) -> list[Identify]:
        """The recorded IDENTIFYs, oldest first, narrowed by any of the filters."""
        return [
            r
            for r in self.records
            if (shard_id is None or r.shard_id == shard_id)
            and (outcome is None or r.outcome == outcome)
            and (within_limits is None or r.within_limits == within_limits)
        ]

    def too_fast(self) -> list[Identify]:
        """IDENTIFYs beyond the limits: sooner than their bucket allows (answered op 9), or
        with no session starts left. A bot that paces its logins keeps this empty."""
        return [r for r in self.records if not r.within_limits]

    def started(self) -> list[Identify]:
        """IDENTIFYs that started a session."""
        return self.identifies(outcome=READY)
