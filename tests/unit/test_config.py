"""Settings: every variable validated, the token never shown."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, postgres_url, redact_url

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


# -- DATABASE_URL ---------------------------------------------------------------------------
PG_URL = "postgresql://club:s3cr3t-p%40ss@db.internal:5432/reelclub"


def test_database_url_sqlite_wins_over_database_path() -> None:
    settings = load_settings(
        {"DISCORD_TOKEN": TOKEN, "DATABASE_PATH": "/tmp/x.db", "DATABASE_URL": "sqlite:///y/z.db"}
    )
    assert settings.database_path == Path("y/z.db")
    assert settings.database_url is None
    absolute = load_settings({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": "sqlite:////srv/club.db"})
    assert absolute.database_path == Path("/srv/club.db")


def test_database_url_postgresql_is_kept_and_never_shown() -> None:
    settings = load_settings({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": PG_URL})
    assert settings.database_url == PG_URL
    assert "s3cr3t" not in repr(settings)
    assert redact_url(PG_URL) == "postgresql://club:***@db.internal:5432/reelclub"
    assert redact_url("postgres://:pw@h/d") == "postgres://:***@h/d"
    assert redact_url("postgresql://h/d") == "postgresql://h/d"
    assert "pw" not in redact_url("postgresql://u:pw[x@h/d")  # not parseable: nothing shown


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:s3cr3t-p%40ss@h/d", "must start with sqlite:/// or postgresql://"),
        ("sqlite://relative.db", "is not a SQLite URL"),
        ("sqlite:///", "is not a SQLite URL"),
        ("postgresql://u:s3cr3t-p%40ss@host", "needs a host and a database name"),
        ("postgresql://u:s3cr3t-p%40ss@/reelclub", "needs a host and a database name"),
        ("postgresql://u:s3cr3t-p%40ss@host:port/reelclub", "a numeric port"),
        ("/data/reelclub.db", "must start with sqlite:/// or postgresql://"),
    ],
)
def test_a_bad_database_url_says_what_to_write_without_the_password(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        load_settings({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": url})
    assert "s3cr3t" not in str(caught.value)


def test_a_postgresql_url_in_capitals_is_kept_as_a_postgresql_url() -> None:
    settings = load_settings({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": PG_URL.upper()})
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql://")  # as open_database recognises it


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:s3cr3t-p%40ss@h/d", "--to 'mysql://u:***@h/d' is not a PostgreSQL URL"),
        ("data/reelclub.db", "--to 'data/reelclub.db' is not a PostgreSQL URL"),
        ("postgresql://u:s3cr3t-p%40ss@host", "--to 'postgresql://u:***@host' needs a host"),
    ],
)
def test_a_postgresql_url_option_is_checked_under_its_own_name(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as caught:
        postgres_url(url, "--to")
    assert "s3cr3t" not in str(caught.value)
    assert postgres_url(PG_URL, "--to") == PG_URL


def test_commands_that_never_log_in_need_no_token() -> None:
    settings = load_settings({"DATABASE_PATH": "/srv/club.db"}, need_token=False)
    assert settings.database_path == Path("/srv/club.db")
    assert settings.token == ""
    with pytest.raises(ConfigError, match="DATABASE_URL"):  # the other settings are still checked
        load_settings({"DATABASE_URL": "mysql://h/d"}, need_token=False)


# -- shards ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "count", "ids"),
    [
        ({}, None, None),
        ({"SHARD_COUNT": "4"}, 4, None),
        ({"SHARD_IDS": "0,1", "DATABASE_URL": "postgresql://u:p@h/d"}, None, (0, 1)),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0-3"}, 4, (0, 1, 2, 3)),  # all of them: SQLite is fine
        (
            {"SHARD_COUNT": "8", "SHARD_IDS": " 5, 0-1 ,1", "DATABASE_URL": "postgresql://u:p@h/d"},
            8,
            (0, 1, 5),
        ),
    ],
)
def test_shards(env: dict[str, str], count: int | None, ids: tuple[int, ...] | None) -> None:
    settings = load_settings({"DISCORD_TOKEN": TOKEN, **env})
    assert (settings.shard_count, settings.shard_ids) == (count, ids)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be a whole number from 1"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT must be a whole number from 1"),
        ({"SHARD_COUNT": "100000"}, "SHARD_COUNT must be a whole number from 1"),
        ({"SHARD_IDS": "a,b"}, "SHARD_IDS must list shard numbers"),
        ({"SHARD_IDS": "3-1"}, "SHARD_IDS must list shard numbers"),
        ({"SHARD_IDS": "0,,1"}, "SHARD_IDS must list shard numbers"),
        ({"SHARD_IDS": "0-99999"}, "shard numbers stop at"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0-2"}, "names shard 2, but SHARD_COUNT is 2"),
        # Some shards here, the rest in other processes: they need one shared PostgreSQL.
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0"}, "must share a PostgreSQL database"),
        ({"SHARD_IDS": "0,1"}, "must share a PostgreSQL database"),
    ],
)
def test_bad_shards_say_what_to_fix(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings({"DISCORD_TOKEN": TOKEN, **env})
