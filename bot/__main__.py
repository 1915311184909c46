"""``python -m bot``: load .env, validate settings, open the database, run the bot."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import aiohttp
import discord
from dotenv import load_dotenv

from bot.client import ShardSettingsError, run
from bot.config import ConfigError, load_settings
from bot.domain.errors import StorageError


def _fail(message: str) -> int:
    print(f"reelclub: {message}", file=sys.stderr)
    return 2


def main() -> int:
    load_dotenv()
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        return _fail(str(exc))
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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


if __name__ == "__main__":
    sys.exit(main())
