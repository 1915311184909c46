"""Showing member-typed text safely: markdown and mention syntax escaped, lengths capped."""

from __future__ import annotations

from datetime import datetime

import discord


def safe(text: str, limit: int | None = None) -> str:
    """Member text as literal characters: no bold, no links, no inert-looking @mentions."""
    shown = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1].rstrip("\\") + "…"
    return shown


def plain_cap(text: str, limit: int) -> str:
    """Cap text that Discord shows without markdown (thread names, choice names)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timestamp(instant: datetime, style: str = "F") -> str:
    """A Discord timestamp: each member sees it in their own time zone."""
    return f"<t:{int(instant.timestamp())}:{style}>"
