"""``python -m bot`` as a real process: bad settings, a too-new database, ready and SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.migrator import bundled_migrations
from tests.emulator import Emulator

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
