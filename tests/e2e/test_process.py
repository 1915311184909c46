"""``python -m bot`` as a real process: bad settings, a too-new database, ready and SIGINT; and
``python -m bot migrate``: a club moved to PostgreSQL, with what it prints, and bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.storage.connect import open_database
from bot.storage.migrator import bundled_migrations
from bot.storage.transfer import Checksum
from tests import sample_club
from tests.conftest import fresh_pg_database
from tests.emulator import Emulator
from tests.pgcluster import Cluster

REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "DEV_GUILD", "DATABASE_", "LOG_", "SHARD_"))
    }
    env.update(extra)
    return env


async def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_no_token_is_one_clear_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    # Run from an empty folder so no developer's .env is picked up.
    env = _env(PYTHONPATH=str(REPO))
    code, out = await _run(["-m", "bot"], env, tmp_path)
    assert code != 0
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("reelclub: DISCORD_TOKEN is not set")
    assert "Traceback" not in out


async def test_a_database_newer_than_the_code_is_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    env = _env(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN="abcdefghijklmnop.qrstuv",
        DATABASE_PATH=str(db),
    )
    code, out = await _run(["-m", "bot"], env, tmp_path)
    assert code != 0
    latest = bundled_migrations()[-1].version
    assert out.strip().splitlines() == [
        "reelclub: the database is at schema version 999, newer than this code knows "
        f"({latest}); update Reel Club or point DATABASE_URL (or DATABASE_PATH) at another database"
    ]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def _launch_env(emu: Emulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of ``python -m tests.emulator.launch -m bot`` against ``emu``."""
    env = _env()
    env.update(emu.subprocess_env())
    env.update(PYTHONPATH=str(REPO), DATABASE_PATH=str(tmp_path / "club.db"), **extra)
    return env


LAUNCH = ["-m", "tests.emulator.launch", "-m", "bot"]


async def test_runs_against_the_emulator_logs_ready_and_stops_cleanly_on_sigint(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = _launch_env(emulator, tmp_path, DEV_GUILD_ID=str(emulator.world.guild.id))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *LAUNCH,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen: list[str] = []

    async def read_until(marker: str) -> None:
        while True:
            line = (await proc.stdout.readline()).decode()  # type: ignore[union-attr]
            assert line, "the bot exited early:\n" + "".join(seen)
            seen.append(line)
            if marker in line:
                return

    await asyncio.wait_for(read_until(" ready as "), 30)
    assert emulator.connected
    proc.send_signal(signal.SIGINT)
    rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    output = "".join(seen) + rest.decode()
    assert proc.returncode == 0, output
    assert "stopped; database closed" in output
    assert "Traceback" not in output
    assert emulator.token not in output


async def test_a_wrong_token_is_one_clear_line(emulator: Emulator, tmp_path: Path) -> None:
    env = _launch_env(emulator, tmp_path, DISCORD_TOKEN="not-the-right-token")
    code, out = await _run(LAUNCH, env, tmp_path)
    assert code != 0
    assert out.strip().splitlines()[-1].startswith("reelclub: Discord rejected DISCORD_TOKEN")
    assert "Traceback" not in out and "not-the-right-token" not in out


async def test_discord_unreachable_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN="abcdefghijklmnop.qrstuv",
        DATABASE_PATH=str(tmp_path / "c.db"),
        DISCORD_EMULATOR_REST_BASE="http://127.0.0.1:9/api/v10",  # nothing listens on port 9
        DISCORD_EMULATOR_GATEWAY="ws://127.0.0.1:9/",
    )
    code, out = await _run(LAUNCH, env, tmp_path)
    assert code != 0
    assert out.strip().splitlines()[-1].startswith("reelclub: cannot reach Discord")
    assert "Traceback" not in out


