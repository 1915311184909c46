"""Reactions: gateway events, the bot's own reactions, limits and user pagination."""

from __future__ import annotations

import discord
import pytest

from tests.emulator import Emulator
from tests.emulator_selftest.minibot import MiniBot

ROUTE_USERS = "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}"


async def test_member_reactions_reach_the_raw_listeners(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    alice, general = g.member("alice"), g.channel("general")
    card = await emu.post_message(g.admin, general, "movie card")
    await emu.react(alice, general, int(card["id"]), "8️⃣")
    await emu.unreact(alice, general, int(card["id"]), "8️⃣")
    await emu.wait_for(lambda: len(bot.raw_reactions) == 2, what="both reaction events")
    (kind_add, added), (kind_remove, removed) = bot.raw_reactions
    assert (kind_add, kind_remove) == ("add", "remove")
    assert added.user_id == alice.id and str(added.emoji) == "8️⃣"
    assert added.member is not None and added.member.id == alice.id
    assert added.message_author_id == g.admin.id
    assert removed.message_id == int(card["id"])
    assert emu.world.message(general, int(card["id"]))["reactions"] == []  # type: ignore[index]


async def test_bot_reactions_and_removals(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    channel = bot.get_channel(g.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("rate me")
    for emoji in ("1️⃣", "2️⃣"):
        await sent.add_reaction(emoji)
    await emu.react(g.member("bob"), channel.id, sent.id, "1️⃣")
    bob = await bot.fetch_user(g.member("bob").id)
    await sent.remove_reaction("1️⃣", bob)
    assert emu.world.reaction_users(sent.id, "1️⃣") == [emu.world.bot_user_id]
    await sent.clear_reaction("2️⃣")
    await sent.clear_reactions()
    stored = emu.world.message(channel.id, sent.id)
    assert stored is not None and stored["reactions"] == []


async def test_removing_someone_elses_reaction_needs_manage_messages(
    emu: Emulator, bot: MiniBot
) -> None:
    from tests.emulator import Perm

    g = emu.world.guild
    general = g.channel("general")
    card = await emu.post_message(g.admin, general, "card")
    await emu.react(g.member("bob"), general, int(card["id"]), "👍")
    general.deny(g.me, Perm.MANAGE_MESSAGES)
    channel = bot.get_channel(general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.get_partial_message(int(card["id"])).remove_reaction(
            "👍", discord.Object(g.member("bob").id)
        )
    assert raised.value.code == 50013


async def test_twenty_unique_reactions_is_the_limit(emu: Emulator, bot: MiniBot) -> None:
    emu.limits.enabled = False  # 21 reactions at 1 per 0.25 s would take 5 s
    channel = bot.get_channel(emu.world.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("many")
    emojis = [chr(0x1F600 + i) for i in range(21)]
    for emoji in emojis[:20]:
        await sent.add_reaction(emoji)
    with pytest.raises(discord.HTTPException) as raised:
        await sent.add_reaction(emojis[20])
    assert raised.value.code == 30010
    await sent.add_reaction(emojis[0])  # an existing emoji is still fine


async def test_reaction_users_are_paginated_by_100(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    general = g.channel("general")
    card = await emu.post_message(g.admin, general, "popular")
    members = [g.member(f"fan{i:03}") for i in range(150)]
    for member in members:
        await emu.react(member, general, int(card["id"]), "🔟")
    channel = bot.get_channel(general.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.fetch_message(int(card["id"]))
    assert message.reactions[0].count == 150
    users = [u.id async for u in message.reactions[0].users(limit=None)]
    assert sorted(users) == sorted(m.id for m in members)
    pages = emu.calls_to(ROUTE_USERS)
    assert [c.query.get("limit") for c in pages] == ["100", "50"]
    assert "after" in pages[1].query
