"""Start-up at scale: after a restart the active cards are read back (newest activity first,
within a request budget), old cards wait until something touches them, members' commands never
wait for any of it, and guilds another process owns are left alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.client import Intervals
from bot.domain.clock import ManualClock
from bot.domain.ratings import SCORE_EMOJI, RatingSummary
from bot.services import build_services
from bot.storage.connect import open_database
from cogs.ratings.embeds import card_embed
from cogs.ratings.reconcile import CARDS_AT_ONCE
from tests.e2e.conftest import FAST_INTERVALS, Club, db_rows, eventually, running
from tests.emulator import Emulator, GuildState, MemberState

FETCH = "GET /channels/{channel_id}/messages/{message_id}"
USERS = "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
START = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
# Reconciliation at production's pace (10 requests a second); everything else as in other tests.
PRODUCTION_PACE = Intervals(
    card_edit=FAST_INTERVALS.card_edit,
    reidentify=FAST_INTERVALS.reidentify,
    background_request=FAST_INTERVALS.background_request,
)


@dataclass(frozen=True)
class Card:
    movie_id: int
    title: str
    channel_id: int
    message_id: int


def _emoji(score: int) -> str:
    return SCORE_EMOJI[score - 1]


async def _ratings(club: Club, movie_id: int) -> dict[int, int]:
    rows = await db_rows(club, "SELECT member_id, score FROM ratings WHERE movie_id = ?", movie_id)
    return {int(m): int(s) for m, s in rows}


async def _add_movie(club: Club, title: str, year: int) -> Card:
    itx = await club.emu.slash(
        club.guild.admin, "movie add", title=title, year=year, channel=club.guild.channel("movies")
    )
    await itx.wait_done(timeout=10)
    (row,) = await db_rows(
        club, "SELECT id, card_channel_id, card_message_id FROM movies WHERE title = ?", title
    )
    return Card(int(row[0]), f"{title} ({year})", int(row[1]), int(row[2]))


async def _seed(
    emu: Emulator, db_path: Path, guild: GuildState, count: int, voters: list[MemberState]
) -> list[Card]:
    """``count`` cards posted straight into the world and the database (no /movie add: its ten
    reactions take a while), each with a number from every voter that the bot never saw."""
    db = await open_database(db_path)
    services = build_services(db, ManualClock(datetime.now(UTC)))
    channel = guild.channel("movies")
    cards = []
    try:
        for i in range(count):
            movie = await services.movies.add_entry(guild.id, guild.admin.id, f"Film {i}", 2000)
            info = await services.movies.info(movie)
            message = emu.world.post(channel, guild.me, {"embeds": [card_embed(info).to_dict()]})
            for emoji in SCORE_EMOJI:
                emu.world.add_reaction(message, guild.me, emoji)
            for n, voter in enumerate(voters):
                emu.world.add_reaction(message, voter, _emoji(1 + (i + n) % 10))
            await services.movies.attach_card(movie, channel.id, int(message["id"]))
            cards.append(Card(movie.id, movie.label, channel.id, int(message["id"])))
    finally:
        await db.close()
    return cards


def _reads(emu: Emulator, card: Card, since: int = 0) -> int:
    """How many times the card was fetched (reconciliation reads it back) after call ``since``."""
    return sum(
        1
        for c in emu.calls[since:]
        if c.route == FETCH and c.path == f"/channels/{card.channel_id}/messages/{card.message_id}"
    )


def _assert_card_shows(club: Club, card: Card, ratings: dict[int, int]) -> None:
    message = club.emu.world.message(card.channel_id, card.message_id)
    assert message is not None
    summary = RatingSummary.from_scores(list(ratings.values()))
    assert summary.headline() in message["embeds"][0]["description"]


# -- a restart ------------------------------------------------------------------------------------
@dataclass
class Restarted:
    club: Club
    clock: ManualClock
    old: Card
    active: Card
    expected_old: dict[int, int]
    calls_at_start: int


async def _restart_after_offline_votes(club: Club, clock: ManualClock) -> Restarted:
    """Two cards: one whose last activity is 40 days old, one rated yesterday. While the bot is
    away, ann swaps her number on both and ben adds one to both."""
    guild = club.guild
    ann, ben = guild.add_member("ann"), guild.add_member("ben")
    old = await _add_movie(club, "Ikiru", 1952)
    await club.emu.react(ann, old.channel_id, old.message_id, _emoji(7))
    await eventually(lambda: _has(club, old, {ann.id: 7}))
    clock.advance(timedelta(days=39))
    active = await _add_movie(club, "Heat", 1995)
    await club.emu.react(ann, active.channel_id, active.message_id, _emoji(7))
    await eventually(lambda: _has(club, active, {ann.id: 7}))
    clock.advance(timedelta(days=1))
    await club.stop()
    for card in (old, active):
        await club.emu.unreact(ann, card.channel_id, card.message_id, _emoji(7))
        await club.emu.react(ann, card.channel_id, card.message_id, _emoji(3))
        await club.emu.react(ben, card.channel_id, card.message_id, _emoji(8))
    clock.advance(timedelta(hours=1))
    calls = len(club.emu.calls)
    await club.start()
    return Restarted(club, clock, old, active, {ann.id: 3, ben.id: 8}, calls)


async def _has(club: Club, card: Card, expected: dict[int, int]) -> None:
    assert await _ratings(club, card.movie_id) == expected


async def test_a_vote_made_offline_on_an_active_card_is_counted_at_start_up(
    emu: Emulator, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    async with running(emu, tmp_path / "club.db", clock) as club:
        restarted = await _restart_after_offline_votes(club, clock)
        # start() waited for the reconciliation that follows READY
        assert await _ratings(club, restarted.active.movie_id) == restarted.expected_old
        assert _reads(emu, restarted.active, restarted.calls_at_start) == 1
        await club.settle()
        _assert_card_shows(club, restarted.active, restarted.expected_old)


@pytest.mark.parametrize("touch", ["reaction", "movie info", "rate"])
async def test_an_old_card_waits_for_a_touch_and_is_then_read_back_once(
    emu: Emulator, tmp_path: Path, touch: str
) -> None:
    clock = ManualClock(START)
    async with running(emu, tmp_path / "club.db", clock) as club:
        restarted = await _restart_after_offline_votes(club, clock)
        old, since = restarted.old, restarted.calls_at_start
        assert _reads(emu, old, since) == 0, "a card idle for 40 days is not read at start-up"
        assert await _ratings(club, old.movie_id) == {club.guild.member("ann").id: 7}

        cat = club.guild.add_member("cat")
        expected = dict(restarted.expected_old)
        if touch == "reaction":
            await emu.react(cat, old.channel_id, old.message_id, _emoji(6))
        elif touch == "movie info":
            shown = await emu.slash(cat, "movie info", movie=old.title)
            await shown.wait_done()
            assert shown.embeds[0]["title"] == old.title
        else:
            rated = await emu.slash(cat, "rate", movie=old.title, score=6)
            await rated.wait_done()
        if touch != "movie info":
            expected[cat.id] = 6

        await eventually(lambda: _has(club, old, expected))
        await club.settle()
        _assert_card_shows(club, old, expected)
        again = await emu.slash(cat, "movie info", movie=old.title)  # touched again: no re-read
        await again.wait_done()
        await club.settle()
        assert _reads(emu, old, since) == 1


async def test_a_number_added_live_on_an_old_card_wins_over_one_added_offline(
    emu: Emulator, tmp_path: Path
) -> None:
    """ann put 3 on the old card while the bot was away; after the restart she adds 9. The card
    is read back because of that 9, and the 9 stands (her 3 is taken off)."""
    clock = ManualClock(START)
    async with running(emu, tmp_path / "club.db", clock) as club:
        restarted = await _restart_after_offline_votes(club, clock)
        old, ann = restarted.old, club.guild.member("ann")
        clock.advance(timedelta(seconds=30))  # the ratings store times to the second
        await emu.react(ann, old.channel_id, old.message_id, _emoji(9))
        expected = {**restarted.expected_old, ann.id: 9}
        await eventually(lambda: _has(club, old, expected))
        await club.settle()
        assert await _ratings(club, old.movie_id) == expected
        assert ann.id not in emu.world.reaction_users(old.message_id, _emoji(3))


# -- members first, within a budget ---------------------------------------------------------------
async def test_movie_info_is_answered_at_once_while_a_big_reconciliation_runs(
    emu: Emulator, tmp_path: Path
) -> None:
    voters = [emu.world.guild.add_member(f"fan{i}") for i in range(2)]
    cards = await _seed(emu, tmp_path / "club.db", emu.world.guild, 60, voters)
    async with running(emu, tmp_path / "club.db", intervals=PRODUCTION_PACE, settle=False) as club:
        assert club.bot is not None
        asked = await emu.slash(voters[0], "movie info", movie=cards[-1].title)
        await asked.response()
        assert asked.callback_at is not None
        assert asked.callback_at - asked.created_at < 1.0
        assert asked.embeds[0]["title"] == cards[-1].title
        # 60 cards of three requests each take 18 s at 10 requests a second: far from done.
        assert not club.bot.reconciler.idle
        assert sum(1 for c in emu.calls if c.route == FETCH) < len(cards) // 2


async def test_reconciliation_keeps_to_its_request_budget(emu: Emulator, tmp_path: Path) -> None:
    """Production's pace: at most 10 requests in any second, at most three cards at a time."""
    voter = emu.world.guild.add_member("fan")
    cards = await _seed(emu, tmp_path / "club.db", emu.world.guild, 12, [voter])
    async with running(emu, tmp_path / "club.db", intervals=PRODUCTION_PACE) as club:
        spent = [c for c in emu.calls if c.route in (FETCH, USERS)]
        assert len(spent) == 2 * len(cards)  # the card, then the one number a member used
        times = [c.at for c in spent]
        per_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert per_second <= 10 + 1  # one more at most: arrival times jitter a little
        assert times[-1] - times[0] >= (len(times) - 1) * 0.1 * 0.9
        spans = []
        for card in cards:
            at = [c.at for c in spent if f"/messages/{card.message_id}" in c.path]
            spans.append((min(at), max(at)))
        overlapping = max(sum(1 for a, b in spans if a <= t <= b) for t, _ in spans)
        assert overlapping <= CARDS_AT_ONCE
        got = [await _ratings(club, card.movie_id) for card in cards]
        assert got == [{voter.id: 1 + i % 10} for i in range(len(cards))]


# -- ownership ------------------------------------------------------------------------------------
async def test_a_guild_another_process_owns_is_not_reconciled(
    emu: Emulator, tmp_path: Path
) -> None:
    mine, theirs = emu.world.guild, emu.world.add_guild("Another Club")
    voter_here, voter_there = mine.add_member("here"), theirs.add_member("there")
    [card_here] = await _seed(emu, tmp_path / "club.db", mine, 1, [voter_here])
    [card_there] = await _seed(emu, tmp_path / "club.db", theirs, 1, [voter_there])
    async with running(
        emu, tmp_path / "club.db", owns=lambda guild_id: guild_id == mine.id
    ) as club:
        assert await _ratings(club, card_here.movie_id) == {voter_here.id: 1}
        assert await _ratings(club, card_there.movie_id) == {}
        # A live reaction there is still counted (events are the gateway's business), but the
        # card is not read back: its offline number stays for the process that owns it.
        await emu.react(voter_there, card_there.channel_id, card_there.message_id, _emoji(5))
        await eventually(lambda: _has(club, card_there, {voter_there.id: 5}))
        await club.settle()
        assert _reads(emu, card_here) == 1
        assert _reads(emu, card_there) == 0
