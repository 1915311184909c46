"""Slash commands, autocomplete, modals, buttons, dynamic items and context menus."""

from __future__ import annotations

import discord
import pytest

from tests.emulator import Emulator, ManualTime
from tests.emulator.interactions import CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL
from tests.emulator_selftest.conftest import start_bot, stop_bot
from tests.emulator_selftest.minibot import MiniBot


async def test_subcommand_with_options_gets_a_channel_message(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(
        g.member("alice"), "movie add", channel=g.channel("movies"), title="Miracle", year=2013
    )
    response = await itx.response()
    assert response["type"] == CHANNEL_MESSAGE
    assert itx.content == "added Miracle (2013)"
    assert not itx.ephemeral
    stored = emu.world.messages(g.channel("movies"))
    assert [m["content"] for m in stored] == ["added Miracle (2013)"]
    assert stored[0]["interaction_metadata"]["user"]["id"] == str(g.member("alice").id)


async def test_nested_group_resolves_members_and_channels(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    bob, reviews = g.member("bob"), g.channel("reviews")
    itx = await emu.slash(g.admin, "admin tools ping", target=bob, where=reviews)
    await itx.response()
    assert itx.content == f"pong {bob.id} in {reviews.id}"


async def test_wrong_options_are_a_clear_assertion(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    with pytest.raises(AssertionError, match="unknown options"):
        await emu.slash(g.admin, "movie add", title="x", director="y")
    with pytest.raises(AssertionError, match="required options missing"):
        await emu.slash(g.admin, "movie add", year=2013)
    with pytest.raises(AssertionError, match="no synced command"):
        await emu.slash(g.admin, "nope")


async def test_ephemeral_reply_is_not_stored_in_the_channel(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "movie info", movie="Parasite (2019)")
    await itx.response()
    assert itx.ephemeral
    assert itx.content == "info: Parasite (2019)"
    assert emu.world.messages(g.channel("general")) == []


async def test_deferral_then_followups_edit_the_original(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "slow", hidden=True)
    assert (await itx.response())["type"] == DEFERRED_CHANNEL_MESSAGE
    await itx.wait_done()
    await itx.wait_followups(1)
    assert itx.ephemeral
    assert itx.content == "done thinking"  # the first followup replaced "thinking..."
    assert [f["content"] for f in itx.followups] == ["second followup"]
    assert itx.texts() == "done thinking\nsecond followup"
    # Only the second followup is public: it was sent without the ephemeral flag.
    assert [m["content"] for m in emu.world.messages(g.channel("general"))] == ["second followup"]


async def test_autocomplete_returns_the_bots_choices(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    choices = await emu.autocomplete(g.member("alice"), "movie info", focused="movie", value="mira")
    assert [c["name"] for c in choices] == [
        "Miracle in Cell No. 7 (2013)",
        "Miracle in Cell No. 7 (2019)",
    ]


async def test_modal_round_trip(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "review")
    await itx.response()
    assert itx.kind == MODAL
    assert itx.modal is not None and itx.modal["title"] == "Write a review"
    submitted = await emu.submit_modal(itx, {"Headline": "Tears", "Review": "x" * 3000})
    await submitted.response()
    assert submitted.content == "review saved: Tears / 3000 chars"


async def test_modal_enforces_the_input_limits(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "review")
    with pytest.raises(AssertionError, match="allows 4000"):
        await emu.submit_modal(itx, {"Headline": "Tears", "Review": "x" * 4001})


async def test_button_of_a_view_updates_the_message(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "buttons")
    await itx.response()
    assert itx.message is not None
    click = await emu.click(g.member("bob"), itx.message, "vote:yes")
    await click.response()
    assert click.kind == 7
    stored = emu.world.message(g.channel("general"), int(itx.message["id"]))
    assert stored is not None and stored["content"] == "votes: 1"
    view = bot.views[0]
    assert isinstance(view, discord.ui.View)


async def test_dynamic_item_survives_a_new_bot_instance(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    itx = await emu.slash(g.member("alice"), "buttons")
    await itx.response()
    assert itx.message is not None
    message_ref = (g.channel("general").id, int(itx.message["id"]))
    await bot.close()

    emu.logins.pass_window()  # a new login within 5 s would be refused, as on Discord
    fresh = MiniBot(g.id)
    task = await start_bot(emu, fresh)
    try:
        click = await emu.click(g.member("bob"), message_ref, "like:42")
        await click.response()
        assert click.content == "liked movie 42"
        assert click.ephemeral
    finally:
        await stop_bot(fresh, task)


async def test_message_context_menu(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    target = await emu.post_message(g.member("bob"), g.channel("general"), "Dad dies at the end")
    itx = await emu.message_command(g.member("alice"), "Hide as spoiler", target)
    await itx.response()
    assert itx.content == "||Dad dies at the end||"


async def test_attachment_option_is_served_from_the_loopback_cdn(
    emu: Emulator, bot: MiniBot
) -> None:
    g = emu.world.guild
    file = emu.attachment("review.txt", b"a long review", content_type="text/plain")
    itx = await emu.slash(g.member("alice"), "upload", file=file)
    await itx.response()
    assert itx.content == "review.txt: a long review"
    assert emu.calls_to("GET /attachments/{channel_id}/{attachment_id}/{filename}")


async def test_answering_after_three_seconds_is_10062(emu: Emulator, bot: MiniBot) -> None:
    emu.deadline_clock = ManualTime()  # the deadlines move only when the test says
    itx = await emu.slash(emu.world.guild.member("alice"), "late")
    emu.deadline_clock.jump(3.1)  # the bot takes 3.1 s to answer
    bot.answer_late.set()
    await emu.wait_for(lambda: bool(bot.errors), timeout=6, what="the late reply to fail")
    assert bot.errors[0].code == 10062
    assert bot.errors[0].status == 404
    assert not itx.responded


async def test_answering_just_within_three_seconds_is_accepted(emu: Emulator, bot: MiniBot) -> None:
    emu.deadline_clock = ManualTime()
    itx = await emu.slash(emu.world.guild.member("alice"), "late")
    emu.deadline_clock.jump(2.9)  # the bot takes 2.9 s to answer
    bot.answer_late.set()
    await itx.response()
    assert itx.content == "answered"
    assert bot.errors == []


async def test_followups_end_fifteen_minutes_after_the_interaction(
    emu: Emulator, bot: MiniBot
) -> None:
    emu.deadline_clock = ManualTime()
    itx = await emu.slash(emu.world.guild.member("alice"), "slow")
    await itx.wait_done()
    await itx.wait_followups(1)  # "done thinking" replaced the original, then one followup
    followup = discord.Webhook.partial(emu.world.application_id, itx.token, client=bot)
    emu.deadline_clock.jump(14 * 60 + 59)
    await followup.send("still in time")
    assert [f["content"] for f in itx.followups] == ["second followup", "still in time"]
    emu.deadline_clock.jump(2)  # 15 minutes and a second after the interaction
    with pytest.raises(discord.HTTPException) as raised:
        await followup.send("too late")
    assert (raised.value.status, raised.value.code) == (401, 50027)
    assert len(itx.followups) == 2


async def test_a_second_response_is_40060(emu: Emulator, bot: MiniBot) -> None:
    itx = await emu.slash(emu.world.guild.member("alice"), "twice")
    await emu.wait_for(lambda: bool(bot.errors), what="the second reply to fail")
    assert bot.errors[0].code == 40060
    assert itx.content == "first"