async def test_database_and_shard_settings_that_cannot_work_are_one_clear_line(
    tmp_path: Path,
) -> None:
    base = {"PYTHONPATH": str(REPO), "DISCORD_TOKEN": "abcdefghijklmnop.qrstuv"}
    # Nothing listens on port 9: the PostgreSQL server cannot be reached.
    postgres = _env(**base, DATABASE_URL="postgresql://club:hunter2-secret@127.0.0.1:9/club")
    code, out = await _run(["-m", "bot"], postgres, tmp_path)
    assert code != 0
    assert len(out.strip().splitlines()) == 1, out
    assert out.startswith(
        "reelclub: cannot open the database at postgresql://club:***@127.0.0.1:9/club: "
    )
    assert "hunter2" not in out and "Traceback" not in out
    sharded = _env(**base, SHARD_COUNT="2", SHARD_IDS="0")
    code, out = await _run(["-m", "bot"], sharded, tmp_path)
    assert code != 0
    assert len(out.strip().splitlines()) == 1
    assert out.startswith("reelclub: SHARD_IDS splits the bot across processes, which must share")
    broken = _env(**base, DATABASE_URL="mysql://club:hunter2-secret@localhost/club")
    code, out = await _run(["-m", "bot"], broken, tmp_path)
    assert code != 0 and "hunter2" not in out
    assert out.strip().startswith("reelclub: DATABASE_URL 'mysql://club:***@localhost/club'")


# -- python -m bot migrate ---------------------------------------------------------------------
CLUB_TABLES = 12  # every table of the schema


async def _sample_club(path: Path) -> None:
    db = await open_database(path)
    try:
        await sample_club.fill(db)
    finally:
        await db.close()


