"""Coalesced work per key: however often a key is marked, its action runs at most once per
``interval``, and always once more after the last mark — so the result settles on the final state.

The interval is counted from the *end* of the previous run: an edit that was held back by a
rate-limit wait still leaves a full interval before the next one reaches Discord.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
CLOSE_WITHIN = 1.0  # seconds close() waits for cancelled actions to stop


class Coalescer(Generic[K]):
    def __init__(
        self,
        action: Callable[[K], Awaitable[None]],
        interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._action = action
        self._interval = interval
        self._monotonic = monotonic
        self._dirty: set[K] = set()
        self._last_end: dict[K, float] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._closed = False
        self.runs = 0

    def mark(self, key: K) -> None:
        if self._closed:
            return  # shutting down: what is owed now is caught up at the next start
        self._dirty.add(key)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._drive(key), name=f"coalesce-{key}")

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def settle(self) -> None:
        """Wait until nothing is marked or running (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self, within: float = CLOSE_WITHIN) -> None:
        """Drop what is owed and stop running actions; later marks are ignored. An action that
        does not stop within ``within`` seconds of being cancelled (a request stuck in the
        network) is left behind rather than holding up the shutdown."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=within)
            if stuck:
                log.warning("%d coalesced action(s) did not stop in time; left behind", len(stuck))
        self._tasks.clear()

    async def _drive(self, key: K) -> None:
        try:
            while key in self._dirty:
                last = self._last_end.get(key)
                if last is not None:
                    wait = last + self._interval - self._monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                self._dirty.discard(key)
                self.runs += 1
                try:
                    await self._action(key)
                except Exception:
                    log.exception("coalesced action for %s failed", key)
                finally:
                    self._last_end[key] = self._monotonic()
        finally:
            self._tasks.pop(key, None)
