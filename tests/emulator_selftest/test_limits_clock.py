"""The rate limits' injected clock: windows end when the clock says so, and a faster clock keeps
every rule (limits, headers, 429s) with proportionally shorter waits."""

from __future__ import annotations

import discord
import pytest

from tests.emulator import Emulator, FastTime, ManualTime, RateLimiter
from tests.emulator_selftest.minibot import MiniBot

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
REACT = "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"


def test_a_window_ends_when_the_clock_is_jumped_not_before() -> None:
    clock = ManualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure(EDIT, limit=2, per=5.0)
    first = limiter.check(EDIT, "1", exempt_global=False)
    assert first.retry_after is None
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Reset-After"] == "5.000"
    assert limiter.check(EDIT, "1", exempt_global=False).retry_after is None
    clock.jump(4.0)
    refused = limiter.check(EDIT, "1", exempt_global=False)
    assert refused.retry_after == 1.0
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert limiter.check(EDIT, "2", exempt_global=False).retry_after is None  # other channel
    clock.jump(1.0)
    again = limiter.check(EDIT, "1", exempt_global=False)
    assert again.retry_after is None
    assert again.headers["X-RateLimit-Remaining"] == "1"


def test_the_global_limit_counts_one_second_of_the_clock() -> None:
    clock = ManualTime()
    limiter = RateLimiter(clock=clock, global_per_second=2)
    route = "GET /guilds/{guild_id}/channels"
    assert limiter.check(route, "1", exempt_global=False).retry_after is None
    clock.jump(0.25)
    assert limiter.check(route, "1", exempt_global=False).retry_after is None
    refused = limiter.check(route, "1", exempt_global=False)
    assert (refused.retry_after, refused.is_global) == (0.75, True)
    assert limiter.check(route, "1", exempt_global=True).retry_after is None
    clock.jump(0.75)
    assert limiter.check(route, "1", exempt_global=False).retry_after is None


def test_a_faster_clock_keeps_the_rule_and_tells_shorter_waits_rounded_up() -> None:
    real = ManualTime()  # stands in for time.monotonic
    clock = FastTime(20, source=real.now)
    limiter = RateLimiter(clock=clock)
    decision = limiter.check(REACT, "1", exempt_global=False)  # Discord's 1 per 0.25 s
    assert decision.retry_after is None
    assert decision.headers["X-RateLimit-Reset-After"] == "0.013"  # 12.5 ms, rounded up
    real.jump(0.01)  # 0.2 s on the limits' clock: the window is still open
    refused = limiter.check(REACT, "1", exempt_global=False)
    assert refused.retry_after == 0.003  # 2.5 ms, rounded up
    real.jump(refused.retry_after)  # a client that sleeps what it is told gets through
    assert limiter.check(REACT, "1", exempt_global=False).retry_after is None
    clock.jump(0.25)  # a jump ends the window without any real time passing
    assert limiter.check(REACT, "1", exempt_global=False).retry_after is None


@pytest.fixture
def limit_clock() -> FastTime:
    return FastTime(20)


async def test_on_a_fast_clock_discordpy_still_paces_itself_by_the_headers(
    emu: Emulator, bot: MiniBot
) -> None:
    assert isinstance(emu.limits.clock, FastTime)
    emu.limits.configure(EDIT, limit=3, per=2.0)
    channel = bot.get_channel(emu.world.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("0")
    for i in range(1, 10):
        await sent.edit(content=str(i))
    assert emu.rate_limited == 0
    edits = emu.calls_to(EDIT)
    assert [c.status for c in edits] == [200] * 9
    waits = [float(c.at) for c in edits]
    # Nine edits at 3 per 2 s of the clock: two full windows of 0.1 s real time waited for.
    assert waits[-1] - waits[0] >= 2 * 2.0 / 20 * 0.9
    assert waits[-1] - waits[0] < 2.0  # and not Discord's real 4 s
    assert emu.world.message(channel.id, sent.id)["content"] == "9"  # type: ignore[index]


async def test_on_a_fast_clock_a_hidden_limit_still_gives_429s(emu: Emulator, bot: MiniBot) -> None:
    emu.limits.configure(EDIT, limit=2, per=4.0, advertise=False)
    channel = bot.get_channel(emu.world.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("0")
    for i in range(1, 7):
        await sent.edit(content=f"edit {i}")
    statuses = [c.status for c in emu.calls_to(EDIT)]
    assert emu.rate_limited >= 1 and 429 in statuses
    assert statuses.count(200) == 6
    too_many = next(c for c in emu.calls_to(EDIT) if c.status == 429)
    assert 0 < too_many.response["retry_after"] <= 4.0 / 20 + 0.001
    assert emu.world.message(channel.id, sent.id)["content"] == "edit 6"  # type: ignore[index]
