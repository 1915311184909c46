"""Moving a club from SQLite to PostgreSQL, end to end: a club used through its commands on
SQLite, copied with the storage transfer that ``python -m bot migrate`` runs, then the bot on
PostgreSQL answers ``/movie info``, ``/review read`` and ``/watch history`` exactly as before."""

from __future__ import annotations

import pytest

from bot.storage.transfer import copy_to_postgres
from tests.conftest import fresh_pg_database
from tests.e2e.conftest import Club
from tests.emulator import Emulator
from tests.pgcluster import Cluster

pytestmark = pytest.mark.e2e

FILMS = [("Parasite", 2019), ("Heat", 1995), ("Aftersun", 2022)]


async def _ask(club: Club, member: object, command: str, **options: object) -> str:
    itx = await club.emu.slash(member, command, **options)
    await itx.wait_done(timeout=15)
    return itx.texts()


async def _use_the_club(club: Club) -> list[object]:
    """What a small club does in its first weeks; returns the members who did it."""
    emu, guild = club.emu, club.guild
    setup = await emu.slash(
        guild.admin,
        "club setup",
        movies_channel=guild.channel("movies"),
        reviews_channel=guild.channel("reviews"),
    )
    await setup.wait_done()
    members = [guild.add_member(name) for name in ("ana", "ben", "cy", "dee")]
    for title, year in FILMS:
        add = await emu.slash(guild.admin, "movie add", title=title, year=year)
        await add.wait_done(timeout=15)
        assert "Added" in add.texts(), add.texts()
    for i, member in enumerate(members):
        for j, (title, year) in enumerate(FILMS):
            await _ask(club, member, "rate", movie=f"{title} ({year})", score=(i + 2 * j) % 10 + 1)
    for member, spoilers in ((members[0], True), (members[1], False)):
        itx = await emu.slash(member, "review write", movie="Parasite (2019)", spoilers=spoilers)
        form = await emu.submit_modal(
            itx, {"Review": f"{member.name} thinks the stairs say it all. " * 20}
        )
        await form.wait_done(timeout=15)
    for title, year in FILMS[1:]:
        await _ask(club, members[2], "watch suggest", movie=f"{title} ({year})")
    pick = await emu.slash(guild.admin, "club pick-now")
    await pick.wait_done(timeout=15)
    assert "Posted" in pick.texts(), pick.texts()
    await club.settle()
    return members


async def _what_members_see(club: Club, member: object) -> dict[str, str]:
    seen = {}
    for title, year in FILMS:
        label = f"{title} ({year})"
        seen[f"info {label}"] = await _ask(club, member, "movie info", movie=label)
        seen[f"reviews {label}"] = await _ask(club, member, "review read", movie=label)
    seen["history"] = await _ask(club, member, "watch history")
    return seen


async def test_a_club_moved_to_postgresql_shows_the_same_things(
    emu: Emulator, club: Club, pg_cluster: Cluster
) -> None:
    members = await _use_the_club(club)
    before = await _what_members_see(club, members[3])
    assert "stairs say it all" in before["reviews Parasite (2019)"]
    assert "**20" in before["history"] and "Aftersun (2022)" in before["history"]
    await club.stop()

    name = await fresh_pg_database(pg_cluster)
    # The template already holds the schema and no rows: an empty club database.
    report = await copy_to_postgres(club.db_path, pg_cluster.url(name))
    assert report.ok, report

    moved = Club(emu, club.db_path, database_url=pg_cluster.url(name))
    await moved.start()
    try:
        after = await _what_members_see(moved, members[3])
    finally:
        await moved.stop()
    assert after == before, (after, before)
    assert pg_cluster.unexpected_errors(name) == []
