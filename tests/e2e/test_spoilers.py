"""Hide as spoiler, end to end: the leak is re-posted hidden, credited, and deleted."""

from __future__ import annotations

import re

import pytest

from bot.domain.review_text import spoiler_unwrap
from tests.e2e.conftest import Club, assert_nothing_can_ping
from tests.emulator import Perm
from tests.unit import texts

MENU = "Hide as spoiler"
CREDIT = re.compile(r"<@(\d+)> wrote \(hidden as a spoiler by <@(\d+)>\):\n")


def _block(content: str) -> str:
    """The member's text inside one message's spoiler block (refuses a block closed early)."""
    body = CREDIT.sub("", content, count=1)
    assert body.startswith("||") and body.endswith("||"), body[:40]
    return spoiler_unwrap(body)


async def test_a_leak_is_reposted_hidden_credited_without_a_ping_and_deleted(club: Club) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    alice, bob = guild.add_member("alice"), guild.add_member("bob")
    leak = "@everyone he dies at the end! <@&1> ||already hidden|| and a | pipe"
    original = await emu.post_message(alice, general, leak)

    itx = await emu.message_command(bob, MENU, original)
    await itx.wait_done()
    assert itx.ephemeral and "re-posted as a spoiler" in itx.texts()
    assert emu.world.message(general, int(original["id"])) is None
    [repost] = emu.world.messages(general)
    credit = CREDIT.match(repost["content"])
    assert credit is not None and credit.groups() == (str(alice.id), str(bob.id))
    assert _block(repost["content"]) == leak
    assert repost["allowed_mentions"] == {"parse": []}
    assert repost["mention_everyone"] is False
    assert_nothing_can_ping(club)


async def test_a_long_message_is_split_into_whole_blocks(club: Club) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    alice = guild.add_member("alice")
    # Within a member's 2,000 characters, but escaped pipes and the credit line push it over.
    text = (texts.PIPES_REVIEW + "\n\n" + texts.LONG_REVIEW)[:1990]
    original = await emu.post_message(alice, general, text)
    itx = await emu.message_command(alice, MENU, original)
    await itx.wait_done()
    posted = emu.world.messages(general)
    assert len(posted) == 2
    assert all(len(m["content"]) <= 2000 for m in posted)
    assert posted[0]["content"].startswith(f"<@{alice.id}> hid their message as a spoiler:\n")
    first = posted[0]["content"].split("\n", 1)[1]
    pieces = [spoiler_unwrap(first), *(_block(m["content"]) for m in posted[1:])]
    assert "".join(pieces) == text


async def test_attachments_come_along_as_spoiler_files(club: Club) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    alice = guild.add_member("alice")
    still = emu.attachment("ending.png", b"\x89PNG\r\n\x1a\nframe", "image/png")
    original = await emu.post_message(
        alice, general, "the last frame", attachments=[still.payload()]
    )
    itx = await emu.message_command(guild.add_member("bob"), MENU, original)
    await itx.wait_done()
    [repost] = emu.world.messages(general)
    [attachment] = repost["attachments"]
    assert attachment["filename"] == "SPOILER_ending.png"
    assert emu.world.files[int(attachment["id"])].data == b"\x89PNG\r\n\x1a\nframe"


async def test_attachments_larger_than_the_bot_may_upload_are_refused_before_anything(
    club: Club,
) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    still = emu.attachment("ending.mov", b"frames", "video/quicktime")
    huge = {**still.payload(), "size": 500 * 1024 * 1024}  # a Nitro member's 500 MB upload
    original = await emu.post_message(
        guild.add_member("alice"), general, "the whole ending", attachments=[huge]
    )
    itx = await emu.message_command(guild.add_member("bob"), MENU, original)
    await itx.wait_done()
    assert itx.ephemeral and "larger than I may upload here" in itx.texts()
    assert [m["id"] for m in emu.world.messages(general)] == [original["id"]]
    assert emu.calls_to("POST /channels/{channel_id}/messages") == []


async def test_without_manage_messages_nothing_is_posted_or_deleted(club: Club) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    general.deny(guild.me, Perm.MANAGE_MESSAGES)
    original = await emu.post_message(guild.add_member("alice"), general, "he dies")
    itx = await emu.message_command(guild.add_member("bob"), MENU, original)
    await itx.wait_done()
    assert itx.ephemeral
    assert "I need **Manage Messages**" in itx.texts() and "Nothing was changed" in itx.texts()
    assert [m["id"] for m in emu.world.messages(general)] == [original["id"]]
    assert emu.calls_to("POST /channels/{channel_id}/messages") == []


@pytest.mark.parametrize("what", ["attachment-only", "bot-message"])
async def test_messages_without_text_or_from_the_bot_are_refused(club: Club, what: str) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    if what == "attachment-only":
        still = emu.attachment("ending.png", b"\x89PNG\r\n\x1a\n", "image/png")
        original = emu.world.post(
            general, guild.add_member("alice"), {"content": "", "attachments": [still.payload()]}
        )
        says = "no text to hide"
    else:
        original = emu.world.post(general, guild.me, {"content": "a card"})
        says = "one of my own messages"
    itx = await emu.message_command(guild.add_member("bob"), MENU, original)
    await itx.wait_done()
    assert itx.ephemeral and says in itx.texts()
    assert [m["id"] for m in emu.world.messages(general)] == [original["id"]]


async def test_a_leak_in_a_thread_is_hidden_in_that_thread(club: Club) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    thread = emu.world.open_thread(general, "chat", guild.admin)
    alice = guild.add_member("alice")
    original = await emu.post_message(alice, thread, "the warden adopts her")
    itx = await emu.message_command(guild.mod, MENU, original)
    await itx.wait_done()
    [repost] = emu.world.messages(thread)
    assert _block(repost["content"]) == "the warden adopts her"
    assert emu.world.messages(general) == []
