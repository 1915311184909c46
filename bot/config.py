"""Settings, read once from the environment (``.env`` is loaded by ``__main__`` only)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_PATH = "data/reelclub.db"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-.]{8,}$")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)
    database_path: Path = Path(DEFAULT_DATABASE_PATH)
    dev_guild_id: int | None = None
    log_level: int = logging.INFO


def load_settings(env: Mapping[str, str]) -> Settings:
    token = env.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
            "(Discord Developer Portal → your application → Bot → Reset Token)."
        )
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError(
            "DISCORD_TOKEN does not look like a bot token (letters, digits, '.', '_' or '-' only, "
            "no quotes or 'Bot ' prefix): paste it again from the Developer Portal."
        )
    raw_guild = env.get("DEV_GUILD_ID", "").strip()
    dev_guild_id = None
    if raw_guild:
        if not raw_guild.isdigit() or not 15 <= len(raw_guild) <= 21:
            raise ConfigError(
                f"DEV_GUILD_ID must be a server id (15-21 digits), not {raw_guild[:30]!r}: "
                "in Discord enable Developer Mode, right-click the server → Copy Server ID."
            )
        dev_guild_id = int(raw_guild)
    level_name = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level_name not in _LEVELS:
        raise ConfigError(
            f"LOG_LEVEL must be one of {', '.join(_LEVELS)}, not {level_name[:20]!r}."
        )
    db_path = env.get("DATABASE_PATH", "").strip() or DEFAULT_DATABASE_PATH
    return Settings(
        token=token,
        database_path=Path(db_path),
        dev_guild_id=dev_guild_id,
        log_level=getattr(logging, level_name),
    )
