"""Shared state of a running emulator that the REST handlers work on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulator import errors
from tests.emulator.clock import EmuClock, RealTime
from tests.emulator.entities import ChannelState, GuildState, MemberState
from tests.emulator.errors import ApiError
from tests.emulator.interactions import Interaction
from tests.emulator.limits import RateLimiter
from tests.emulator.logins import Logins
from tests.emulator.perms import Perm
from tests.emulator.records import Call, Signal
from tests.emulator.world import World

JSON = dict[str, Any]


class Core:
    """World + records + interaction registry; what every route handler receives."""

    def __init__(
        self,
        world: World,
        signal: Signal,
        limit_clock: EmuClock | None = None,
        logins: Logins | None = None,
    ) -> None:
        self.world = world
        self.signal = signal
        self.limiter = RateLimiter(clock=limit_clock or RealTime())
        self.logins = logins or Logins(clock=self.limiter.clock)
        self.calls: list[Call] = []
        self.unknown: list[Call] = []
        self.rate_limited = 0
        self.internal_errors: list[Exception] = []  # emulator bugs surfaced as 400 code -1
        self.interactions: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}
        self.command_ids: dict[tuple[int | None, int, str], int] = {}
        self.gateway_url = ""
        # Route key -> callbacks run once its reply is built, before it is sent (after_reply).
        self.reply_hooks: dict[str, list[Callable[[Call], None]]] = {}

    # ---- lookups that answer like Discord when something is missing -----------------------
    def guild(self, guild_id: str) -> GuildState:
        guild = self.world.guilds.get(_int(guild_id))
        if guild is None:
            raise errors.unknown("Guild", errors.UNKNOWN_GUILD)
        return guild

    def channel(self, channel_id: str) -> ChannelState:
        channel = self.world.channel(_int(channel_id))
        if channel is None:
            raise errors.unknown("Channel", errors.UNKNOWN_CHANNEL)
        return channel

    def message(self, channel: ChannelState, message_id: str) -> JSON:
        message = self.world.message(channel, _int(message_id))
        if message is None:
            raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
        return message

    def bot(self, channel: ChannelState) -> MemberState:
        return self.world.guild_of(channel).me

    def bot_permissions(self, channel: ChannelState) -> Perm:
        guild = self.world.guild_of(channel)
        return guild.permissions_for(guild.me, channel)

    def require(self, channel: ChannelState, needed: Perm) -> None:
        """403 50001 if the bot cannot see the channel, 403 50013 if a permission is missing."""
        have = self.bot_permissions(channel)
        if not have & Perm.VIEW_CHANNEL:
            raise errors.missing_access()
        if needed & ~have:
            raise errors.missing_permissions()

    def require_guild(self, guild: GuildState, needed: Perm) -> None:
        if needed & ~guild.base_permissions(guild.me):
            raise errors.missing_permissions()

    def send_permission(self, channel: ChannelState) -> Perm:
        return Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, 50035, "Invalid Form Body", {"id": errors.field_error("NUMBER_TYPE_COERCE", raw)}
        ) from None
