"""Jump links: plain URL formats, so services can point members at a message or channel."""

from __future__ import annotations

_BASE = "https://discord.com/channels"


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"{_BASE}/{guild_id}/{channel_id}/{message_id}"


def channel_link(guild_id: int, channel_id: int) -> str:
    return f"{_BASE}/{guild_id}/{channel_id}"
