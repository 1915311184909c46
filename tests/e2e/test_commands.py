"""The commands as Discord shows them: what the bot syncs, checked on the payload Discord gets.

Every command and the message menu are guild-only in the payload itself (``contexts`` ``[0]``,
no DM permission): Discord hides them in DMs only then. Admin commands are one group, ``/club``,
hidden from members by ``default_member_permissions`` (Manage Server) — Discord reads that field
on top-level commands only, so no member command carries it.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Club

GLOBAL_SYNC = "PUT /applications/{application_id}/commands"
GUILD_SYNC = "PUT /applications/{application_id}/guilds/{guild_id}/commands"
MANAGE_GUILD = 1 << 5
GUILD_CONTEXT = 0
SLASH, MESSAGE_MENU = 1, 3
SUBCOMMAND = 1


def _subcommands(command: dict[str, Any]) -> set[str]:
    return {o["name"] for o in command.get("options", []) if o["type"] == SUBCOMMAND}


def _by_name(payload: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in payload}


async def test_a_global_sync_makes_every_command_guild_only_and_hides_club_from_members(
    club: Club,
) -> None:
    assert club.bot is not None
    await club.bot.tree.sync()  # what a production start sends (no DEV_GUILD_ID)
    [sync] = club.emu.calls_to(GLOBAL_SYNC)
    assert sync.status == 200
    commands = _by_name(sync.json)
    assert set(commands) == {
        "club",
        "movie",
        "rate",
        "unrate",
        "review",
        "watch",
        "help",
        "Hide as spoiler",
    }
    for name, command in commands.items():
        assert command["contexts"] == [GUILD_CONTEXT], name
        assert command["dm_permission"] is False, name
    assert commands["Hide as spoiler"]["type"] == MESSAGE_MENU

    admin = commands["club"]
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    assert _subcommands(admin) == {"setup", "settings", "schedule", "pick-now"}
    members = [c for name, c in commands.items() if name != "club"]
    assert all(c.get("default_member_permissions") is None for c in members)
    for command in sync.json:  # nested options never carry it (Discord would ignore it there)
        for option in command.get("options", []):
            assert "default_member_permissions" not in option

    assert _subcommands(commands["watch"]) == {"suggest", "pool", "history"}
    assert _subcommands(commands["movie"]) == {"add", "info", "list"}
    assert _subcommands(commands["review"]) == {"write", "read", "edit", "delete"}


async def test_the_dev_guild_gets_the_same_commands(club: Club) -> None:
    [sync] = club.emu.calls_to(GUILD_SYNC)
    commands = _by_name(sync.json)
    assert int(commands["club"]["default_member_permissions"]) == MANAGE_GUILD
    assert "schedule" not in _subcommands(commands["watch"])
    assert "pick-now" not in _subcommands(commands["watch"])


async def test_help_shows_members_the_club_channels_and_schedule(club: Club) -> None:
    emu, guild = club.emu, club.guild
    movies, picks = guild.channel("movies"), guild.channel("general")
    member = guild.add_member("dora")
    before = await emu.slash(member, "help")
    await before.wait_done()
    assert before.ephemeral
    assert "not scheduled yet" in before.texts()

    setup = await emu.slash(guild.admin, "club setup", movies_channel=movies)
    await setup.wait_done()
    scheduled = await emu.slash(
        guild.admin,
        "club schedule",
        weekday="Friday",
        time="20:00",
        timezone="Europe/Berlin",
        channel=picks,
    )
    await scheduled.wait_done()
    shown = await emu.slash(member, "help")
    await shown.wait_done()
    text = shown.texts()
    assert f"Movie cards: <#{movies.id}>" in text
    assert f"every Friday at 20:00 (Europe/Berlin) in <#{picks.id}>" in text
    assert "<t:" in text  # the next post, in each member's own time zone
