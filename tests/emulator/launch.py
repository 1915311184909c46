"""Run a module with discord.py pointed at a running emulator.

    python -m tests.emulator.launch -m bot [args...]

The emulator's `subprocess_env()` provides the addresses; this is the only redirect, so the
launched bot needs no test hooks.
"""

from __future__ import annotations

import os
import runpy
import sys

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

ENV_REST = "DISCORD_EMULATOR_REST_BASE"
ENV_GATEWAY = "DISCORD_EMULATOR_GATEWAY"
USAGE = "usage: python -m tests.emulator.launch [-m] <module> [args...]"


def redirect() -> None:
    """Point discord.py's REST base and default gateway at the emulator.

    See tests/README.md, facts 1-2.
    """
    rest, gateway = os.environ.get(ENV_REST), os.environ.get(ENV_GATEWAY)
    if not rest or not gateway:
        raise SystemExit(f"{ENV_REST} and {ENV_GATEWAY} must be set (see Emulator.subprocess_env)")
    Route.BASE = rest
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def main(argv: list[str]) -> None:
    if argv[:1] == ["-m"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit(USAGE)
    module, args = argv[0], argv[1:]
    redirect()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
