"""Threads, forum posts, polls and scheduled events."""

from __future__ import annotations

import datetime

import discord
import pytest

from tests.emulator import Emulator, Perm
from tests.emulator_selftest.minibot import MiniBot


def channel_of(bot: MiniBot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_thread_from_a_message_reaches_the_cache(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    movies = channel_of(bot, g.channel("movies").id)
    card = await movies.send("Miracle in Cell No. 7 (2013)")
    thread = await card.create_thread(name="Miracle (2013) · spoilers", auto_archive_duration=10080)
    assert thread.id == card.id  # Discord reuses the message id
    await emu.wait_for(lambda: bot.get_channel(thread.id) is not None, what="THREAD_CREATE")
    assert emu.world.threads[0]["name"] == "Miracle (2013) · spoilers"
    await thread.send("the ending!")
    assert [m["content"] for m in emu.world.messages(thread.id)] == ["the ending!"]

    await thread.edit(archived=True)
    assert g.thread(thread.id).archived
    # discord.py drops archived threads from its cache on THREAD_UPDATE.
    await emu.wait_for(lambda: bot.get_channel(thread.id) is None, what="THREAD_UPDATE")
    await thread.send("reopened by sending")
    assert not g.thread(thread.id).archived


async def test_member_archiving_and_deleting_threads_dispatches(
    emu: Emulator, bot: MiniBot
) -> None:
    g = emu.world.guild
    movies = channel_of(bot, g.channel("movies").id)
    thread = await movies.create_thread(name="talk", type=discord.ChannelType.public_thread)
    await emu.wait_for(lambda: bot.get_channel(thread.id) is not None, what="THREAD_CREATE")
    cached = bot.get_channel(thread.id)
    assert isinstance(cached, discord.Thread)
    await emu.archive_thread(thread.id)
    await emu.wait_for(lambda: cached.archived, what="the bot to see the archive")
    await emu.archive_thread(thread.id, archived=False)
    await emu.wait_for(lambda: bot.get_channel(thread.id) is not None, what="the unarchive")
    await emu.delete_channel(thread.id, by=g.mod)
    await emu.wait_for(lambda: bot.get_channel(thread.id) is None, what="THREAD_DELETE")


async def test_archiving_someone_elses_thread_needs_manage_threads(
    emu: Emulator, bot: MiniBot
) -> None:
    g = emu.world.guild
    movies = g.channel("movies")
    theirs = emu.world.open_thread(movies, "member thread", g.member("bob"))
    movies.deny(g.me, Perm.MANAGE_THREADS)
    await emu.wait_for(lambda: bot.get_channel(theirs.id) is not None, what="THREAD_CREATE")
    thread = bot.get_channel(theirs.id)
    assert isinstance(thread, discord.Thread)
    with pytest.raises(discord.Forbidden):
        await thread.edit(archived=True)


async def test_forum_post_with_a_tag(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    forum_state = g.channel("movie-forum")
    forum = bot.get_channel(forum_state.id)
    assert isinstance(forum, discord.ForumChannel)
    spoilers = next(t for t in forum.available_tags if t.name == "Spoilers")
    created = await forum.create_thread(
        name="Parasite (2019)", content="Discuss!", applied_tags=[spoilers]
    )
    assert created.message.id == created.thread.id
    post = emu.world.threads[0]
    assert post["parent_id"] == str(forum_state.id)
    assert post["applied_tags"] == [str(forum_state.tag_id("Spoilers"))]
    assert emu.world.messages(created.thread.id)[0]["content"] == "Discuss!"
    with pytest.raises(discord.HTTPException) as raised:
        await forum.create_thread(name="bad", content="x", applied_tags=[discord.Object(1)])  # type: ignore[list-item]
    assert raised.value.code == 50035


async def test_poll_votes_counts_and_expiry(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    picks = channel_of(bot, g.channel("picks").id)
    poll = discord.Poll(question="Next week?", duration=datetime.timedelta(hours=24))
    poll.add_answer(text="Parasite").add_answer(text="Miracle")
    sent = await picks.send(poll=poll)
    for name in ("alice", "bob"):
        await emu.vote_poll(g.member(name), picks.id, sent.id, 2)
    await emu.vote_poll(g.member("carol"), picks.id, sent.id, 1)
    stored = emu.world.message(picks.id, sent.id)
    assert stored is not None
    assert stored["poll"]["results"]["answer_counts"] == [
        {"id": 1, "count": 1, "me_voted": False},
        {"id": 2, "count": 2, "me_voted": False},
    ]
    voters = [u.id async for u in sent.poll.get_answer(2).voters()]  # type: ignore[union-attr]
    assert sorted(voters) == sorted([g.member("alice").id, g.member("bob").id])
    ended = await sent.end_poll()
    assert ended.poll is not None and ended.poll.is_finalised()
    assert ended.poll.victor_answer is None or ended.poll.get_answer(2) is not None
    assert stored["poll"]["results"]["is_finalized"]


async def test_scheduled_events_create_and_list(emu: Emulator, bot: MiniBot) -> None:
    guild = bot.get_guild(emu.world.guild.id)
    assert guild is not None
    start = discord.utils.utcnow() + datetime.timedelta(days=2)
    event = await guild.create_scheduled_event(
        name="Watch night",
        start_time=start,
        end_time=start + datetime.timedelta(hours=3),
        entity_type=discord.EntityType.external,
        location="Cinema",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    listed = await guild.fetch_scheduled_events()
    assert [e.name for e in listed] == ["Watch night"]
    assert event.location == "Cinema"
