"""The catalog end to end: login, sync, /movie add and autocomplete, /club setup, bad input."""

from __future__ import annotations

import aiosqlite
import pytest

from bot.domain.ratings import SCORE_EMOJI
from tests.e2e.conftest import Club, assert_nothing_can_ping
from tests.emulator import Perm

MIRACLE = "Miracle in Cell No. 7"
SYNC_ROUTE = "PUT /applications/{application_id}/guilds/{guild_id}/commands"


async def _rows(club: Club, sql: str) -> list[tuple[object, ...]]:
    async with aiosqlite.connect(club.db_path) as conn, conn.execute(sql) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def _movies(club: Club) -> list[tuple[object, ...]]:
    return await _rows(
        club,
        "SELECT title, year, card_channel_id, card_message_id, thread_id FROM movies ORDER BY id",
    )


async def test_login_syncs_every_command_to_the_dev_guild(club: Club) -> None:
    sync = club.emu.calls_to(SYNC_ROUTE)
    assert len(sync) == 1 and sync[0].status == 200
    names = {c["name"] for c in sync[0].json}
    assert {"club", "movie", "rate", "unrate", "help"} <= names
    movie = next(c for c in sync[0].json if c["name"] == "movie")
    assert {o["name"] for o in movie["options"]} == {"add", "info", "list"}


async def test_add_two_versions_then_a_duplicate_then_autocomplete(club: Club) -> None:
    emu, guild = club.emu, club.guild
    alice = guild.add_member("alice")
    movies_channel = guild.channel("movies")
    setup = await emu.slash(guild.admin, "club setup", movies_channel=movies_channel)
    await setup.wait_done()

    for year in (2013, 2019):
        itx = await emu.slash(alice, "movie add", title=MIRACLE, year=year)
        await itx.wait_done(timeout=10)
        assert itx.ephemeral
        assert f"Added **{MIRACLE} ({year})**" in itx.texts()

    rows = await _movies(club)
    assert [(r[0], r[1]) for r in rows] == [(MIRACLE, 2013), (MIRACLE, 2019)]
    for title, year, channel_id, message_id, thread_id in rows:
        assert channel_id == movies_channel.id
        card = emu.world.message(movies_channel, message_id)  # type: ignore[arg-type]
        assert card is not None and card["embeds"][0]["title"] == f"{title} ({year})"
        assert [r["emoji"]["name"] for r in card["reactions"]] == list(SCORE_EMOJI)
        thread = guild.thread(thread_id)  # type: ignore[arg-type]
        assert thread.name == f"{title} ({year}) · spoilers"
        assert thread.parent_id == movies_channel.id
        assert f"<#{thread_id}>" in str(card["embeds"][0]["fields"])

    before = await _movies(club)
    cards_before = len(emu.world.messages(movies_channel))
    again = await emu.slash(alice, "movie add", title=MIRACLE, year=2013)
    await again.wait_done()
    assert again.ephemeral
    text = again.texts()
    assert "already in the catalog" in text
    assert f"https://discord.com/channels/{guild.id}/{movies_channel.id}/{before[0][3]}" in text
    assert await _movies(club) == before
    assert len(emu.world.messages(movies_channel)) == cards_before

    choices = await emu.autocomplete(alice, "movie info", focused="movie", value="miracle")
    assert [c["name"] for c in choices] == [f"{MIRACLE} (2013)", f"{MIRACLE} (2019)"]
    info = await emu.slash(alice, "movie info", movie=choices[1]["value"])
    await info.wait_done()
    assert info.embeds[0]["title"] == f"{MIRACLE} (2019)"


async def test_setup_refuses_unknown_timezone_and_members_without_manage_server(club: Club) -> None:
    emu, guild = club.emu, club.guild
    mars = await emu.slash(guild.admin, "club setup", timezone="Mars/Olympus")
    await mars.wait_done()
    assert mars.ephemeral
    assert "“Mars/Olympus” is not a time zone I know" in mars.texts()
    assert await _rows(club, "SELECT * FROM guild_settings") == []

    member = guild.add_member("bob")
    refused = await emu.slash(member, "club setup", timezone="Europe/Berlin")
    await refused.wait_done()
    assert refused.ephemeral
    assert "You need the **Manage Server** permission" in refused.texts()
    assert await _rows(club, "SELECT * FROM guild_settings") == []

    ok = await emu.slash(guild.admin, "club setup", timezone="Europe/Berlin")
    await ok.wait_done()
    assert await _rows(club, "SELECT timezone FROM guild_settings") == [("Europe/Berlin",)]
    shown = await emu.slash(guild.admin, "club settings")
    await shown.wait_done()
    assert "Europe/Berlin" in shown.texts()
    # /club is for admins now; members see the club's channels and schedule in /help.
    hidden = await emu.slash(member, "club settings")
    await hidden.wait_done()
    assert "You need the **Manage Server** permission" in hidden.texts()


BAD_INPUT = [
    ("", None, "The title is empty"),
    ("x" * 300, None, "300 characters long; the limit is 200"),
    ("Heat", 1700, "from 1870 to"),
    ("Heat", 3000, "from 1870 to"),
    ("\u200b\u200b", 2000, "The title is empty"),
]


