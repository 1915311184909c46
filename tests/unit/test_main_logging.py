"""``python -m bot`` keeps discord.py's body-logging loggers quiet even at LOG_LEVEL=DEBUG."""

from __future__ import annotations

import logging

import pytest

import bot.__main__ as entry


def test_debug_level_does_not_log_gateway_events_or_request_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_run(_: object) -> None:
        return None

    monkeypatch.setattr(entry, "run", no_run)
    monkeypatch.setattr(entry, "load_dotenv", lambda: None)
    monkeypatch.setenv("DISCORD_TOKEN", "abcdefghijklmnop.qrstuv")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    root.handlers[:] = []  # as in a fresh process, so basicConfig takes effect
    try:
        assert entry.main([]) == 0
        assert logging.getLogger("discord.gateway").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("discord.http").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("bot").getEffectiveLevel() == logging.DEBUG
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name in ("discord.gateway", "discord.http"):
            logging.getLogger(name).setLevel(logging.NOTSET)
