"""Running a bot as a subprocess against an emulator, and stopping/restarting it cleanly."""

# Timeouts are part of the public test API (like asyncio.wait_for), hence ASYNC109.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.emulator.driver import Emulator
from tests.emulator.records import Signal

REPO_ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """`python -m tests.emulator.launch -m <module> [args]` with the emulator's environment.

    stdout and stderr are merged and kept line by line in `lines`, so a test can wait for a
    log marker and show the output when something goes wrong.

    Several processes may run against one emulator, each owning some shards: with
    ``shard_count`` and ``shard_ids`` the process gets ``SHARD_COUNT`` and ``SHARD_IDS`` (as
    ``0,2``) in its environment, and `start()` waits until this process's own sessions for
    those shards are connected::

        a = BotProcess(emu, "bot", shard_count=2, shard_ids=[0])
        b = BotProcess(emu, "bot", shard_count=2, shard_ids=[1])
        await asyncio.gather(a.start(), b.start())
    """

    def __init__(
        self,
        emu: Emulator,
        module: str,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path = REPO_ROOT,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        self.emu = emu
        self.argv = [sys.executable, "-m", "tests.emulator.launch", "-m", module, *args]
        shard_env: dict[str, str] = {}
        if shard_count is not None:
            shard_env["SHARD_COUNT"] = str(shard_count)
        if shard_ids is not None:
            shard_env["SHARD_IDS"] = ",".join(str(i) for i in shard_ids)
        self.env = {**os.environ, **emu.subprocess_env(), **shard_env, **(env or {})}
        self.shard_ids = None if shard_ids is None else sorted(set(shard_ids))
        self.cwd = cwd
        self.lines: list[str] = []
        self._signal = Signal()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def start(self, *, ready: str | None = None, timeout: float = 20.0) -> None:
        """Start the process and wait for a line containing `ready` or, without it, for the
        process's gateway login (a session for each of its ``shard_ids``, if it has them)."""
        logins_before = len(self.emu.logins.records)
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self._proc))
        if ready is not None:
            await self.wait_for_line(ready, timeout)
        else:
            await self._wait_logged_in(logins_before, timeout)

    async def _wait_logged_in(self, logins_before: int, timeout: float) -> None:
        """Until sessions started since ``logins_before`` are connected: one for each of
        ``shard_ids``, or any one. (Without ``shard_ids``, a process started at the same
        time as another may be taken for logged in by the other's session.)"""
        gateway = self.emu.gateway

        def logged_in() -> bool:
            if not self.running:
                raise AssertionError(f"the bot exited before logging in:\n{self.output}")
            live = {
                r.shard_id
                for r in self.emu.logins.records[logins_before:]
                if r.session_id is not None and gateway.sessions[r.session_id].conn is not None
            }
            return set(self.shard_ids) <= live if self.shard_ids is not None else bool(live)

        await self.emu.wait_for(logged_in, timeout, "the bot process to log in")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._signal.fire()
        self._signal.fire()

    async def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        def seen() -> bool:
            if any(needle in line for line in self.lines):
                return True
            if not self.running:
                raise AssertionError(f"the bot exited before printing {needle!r}:\n{self.output}")
            return False

        try:
            await self._signal.wait_for(seen, timeout, f"{needle!r} in the bot's output")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- output ---\n{self.output}") from None
        return next(line for line in self.lines if needle in line)

    async def stop(self, timeout: float = 10.0) -> int:
        """SIGINT (a clean `close()` in discord.py), then SIGTERM, then SIGKILL."""
        proc = self._proc
        if proc is None:
            return 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if proc.returncode is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout / 3)
        if self._reader is not None:
            await self._reader
        self._proc = None
        return proc.returncode if proc.returncode is not None else -1

    async def signal(self, signum: int, within: float = 30.0) -> tuple[int, float]:
        """Send ``signum`` alone and wait for the exit: the exit code, and the seconds the
        process took to exit (a process still running after ``within`` is killed and fails)."""
        proc = self._proc
        assert proc is not None, "the process is not running"
        sent = time.monotonic()
        proc.send_signal(signum)
        try:
            code = await asyncio.wait_for(proc.wait(), within)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(
                f"the process did not exit within {within} s:\n{self.output}"
            ) from None
        took = time.monotonic() - sent
        if self._reader is not None:
            await self._reader
        self._proc = None
        return code, took

    async def kill(self) -> int:
        """``kill -9``: the process dies where it is, with no chance to close anything (its
        sockets are closed by the kernel). Returns the exit code, ``-SIGKILL``."""
        proc = self._proc
        assert proc is not None, "the process is not running"
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        code = await proc.wait()
        if self._reader is not None:
            await self._reader
        self._proc = None
        return code

    async def restart(self, *, ready: str | None = None, timeout: float = 20.0) -> None:
        await self.stop()
        self.lines.clear()
        await self.start(ready=ready, timeout=timeout)
