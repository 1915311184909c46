"""MovieService and ClubService against a real migrated database.

``MovieService.add`` reaches Discord through a :class:`FakeCards` that records its calls.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.domain.errors import BotMissingPermissions, Duplicate, InvalidInput, NotFound
from bot.domain.movies import Movie
from bot.domain.reviews import ReviewDraft
from bot.services import Services
from bot.services.movies import CHOICE_PREFIX, MovieInfo, MovieService, PostedCard
from bot.storage.database import Database

GUILD = 111
OTHER_GUILD = 222


async def test_add_then_duplicate_points_at_the_card(services: Services) -> None:
    movie = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    await services.movies.attach_card(movie, 10, 20)
    with pytest.raises(Duplicate) as caught:
        await services.movies.add_entry(GUILD, 2, "  miracle IN cell no. 7 ", 2013)
    assert caught.value.link == f"https://discord.com/channels/{GUILD}/10/20"
    assert "Miracle in Cell No. 7 (2013) is already in the catalog." in str(caught.value)
    remake = await services.movies.add_entry(GUILD, 2, "Miracle in Cell No. 7", 2019)
    assert remake.id != movie.id
    assert (await services.movies.page(GUILD, "recent", 0)).total == 2


async def test_same_title_in_another_guild_is_another_movie(services: Services) -> None:
    await services.movies.add_entry(GUILD, 1, "Heat", 1995)
    await services.movies.add_entry(OTHER_GUILD, 1, "Heat", 1995)
    assert (await services.movies.page(OTHER_GUILD, "title", 0)).total == 1


async def test_missing_year_with_same_title_asks_which(services: Services) -> None:
    await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    with pytest.raises(InvalidInput, match=r"Miracle in Cell No\. 7 \(2013\).*Give the `year`"):
        await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", None)
    assert (await services.movies.page(GUILD, "recent", 0)).total == 1


async def test_concurrent_adds_of_one_movie_store_it_once(services: Services) -> None:
    results = await asyncio.gather(
        *(services.movies.add_entry(GUILD, m, "Parasite", 2019) for m in range(8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Duplicate) for r in results if isinstance(r, BaseException))
    assert (await services.movies.page(GUILD, "recent", 0)).total == 1


@pytest.mark.parametrize(
    ("title", "year"), [("", 2000), ("x" * 300, 2000), ("Ok", 1700), ("Ok", 3000)]
)
async def test_bad_input_leaves_the_catalog_unchanged(
    services: Services, title: str, year: int
) -> None:
    with pytest.raises(InvalidInput):
        await services.movies.add_entry(GUILD, 1, title, year)
    assert (await services.movies.page(GUILD, "recent", 0)).total == 0


async def test_resolve_by_choice_label_and_title(services: Services) -> None:
    a = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    b = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2019)
    c = await services.movies.add_entry(GUILD, 1, "Amélie", 2001)
    assert await services.movies.resolve(GUILD, f"{CHOICE_PREFIX}{b.id}") == b
    assert await services.movies.resolve(GUILD, "Miracle in Cell No. 7 (2013)") == a
    assert await services.movies.resolve(GUILD, "amelie") == c
    with pytest.raises(InvalidInput, match="More than one movie matches"):
        await services.movies.resolve(GUILD, "miracle in cell no. 7")
    with pytest.raises(NotFound, match="Did you mean Amélie"):
        await services.movies.resolve(GUILD, "Amelei")
    with pytest.raises(NotFound):  # another guild's id is not a way in
        await services.movies.resolve(OTHER_GUILD, f"{CHOICE_PREFIX}{a.id}")


async def test_paging_clamps_and_sorts(services: Services) -> None:
    for i in range(23):
        await services.movies.add_entry(GUILD, 1, f"Film {i:02d}", 2000)
    first = await services.movies.page(GUILD, "title", 0)
    assert (first.pages, len(first.rows), first.rows[0][0].title) == (3, 10, "Film 00")
    last = await services.movies.page(GUILD, "title", 99)
    assert (last.page, len(last.rows)) == (2, 3)
    assert (await services.movies.page(GUILD, "title", -5)).page == 0


async def test_configure_changes_only_given_options(services: Services) -> None:
    await services.club.configure(GUILD, movies_channel_id=5, timezone="Europe/Berlin")
    updated = await services.club.configure(GUILD, reviews_channel_id=6)
    assert (updated.movies_channel_id, updated.reviews_channel_id) == (5, 6)
    assert updated.timezone == "Europe/Berlin"
    assert await services.club.settings(GUILD) == updated


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "../../etc/passwd", "Berlin", "Europe", "America", "Etc"]
)
async def test_bad_timezone_is_refused_and_nothing_changes(services: Services, zone: str) -> None:
    with pytest.raises(InvalidInput, match="IANA"):
        await services.club.configure(GUILD, movies_channel_id=9, timezone=zone)
    assert (await services.club.settings(GUILD)).movies_channel_id is None


async def test_timezone_hint_names_the_zone_and_case_does_not_matter(services: Services) -> None:
    with pytest.raises(InvalidInput, match="Did you mean Europe/Berlin"):
        await services.club.configure(GUILD, timezone="Berlin")
    assert (await services.club.configure(GUILD, timezone="europe/berlin")).timezone == (
        "Europe/Berlin"
    )


# ---------------------------------------------------------------------------- add, with its card

CARD = PostedCard(channel_id=10, message_id=20, thread_id=30)


class FakeCards:
    """A :class:`bot.services.movies.CardPoster` that records every call; ``fail`` is raised by
    :meth:`post`, ``gate`` (when given) is waited for before posting."""

    def __init__(
        self,
        card: PostedCard = CARD,
        *,
        fail: BaseException | None = None,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.card = card
        self.fail = fail
        self.gate = gate
        self.posting = asyncio.Event()
        self.calls: list[tuple[str, object]] = []

    async def post(self, info: MovieInfo) -> PostedCard:
        self.calls.append(("post", info))
        self.posting.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.card

    async def finish(self, info: MovieInfo, card: PostedCard) -> None:
        self.calls.append(("finish", info.movie))

    async def withdraw(self, card: PostedCard) -> None:
        self.calls.append(("withdraw", card))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


async def _movie_rows(db: Database) -> list[tuple[object, ...]]:
    sql = (
        "SELECT id, guild_id, title, year, card_channel_id, card_message_id, thread_id "
        "FROM movies ORDER BY id"
    )
    async with db.reader() as s:
        return [tuple(row) for row in await s.queries.all(sql)]


async def test_add_records_the_card_and_its_thread_then_finishes(
    services: Services, db: Database
) -> None:
    cards = FakeCards()
    movie = await services.movies.add(GUILD, 7, "  Parasite ", 2019, cards)
    assert (movie.title, movie.year, movie.added_by) == ("Parasite", 2019, 7)
    assert (movie.card_channel_id, movie.card_message_id, movie.thread_id) == (10, 20, 30)
    assert await _movie_rows(db) == [(movie.id, GUILD, "Parasite", 2019, 10, 20, 30)]
    assert cards.names == ["post", "finish"]  # nothing withdrawn
    info = cards.calls[0][1]
    assert isinstance(info, MovieInfo)
    assert info.movie.id == movie.id and not info.movie.has_card  # posted before it is recorded
    assert info.reviews == 0
    assert cards.calls[1] == ("finish", movie)  # the recorded movie, once
    assert await services.movies.by_id(movie.id) == movie
    assert await services.movies.by_card(20) == movie


async def test_add_in_a_forum_records_the_post_as_card_and_thread(
    services: Services, db: Database
) -> None:
    cards = FakeCards(PostedCard(channel_id=40, message_id=41, thread_id=40))
    movie = await services.movies.add(GUILD, 7, "Heat", 1995, cards)
    assert (movie.card_channel_id, movie.card_message_id, movie.thread_id) == (40, 41, 40)
    assert await _movie_rows(db) == [(movie.id, GUILD, "Heat", 1995, 40, 41, 40)]
    assert cards.names == ["post", "finish"]
    assert cards.calls[1] == ("finish", movie)


async def test_add_keeps_a_card_whose_thread_was_refused(services: Services, db: Database) -> None:
    cards = FakeCards(PostedCard(channel_id=10, message_id=20, thread_id=None))
    movie = await services.movies.add(GUILD, 7, "Heat", 1995, cards)
    assert await _movie_rows(db) == [(movie.id, GUILD, "Heat", 1995, 10, 20, None)]
    assert cards.names == ["post", "finish"]
    assert cards.calls[1] == ("finish", movie)


async def test_a_refused_card_keeps_no_movie(services: Services, db: Database) -> None:
    refused = BotMissingPermissions("I need **Send Messages** in <#10>.")
    cards = FakeCards(fail=refused)
    with pytest.raises(BotMissingPermissions) as caught:
        await services.movies.add(GUILD, 7, "Parasite", 2019, cards)
    assert caught.value is refused
    assert cards.names == ["post"]  # nothing posted, so nothing withdrawn; never finished
    assert await _movie_rows(db) == []
    retry = FakeCards()  # the member can try again
    movie = await services.movies.add(GUILD, 7, "Parasite", 2019, retry)
    assert await _movie_rows(db) == [(movie.id, GUILD, "Parasite", 2019, 10, 20, 30)]


@pytest.mark.parametrize("step", ["attach_card", "attach_thread"])
@pytest.mark.parametrize("error", [RuntimeError("disk I/O error"), asyncio.CancelledError()])
async def test_a_card_that_cannot_be_recorded_is_withdrawn(
    services: Services,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    error: BaseException,
) -> None:
    async def broken(*args: object) -> Movie:
        raise error

    monkeypatch.setattr(MovieService, step, broken)
    cards = FakeCards()
    with pytest.raises(type(error)) as caught:
        await services.movies.add(GUILD, 7, "Parasite", 2019, cards)
    assert caught.value is error
    assert cards.names == ["post", "withdraw"]
    assert cards.calls[1] == ("withdraw", CARD)  # the card it posted
    assert await _movie_rows(db) == []


async def test_cancelled_while_posting_keeps_no_movie(services: Services, db: Database) -> None:
    cards = FakeCards(fail=asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await services.movies.add(GUILD, 7, "Parasite", 2019, cards)
    assert cards.names == ["post"]
    assert await _movie_rows(db) == []


async def test_a_cancelled_command_keeps_no_movie(services: Services, db: Database) -> None:
    cards = FakeCards(gate=asyncio.Event())  # never opened: posting hangs until cancelled
    task = asyncio.create_task(services.movies.add(GUILD, 7, "Parasite", 2019, cards))
    await cards.posting.wait()
    assert len(await _movie_rows(db)) == 1  # reserved while the card is being posted
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cards.names == ["post"]
    assert await _movie_rows(db) == []


async def test_a_duplicate_is_refused_before_anything_is_posted(
    services: Services, db: Database
) -> None:
    first = await services.movies.add(GUILD, 7, "Parasite", 2019, FakeCards())
    before = await _movie_rows(db)
    cards = FakeCards(PostedCard(channel_id=11, message_id=21, thread_id=31))
    with pytest.raises(Duplicate, match=r"Parasite \(2019\) is already") as caught:
        await services.movies.add(GUILD, 8, " parasite", 2019, cards)
    assert caught.value.link == f"https://discord.com/channels/{GUILD}/10/20"
    assert cards.calls == []
    assert await _movie_rows(db) == before
    assert before[0][0] == first.id


@pytest.mark.parametrize(
    ("title", "year"), [("", 2000), ("\u200b ", 2000), ("x" * 201, 2000), ("Ok", 1700)]
)
async def test_bad_input_is_refused_before_anything_is_posted(
    services: Services, db: Database, title: str, year: int
) -> None:
    cards = FakeCards()
    with pytest.raises(InvalidInput):
        await services.movies.add(GUILD, 7, title, year, cards)
    assert cards.calls == []
    assert await _movie_rows(db) == []


async def test_active_cards_are_those_touched_lately_the_latest_first(
    services: Services, clock: ManualClock
) -> None:
    """Added, rated, reviewed or suggested within the window counts; a movie without a card,
    and a card whose last activity is older than the window, do not."""
    movies = services.movies
    carded: dict[str, Movie] = {}
    for i, title in enumerate(["Old", "Rated", "Reviewed", "Suggested"]):
        movie = await movies.add_entry(GUILD if i % 2 else OTHER_GUILD, 1, title, 2000)
        carded[title] = await movies.attach_card(movie, 10, 100 + i)
    await movies.add_entry(GUILD, 1, "Cardless", 2000)
    clock.advance(timedelta(days=40))  # everything above is 40 days old now
    await services.ratings.rate(carded["Rated"], 7, 8)
    clock.advance(timedelta(days=1))
    draft = ReviewDraft(body="Long and quiet.", headline=None, rating=None, spoilers=False)
    await services.reviews.create(carded["Reviewed"], 7, draft)
    clock.advance(timedelta(days=1))
    await services.watch.suggest(carded["Suggested"], 7)
    clock.advance(timedelta(days=1))
    await movies.add_entry(GUILD, 1, "Cardless too", 2001)
    await movies.attach_card(await movies.add_entry(GUILD, 1, "New", 2002), 10, 200)
    clock.advance(timedelta(days=25))  # "Rated" was rated 27 days ago: still active

    active = await movies.active_cards(timedelta(days=30))

    assert [m.title for m in active] == ["New", "Suggested", "Reviewed", "Rated"]
    assert {m.guild_id for m in active} == {GUILD, OTHER_GUILD}
    assert active[-1] == carded["Rated"]
    recent = await movies.active_cards(timedelta(days=26))
    assert [m.title for m in recent] == ["New", "Suggested"]
