"""A loopback Discord (REST v10 + Gateway) for end-to-end tests of discord.py bots.

See /work/shared/DISCORD_EMULATOR.md for the protocol facts the implementation relies on.
"""

from tests.emulator.driver import Emulator
from tests.emulator.entities import ChannelState, GuildState, MemberState, RoleState
from tests.emulator.errors import ApiError
from tests.emulator.interactions import Interaction
from tests.emulator.limits import RateLimiter, RateRule
from tests.emulator.perms import Perm
from tests.emulator.records import Call
from tests.emulator.world import StoredFile, World

__all__ = [
    "ApiError",
    "Call",
    "ChannelState",
    "Emulator",
    "GuildState",
    "Interaction",
    "MemberState",
    "Perm",
    "RateLimiter",
    "RateRule",
    "RoleState",
    "StoredFile",
    "World",
]
