"""Time as the emulator's rules see it: injected, so tests jump it instead of waiting.

Two rules of Discord's depend on time, and each runs on its own clock:

* the rate limits (`Emulator(limit_clock=...)`, `emu.limits.clock`): the emulator counts
  requests in windows on the clock's time line, and tells the client (discord.py, which sleeps
  in *real* seconds) how long to wait in X-RateLimit headers and a 429's ``retry_after``;
* the interaction deadlines (`Emulator(deadline_clock=...)`, `emu.deadline_clock`): 3 s for the
  first response, 15 min for followups and edits of the original response.

An `EmuClock` gives `now()` on its time line, `real_seconds()` to turn a wait on that line into
the real wait a client is told, and `jump()` to move the line forward at once.

* `RealTime()` — Discord's pace (the default). For tests about pacing and 429s.
* `FastTime(speed)` — time runs ``speed`` times faster than real time. Every rule is still
  enforced and advertised in the same proportions, so a client that ignores the headers still
  meets 429s and one that follows them still paces itself; the waits are ``speed`` times
  shorter. For tests of the bot's behaviour that are not about timing.
* `ManualTime()` — stands still until a test calls `jump()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class EmuClock(Protocol):
    def now(self) -> float:
        """Seconds on this clock's time line (monotonic; only differences count)."""
        ...

    def real_seconds(self, seconds: float) -> float:
        """How many real seconds a client waits for ``seconds`` on this clock's time line."""
        ...

    def jump(self, seconds: float) -> None:
        """Move the time line forward by ``seconds`` at once."""
        ...


class RealTime:
    """Real (monotonic) time, as on Discord; `jump()` adds an offset."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def real_seconds(self, seconds: float) -> float:
        return seconds

    def jump(self, seconds: float) -> None:
        self._offset += seconds

    def __repr__(self) -> str:
        return "RealTime()"


class FastTime:
    """Time that runs ``speed`` times faster than ``source`` (real monotonic time unless given);
    `jump()` adds an offset."""

    def __init__(self, speed: float, *, source: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._source = source
        self._origin = source()
        self._offset = 0.0

    def now(self) -> float:
        return (self._source() - self._origin) * self.speed + self._offset

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed

    def jump(self, seconds: float) -> None:
        self._offset += seconds

    def __repr__(self) -> str:
        return f"FastTime({self.speed:g})"


class ManualTime:
    """Time that stands still until a test jumps it."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def real_seconds(self, seconds: float) -> float:
        return seconds

    def jump(self, seconds: float) -> None:
        self._now += seconds

    def __repr__(self) -> str:
        return f"ManualTime({self._now:g})"
