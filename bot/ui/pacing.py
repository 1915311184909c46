"""Pacing background requests under Discord's global limit of 50 requests a second.

discord.py waits out per-route buckets from the rate-limit headers, but it does not pace that
global limit: work that sends many requests on its own initiative (the weekly run, card
reconciliation after a restart) takes turns on a :class:`Pacer` instead, so that members'
commands and card edits, which are not paced, always find room.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

REQUESTS_PER_SECOND = 45.0  # all paced background work together; Discord's global limit is 50


class Pacer:
    """Releases requests one after another, each at least ``1 / per_second`` after the last
    release as it really happened, first come first served, across every caller.

    ``take(n)`` waits for the caller's turn; the caller then sends its ``n`` requests and the
    next turn comes ``n / per_second`` later. Spacing is measured from actual releases, so a
    stalled event loop delays requests but never lets them out in a burst: any one second holds
    at most ``per_second`` releases (plus the ``n - 1`` of one multi-request turn).
    """

    def __init__(
        self,
        per_second: float = REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._turn = asyncio.Lock()  # FIFO: waiters are served in the order they came
        self._next = float("-inf")
        self.taken = 0

    async def take(self, requests: int = 1) -> None:
        if requests <= 0:
            return
        async with self._turn:
            wait = self._next - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._next = self._clock() + requests * self._interval
            self.taken += requests
