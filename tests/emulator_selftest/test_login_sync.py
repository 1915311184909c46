"""Login, command sync validation and unknown-route recording."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from tests.emulator import Emulator
from tests.emulator_selftest.minibot import MiniBot


async def test_login_syncs_guild_commands_and_fills_the_cache(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    synced = {c["name"]: c for c in emu.world.commands[g.id]}
    assert {"movie", "admin", "slow", "Hide as spoiler"} <= set(synced)
    assert synced["Hide as spoiler"]["type"] == 3
    assert emu.calls_to("PUT /applications/{application_id}/guilds/{guild_id}/commands")
    guild = bot.get_guild(g.id)
    assert guild is not None
    assert guild.me is not None and guild.me.id == emu.world.bot_user_id
    assert guild.member_count == len(g.members)
    assert {c.name for c in guild.channels} >= {"general", "movies", "movie-forum"}
    forum = guild.get_channel(g.channel("movie-forum").id)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["Spoilers", "Discussion"]
    assert emu.connected


async def test_a_wrong_token_is_refused(emu: Emulator) -> None:
    client = discord.Client(intents=discord.Intents.none())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert emu.calls[-1].status == 401


@pytest.mark.parametrize(
    ("name", "description"),
    [("Movie", "uppercase name"), ("bad name", "space in name"), ("ok", "x" * 101)],
)
async def test_invalid_commands_are_rejected_with_50035(
    emu: Emulator, name: str, description: str
) -> None:
    @app_commands.command(name="placeholder", description="replaced below")
    async def broken(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("never")

    # discord.py validates names client-side too, so bypass it the way a hand-written
    # payload would: set the attributes after construction.
    broken.name = name
    broken.description = description
    client = MiniBot(emu.world.guild.id, extra=[broken])
    with pytest.raises(discord.HTTPException) as raised:
        await client.login(emu.token)  # runs setup_hook, which syncs
    await client.close()
    assert raised.value.code == 50035
    assert emu.calls[-1].status == 400


async def test_required_options_must_come_first(emu: Emulator) -> None:
    from tests.emulator.errors import ApiError
    from tests.emulator.limits import validate_commands

    command = {
        "name": "rate",
        "description": "Rate",
        "options": [
            {"name": "note", "description": "n", "type": 3},
            {"name": "score", "description": "s", "type": 4, "required": True},
        ],
    }
    with pytest.raises(ApiError) as raised:
        validate_commands([command])
    assert raised.value.code == 50035
    assert "required" in raised.value.errors["0"]["options"]["1"]  # type: ignore[index]


async def test_unknown_route_answers_404_and_is_recorded(emu: Emulator, bot: MiniBot) -> None:
    route = discord.http.Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=emu.world.guild.id)
    with pytest.raises(discord.NotFound):
        await bot.http.request(route)
    assert [c.path for c in emu.unknown] == [f"/guilds/{emu.world.guild.id}/audit-logs"]
    emu.unknown.clear()  # the fixture would fail the test otherwise
