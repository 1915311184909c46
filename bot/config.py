"""Settings, read once from the environment (``.env`` is loaded by ``__main__`` only)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

DEFAULT_DATABASE_PATH = "data/reelclub.db"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-.]{8,}$")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_SHARDS = 4096  # far beyond any club bot; a typo like 100000 is caught here
_SHARD_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)
    database_path: Path = Path(DEFAULT_DATABASE_PATH)
    dev_guild_id: int | None = None
    log_level: int = logging.INFO
    # A PostgreSQL URL (``DATABASE_URL=postgresql://…``); None means SQLite at database_path.
    # It holds the password: never in repr, logs or errors (see :func:`redact_url`).
    database_url: str | None = field(default=None, repr=False)
    shard_count: int | None = None  # None: one connection, or Discord's recommendation
    shard_ids: tuple[int, ...] | None = None  # the shards this process runs; None: all


def redact_url(url: str) -> str:
    """A database URL as it may be shown: the password replaced, everything else kept."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL: show only what kind it claims to be
        return url.split("://", 1)[0][:20] + "://…"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if _port(parts) is not None else ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def load_settings(env: Mapping[str, str], *, need_token: bool = True) -> Settings:
    """Every setting, validated. ``need_token=False`` is for commands that never log in to
    Discord (``python -m bot migrate``): the token is then not checked and may be empty."""
    token = env.get("DISCORD_TOKEN", "").strip()
    if need_token:
        _check_token(token)
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
    database_url = None
    raw_url = env.get("DATABASE_URL", "").strip()
    if raw_url:  # wins over DATABASE_PATH
        db_path, database_url = _database(raw_url, db_path)
    shard_count, shard_ids = _shards(env)
    _one_database_for_every_process(database_url, shard_count, shard_ids)
    return Settings(
        token=token,
        database_path=Path(db_path),
        dev_guild_id=dev_guild_id,
        log_level=getattr(logging, level_name),
        database_url=database_url,
        shard_count=shard_count,
        shard_ids=shard_ids,
    )


def _check_token(token: str) -> None:
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


def _database(url: str, default_path: str) -> tuple[str, str | None]:
    """(SQLite path, PostgreSQL URL or None) from DATABASE_URL."""
    shown = redact_url(url)[:120]
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        if not url.lower().startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise ConfigError(
                f"DATABASE_URL {shown!r} is not a SQLite URL: write sqlite:///data/reelclub.db "
                "(a path relative to where the bot runs) or sqlite:////srv/club.db (absolute)."
            )
        return url[len("sqlite:///") :], None
    if scheme in {"postgresql", "postgres"}:
        return default_path, postgres_url(url)
    raise ConfigError(
        f"DATABASE_URL {shown!r} must start with sqlite:/// or postgresql://, for example "
        "sqlite:///data/reelclub.db or postgresql://user:password@localhost:5432/reelclub."
    )


def _one_database_for_every_process(
    database_url: str | None, count: int | None, ids: tuple[int, ...] | None
) -> None:
    """SHARD_IDS naming only some shards means other processes run the rest, and they must all
    share one database: SQLite is a file for one process."""
    if ids is None or database_url is not None:
        return
    if count is None or set(ids) != set(range(count)):
        raise ConfigError(
            "SHARD_IDS splits the bot across processes, which must share a PostgreSQL database: "
            "set DATABASE_URL=postgresql://…, or leave SHARD_IDS empty to run every shard in "
            "this one process."
        )


def postgres_url(url: str, setting: str = "DATABASE_URL") -> str:
    """``url`` if it is a usable PostgreSQL URL (its scheme in lower case, as the driver and
    ``open_database`` expect it), else a ConfigError naming ``setting`` and never the password."""
    shown = redact_url(url)[:120]
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in {"postgresql", "postgres"}:
        raise ConfigError(
            f"{setting} {shown!r} is not a PostgreSQL URL: write "
            "postgresql://user:password@host:5432/reelclub."
        )
    parts = urlsplit(url)
    port_given = ":" in parts.netloc.rsplit("@", 1)[-1]
    if not parts.hostname or not parts.path.strip("/") or (port_given and _port(parts) is None):
        raise ConfigError(
            f"{setting} {shown!r} needs a host and a database name, and a numeric port "
            "if one is given: postgresql://user:password@host:5432/reelclub."
        )
    return scheme + url[len(scheme) :]


def _shards(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    raw_count = env.get("SHARD_COUNT", "").strip()
    count = None
    if raw_count:
        if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_SHARDS:
            raise ConfigError(
                f"SHARD_COUNT must be a whole number from 1 to {MAX_SHARDS}, not "
                f"{raw_count[:20]!r}; leave it empty for one connection (or Discord's "
                "recommendation when SHARD_IDS is set)."
            )
        count = int(raw_count)
    raw_ids = env.get("SHARD_IDS", "").strip()
    if not raw_ids:
        return count, None
    ids: set[int] = set()
    for piece in raw_ids.split(","):
        match = _SHARD_RANGE.match(piece.strip())
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ConfigError(
                f"SHARD_IDS must list shard numbers like 0,1 or ranges like 0-3, not "
                f"{raw_ids[:40]!r}."
            )
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last >= MAX_SHARDS:
            raise ConfigError(
                f"SHARD_IDS goes up to {last}; shard numbers stop at {MAX_SHARDS - 1}."
            )
        ids.update(range(first, last + 1))
    if count is not None and max(ids) >= count:
        raise ConfigError(
            f"SHARD_IDS names shard {max(ids)}, but SHARD_COUNT is {count}: shards are numbered "
            f"0 to {count - 1}."
        )
    return count, tuple(sorted(ids))
