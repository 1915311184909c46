"""ReviewService and ReviewRepository against a real migrated database.

Posting, editing and deleting reach Discord through a :class:`FakePublisher` that records its
calls and which message ids exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.domain.errors import (
    BotMissingPermissions,
    ClubError,
    ConstraintViolation,
    Duplicate,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from bot.domain.movies import Movie
from bot.domain.review_text import MAX_FILE_CHARS, MAX_MODAL_CHARS, ReviewFileError
from bot.domain.reviews import PostedPart, Review, ReviewDraft
from bot.services import Services
from bot.services.reviews import PAGE_SIZE, ReviewService
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
        async with db.reader() as s:
            rows = await s.queries.all(f"SELECT * FROM {table} ORDER BY 1")
            tables[table] = [tuple(row) for row in rows]
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
    services: Services, movie: Movie, expect_db_errors: Callable[..., None]
) -> None:
    expect_db_errors("duplicate key value")
    first = await services.reviews.create(movie, ALICE, _draft())
    await services.reviews.record_parts(first, _parts(500, 1))
    second = await services.reviews.create(movie, BOB, _draft())
    with pytest.raises(ConstraintViolation):
        await services.reviews.record_parts(second, _parts(500, 1))


# ---------------------------------------------------------------------------- the Discord side

REVIEWS_CHANNEL, THREAD = 900, 901


class FakePublisher:
    """A :class:`bot.services.reviews.ReviewPublisher` that records its calls and keeps the set of
    message ids that exist on its "Discord".

    :meth:`publish` posts ``parts`` messages per copy, re-using the review's old messages where it
    can (as an edit does) and deleting the stale ones; when ``fail`` is set it raises it having
    left nothing of its own behind (as the real one does). ``gate`` (when given) is waited for
    before posting; ``after_posting`` runs once the messages exist, before ``publish`` returns.
    """

    def __init__(self, *, parts: int = 2, first_id: int = 500) -> None:
        self.parts = parts
        self.next_id = first_id
        self.fail: BaseException | None = None
        self.gate: asyncio.Event | None = None
        self.after_posting: Callable[[Review], Awaitable[None]] | None = None
        self.publishing = asyncio.Event()
        self.calls: list[tuple[object, ...]] = []
        self.existing: set[int] = set()
        self.deleted_missing: list[int] = []  # asked to delete a message that was not there

    async def open_thread(self, movie: Movie) -> Movie:
        self.calls.append(("open_thread", movie.id))
        return movie if movie.thread_id is not None else replace(movie, thread_id=THREAD)

    async def publish(self, review: Review, movie: Movie, draft: ReviewDraft) -> list[PostedPart]:
        self.calls.append(("publish", review.id, review.parts, draft))
        self.publishing.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        posted: list[PostedPart] = []
        for in_thread in (False, True) if draft.spoilers else (False,):
            old = review.copy(in_thread=in_thread)
            for i in range(self.parts):
                if i < len(old):
                    message_id = old[i].message_id  # edited in place
                else:
                    message_id = self.next_id
                    self.next_id += 1
                    self.existing.add(message_id)
                posted.append(
                    PostedPart(THREAD if in_thread else REVIEWS_CHANNEL, message_id, i, in_thread)
                )
        kept = {p.message_id for p in posted}
        self.existing -= {p.message_id for p in review.parts} - kept  # stale ones go
        if self.after_posting is not None:
            await self.after_posting(review)
        return posted

    async def delete(self, parts: list[PostedPart], *, quiet: bool = False) -> None:
        self.calls.append(("delete", tuple(parts), quiet))
        for part in parts:
            if part.message_id in self.existing:
                self.existing.remove(part.message_id)
            else:
                self.deleted_missing.append(part.message_id)

    def card_changed(self, movie_id: int) -> None:
        self.calls.append(("card_changed", movie_id))

    @property
    def names(self) -> list[object]:
        return [call[0] for call in self.calls]

    def published(self) -> list[tuple[object, ...]]:
        return [call for call in self.calls if call[0] == "publish"]

    def deletes(self) -> list[tuple[object, ...]]:
        return [call for call in self.calls if call[0] == "delete"]


async def _message_rows(db: Database) -> list[tuple[int, int, int, int]]:
    """(review id, message id, part, in_thread) of every recorded message."""
    sql = "SELECT review_id, message_id, part, in_thread FROM review_messages ORDER BY 1, 4, 3"
    async with db.reader() as s:
        return [tuple(row) for row in await s.queries.all(sql)]


def _rows_of(review_id: int, parts: list[PostedPart] | tuple[PostedPart, ...]) -> list[object]:
    ordered = sorted(parts, key=lambda p: (p.in_thread, p.part))
    return [(review_id, p.message_id, p.part, int(p.in_thread)) for p in ordered]


# ---------------------------------------------------------------------------- post


async def test_post_spoiler_review_opens_the_thread_publishes_then_records(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=2)
    during: list[object] = []

    async def look(review: Review) -> None:  # reserved, not yet recorded
        during.append(await _snapshot(db))

    publisher.after_posting = look
    draft = _draft("The twist: he is innocent.", spoilers=True)
    shown, review = await services.reviews.post(movie, ALICE, draft, publisher)
    assert shown.thread_id == THREAD  # the movie as open_thread left it
    assert publisher.names == ["open_thread", "publish", "card_changed"]
    assert publisher.calls[0] == ("open_thread", movie.id)
    assert publisher.calls[1] == ("publish", review.id, (), draft)
    assert publisher.calls[2] == ("card_changed", movie.id)
    snapshot = during[0]
    assert isinstance(snapshot, dict)
    assert [r[:3] for r in snapshot["reviews"]] == [(review.id, movie.id, ALICE)]
    assert snapshot["review_messages"] == []
    assert [(p.message_id, p.in_thread) for p in review.parts] == [
        (500, False),
        (501, False),
        (502, True),
        (503, True),
    ]
    assert await _message_rows(db) == _rows_of(review.id, review.parts)
    assert publisher.existing == {500, 501, 502, 503}
    stored = await services.reviews.mine(movie, ALICE)
    assert (stored.body, stored.spoilers, stored.parts) == (draft.body, True, review.parts)


async def test_post_without_spoilers_never_opens_the_thread(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=3)
    shown, review = await services.reviews.post(movie, ALICE, _draft(), publisher)
    assert shown == movie
    assert publisher.names == ["publish", "card_changed"]
    assert [p.in_thread for p in review.parts] == [False, False, False]
    assert await _message_rows(db) == _rows_of(review.id, review.parts)


@pytest.mark.parametrize(
    "error",
    [BotMissingPermissions("I need **Send Messages**."), RuntimeError("boom")],
    ids=["refused", "bug"],
)
async def test_post_that_fails_to_publish_keeps_nothing(
    services: Services, movie: Movie, db: Database, error: Exception
) -> None:
    publisher = FakePublisher()
    publisher.fail = error
    with pytest.raises(type(error)) as caught:
        await services.reviews.post(movie, ALICE, _draft(spoilers=True), publisher)
    assert caught.value is error
    assert publisher.names[:2] == ["open_thread", "publish"]
    assert "card_changed" not in publisher.names
    # It may only be asked to delete what it posted, and it posted nothing.
    assert all(call[1] == () for call in publisher.deletes())
    assert publisher.deleted_missing == []
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}
    # The reservation is gone: the member can post again.
    _, review = await services.reviews.post(movie, ALICE, _draft(), FakePublisher(first_id=700))
    assert await _message_rows(db) == _rows_of(review.id, review.parts)


async def test_post_cancelled_while_publishing_keeps_nothing(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher()
    publisher.gate = asyncio.Event()  # never opened
    task = asyncio.create_task(services.reviews.post(movie, ALICE, _draft(), publisher))
    await publisher.publishing.wait()
    assert len((await _snapshot(db))["reviews"]) == 1  # reserved
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(call[1] == () for call in publisher.deletes())
    assert "card_changed" not in publisher.names
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_post_that_cannot_be_recorded_deletes_what_it_posted(
    services: Services, movie: Movie, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure = RuntimeError("database is locked")

    async def broken(self: ReviewService, review: Review, parts: list[PostedPart]) -> Review:
        raise failure

    monkeypatch.setattr(ReviewService, "record_parts", broken)
    publisher = FakePublisher(parts=2)
    with pytest.raises(RuntimeError) as caught:
        await services.reviews.post(movie, ALICE, _draft(spoilers=True), publisher)
    assert caught.value is failure
    posted = [
        PostedPart(REVIEWS_CHANNEL, 500, 0, False),
        PostedPart(REVIEWS_CHANNEL, 501, 1, False),
        PostedPart(THREAD, 502, 0, True),
        PostedPart(THREAD, 503, 1, True),
    ]
    assert publisher.deletes() == [("delete", tuple(posted), True)]
    assert publisher.existing == set()
    assert "card_changed" not in publisher.names
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_post_of_a_review_deleted_while_posting_deletes_what_it_posted(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=2)

    async def delete_it(review: Review) -> None:
        await services.reviews.remove(review)

    publisher.after_posting = delete_it
    with pytest.raises(NotFound):
        await services.reviews.post(movie, ALICE, _draft(), publisher)
    posted = (
        PostedPart(REVIEWS_CHANNEL, 500, 0, False),
        PostedPart(REVIEWS_CHANNEL, 501, 1, False),
    )
    assert publisher.deletes() == [("delete", posted, True)]
    assert publisher.existing == set()
    assert "card_changed" not in publisher.names
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_post_of_a_review_deleted_while_posting_says_so(
    services: Services, movie: Movie
) -> None:
    publisher = FakePublisher()

    async def delete_it(review: Review) -> None:
        await services.reviews.remove(review)

    publisher.after_posting = delete_it
    with pytest.raises(NotFound, match="deleted while it was being posted"):
        await services.reviews.post(movie, ALICE, _draft(), publisher)


async def test_a_second_review_is_refused_before_publishing(
    services: Services, movie: Movie, db: Database
) -> None:
    _, first = await services.reviews.post(movie, ALICE, _draft("First take."), FakePublisher())
    before = await _snapshot(db)
    publisher = FakePublisher(first_id=700)
    with pytest.raises(Duplicate, match="already reviewed"):
        await services.reviews.post(movie, ALICE, _draft("Second take."), publisher)
    assert publisher.calls == []
    assert await _snapshot(db) == before
    assert (await services.reviews.mine(movie, ALICE)).body == "First take."
    assert first.id == before["reviews"][0][0]


# ---------------------------------------------------------------------------- edit, publishing


async def test_edit_republishes_over_the_current_parts_and_saves_the_text(
    services: Services, movie: Movie, db: Database, clock: ManualClock
) -> None:
    _, review = await services.reviews.post(movie, ALICE, _draft(), FakePublisher(parts=3))
    publisher = FakePublisher(parts=2, first_id=700)
    publisher.existing = {p.message_id for p in review.parts}  # what the post left on Discord
    clock.advance(timedelta(hours=2))
    draft = ReviewDraft(body="Shorter now.", headline=None, rating=7, spoilers=False)
    shown, edited = await services.reviews.edit(movie, ALICE, draft, publisher)
    assert shown == movie
    assert publisher.names == ["publish"]
    assert publisher.calls[0][1:] == (review.id, review.parts, draft)  # over its old messages
    assert (edited.id, edited.body, edited.headline, edited.rating) == (
        review.id,
        "Shorter now.",
        None,
        7,
    )
    assert edited.updated_at > review.updated_at
    assert [p.message_id for p in edited.parts] == [500, 501]
    assert await _message_rows(db) == _rows_of(review.id, edited.parts)
    assert publisher.existing == {500, 501}  # 502 was stale
    assert await services.reviews.mine(movie, ALICE) == edited


async def test_edit_that_adds_spoilers_opens_the_thread_first(
    services: Services, movie: Movie, db: Database
) -> None:
    _, review = await services.reviews.post(movie, ALICE, _draft(), FakePublisher(parts=1))
    publisher = FakePublisher(parts=1, first_id=700)
    shown, edited = await services.reviews.edit(movie, ALICE, _draft(spoilers=True), publisher)
    assert shown.thread_id == THREAD
    assert publisher.names == ["open_thread", "publish"]
    assert [(p.message_id, p.in_thread) for p in edited.parts] == [(500, False), (700, True)]
    assert await _message_rows(db) == _rows_of(review.id, edited.parts)


async def test_edit_of_a_review_deleted_while_reposting_leaves_nothing(
    services: Services, movie: Movie, db: Database
) -> None:
    _, review = await services.reviews.post(movie, ALICE, _draft(), FakePublisher(parts=1))
    publisher = FakePublisher(parts=2, first_id=700)
    publisher.existing = {500}

    async def delete_it(current: Review) -> None:
        await services.reviews.remove(current)

    publisher.after_posting = delete_it
    with pytest.raises(NotFound, match="deleted in the meantime"):
        await services.reviews.edit(movie, ALICE, _draft("New text."), publisher)
    assert publisher.published()[0][1:3] == (review.id, review.parts)
    reposted = (
        PostedPart(REVIEWS_CHANNEL, 500, 0, False),
        PostedPart(REVIEWS_CHANNEL, 700, 1, False),
    )
    assert publisher.deletes() == [("delete", reposted, True)]
    assert publisher.existing == set()
    assert publisher.deleted_missing == []
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_an_edit_that_cannot_be_saved_drops_only_the_messages_it_added(
    services: Services, movie: Movie, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, review = await services.reviews.post(movie, ALICE, _draft(), FakePublisher(parts=1))
    before = await _snapshot(db)
    publisher = FakePublisher(parts=3, first_id=700)
    publisher.existing = {500}

    async def broken(*_: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services.reviews, "save_edit", broken)
    with pytest.raises(RuntimeError):
        await services.reviews.edit(movie, ALICE, _draft("New text."), publisher)
    added = (PostedPart(REVIEWS_CHANNEL, 700, 1, False), PostedPart(REVIEWS_CHANNEL, 701, 2, False))
    assert publisher.deletes() == [("delete", added, True)]
    assert publisher.existing == {500}  # the recorded message stays, as the database says
    assert await _snapshot(db) == before
    assert review.parts[0].message_id == 500


async def test_two_edits_at_once_leave_no_orphaned_messages(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=1)
    _, review = await services.reviews.post(movie, ALICE, _draft(), publisher)
    publisher.parts = 3
    publisher.gate = asyncio.Event()
    publisher.publishing.clear()  # set by the post
    publisher.calls.clear()
    first = asyncio.create_task(services.reviews.edit(movie, ALICE, _draft("One."), publisher))
    await publisher.publishing.wait()
    second = asyncio.create_task(services.reviews.edit(movie, ALICE, _draft("Two."), publisher))
    await asyncio.sleep(0.05)
    assert len(publisher.published()) == 1  # the second waits for the first's turn
    publisher.gate.set()
    _, one = await first
    _, two = await second
    assert [p.message_id for p in one.parts] == [500, 501, 502]
    published = publisher.published()
    assert [call[2] for call in published] == [review.parts, one.parts]  # read in its turn
    assert two.body == "Two." and two.parts == one.parts
    assert await _message_rows(db) == _rows_of(review.id, two.parts)
    assert publisher.existing == {500, 501, 502}  # every message is a recorded one
    assert publisher.deletes() == []


async def test_edit_without_a_review_publishes_nothing(services: Services, movie: Movie) -> None:
    publisher = FakePublisher()
    with pytest.raises(NotFound, match="haven't reviewed"):
        await services.reviews.edit(movie, BOB, _draft(), publisher)
    assert publisher.calls == []


# ---------------------------------------------------------------------------- delete, publishing


async def test_delete_removes_exactly_the_recorded_parts(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=2)
    _, review = await services.reviews.post(movie, ALICE, _draft(spoilers=True), publisher)
    await services.reviews.vote(501, BOB, THUMBS, added=True)
    publisher.calls.clear()
    deleted = await services.reviews.delete(movie, review, ALICE, publisher)
    assert deleted.id == review.id and deleted.parts == review.parts
    assert publisher.calls == [("delete", review.parts, False), ("card_changed", movie.id)]
    assert publisher.existing == set()
    assert publisher.deleted_missing == []
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_delete_with_an_old_copy_of_the_review_deletes_its_current_parts(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=1)
    _, old = await services.reviews.post(movie, ALICE, _draft(), publisher)
    publisher.parts = 3
    _, edited = await services.reviews.edit(movie, ALICE, _draft("Longer now."), publisher)
    publisher.calls.clear()
    await services.reviews.delete(movie, old, BOB, publisher)  # a moderator's stale view
    assert publisher.deletes() == [("delete", edited.parts, False)]
    assert publisher.existing == set()
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}


async def test_a_delete_racing_an_edit_deletes_what_the_edit_posted(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=1)
    _, review = await services.reviews.post(movie, ALICE, _draft(), publisher)
    publisher.parts = 3  # the edit makes it longer: two new messages
    publisher.gate = asyncio.Event()
    publisher.publishing.clear()  # set by the post
    publisher.calls.clear()
    edit = asyncio.create_task(services.reviews.edit(movie, ALICE, _draft("Longer."), publisher))
    await publisher.publishing.wait()
    delete = asyncio.create_task(services.reviews.delete(movie, review, ALICE, publisher))
    await asyncio.sleep(0.05)
    assert publisher.deletes() == []  # the delete waits for the edit's turn
    assert not delete.done()
    publisher.gate.set()
    _, edited = await edit
    deleted = await delete
    assert [p.message_id for p in edited.parts] == [500, 501, 502]
    assert deleted.parts == edited.parts  # read again in its turn
    assert publisher.names == ["publish", "delete", "card_changed"]
    assert publisher.deletes() == [("delete", edited.parts, False)]
    assert publisher.existing == set()  # no orphaned messages
    assert publisher.deleted_missing == []
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}
    assert len(services.reviews._turns) == 0  # a review's turn is forgotten once nobody needs it


async def test_a_delete_racing_a_post_deletes_what_the_post_recorded(
    services: Services, movie: Movie, db: Database
) -> None:
    publisher = FakePublisher(parts=2)
    publisher.gate = asyncio.Event()
    post = asyncio.create_task(services.reviews.post(movie, ALICE, _draft(), publisher))
    await publisher.publishing.wait()
    reserved = await services.reviews.find(movie, ALICE, actor_id=ALICE)
    assert reserved.parts == ()
    delete = asyncio.create_task(services.reviews.delete(movie, reserved, ALICE, publisher))
    await asyncio.sleep(0.05)
    assert publisher.deletes() == []
    publisher.gate.set()
    _, posted = await post
    deleted = await delete
    assert deleted.parts == posted.parts and len(posted.parts) == 2
    assert publisher.deletes() == [("delete", posted.parts, False)]
    assert publisher.names == ["publish", "card_changed", "delete", "card_changed"]
    assert publisher.existing == set()
    assert await _snapshot(db) == {"reviews": [], "review_messages": [], "helpful_votes": []}
