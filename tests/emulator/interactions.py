"""The record of one interaction a test started, and what the bot answered to it."""

# Timeouts are part of the public test API (like asyncio.wait_for), hence ASYNC109.
# ruff: noqa: ASYNC109

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.emulator.clock import EmuClock, RealTime
from tests.emulator.entities import ChannelState, MemberState
from tests.emulator.records import Signal
from tests.emulator.world import MESSAGE_FLAG_EPHEMERAL

JSON = dict[str, Any]

# Interaction callback types.
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

RESPONSE_DEADLINE = 3.0  # seconds to send the first callback
TOKEN_LIFETIME = 15 * 60.0  # followups and @original edits stay possible this long


@dataclass
class Interaction:
    """One INTERACTION_CREATE the emulator sent, plus the bot's callback and followups."""

    id: int
    token: str
    type: int
    payload: JSON
    channel: ChannelState
    member: MemberState
    signal: Signal
    source_message: JSON | None = None  # the message whose component was used
    clock: EmuClock = field(default_factory=RealTime, repr=False)  # the deadlines' time line
    created_at: float = field(init=False)  # on `clock`
    callback: JSON | None = None  # the first (and only accepted) callback body
    callback_at: float | None = None
    original: JSON | None = None  # the original response message, as stored
    followups: list[JSON] = field(default_factory=list)
    completed: bool = False  # a deferral was followed by an edit of @original or a followup

    def __post_init__(self) -> None:
        self.created_at = self.clock.now()

    # ---- state ---------------------------------------------------------------------------
    @property
    def responded(self) -> bool:
        return self.callback is not None

    @property
    def kind(self) -> int | None:
        """The callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8, 9."""
        return None if self.callback is None else int(self.callback["type"])

    @property
    def data(self) -> JSON:
        if self.callback is None:
            return {}
        data: JSON = self.callback.get("data") or {}
        return data

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)

    @property
    def modal(self) -> JSON | None:
        return self.data if self.kind == MODAL else None

    @property
    def choices(self) -> list[JSON]:
        choices: list[JSON] = self.data.get("choices") or []
        return choices

    @property
    def message(self) -> JSON | None:
        """The original response message (or the updated component message)."""
        return self.original

    @property
    def content(self) -> str:
        return "" if self.original is None else str(self.original.get("content") or "")

    @property
    def embeds(self) -> list[JSON]:
        return [] if self.original is None else list(self.original.get("embeds") or [])

    @property
    def expired(self) -> bool:
        return self.clock.now() - self.created_at > TOKEN_LIFETIME

    @property
    def late(self) -> bool:
        return self.clock.now() - self.created_at > RESPONSE_DEADLINE

    @property
    def done(self) -> bool:
        if self.kind in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE):
            return self.completed
        return self.responded

    def texts(self) -> str:
        """All user-visible text of the response and followups, one piece per line."""
        pieces: list[str] = []
        for message in [self.original, *self.followups]:
            if message is not None:
                pieces.extend(message_texts(message))
        return "\n".join(p for p in pieces if p)

    # ---- waiting -------------------------------------------------------------------------
    async def response(self, timeout: float = 5.0) -> JSON:
        """Wait for the first callback and return its body ({"type", "data"})."""
        await self.signal.wait_for(
            lambda: self.callback is not None, timeout, f"a response to interaction {self.id}"
        )
        assert self.callback is not None
        return self.callback

    async def wait_done(self, timeout: float = 5.0) -> Interaction:
        """Wait until the response is final (a deferral completed by an edit or followup)."""
        await self.response(timeout)
        await self.signal.wait_for(
            lambda: self.done, timeout, f"interaction {self.id} to complete its deferral"
        )
        return self

    async def wait_followups(self, count: int, timeout: float = 5.0) -> list[JSON]:
        await self.signal.wait_for(
            lambda: len(self.followups) >= count, timeout, f"{count} followups to {self.id}"
        )
        return self.followups


def message_texts(message: JSON) -> list[str]:
    """Content, then each embed's title, author, description, fields and footer."""
    pieces = [str(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        pieces.append(str(embed.get("title") or ""))
        pieces.append(str((embed.get("author") or {}).get("name") or ""))
        pieces.append(str(embed.get("description") or ""))
        for fld in embed.get("fields") or []:
            pieces.append(str(fld.get("name") or ""))
            pieces.append(str(fld.get("value") or ""))
        pieces.append(str((embed.get("footer") or {}).get("text") or ""))
    return pieces
