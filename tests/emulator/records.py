"""What the emulator records about REST traffic, and a signal for waiting on changes."""

# Timeouts are part of the public test API (like asyncio.wait_for), hence ASYNC109.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One REST request as the emulator saw it."""

    method: str
    path: str
    route: str | None  # "PATCH /channels/{channel_id}/messages/{message_id}"; None if unknown
    query: dict[str, str]
    json: Any  # parsed body; for multipart, the parsed payload_json
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    headers: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # uploaded file names
    response: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


POLL_SECONDS = 0.05


class Signal:
    """Wakes every waiter whenever something changes; waiters re-check their own condition.

    Waiters also re-check every 50 ms, because predicates may look at state the emulator does
    not see change (for example a list the bot appends to).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), min(remaining, POLL_SECONDS))
            except TimeoutError:
                continue