async def test_migrate_copies_the_club_and_prints_a_check_per_table(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    source = tmp_path / "club.db"
    await _sample_club(source)
    name = await fresh_pg_database(pg_cluster)
    url = pg_cluster.url(name)
    # The source is the bot's own database; no token is needed to move it.
    env = _env(PYTHONPATH=str(REPO), DATABASE_URL=f"sqlite:///{source}")
    code, out = await _run(["-m", "bot", "migrate", "--to", url], env, tmp_path)
    assert code == 0, out
    assert pg_cluster.password not in out and "Traceback" not in out
    lines = out.strip().splitlines()
    assert lines[:2] == [
        f"from {source} (SQLite, schema version {bundled_migrations()[-1].version})",
        f"  to postgresql://reelclub:***@127.0.0.1:{pg_cluster.port}/{name}",
    ]
    rows = [line.split() for line in lines if line.split()[-1:] in (["OK"], ["MISMATCH"])]
    assert len(rows) == CLUB_TABLES
    with sqlite3.connect(source) as conn:
        for table, sqlite_rows, pg_rows, sqlite_sum, pg_sum, check in rows:
            count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert (int(sqlite_rows), int(pg_rows), check) == (count, count, "OK"), table
            assert sqlite_sum == pg_sum and len(sqlite_sum) == 16
        # The checksum is over the copied rows in key order, as JSON: meta, worked out here.
        meta = Checksum()
        meta.add(conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall())
    assert rows[0][:4] == ["meta", "2", "2", meta.hexdigest()[:16]]
    assert lines[-2] == "next ids: movies 8, reviews 4, watch_pool 4, watch_runs 4"
    assert lines[-1].startswith(f"OK: {sum(int(r[1]) for r in rows):,} rows in 12 tables copied")

    code, again = await _run(["-m", "bot", "migrate", "--to", url], env, tmp_path)
    assert code != 0
    assert again.strip().splitlines() == [
        f"reelclub: the database at postgresql://reelclub:***@127.0.0.1:{pg_cluster.port}/{name} "
        "is not empty: it has rows in meta (2), guild_settings (2), movies (6), ratings (71) and "
        "8 more tables; the copy goes only into an empty database, so nothing was written"
    ]
    assert pg_cluster.unexpected_errors(name) == []


async def test_migrate_with_a_wrong_password_is_one_line_without_the_password(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    source = tmp_path / "club.db"
    await _sample_club(source)
    name = await fresh_pg_database(pg_cluster)
    wrong = pg_cluster.url(name).replace(pg_cluster.password, "x" + pg_cluster.password[1:])
    pg_cluster.expect_errors(name, "password authentication failed")
    env = _env(PYTHONPATH=str(REPO))
    code, out = await _run(
        ["-m", "bot", "migrate", "--from", str(source), "--to", wrong], env, tmp_path
    )
    assert code != 0
    assert out.strip().splitlines() == [
        f"reelclub: cannot open the database at postgresql://reelclub:***@127.0.0.1:"
        f'{pg_cluster.port}/{name}: password authentication failed for user "reelclub"'
    ]
    assert pg_cluster.password[1:] not in out
    assert pg_cluster.unexpected_errors(name) == []


async def test_migrate_reports_a_table_that_differs_and_exits_non_zero(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    """A trigger on the target changes what is copied into guild_settings."""
    source = tmp_path / "club.db"
    await _sample_club(source)
    name = await fresh_pg_database(pg_cluster)
    await sample_club.shout_timezones_on_insert(pg_cluster.url(name))
    args = ["-m", "bot", "migrate", "--from", str(source), "--to", pg_cluster.url(name)]
    code, out = await _run(args, _env(PYTHONPATH=str(REPO)), tmp_path)
    assert code == 1, out
    lines = out.strip().splitlines()
    checks = {line.split()[0]: line.split()[-1] for line in lines if line.endswith("OK")}
    checks |= {line.split()[0]: "MISMATCH" for line in lines if line.endswith("MISMATCH")}
    assert len(checks) == CLUB_TABLES
    assert checks.pop("guild_settings") == "MISMATCH"
    assert set(checks.values()) == {"OK"}
    assert lines[-1] == (
        "reelclub: 1 of 12 tables differ after the copy (guild_settings), so it was rolled back: "
        f"nothing was written to postgresql://reelclub:***@127.0.0.1:{pg_cluster.port}/{name}"
    )
    conn = await asyncpg.connect(pg_cluster.url(name))
    try:
        assert await conn.fetchval("SELECT count(*) FROM guild_settings") == 0
    finally:
        await conn.close()
    assert pg_cluster.unexpected_errors(name) == []


NOWHERE = "postgresql://club:hunter2-secret@127.0.0.1:9/club"  # nothing listens on port 9


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["migrate"], {}, "reelclub: migrate: the following arguments are required: --to; usage:"),
        (
            ["migrate", "--to", "mysql://club:hunter2-secret@h/club"],
            {},
            "reelclub: --to 'mysql://club:***@h/club' is not a PostgreSQL URL",
        ),
        (
            ["migrate", "--to", NOWHERE, NOWHERE + "2"],
            {},
            "reelclub: migrate: unrecognized arguments: postgresql://club:***@127.0.0.1:9/club2",
        ),
        (
            ["migrate", "--to", NOWHERE],
            {},
            "reelclub: there is no SQLite database at data/reelclub.db (DATABASE_URL or",
        ),
        (
            ["migrate", "--to", NOWHERE, "--from", "elsewhere.db"],
            {},
            "reelclub: there is no SQLite database at elsewhere.db\n",
        ),
        (
            ["migrate", "--to", NOWHERE],
            {"DATABASE_URL": NOWHERE},
            "reelclub: DATABASE_URL names a PostgreSQL database, not the SQLite one to copy",
        ),
        (
            ["migrate", "--to", NOWHERE, "--from", "club.db"],
            {},
            "reelclub: cannot open the database at postgresql://club:***@127.0.0.1:9/club: ",
        ),
        (["frobnicate"], {}, "reelclub: unknown command 'frobnicate': the commands are migrate"),
    ],
    ids=[
        "no --to",
        "not postgresql",
        "stray argument",
        "no database here",
        "no such --from",
        "bot on postgresql",
        "unreachable",
        "unknown command",
    ],
)
async def test_migrate_refuses_bad_input_in_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    await _sample_club(tmp_path / "club.db")
    code, out = await _run(["-m", "bot", *args], _env(PYTHONPATH=str(REPO), **env), tmp_path)
    assert code != 0
    assert len(out.strip().splitlines()) == 1, out
    assert out.startswith(says), out
    assert "hunter2" not in out and "Traceback" not in out
