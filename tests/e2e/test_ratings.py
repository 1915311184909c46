"""Ratings end to end: reacting to rate, live cards, offline changes, resume, deleted cards."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict

import aiosqlite
import pytest

from bot.domain.ratings import SCORE_EMOJI, RatingSummary
from tests.e2e.conftest import Club, eventually
from tests.emulator import Call, MemberState, Perm

EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"


async def _add_movie(club: Club, title: str, year: int) -> tuple[int, int, int]:
    """(movie_id, channel_id, card_message_id) of a movie added through /movie add."""
    itx = await club.emu.slash(
        club.guild.admin, "movie add", title=title, year=year, channel=club.guild.channel("movies")
    )
    await itx.wait_done(timeout=10)
    async with (
        aiosqlite.connect(club.db_path) as conn,
        conn.execute(
            "SELECT id, card_channel_id, card_message_id FROM movies WHERE title = ? AND year = ?",
            (title, year),
        ) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def _ratings(club: Club, movie_id: int) -> dict[int, int]:
    async with (
        aiosqlite.connect(club.db_path) as conn,
        conn.execute("SELECT member_id, score FROM ratings WHERE movie_id = ?", (movie_id,)) as cur,
    ):
        return {int(m): int(s) for m, s in await cur.fetchall()}


def _emoji(score: int) -> str:
    return SCORE_EMOJI[score - 1]


def _card_edits(club: Club, message_id: int) -> list[float]:
    return [c.at for c in club.emu.calls_to(EDIT_ROUTE) if c.path.endswith(f"/{message_id}")]


def _assert_card_shows(
    club: Club, channel_id: int, message_id: int, expected: dict[int, int]
) -> None:
    card = club.emu.world.message(channel_id, message_id)
    assert card is not None
    summary = RatingSummary.from_scores(list(expected.values()))
    description = card["embeds"][0]["description"]
    assert summary.headline() in description
    assert summary.histogram() in description


class Members:
    """Members acting on one card the way the Discord client lets them."""

    def __init__(self, club: Club, channel_id: int, message_id: int) -> None:
        self.club, self.channel_id, self.message_id = club, channel_id, message_id
        self.expected: dict[int, int] = {}

    def on_card(self, member: MemberState) -> set[int]:
        emu = self.club.emu
        return {
            s
            for s in range(1, 11)
            if member.id in emu.world.reaction_users(self.message_id, _emoji(s))
        }

    async def add(self, member: MemberState, score: int) -> None:
        await self.club.emu.react(member, self.channel_id, self.message_id, _emoji(score))
        self.expected[member.id] = score

    async def remove(self, member: MemberState, score: int) -> None:
        await self.club.emu.unreact(member, self.channel_id, self.message_id, _emoji(score))
        if self.expected.get(member.id) == score:
            del self.expected[member.id]


@pytest.mark.real_rate_limits
async def test_fifty_members_in_random_order_end_exact_with_coalesced_edits(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Parasite", 2019)
    people = [club.guild.add_member(f"fan{i}") for i in range(50)]
    acting = Members(club, channel_id, card_id)
    rng = random.Random(2026)
    for _ in range(400):
        member = rng.choice(people)
        current = acting.expected.get(member.id)
        # With all ten numbers still on the card (the bot tidies at Discord's pace, which a
        # loaded machine may leave behind), the member takes their current one off instead.
        if current is not None and (rng.random() < 0.2 or len(acting.on_card(member)) == 10):
            await acting.remove(member, current)
        else:
            choices = [s for s in range(1, 11) if s not in acting.on_card(member)]
            await acting.add(member, rng.choice(choices))
        if rng.random() < 0.3:
            await asyncio.sleep(0.005)

    async def settled() -> None:
        assert await _ratings(club, movie_id) == acting.expected

    await eventually(settled)
    await club.settle()
    _assert_card_shows(club, channel_id, card_id, acting.expected)
    edits = _card_edits(club, card_id)
    assert 1 <= len(edits) < 40, "edits are coalesced, never one per reaction"
    gaps = [b - a for a, b in itertools.pairwise(edits)]
    assert all(gap >= 2.0 for gap in gaps), gaps
    assert club.emu.rate_limited == 0


async def test_a_new_number_replaces_the_old_one_and_the_bot_removes_the_old_reaction(
    club: Club,
) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Ikiru", 1952)
    fan = club.guild.add_member("watanabe")
    acting = Members(club, channel_id, card_id)
    await acting.add(fan, 4)
    await acting.add(fan, 8)
    await eventually(lambda: _has(club, movie_id, {fan.id: 8}))
    await eventually(lambda: _no_extra(acting, fan, 4))
    assert acting.on_card(fan) == {8}
    await acting.remove(fan, 8)  # removing your current number removes your rating
    await eventually(lambda: _has(club, movie_id, {}))


async def test_changes_made_while_the_bot_was_offline_are_counted_and_rate_survives(
    club: Club,
) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Heat", 1995)
    ann, ben, cat, dan, eve = (
        club.guild.add_member(n) for n in ("ann", "ben", "cat", "dan", "eve")
    )
    acting = Members(club, channel_id, card_id)
    await acting.add(ann, 7)
    await acting.add(ben, 4)
    await acting.add(cat, 9)
    rated = await club.emu.slash(eve, "rate", movie="Heat", score=6)
    await rated.wait_done()
    acting.expected[eve.id] = 6

    async def before() -> None:
        assert await _ratings(club, movie_id) == acting.expected

    await eventually(before)
    await club.stop()
    await acting.add(ben, 8)  # swapped while away: 4 and 8 both on the card now
    await acting.remove(ben, 4)
    await acting.remove(cat, 9)  # removed
    await acting.add(dan, 3)  # added
    await acting.add(dan, 5)  # two new numbers: the documented rule keeps the highest
    acting.expected[dan.id] = 5
    await club.start()
    assert await _ratings(club, movie_id) == {ann.id: 7, ben.id: 8, dan.id: 5, eve.id: 6}
    await eventually(lambda: _no_extra(acting, dan, 3))
    await club.settle()
    _assert_card_shows(club, channel_id, card_id, acting.expected)


async def _no_extra(acting: Members, member: MemberState, score: int) -> None:
    assert score not in acting.on_card(member)


async def test_a_reaction_between_the_card_fetch_and_the_listing_takes_no_rating_away(
    club: Club,
) -> None:
    """Start-up reconciliation fetches a card, then lists who reacted with each number. A member
    reacting in between (a busy club while the bot starts) makes the list one longer than the
    count the fetch showed; listing only that many would leave out the member with the highest
    id, whose reaction would look removed and whose rating would go."""
    early, late = club.guild.add_member("early"), club.guild.add_member("late")
    assert early.id < late.id  # users are listed by ascending id
    movie_id, channel_id, card_id = await _add_movie(club, "Heat", 1995)
    acting = Members(club, channel_id, card_id)
    await acting.add(late, 7)
    await eventually(lambda: _rated(club, movie_id, {late.id: 7}))
    await club.stop()
    card = club.emu.world.message(channel_id, card_id)
    assert card is not None

    def react_once_fetched(call: Call) -> None:
        if call.path.endswith(f"/{card_id}") and not acting.on_card(early):
            club.emu.world.add_reaction(card, early, _emoji(7))

    club.emu.after_reply("GET /channels/{channel_id}/messages/{message_id}", react_once_fetched)
    await club.start()
    assert acting.on_card(early) == {7}  # it happened during the reconciliation
    await eventually(lambda: _rated(club, movie_id, {early.id: 7, late.id: 7}))


async def _rated(club: Club, movie_id: int, expected: dict[int, int]) -> None:
    assert await _ratings(club, movie_id) == expected


async def test_a_resumed_reconnect_mid_burst_counts_each_change_once(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Alien", 1979)
    people = [club.guild.add_member(f"crew{i}") for i in range(20)]
    acting = Members(club, channel_id, card_id)
    for i, member in enumerate(people[:10]):
        await acting.add(member, 1 + i % 10)

    async def during() -> None:
        for i, member in enumerate(people[10:]):
            await acting.add(member, 10 - i % 10)

    await club.emu.reconnect(resume=True, during=during)
    for member in people[:5]:
        await acting.remove(member, acting.expected[member.id])

    async def settled() -> None:
        assert await _ratings(club, movie_id) == acting.expected

    await eventually(settled)
    await club.settle()
    _assert_card_shows(club, channel_id, card_id, acting.expected)


async def test_a_deleted_card_keeps_its_ratings_and_comes_back_once(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Jaws", 1975)
    fan = club.guild.add_member("quint")
    acting = Members(club, channel_id, card_id)
    await acting.add(fan, 9)
    await eventually(lambda: _has(club, movie_id, {fan.id: 9}))
    await club.settle()  # the card shows the 9 (an edit still on its way would re-post it)
    await club.emu.delete_message(channel_id, card_id, by=club.guild.mod)

    async def detached() -> None:
        async with (
            aiosqlite.connect(club.db_path) as conn,
            conn.execute("SELECT card_message_id FROM movies WHERE id = ?", (movie_id,)) as cur,
        ):
            assert await cur.fetchone() == (None,)

    await eventually(detached)
    posts_before = len(club.emu.calls_to("POST /channels/{channel_id}/messages"))
    other = club.guild.add_member("brody")
    itx = await club.emu.slash(other, "rate", movie="Jaws", score=7)
    await itx.wait_done()
    assert "You rated **Jaws (1975)** 7/10" in itx.texts()

    async def reposted() -> None:
        async with (
            aiosqlite.connect(club.db_path) as conn,
            conn.execute("SELECT card_message_id FROM movies WHERE id = ?", (movie_id,)) as cur,
        ):
            row = await cur.fetchone()
        assert row is not None and row[0] is not None and row[0] != card_id

    await eventually(reposted)
    await club.settle()
    assert await _ratings(club, movie_id) == {fan.id: 9, other.id: 7}
    new_posts = club.emu.calls_to("POST /channels/{channel_id}/messages")[posts_before:]
    assert len(new_posts) == 1
    _, _, new_card = await _card_of(club, movie_id)
    card = club.emu.world.message(channel_id, new_card)
    assert card is not None
    await eventually(lambda: _has_all_reactions(club, channel_id, new_card))
    info = await club.emu.slash(other, "movie info", movie="Jaws")
    await info.wait_done()
    assert len(club.emu.calls_to("POST /channels/{channel_id}/messages")[posts_before:]) == 1


async def _card_of(club: Club, movie_id: int) -> tuple[int, int, int]:
    async with (
        aiosqlite.connect(club.db_path) as conn,
        conn.execute(
            "SELECT id, card_channel_id, card_message_id FROM movies WHERE id = ?", (movie_id,)
        ) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2] or 0)


async def _has(club: Club, movie_id: int, expected: dict[int, int]) -> None:
    assert await _ratings(club, movie_id) == expected


async def _has_all_reactions(club: Club, channel_id: int, message_id: int) -> None:
    card = club.emu.world.message(channel_id, message_id)
    assert card is not None
    assert [r["emoji"]["name"] for r in card.get("reactions") or []] == list(SCORE_EMOJI)


async def test_cleared_reactions_come_back_and_ratings_stay(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Up", 2009)
    fan = club.guild.add_member("carl")
    await Members(club, channel_id, card_id).add(fan, 10)
    await eventually(lambda: _has(club, movie_id, {fan.id: 10}))
    await club.emu.clear_reactions(channel_id, card_id, by=club.guild.mod)
    await eventually(lambda: _has_all_reactions(club, channel_id, card_id))
    assert await _ratings(club, movie_id) == {fan.id: 10}


async def test_without_manage_messages_the_latest_number_counts_and_nothing_is_removed(
    club: Club,
) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Ran", 1985)
    club.guild.channel("movies").deny(club.guild.me, Perm.MANAGE_MESSAGES)
    await club.restart()  # the bot learns its channel permissions from GUILD_CREATE
    fan = club.guild.add_member("hidetora")
    acting = Members(club, channel_id, card_id)
    await acting.add(fan, 6)
    await acting.add(fan, 9)
    await eventually(lambda: _has(club, movie_id, {fan.id: 9}))
    await acting.remove(fan, 6)  # an older number: nothing changes
    await asyncio.sleep(0.3)
    await club.settle()
    assert await _ratings(club, movie_id) == {fan.id: 9}
    removals = [c for c in club.emu.calls if c.method == "DELETE" and "/reactions/" in c.path]
    assert removals == []


async def test_other_emoji_and_bots_are_ignored(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Big", 1988)
    fan = club.guild.add_member("josh")
    await club.emu.react(fan, channel_id, card_id, "👍")
    await club.emu.react(fan, channel_id, card_id, "🎬")
    await asyncio.sleep(0.3)
    await club.settle()
    assert await _ratings(club, movie_id) == {}
    totals: dict[str, int] = defaultdict(int)
    for call in club.emu.calls_to(EDIT_ROUTE):
        totals[call.path] += 1
    assert all(n <= 2 for n in totals.values())


async def test_a_reconnect_that_cannot_resume_is_followed_by_reconciliation(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Stalker", 1979)
    people = [club.guild.add_member(f"zone{i}") for i in range(6)]
    acting = Members(club, channel_id, card_id)
    await acting.add(people[0], 8)
    await eventually(lambda: _has(club, movie_id, {people[0].id: 8}))

    async def during() -> None:  # these events are lost with the session, as on Discord
        for i, member in enumerate(people[1:]):
            await acting.add(member, 2 + i)
        await acting.remove(people[0], 8)

    await club.emu.reconnect(resume=False, during=during, timeout=20)

    async def settled() -> None:
        assert await _ratings(club, movie_id) == acting.expected

    await eventually(settled, within=20)
    assert len(acting.expected) == 5


async def test_two_ratings_right_after_a_deletion_bring_back_one_card(club: Club) -> None:
    movie_id, channel_id, card_id = await _add_movie(club, "Rashomon", 1950)
    await club.emu.delete_message(channel_id, card_id, by=club.guild.mod)

    async def detached() -> None:
        assert (await _card_of(club, movie_id))[2] == 0

    await eventually(detached)
    posts_before = len(club.emu.calls_to("POST /channels/{channel_id}/messages"))
    a, b = club.guild.add_member("tajomaru"), club.guild.add_member("masako")
    first = await club.emu.slash(a, "rate", movie="Rashomon", score=8)
    second = await club.emu.slash(b, "rate", movie="Rashomon", score=6)
    await first.wait_done()
    await second.wait_done()
    await eventually(lambda: _has(club, movie_id, {a.id: 8, b.id: 6}))

    async def one_new_card() -> None:
        assert (await _card_of(club, movie_id))[2] not in (0, card_id)

    await eventually(one_new_card)
    await club.settle()
    assert len(club.emu.calls_to("POST /channels/{channel_id}/messages")[posts_before:]) == 1
