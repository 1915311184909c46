"""ReviewService and ReviewRepository against a real migrated database."""

from __future__ import annotations

from datetime import timedelta

import aiosqlite
import pytest

from bot.domain.clock import ManualClock
from bot.domain.errors import ClubError, Duplicate, InvalidInput, NotAllowed, NotFound
from bot.domain.movies import Movie
from bot.domain.review_text import MAX_FILE_CHARS, MAX_MODAL_CHARS, ReviewFileError
from bot.domain.reviews import PostedPart, ReviewDraft
from bot.services import Services
from bot.services.reviews import PAGE_SIZE
from bot.storage.database import Database

GUILD = 111
ALICE, BOB, CAROL = 1, 2, 3
THUMBS = "\N{THUMBS UP SIGN}"


@pytest.fixture
async def movie(services: Services) -> Movie:
    return await services.movies.add_entry(GUILD, ALICE, "Miracle in Cell No. 7", 2013)


def _draft(body: str = "A fine film.", *, spoilers: bool = False) -> ReviewDraft:
    return ReviewDraft(body=body, headline="Tears", rating=9, spoilers=spoilers)


def _parts(first_id: int, count: int, *, in_thread: bool = False) -> list[PostedPart]:
    channel = 900 if not in_thread else 901
    return [PostedPart(channel, first_id + i, i, in_thread) for i in range(count)]


async def _snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    tables = {}
    for table in ("reviews", "review_messages", "helpful_votes"):
        async with db.reader() as s, s.conn.execute(f"SELECT * FROM {table} ORDER BY 1") as cur:
            tables[table] = [tuple(row) for row in await cur.fetchall()]
    return tables


async def _posted(services: Services, movie: Movie, author: int, first_id: int) -> int:
    review = await services.reviews.create(movie, author, _draft())
    await services.reviews.record_parts(review, _parts(first_id, 3))
    return review.id


# ---------------------------------------------------------------------------- one per member


async def test_one_review_per_member_per_movie(services: Services, movie: Movie) -> None:
    first = await services.reviews.create(movie, ALICE, _draft())
    await services.reviews.record_parts(first, _parts(500, 2))
    with pytest.raises(Duplicate, match=r"already reviewed.*`/review edit`") as caught:
        await services.reviews.create(movie, ALICE, _draft("Another take."))
    assert f"/{GUILD}/900/500" in str(caught.value)  # links the review that exists
    with pytest.raises(Duplicate):
        await services.reviews.check_not_reviewed(movie, ALICE)
    await services.reviews.check_not_reviewed(movie, BOB)  # others still may
    await services.reviews.create(movie, BOB, _draft())
    remake = await services.movies.add_entry(GUILD, ALICE, "Miracle in Cell No. 7", 2019)
    await services.reviews.create(remake, ALICE, _draft())  # another movie, another review
    page = await services.reviews.page(movie, None, 0)
    assert [r.author_id for r in page.reviews] == [ALICE, BOB]
    assert page.reviews[0].body == "A fine film."


async def test_discard_undoes_a_review_that_could_not_be_posted(
    services: Services, movie: Movie, db: Database
) -> None:
    before = await _snapshot(db)
    review = await services.reviews.create(movie, ALICE, _draft())
    await services.reviews.discard(review)
    assert await _snapshot(db) == before
    await services.reviews.create(movie, ALICE, _draft())  # the member can try again


# ---------------------------------------------------------------------------- edit


async def test_edit_replaces_text_and_posted_messages(
    services: Services, movie: Movie, clock: ManualClock
) -> None:
    review = await services.reviews.create(movie, ALICE, _draft())
    review = await services.reviews.record_parts(
        review, [*_parts(500, 3), *_parts(600, 3, in_thread=True)]
    )
    assert [p.message_id for p in review.copy(in_thread=False)] == [500, 501, 502]
    clock.advance(timedelta(hours=1))
    mine = await services.reviews.mine(movie, ALICE)
    edited = await services.reviews.save_edit(
        mine,
        ReviewDraft(body="Shorter now.", headline=None, rating=None, spoilers=True),
        [*_parts(500, 1), *_parts(600, 1, in_thread=True)],
    )
    assert (edited.body, edited.headline, edited.rating, edited.spoilers) == (
        "Shorter now.",
        None,
        None,
        True,
    )
    assert [p.message_id for p in edited.parts] == [500, 600]
    assert edited.updated_at > edited.created_at
    again = await services.reviews.mine(movie, ALICE)
    assert again == edited


async def test_edit_needs_a_review_to_edit(services: Services, movie: Movie) -> None:
    with pytest.raises(NotFound, match=r"haven't reviewed .* `/review write`"):
        await services.reviews.mine(movie, BOB)


# ---------------------------------------------------------------------------- delete


async def test_author_deletes_with_parts_and_votes(
    services: Services, movie: Movie, db: Database
) -> None:
    review_id = await _posted(services, movie, ALICE, 500)
    assert await services.reviews.vote(501, BOB, THUMBS, added=True)
    review = await services.reviews.find(movie, ALICE, actor_id=ALICE)
    services.reviews.check_may_delete(review, ALICE, manages_messages=False)
    await services.reviews.remove(review)
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}
    assert await services.reviews.helpful(review_id) == 0
    with pytest.raises(NotFound, match="You haven't reviewed"):
        await services.reviews.find(movie, ALICE, actor_id=ALICE)


