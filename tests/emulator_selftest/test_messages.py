"""Message limits, permissions, history, edits, deletes and multipart uploads."""

from __future__ import annotations

import io

import discord
import pytest

from tests.emulator import Emulator, Perm
from tests.emulator_selftest.minibot import MiniBot


def text_channel(bot: MiniBot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_content_over_2000_is_50035(emu: Emulator, bot: MiniBot) -> None:
    channel = text_channel(bot, emu.world.guild.channel("general").id)
    await channel.send("x" * 2000)
    with pytest.raises(discord.HTTPException) as raised:
        await channel.send("x" * 2001)
    assert raised.value.code == 50035
    assert "content" in raised.value.text or raised.value.status == 400
    assert len(emu.world.messages(channel.id)) == 1


async def test_embeds_over_6000_total_are_50035(emu: Emulator, bot: MiniBot) -> None:
    channel = text_channel(bot, emu.world.guild.channel("general").id)
    fits = [discord.Embed(description="d" * 3000), discord.Embed(description="d" * 3000)]
    await channel.send(embeds=fits)
    too_big = [*fits, discord.Embed(title="t")]
    with pytest.raises(discord.HTTPException) as raised:
        await channel.send(embeds=too_big)
    assert raised.value.code == 50035
    assert (
        emu.calls[-1].response["errors"]["embeds"]["_errors"][0]["code"]
        == "MAX_EMBED_SIZE_EXCEEDED"
    )


@pytest.mark.parametrize(
    ("embed", "field"),
    [
        (discord.Embed(title="t" * 257), "title"),
        (discord.Embed(description="d" * 4097), "description"),
        (discord.Embed().set_footer(text="f" * 2049), "footer"),
        (discord.Embed().set_author(name="a" * 257), "author"),
        (discord.Embed().add_field(name="n" * 257, value="v"), "fields"),
        (discord.Embed().add_field(name="n", value="v" * 1025), "fields"),
    ],
)
async def test_each_embed_limit(
    emu: Emulator, bot: MiniBot, embed: discord.Embed, field: str
) -> None:
    channel = text_channel(bot, emu.world.guild.channel("general").id)
    with pytest.raises(discord.HTTPException) as raised:
        await channel.send(embed=embed)
    assert raised.value.code == 50035
    assert field in emu.calls[-1].response["errors"]["embeds"]["0"]


async def test_too_many_fields_and_embeds(emu: Emulator, bot: MiniBot) -> None:
    channel = text_channel(bot, emu.world.guild.channel("general").id)
    crowded = discord.Embed()
    for i in range(26):
        crowded.add_field(name=str(i), value="v")
    with pytest.raises(discord.HTTPException):
        await channel.send(embed=crowded)
    # discord.py refuses 11 embeds itself, so send the raw request.
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    eleven = [{"title": str(i)} for i in range(11)]
    with pytest.raises(discord.HTTPException):
        await bot.http.request(route, json={"embeds": eleven})
    assert [c.status for c in emu.calls[-2:]] == [400, 400]


async def test_empty_message_is_50006(emu: Emulator, bot: MiniBot) -> None:
    general = emu.world.guild.channel("general")
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=general.id)
    with pytest.raises(discord.HTTPException) as raised:
        await bot.http.request(route, json={"content": ""})
    assert raised.value.code == 50006


async def test_missing_send_permission_is_forbidden_50013(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    picks = g.channel("picks")
    picks.deny(g.me, Perm.SEND_MESSAGES)
    channel = text_channel(bot, picks.id)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("hello")
    assert raised.value.code == 50013
    await text_channel(bot, g.channel("general").id).send("still fine elsewhere")


async def test_guild_wide_permission_change(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    message = await emu.post_message(g.member("bob"), g.channel("general"), "mine")
    g.set_bot_permissions(Perm.SEND_MESSAGES | Perm.READ_MESSAGE_HISTORY)
    partial = text_channel(bot, g.channel("general").id).get_partial_message(int(message["id"]))
    with pytest.raises(discord.Forbidden):
        await partial.delete()
    with pytest.raises(discord.Forbidden):
        await text_channel(bot, g.channel("general").id).send(embed=discord.Embed(title="x"))


async def test_history_pages_newest_first(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    posted = [
        await emu.post_message(g.member("bob"), g.channel("general"), str(i)) for i in range(120)
    ]
    channel = text_channel(bot, g.channel("general").id)
    contents = [m.content async for m in channel.history(limit=None)]
    assert contents == [str(i) for i in reversed(range(120))]
    after = [
        m.content
        async for m in channel.history(
            limit=5, after=discord.Object(int(posted[9]["id"])), oldest_first=True
        )
    ]
    assert after == ["10", "11", "12", "13", "14"]
    around = [
        m.content
        async for m in channel.history(limit=4, around=discord.Object(int(posted[50]["id"])))
    ]
    assert sorted(around, key=int) == ["48", "49", "50", "51"]
    limits = {c.query.get("limit") for c in emu.calls_to("GET /channels/{channel_id}/messages")}
    assert "100" in limits


async def test_fetch_edit_delete_and_bulk_delete(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    channel = text_channel(bot, g.channel("general").id)
    sent = await channel.send("draft")
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "draft"
    await sent.edit(content="final")
    stored = emu.world.message(channel.id, sent.id)
    assert stored is not None and stored["content"] == "final" and stored["edited_timestamp"]
    others = [await channel.send(str(i)) for i in range(3)]
    await channel.delete_messages(others)
    await sent.delete()
    assert emu.world.messages(channel.id) == []
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(sent.id)


async def test_multipart_upload_is_stored_and_downloadable(emu: Emulator, bot: MiniBot) -> None:
    channel = text_channel(bot, emu.world.guild.channel("reviews").id)
    sent = await channel.send("see file", file=discord.File(io.BytesIO(b"essay"), "essay.md"))
    assert sent.attachments[0].filename == "essay.md"
    assert await sent.attachments[0].read() == b"essay"
    call = emu.calls_to("POST /channels/{channel_id}/messages")[-1]
    assert call.json["content"] == "see file"
    assert call.files == ["essay.md"]


async def test_allowed_mentions_are_recorded_as_sent(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    channel = text_channel(bot, g.channel("general").id)
    await channel.send(f"hi {g.member('bob').mention} @everyone")
    stored = emu.world.messages(channel.id)[-1]
    assert stored["allowed_mentions"] == {"parse": []}
