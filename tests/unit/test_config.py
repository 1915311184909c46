"""Settings: every variable validated, the token never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "MTIzNDU2Nzg5.abcdef.ghijklmnopqrstuvwxyz_-"


def test_defaults() -> None:
    settings = load_settings({"DISCORD_TOKEN": TOKEN})
    assert settings.database_path == Path("data/reelclub.db")
    assert settings.dev_guild_id is None
    assert settings.log_level == logging.INFO


def test_all_variables() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": TOKEN,
            "DATABASE_PATH": "/tmp/x.db",
            "DEV_GUILD_ID": "123456789012345678",
            "LOG_LEVEL": "debug",
        }
    )
    assert (settings.database_path, settings.dev_guild_id) == (
        Path("/tmp/x.db"),
        123456789012345678,
    )
    assert settings.log_level == logging.DEBUG


def test_token_is_not_in_repr() -> None:
    assert TOKEN not in repr(load_settings({"DISCORD_TOKEN": TOKEN}))


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "Bot abc def ghi"}, "does not look like a bot token"),
        ({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "my server"}, "DEV_GUILD_ID must be a server id"),
        ({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ],
)
def test_bad_settings_say_what_to_fix(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        load_settings(env)
    assert TOKEN not in str(caught.value)