async def test_only_moderators_delete_others_reviews(services: Services, movie: Movie) -> None:
    await _posted(services, movie, ALICE, 500)
    review = await services.reviews.find(movie, ALICE, actor_id=BOB)
    with pytest.raises(NotAllowed, match="Manage Messages"):
        services.reviews.check_may_delete(review, BOB, manages_messages=False)
    services.reviews.check_may_delete(review, BOB, manages_messages=True)
    with pytest.raises(NotFound, match=f"<@{CAROL}> hasn't reviewed"):
        await services.reviews.find(movie, CAROL, actor_id=BOB)


# ---------------------------------------------------------------------------- helpful votes


async def test_helpful_votes_count_once_per_member_and_never_the_author(
    services: Services, movie: Movie
) -> None:
    review_id = await _posted(services, movie, ALICE, 500)
    assert await services.reviews.vote(500, BOB, THUMBS, added=True)
    assert not await services.reviews.vote(502, BOB, THUMBS, added=True)  # another part: same
    assert not await services.reviews.vote(501, ALICE, THUMBS, added=True)  # the author
    assert not await services.reviews.vote(501, CAROL, "\N{HEAVY BLACK HEART}", added=True)
    assert not await services.reviews.vote(999, CAROL, THUMBS, added=True)  # not a review
    assert await services.reviews.vote(501, CAROL, THUMBS, added=True)
    assert await services.reviews.helpful(review_id) == 2
    assert await services.reviews.vote(500, BOB, THUMBS, added=False)  # un-vote
    assert not await services.reviews.vote(500, BOB, THUMBS, added=False)
    assert await services.reviews.helpful(review_id) == 1
    page = await services.reviews.page(movie, None, 0)
    assert page.reviews[0].helpful == 1


async def test_reading_pages_most_helpful_first(services: Services, movie: Movie) -> None:
    authors = list(range(10, 10 + PAGE_SIZE + 2))
    for i, author in enumerate(authors):
        await _posted(services, movie, author, 1000 + 10 * i)
    await services.reviews.vote(1000 + 10 * 6, ALICE, THUMBS, added=True)  # the last author's
    first = await services.reviews.page(movie, None, 0)
    assert (first.page, first.pages, first.total) == (0, 2, len(authors))
    assert [r.author_id for r in first.reviews] == [authors[-1], *authors[:4]]
    last = await services.reviews.page(movie, None, 99)  # clamped
    assert last.page == 1 and [r.author_id for r in last.reviews] == authors[4:6]
    one = await services.reviews.page(movie, authors[2], 0)
    assert [r.author_id for r in one.reviews] == [authors[2]] and one.total == 1


# ---------------------------------------------------------------------------- bad input


BAD_FORMS = [
    ("", None, None, "empty"),
    ("x" * (MAX_MODAL_CHARS + 1), None, None, "limit is 4,000"),
    ("ok", "||the twist||", None, "can't hide spoilers"),
    ("ok", None, "11", "from 1 to 10"),
    ("ok", None, "eight", "whole number"),
]


@pytest.mark.parametrize("case", BAD_FORMS, ids=[c[3] for c in BAD_FORMS])
async def test_bad_form_input_changes_nothing(
    services: Services, movie: Movie, db: Database, case: tuple[str, str | None, str | None, str]
) -> None:
    body, headline, rating, says = case
    await _posted(services, movie, BOB, 500)
    before = await _snapshot(db)
    with pytest.raises(ClubError, match=says):
        draft = services.reviews.draft_from_form(body, headline, rating, spoilers=False)
        await services.reviews.create(movie, ALICE, draft)
    assert await _snapshot(db) == before


BAD_FILES = [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "poster.txt", "image or a document"),
    ("Café crème".encode("latin-1"), "review.txt", "not UTF-8"),
    (b"", "review.txt", "empty"),
    (b"\n\n  \n", "review.md", "empty"),
    (b"fine text", "review.pdf", ".txt or .md"),
    (("x" * (MAX_FILE_CHARS + 1)).encode(), "review.txt", "limit is 40,000"),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c[2] for c in BAD_FILES])
async def test_bad_files_change_nothing(
    services: Services, db: Database, case: tuple[bytes, str, str]
) -> None:
    data, name, says = case
    before = await _snapshot(db)
    with pytest.raises(ReviewFileError, match=says):
        services.reviews.draft_from_file(data, name, None, None, spoilers=True)
    assert await _snapshot(db) == before


def test_file_size_is_checked_before_downloading(services: Services) -> None:
    services.reviews.check_file_size(150_000)
    with pytest.raises(ReviewFileError, match="at most 200 KB"):
        services.reviews.check_file_size(5_000_000)


def test_files_in_every_accepted_encoding_give_the_same_text(services: Services) -> None:
    text = "Line one — ☕ 🇰🇷\r\nLine two"
    encodings = [
        text.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        b"\xff\xfe" + text.encode("utf-16-le"),
        b"\xfe\xff" + text.encode("utf-16-be"),
    ]
    drafts = {
        services.reviews.draft_from_file(data, "r.md", None, 7, spoilers=False).body
        for data in encodings
    }
    assert drafts == {"Line one — ☕ 🇰🇷\nLine two"}


async def test_a_bad_rating_from_the_file_path_changes_nothing(
    services: Services, db: Database
) -> None:
    before = await _snapshot(db)
    with pytest.raises(InvalidInput, match="1 to 10"):
        services.reviews.draft_from_file(b"text", "r.txt", None, 0, spoilers=False)
    assert await _snapshot(db) == before


async def test_the_schema_refuses_a_message_posted_for_two_reviews(
    services: Services, movie: Movie
) -> None:
    first = await services.reviews.create(movie, ALICE, _draft())
    await services.reviews.record_parts(first, _parts(500, 1))
    second = await services.reviews.create(movie, BOB, _draft())
    with pytest.raises(aiosqlite.IntegrityError):
        await services.reviews.record_parts(second, _parts(500, 1))
