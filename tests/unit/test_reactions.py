"""The reaction rule, checked against a one-event-at-a-time reference model."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.clock import ManualClock
from bot.domain.ratings import ReactionChange, emoji_for_score, plan_batch, reconcile_card
from bot.services import Services


def reference(
    changes: list[ReactionChange], start: dict[tuple[int, int], int]
) -> dict[tuple[int, int], int]:
    """The rule, one change at a time: add sets; removing the held number clears."""
    ratings = dict(start)
    for c in changes:
        key = (c.movie_id, c.member_id)
        if c.added:
            ratings[key] = c.score
        elif ratings.get(key) == c.score:
            del ratings[key]
    return ratings


def apply_plan(
    changes: list[ReactionChange], start: dict[tuple[int, int], int]
) -> dict[tuple[int, int], int]:
    plan = plan_batch(changes)
    ratings = dict(start)
    for movie, member, score in plan.conditional_deletes:
        if ratings.get((movie, member)) == score:
            del ratings[(movie, member)]
    for key in plan.deletes:
        ratings.pop(key, None)
    ratings.update(plan.upserts)
    return ratings


change_st = st.builds(
    ReactionChange,
    movie_id=st.integers(1, 2),
    member_id=st.integers(1, 3),
    score=st.integers(1, 10),
    added=st.booleans(),
)
start_st = st.dictionaries(st.tuples(st.integers(1, 2), st.integers(1, 3)), st.integers(1, 10))


@given(st.lists(change_st, max_size=30), start_st)
@settings(max_examples=400, deadline=None)
def test_a_folded_batch_equals_the_changes_one_by_one(
    changes: list[ReactionChange], start: dict[tuple[int, int], int]
) -> None:
    assert apply_plan(changes, start) == reference(changes, start)


def test_removing_an_older_number_changes_nothing() -> None:
    changes = [
        ReactionChange(1, 7, 5, True),
        ReactionChange(1, 7, 8, True),
        ReactionChange(1, 7, 5, False),
    ]
    assert reference(changes, {}) == {(1, 7): 8}
    assert apply_plan(changes, {}) == {(1, 7): 8}


def test_reconcile_added_swapped_removed_and_the_highest_new_number_wins() -> None:
    last_seen = {1: {5}, 2: {7}, 3: {9}}
    now = {1: {5}, 2: {3}, 4: {2, 6}}  # 1 unchanged, 2 swapped 7->3, 3 removed 9, 4 added two
    result = reconcile_card(10, last_seen, now)
    ratings = reference(result.changes, {(10, 1): 5, (10, 2): 7, (10, 3): 9})
    assert ratings == {(10, 1): 5, (10, 2): 3, (10, 4): 6}
    assert result.extra == [(4, 2)]


def test_reconcile_keeps_a_rating_given_since_the_bot_came_back() -> None:
    """Member 1 added 8 while the bot was away, then rated 5 live: the 5 stands, the card's 8 is
    recorded as seen and tidied away. Member 2, who did nothing live, gets the offline 3."""
    last_seen = {1: {5}, 2: {9}}
    now = {1: {5, 8}, 2: {9, 3}}
    result = reconcile_card(10, last_seen, now, live={1: 5})
    assert apply_plan(result.changes, {(10, 1): 5, (10, 2): 9}) == {(10, 1): 5, (10, 2): 3}
    plan = plan_batch(result.changes)
    assert (10, 1, 8) in plan.seen_add
    assert result.extra == [(1, 8), (2, 9)]
    # A live member whose numbers did not change offline: nothing to do.
    assert reconcile_card(10, {1: {5}}, {1: {5}}, live={1: 7}) == reconcile_card(10, {}, {})


def test_reconcile_offers_the_old_numbers_of_a_member_showing_several_to_the_tidy() -> None:
    last_seen = {1: {4, 6}, 2: {3, 5, 8}, 3: {7}}
    now = {1: {4, 6}, 2: {3, 5}, 3: {7}}  # 1 unchanged, 2 took the 8 back, 3 has one number
    result = reconcile_card(10, last_seen, now)
    assert result.changes == [ReactionChange(10, 2, 8, added=False)]
    assert result.extra == [(1, 4), (1, 6), (2, 3), (2, 5)]


async def _wait(futures: list[asyncio.Future[None] | None]) -> None:
    await asyncio.gather(*(f for f in futures if f is not None))


async def test_writer_applies_a_shuffled_storm_exactly(services: Services) -> None:
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    ratings.start()
    rng = random.Random(7)
    expected: dict[int, int] = {}
    futures = []
    for _ in range(3000):
        member = rng.randrange(200)
        score = rng.randint(1, 10)
        added = rng.random() < 0.75
        futures.append(await ratings.on_reaction(500, member, emoji_for_score(score), added=added))
        if added:
            expected[member] = score
        elif expected.get(member) == score:
            del expected[member]
    await _wait(futures)
    await ratings.stop()
    summary = await ratings.summary(movie.id)
    assert summary.votes == len(expected)
    assert summary.counts == tuple(
        sum(1 for s in expected.values() if s == k) for k in range(1, 11)
    )


async def test_other_emoji_and_other_messages_are_ignored(services: Services) -> None:
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    services.ratings.start()
    assert await services.ratings.on_reaction(500, 9, "👍", added=True) is None
    assert await services.ratings.on_reaction(999, 9, emoji_for_score(3), added=True) is None
    await services.ratings.stop()
    assert (await services.ratings.summary(movie.id)).votes == 0


async def test_rate_command_survives_reconciliation_and_tidies_old_reactions(
    services: Services,
) -> None:
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    changes = services.ratings.subscribe()
    services.ratings.start()
    await _wait([await services.ratings.on_reaction(500, 9, emoji_for_score(4), added=True)])
    await services.ratings.rate(movie, 9, 8)
    events = [changes.get_nowait() for _ in range(changes.qsize())]
    assert events[-1].tidy == ((movie.id, 9, 4),)
    # Nothing changed on the card while "offline": the /rate stays.
    services.ratings.hold(movie.id)
    result = await services.ratings.reconcile(movie.id, {9: {4}})
    assert result.changes == []
    assert await services.ratings.my_rating(movie, 9) == 8
    await services.ratings.stop()


@pytest.mark.parametrize("added_while_held", [True, False])
async def test_changes_parked_during_reconciliation_apply_after_it(
    services: Services, added_while_held: bool
) -> None:
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    services.ratings.start()
    services.ratings.hold(movie.id)
    # Discord's list was read before this reaction; the live event arrives during reconciliation.
    parked = await services.ratings.on_reaction(500, 3, emoji_for_score(6), added=added_while_held)
    await services.ratings.reconcile(movie.id, {})
    await _wait([parked])
    await services.ratings.stop()
    assert await services.ratings.my_rating(movie, 3) == (6 if added_while_held else None)


async def test_clearing_reactions_after_queued_changes_keeps_ratings_and_forgets_all(
    services: Services,
) -> None:
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    ratings.start()
    queued = await ratings.on_reaction(500, 4, emoji_for_score(8), added=True)
    await ratings.reactions_gone(movie.id)  # a moderator cleared the card right after
    await _wait([queued])
    assert await ratings.seen_on_card(movie.id) == {}
    # Back online later, the card shows nothing: nothing was removed by members, so no change.
    result = await ratings.reconcile(movie.id, {})
    assert result.changes == []
    assert await ratings.my_rating(movie, 4) == 8
    await ratings.stop()


async def test_stop_commits_events_still_looking_up_their_card(services: Services) -> None:
    """A shutdown right behind a burst: events received before stop() are all committed, even
    those still finding out which movie their card is (the bot then exits quickly)."""
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    ratings.start()
    arriving = [
        asyncio.create_task(ratings.on_reaction(500, member, emoji_for_score(7), added=True))
        for member in range(20, 40)
    ]
    await asyncio.sleep(0)  # every event has started its card lookup; none is queued yet
    await ratings.stop()
    await asyncio.gather(*arriving)
    for member in range(20, 40):
        assert await ratings.my_rating(movie, member) == 7


async def test_a_reaction_given_live_before_the_card_is_read_back_wins_over_offline_ones(
    services: Services, clock: ManualClock
) -> None:
    """The card was left for later after a restart; the member added 8 while the bot was away
    and 9 after it came back: reading the card back then keeps the 9 and tidies the 8."""
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    ratings.start()
    await _wait([await ratings.on_reaction(500, 9, emoji_for_score(4), added=True)])
    clock.advance(timedelta(hours=1))
    ratings.session_started()  # the bot comes back; meanwhile 9 took 4 off and put 8 on
    clock.advance(timedelta(seconds=5))
    await _wait([await ratings.on_reaction(500, 9, emoji_for_score(9), added=True)])
    ratings.hold(movie.id)
    result = await ratings.reconcile(movie.id, {9: {8, 9}})
    assert await ratings.my_rating(movie, 9) == 9
    assert result.extra == [(9, 8)]
    assert await ratings.seen_on_card(movie.id) == {9: {8, 9}}
    await ratings.stop()


async def test_a_reconciliation_given_up_by_its_caller_does_not_stop_the_writer(
    services: Services,
) -> None:
    """The bot closes while a card is read back: the reconciler stops waiting for its commit,
    and the writer still commits the rest (reactions received before the close)."""
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    ratings.start()
    ratings.hold(movie.id)
    waiting = asyncio.create_task(ratings.reconcile(movie.id, {9: {4}}))
    await asyncio.sleep(0)  # queued for the writer, which has not taken it yet
    waiting.cancel()
    later = await ratings.on_reaction(500, 8, emoji_for_score(6), added=True)
    await asyncio.wait_for(_wait([later]), 5)  # a dead writer would never commit it
    assert ratings.running
    await ratings.stop()
    assert (await ratings.summary(movie.id)).votes == 2


@pytest.mark.parametrize("work", ["reconcile", "forget"])
async def test_work_whose_caller_gave_up_still_commits_and_the_writer_goes_on(
    services: Services, work: str
) -> None:
    """Closing the bot cancels a reconciliation (or a moderator's clear) that waits for the
    writer: the writer still applies it, and the changes queued behind it, and stops cleanly."""
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    ratings = services.ratings
    if work == "reconcile":
        ratings.hold(movie.id)
        waiting = asyncio.create_task(ratings.reconcile(movie.id, {5: {3}}))
    else:
        waiting = asyncio.create_task(ratings.reactions_gone(movie.id))
    ratings.start()  # the writer has not run yet: the work is queued, its caller waits
    await asyncio.sleep(0)
    waiting.cancel()
    behind = await ratings.on_reaction(500, 6, emoji_for_score(9), added=True)
    await ratings.stop()
    assert waiting.cancelled()
    assert behind is not None and behind.done() and behind.exception() is None
    assert await ratings.my_rating(movie, 6) == 9
    assert await ratings.my_rating(movie, 5) == (3 if work == "reconcile" else None)


async def test_reconciliation_tidies_an_old_number_whose_tidy_died_with_the_process(
    services: Services,
) -> None:
    """A member swapped 4 -> 6 and the process was killed before it removed the 4: the card
    still shows both. Back up, nothing changed on the card, yet the 4 is tidied away (it would
    otherwise stay, counting for nothing); the rating 6 stays."""
    movie = await services.movies.add_entry(1, 1, "Heat", 1995)
    await services.movies.attach_card(movie, 50, 500)
    changes = services.ratings.subscribe()
    ratings = services.ratings
    ratings.start()
    swap = [
        await ratings.on_reaction(500, 9, emoji_for_score(score), added=True) for score in (4, 6)
    ]
    await _wait([*swap, await ratings.on_reaction(500, 8, emoji_for_score(2), added=True)])
    while not changes.empty():
        changes.get_nowait()  # the tidy the killed process never did
    ratings.hold(movie.id)
    result = await ratings.reconcile(movie.id, {9: {4, 6}, 8: {2}})
    assert result.changes == []
    assert changes.get_nowait().tidy == ((movie.id, 9, 4), (movie.id, 9, 6))
    assert await ratings.still_extra(movie.id, 9, 4)  # removed by the tidy
    assert not await ratings.still_extra(movie.id, 9, 6)  # the rating's number stays
    assert await ratings.my_rating(movie, 9) == 6
    await ratings.stop()
