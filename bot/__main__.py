"""``python -m bot``: load .env, validate settings, open the database, run the bot.

``python -m bot migrate --to postgresql://…``: copy the club's SQLite database into an empty
PostgreSQL database (see README → Moving a club to PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import aiohttp
import discord
from dotenv import load_dotenv

from bot.client import ShardSettingsError, run
from bot.config import ConfigError, Settings, load_settings, postgres_url, redact_url
from bot.domain.errors import StorageError
from bot.storage.transfer import TransferReport, copy_to_postgres

# The commands besides running the bot, each with what it does.
COMMANDS = {"migrate": "copy this club's SQLite database into an empty PostgreSQL database"}
MIGRATE_USAGE = "python -m bot migrate --to postgresql://user:password@host:5432/db [--from PATH]"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _fail(message: str, code: int = 2) -> int:
    print(f"reelclub: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    load_dotenv()
    if not args:
        return _run_bot()
    if args[0] == "migrate":
        return _migrate(args[1:])
    if args[0] in {"-h", "--help", "help"}:
        print("python -m bot                 run the bot (settings from the environment or .env)")
        for name, what in COMMANDS.items():
            print(f"python -m bot {name:<15} {what} (python -m bot {name} --help)")
        return 0
    valid = ", ".join(COMMANDS)
    return _fail(
        f"unknown command {_shown(args[0])[:40]!r}: the commands are {valid} "
        "(python -m bot with no command runs the bot)"
    )


def _run_bot() -> int:
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        return _fail(str(exc))
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT, stream=sys.stderr)
    # At DEBUG these two log raw gateway events and request bodies: members' reviews and
    # spoilers. They stay at INFO whatever LOG_LEVEL says.
    for chatty in ("discord.gateway", "discord.http"):
        logging.getLogger(chatty).setLevel(max(settings.log_level, logging.INFO))
    try:
        asyncio.run(run(settings))
    except (StorageError, ShardSettingsError) as exc:
        return _fail(str(exc))
    except discord.LoginFailure:
        return _fail(
            "Discord rejected DISCORD_TOKEN: reset the token in the Developer Portal "
            "(your application → Bot) and paste the new one into .env."
        )
    except discord.PrivilegedIntentsRequired:
        return _fail("Discord refused an intent this bot asked for; see README → Intents.")
    except (aiohttp.ClientError, OSError) as exc:
        return _fail(f"cannot reach Discord ({type(exc).__name__}); check the network and retry.")
    except KeyboardInterrupt:
        pass
    return 0


# -- python -m bot migrate -------------------------------------------------------------------------
class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line from main(), not usage and exit(2)
        raise _UsageError(message)


def _shown(text: str) -> str:
    """Command-line text as it may be printed: a URL's password hidden."""
    return redact_url(text) if "://" in text else text


def _migrate(args: list[str]) -> int:
    parser = _Parser(
        prog="python -m bot migrate",
        description=(
            "Copy this club's SQLite database into an empty PostgreSQL database, table by table, "
            "and check the copy (row counts and checksums). Stop the bot first."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/db"
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="PATH",
        help="the SQLite file (default: the one DATABASE_URL or DATABASE_PATH names)",
    )
    try:
        options = parser.parse_args(args)
    except _UsageError as exc:
        message = " ".join(_shown(word) for word in str(exc).split(" "))
        return _fail(f"migrate: {message}; usage: {MIGRATE_USAGE}")
    try:
        settings = load_settings(os.environ, need_token=False)
        target = postgres_url(options.to, "--to")
        source = _source(options.source, settings)
    except ConfigError as exc:
        return _fail(str(exc))
    # Quiet unless asked: the report below is the output. (LOG_LEVEL=INFO shows the migrations.)
    level = settings.log_level if os.environ.get("LOG_LEVEL") else logging.WARNING
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    try:
        report = asyncio.run(copy_to_postgres(source, target))
    except StorageError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted: the copy was rolled back; no club data was written")
    _print_report(report)
    if not report.ok:
        differ = [table.name for table in report.tables if not table.ok]
        return _fail(
            f"{len(differ)} of {len(report.tables)} tables differ after the copy "
            f"({', '.join(differ)}), so it was rolled back: nothing was written to {report.target}",
            code=1,
        )
    return 0


def _source(option: str | None, settings: Settings) -> Path:
    """The SQLite file to copy: ``--from``, else the bot's own database."""
    if option is not None:
        return Path(option.removeprefix("sqlite:///"))
    if settings.database_url is not None:
        raise ConfigError(
            "DATABASE_URL names a PostgreSQL database, not the SQLite one to copy: name the "
            "SQLite file with --from PATH"
        )
    if not settings.database_path.is_file():
        raise ConfigError(
            f"there is no SQLite database at {settings.database_path} (DATABASE_URL or "
            "DATABASE_PATH, as the bot uses): run this where the bot runs, or name the file "
            "with --from PATH"
        )
    return settings.database_path


def _print_report(report: TransferReport) -> None:
    width = max(len("table"), *(len(table.name) for table in report.tables))
    print(f"from {report.source} (SQLite, schema version {report.schema_version})")
    print(f"  to {report.target}")
    print()
    print(
        f"{'table':<{width}}  {'sqlite':>9}  {'postgresql':>10}  "
        f"{'sha256 sqlite':<17}  {'sha256 postgresql':<17}  check"
    )
    for table in report.tables:
        print(
            f"{table.name:<{width}}  {table.source_rows:>9,}  {table.target_rows:>10,}  "
            f"{table.source_sha256[:16]:<17}  {table.target_sha256[:16]:<17}  "
            f"{'OK' if table.ok else 'MISMATCH'}"
        )
    print()
    if report.ok:
        next_ids = ", ".join(f"{table} {value:,}" for table, value in report.next_ids)
        print(f"next ids: {next_ids}")
        print(
            f"OK: {report.rows:,} rows in {len(report.tables)} tables copied and checked in "
            f"{report.seconds:.1f} s. Set DATABASE_URL to the new database, then start the bot."
        )


if __name__ == "__main__":
    sys.exit(main())
