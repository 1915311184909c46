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
from pathlib import Path

from tests.emulator.driver import Emulator
from tests.emulator.records import Signal

REPO_ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """`python -m tests.emulator.launch -m <module> [args]` with the emulator's environment.

    stdout and stderr are merged and kept line by line in `lines`, so a test can wait for a
    log marker and show the output when something goes wrong.
    """

    def __init__(
        self,
        emu: Emulator,
        module: str,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.emu = emu
        self.argv = [sys.executable, "-m", "tests.emulator.launch", "-m", module, *args]
        self.env = {**os.environ, **emu.subprocess_env(), **(env or {})}
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
        """Start the process; with `ready`, wait for a line containing it (or a gateway login)."""
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
            await self.emu.wait_connected(timeout)

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

    async def restart(self, *, ready: str | None = None, timeout: float = 20.0) -> None:
        await self.stop()
        self.lines.clear()
        await self.start(ready=ready, timeout=timeout)
