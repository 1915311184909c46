"""Rate limits, reconnect/RESUME replay, INVALID_SESSION and offline events."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import discord
import pytest

from tests.emulator import Emulator
from tests.emulator_selftest.conftest import start_bot, stop_bot
from tests.emulator_selftest.minibot import MiniBot

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


async def test_advertised_buckets_let_discordpy_pace_itself(emu: Emulator, bot: MiniBot) -> None:
    emu.limits.configure(EDIT, limit=3, per=0.5)
    channel = bot.get_channel(emu.world.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("0")
    for i in range(1, 9):
        await sent.edit(content=str(i))
    assert emu.rate_limited == 0
    headers = emu.calls_to(EDIT)[0]
    assert headers.status == 200
    assert emu.world.message(channel.id, sent.id)["content"] == "8"  # type: ignore[index]


async def test_hidden_limit_gives_429s_and_discordpy_retries(emu: Emulator, bot: MiniBot) -> None:
    # Without X-RateLimit headers the client cannot pace itself, like with Discord's
    # undocumented sub-limits: it meets 429s, sleeps `retry_after`, and retries.
    emu.limits.configure(EDIT, limit=3, per=0.4, advertise=False)
    channel = bot.get_channel(emu.world.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("0")
    for i in range(1, 9):
        await sent.edit(content=f"edit {i}")
    statuses = [c.status for c in emu.calls_to(EDIT)]
    assert emu.rate_limited >= 1 and 429 in statuses
    assert statuses.count(200) == 8
    assert emu.world.message(channel.id, sent.id)["content"] == "edit 8"  # type: ignore[index]
    too_many = next(c for c in emu.calls_to(EDIT) if c.status == 429)
    assert too_many.response["retry_after"] > 0 and too_many.response["global"] is False


async def test_resume_replays_events_missed_while_away(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    general = g.channel("general")
    card = await emu.post_message(g.admin, general, "card")
    sessions_before = set(emu.gateway.sessions)

    async def while_away() -> None:
        assert not emu.connected
        await emu.react(g.member("alice"), general, int(card["id"]), "7️⃣")

    await emu.reconnect(resume=True, during=while_away)
    await emu.wait_for(lambda: len(bot.raw_reactions) == 1, what="the replayed reaction")
    assert bot.raw_reactions[0][1].user_id == g.member("alice").id
    assert set(emu.gateway.sessions) == sessions_before
    assert any(f["op"] == 6 for f in emu.gateway.received)  # RESUME


async def test_invalid_session_makes_the_client_identify_again(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    general = g.channel("general")
    card = await emu.post_message(g.admin, general, "card")

    async def while_away() -> None:
        await emu.react(g.member("alice"), general, int(card["id"]), "7️⃣")

    identifies = sum(1 for f in emu.gateway.received if f["op"] == 2)
    emu.logins.pass_window()  # an IDENTIFY within 5 s of the last would be refused (op 9)
    await emu.reconnect(resume=False, during=while_away)
    assert sum(1 for f in emu.gateway.received if f["op"] == 2) == identifies + 1
    await emu.react(g.member("bob"), general, int(card["id"]), "8️⃣")
    await emu.wait_for(lambda: len(bot.raw_reactions) == 1, what="the reaction after re-identify")
    assert bot.raw_reactions[0][1].user_id == g.member("bob").id  # alice's was lost


async def test_events_while_no_bot_runs_are_not_delivered(emu: Emulator) -> None:
    g = emu.world.guild
    general = g.channel("general")
    first = MiniBot(g.id)
    await stop_bot(first, await start_bot(emu, first))
    emu.logins.pass_window()  # the next login comes "5 s later", as Discord requires
    assert not emu.connected
    card = await emu.post_message(g.admin, general, "card")
    await emu.react(g.member("alice"), general, int(card["id"]), "7️⃣")

    second = MiniBot(g.id)
    task = await start_bot(emu, second)
    try:
        await emu.react(g.member("bob"), general, int(card["id"]), "8️⃣")
        await emu.wait_for(lambda: bool(second.raw_reactions), what="the live reaction")
        assert [e.user_id for _, e in second.raw_reactions] == [g.member("bob").id]
        # The world kept the offline reaction: a bot can reconcile it through REST.
        assert emu.world.reaction_users(int(card["id"]), "7️⃣") == [g.member("alice").id]
    finally:
        await stop_bot(second, task)


async def test_global_limit_is_429_with_global_true(emu: Emulator, bot: MiniBot) -> None:
    emu.limits.global_per_second = 3
    guild = bot.get_guild(emu.world.guild.id)
    assert guild is not None
    for _ in range(5):
        await guild.fetch_channels()
    global_429s = [c for c in emu.calls if c.status == 429]
    assert global_429s and all(c.response["global"] for c in global_429s)
    assert len(emu.calls_to("GET /guilds/{guild_id}/channels")) >= 5 + len(global_429s)


async def test_interaction_callbacks_are_exempt_from_the_global_limit(
    emu: Emulator, bot: MiniBot
) -> None:
    emu.limits.global_per_second = 1
    g = emu.world.guild
    for title in ("a", "b", "c"):
        itx = await emu.slash(g.member("alice"), "movie add", title=title)
        await itx.response()
    assert emu.rate_limited == 0


async def test_disallowed_privileged_intent_closes_with_4014(emu: Emulator) -> None:
    emu.gateway.allowed_intents = 0
    client = discord.Client(intents=discord.Intents.all())
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await client.start(emu.token)
    await client.close()


async def test_message_content_is_blank_without_the_intent(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    seen: list[discord.Message] = []
    bot.add_listener(_collector(seen), "on_message")
    await emu.post_message(g.member("bob"), g.channel("general"), "secret plot")
    await emu.post_message(g.member("bob"), g.channel("general"), f"<@{emu.world.bot_user_id}> hi")
    await emu.wait_for(lambda: len(seen) == 2, what="two MESSAGE_CREATE")
    assert [m.content for m in seen] == ["", f"<@{emu.world.bot_user_id}> hi"]


def _collector(
    seen: list[discord.Message],
) -> Callable[[discord.Message], Coroutine[Any, Any, None]]:
    async def collect(message: discord.Message) -> None:
        seen.append(message)

    return collect