@pytest.mark.parametrize(("title", "year", "says"), BAD_INPUT)
async def test_bad_input_gets_an_ephemeral_message_and_changes_nothing(
    club: Club, title: str, year: int | None, says: str
) -> None:
    values: dict[str, object] = {"title": title}
    if year is not None:
        values["year"] = year
    itx = await club.emu.slash(club.guild.add_member("carol"), "movie add", **values)
    await itx.wait_done()
    assert itx.ephemeral and says in itx.texts()
    assert await _movies(club) == []
    assert club.emu.calls_to("POST /channels/{channel_id}/messages") == []


async def test_hostile_titles_are_stored_safely_and_ping_nobody(club: Club) -> None:
    emu, guild = club.emu, club.guild
    titles = [
        "@everyone party",
        "<@&123> night",
        "**Bold** `code` ||x||",
        "Robert'); DROP TABLE movies;--",
        'He said "hi"',
    ]
    for i, title in enumerate(titles):
        itx = await emu.slash(guild.add_member(f"m{i}"), "movie add", title=title, year=2000 + i)
        await itx.wait_done(timeout=10)
        assert "Added" in itx.texts()
    rows = await _movies(club)
    assert [r[0] for r in rows] == titles
    assert_nothing_can_ping(club)
    first_card = emu.world.find_message(int(str(rows[0][3])))
    assert first_card is not None
    assert first_card["mentions"] == [] and first_card["mention_everyone"] is False
    bold = emu.world.find_message(int(str(rows[2][3])))
    assert bold is not None and bold["embeds"][0]["title"].startswith("\\*\\*Bold")


async def test_missing_permission_to_post_the_card_is_explained_and_nothing_is_kept(
    club: Club,
) -> None:
    emu, guild = club.emu, club.guild
    general = guild.channel("general")
    general.deny(guild.me, Perm.SEND_MESSAGES)
    itx = await emu.slash(
        guild.add_member("dave"), "movie add", title="Heat", year=1995, channel=general
    )
    await itx.wait_done()
    assert itx.ephemeral
    assert "I couldn't post the movie card" in itx.texts()
    assert await _movies(club) == []


async def test_movie_list_pages_with_buttons_that_survive_a_restart(club: Club) -> None:
    emu, guild = club.emu, club.guild
    member = guild.add_member("erin")
    for i in range(12):
        assert club.bot is not None
        await club.bot.services.movies.add_entry(guild.id, member.id, f"Film {i:02d}", 2000)
    listing = await emu.slash(member, "movie list", sort="title")
    await listing.wait_done()
    assert "Film 00" in listing.texts() and "Page 1/2" in listing.texts()
    message = listing.message
    assert message is not None
    await club.restart()
    nxt = await emu.click(member, message, "movies:title:1:n")
    await nxt.wait_done()
    assert "Film 10" in nxt.texts() and "Page 2/2" in nxt.texts()


async def test_help_explains_with_examples(club: Club) -> None:
    itx = await club.emu.slash(club.guild.add_member("fay"), "help")
    await itx.wait_done()
    assert "/movie add title:Parasite year:2019" in itx.texts()


async def test_an_unexpected_error_shows_a_reference_never_a_traceback(
    club: Club, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert club.bot is not None

    async def broken(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(club.bot.services.club, "settings", broken)
    club.expected_error_logs = 1
    itx = await club.emu.slash(club.guild.admin, "club settings")
    await itx.wait_done()
    text = itx.texts()
    assert itx.ephemeral
    assert text.startswith("Something went wrong on my side (ref `")
    ref = text.split("`")[1]
    assert "secret internals" not in text and "Traceback" not in text
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(logged) == 1 and ref in logged[0].getMessage()
    assert logged[0].exc_info is not None  # the traceback goes to the log, with the reference


async def test_unknown_movie_gets_a_suggestion(club: Club) -> None:
    member = club.guild.add_member("hal")
    assert club.bot is not None
    await club.bot.services.movies.add_entry(club.guild.id, member.id, "Parasite", 2019)
    itx = await club.emu.slash(member, "movie info", movie="Parasit")
    await itx.wait_done()
    assert itx.ephemeral
    assert "No movie called `Parasit`" in itx.texts() and "Parasite (2019)" in itx.texts()


async def test_a_forum_movies_channel_gets_a_tagged_forum_post_per_movie(club: Club) -> None:
    emu, guild = club.emu, club.guild
    forum = guild.channel("movie-forum")
    setup = await emu.slash(guild.admin, "club setup", movies_channel=forum)
    await setup.wait_done()
    itx = await emu.slash(guild.add_member("ida"), "movie add", title="Heat", year=1995)
    await itx.wait_done(timeout=10)
    rows = await _movies(club)
    assert len(rows) == 1
    _, _, channel_id, message_id, thread_id = rows[0]
    assert channel_id == thread_id == message_id  # the card opens the post, in the post
    post = guild.thread(thread_id)  # type: ignore[arg-type]
    assert post.name == "Heat (1995) · spoilers" and post.parent_id == forum.id
    assert [str(t) for t in post.applied_tags] == [str(forum.tag_id("Spoilers"))]
