"""Reviews end to end: up to 40,000 characters, spoilers that never leak, edits,
deletes, /review read, helpful votes, spoiler threads and restarts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.domain.review_text import MAX_FILE_CHARS, normalize_newlines, spoiler_unwrap
from tests.e2e.conftest import Club, assert_nothing_can_ping, db_rows, eventually
from tests.emulator import Interaction, MemberState, Perm
from tests.emulator.limits import embed_length
from tests.unit import texts

JSON = dict[str, Any]
MIRACLE = "Miracle in Cell No. 7"
LABEL = f"{MIRACLE} (2013)"
SAMPLES = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "samples").glob("*.txt"))
THUMBS = "\N{THUMBS UP SIGN}"
HEADLINE = "Headline (shown openly: no spoilers)"
RATING = "Rating, 1–10 (optional)"

# The only lines the bot writes into a review message's content: links and a mention.
_LINK = r"\[[^\]]+\]\(https://discord\.com/channels/\d+/\d+/\d+\)"
CONTENT_LINES = [
    re.compile(r"🔒 Spoilers are hidden here; the whole review is open in <#\d+>\."),
    re.compile(rf"-# <@\d+>'s review continues in messages {_LINK}( · {_LINK})*"),
    re.compile(r"-# <@\d+>'s review, message \d+/\d+ · \[◀ previous message\]\(https://\S+\)"),
]
FOOTER = re.compile(r"part (\d+)/(\d+)")


# ---------------------------------------------------------------------------- helpers


async def _setup(club: Club, *, movies: str = "movies", card: bool = True) -> int:
    """Configure the channels and add the 2013 film; returns its movie id.

    Without ``card`` the film goes straight into the catalog: a card's ten rating reactions take
    2.5 s under Discord's reaction rate limit, which tests that need no thread can skip.
    """
    emu, guild = club.emu, club.guild
    setup = await emu.slash(
        guild.admin,
        "club setup",
        movies_channel=guild.channel(movies),
        reviews_channel=guild.channel("reviews"),
    )
    await setup.wait_done()
    if not card:
        assert club.bot is not None
        movie = await club.bot.services.movies.add_entry(guild.id, guild.admin.id, MIRACLE, 2013)
        return movie.id
    add = await emu.slash(guild.admin, "movie add", title=MIRACLE, year=2013)
    await add.wait_done(timeout=10)
    assert "Added" in add.texts()
    rows = await db_rows(club, "SELECT id FROM movies")
    return int(rows[0][0])


async def _write_file(
    club: Club,
    member: MemberState,
    data: bytes | str,
    *,
    command: str = "review write",
    name: str = "review.txt",
    within: float = 20.0,
    **options: Any,
) -> Interaction:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    file = club.emu.attachment(name, raw, "text/plain")
    itx = await club.emu.slash(member, command, movie=LABEL, file=file, **options)
    return await itx.wait_done(timeout=within)


async def _write_form(
    club: Club, member: MemberState, body: str, *, headline: str = "", rating: str = "", **opts: Any
) -> Interaction:
    itx = await club.emu.slash(member, "review write", movie=LABEL, **opts)
    submitted = await club.emu.submit_modal(
        itx, {"Review": body, HEADLINE: headline, RATING: rating}
    )
    return await submitted.wait_done(timeout=10)


@dataclass
class Posted:
    review_id: int
    author_id: int
    body: str
    spoilers: bool
    channel: list[JSON]  # the reviews-channel messages, in order
    thread: list[JSON]  # the spoiler-thread messages, in order
    thread_id: int | None


async def _posted(club: Club, author: MemberState) -> Posted:
    rows = await db_rows(
        club, "SELECT id, body, spoilers FROM reviews WHERE author_id = ?", author.id
    )
    assert len(rows) == 1, f"{author.name} has {len(rows)} reviews"
    review_id, body, spoilers = rows[0]
    parts = await db_rows(
        club,
        "SELECT channel_id, message_id, in_thread FROM review_messages WHERE review_id = ? "
        "ORDER BY in_thread, part",
        review_id,
    )
    copies: dict[int, list[JSON]] = {0: [], 1: []}
    thread_ids = set()
    for channel_id, message_id, in_thread in parts:
        message = club.emu.world.message(channel_id, message_id)
        assert message is not None, f"message {message_id} of review {review_id} is gone"
        copies[in_thread].append(message)
        if in_thread:
            thread_ids.add(channel_id)
    assert len(thread_ids) <= 1
    return Posted(
        review_id,
        author.id,
        body,
        bool(spoilers),
        copies[0],
        copies[1],
        thread_ids.pop() if thread_ids else None,
    )


def _descriptions(messages: list[JSON]) -> list[str]:
    return [str(embed.get("description") or "") for m in messages for embed in m["embeds"]]


def _assert_within_limits(messages: list[JSON]) -> None:
    for message in messages:
        assert len(message["content"]) <= 2000
        assert 1 <= len(message["embeds"]) <= 10
        assert sum(embed_length(e) for e in message["embeds"]) <= 6000
        for embed in message["embeds"]:
            assert len(embed.get("description") or "") <= 4096
            assert len(embed.get("title") or "") <= 256
            assert len((embed.get("footer") or {}).get("text") or "") <= 2048
            assert len((embed.get("author") or {}).get("name") or "") <= 256
        assert message["allowed_mentions"] == {"parse": []}


def _assert_chrome_carries_no_body(messages: list[JSON], label: str) -> None:
    """Titles, footers and content hold the label, part markers and links — never body text."""
    embeds = [e for m in messages for e in m["embeds"]]
    footers = [(e.get("footer") or {}).get("text") for e in embeds]
    if len(embeds) > 1:
        assert footers == [f"part {i}/{len(embeds)}" for i in range(1, len(embeds) + 1)]
    else:
        assert footers == [None]
    title = embeds[0]["title"]
    assert title == label or title.startswith(f"{label} — ")
    assert all(e.get("title") is None for e in embeds[1:])
    for message in messages:
        for line in filter(None, message["content"].split("\n")):
            assert any(p.fullmatch(line) for p in CONTENT_LINES), f"unexpected content {line!r}"


def _assert_linked(messages: list[JSON]) -> None:
    """Every later message links back to the one before; the first links to all the others."""
    ids = [m["id"] for m in messages]
    for previous, message in zip(ids, messages[1:], strict=False):
        assert f"/{previous})" in message["content"]
    for later in ids[1:]:
        assert f"/{later})" in messages[0]["content"]


def assert_posted_whole(posted: Posted, body: str) -> None:
    """The acceptance property: nothing dropped or reordered, nothing over a limit, and
    outside the thread every piece one whole spoiler block."""
    assert posted.body == body
    _assert_within_limits(posted.channel + posted.thread)
    _assert_chrome_carries_no_body(posted.channel, LABEL)
    _assert_linked(posted.channel)
    pieces = _descriptions(posted.channel)
    if posted.spoilers:
        for piece in pieces:
            assert piece.startswith("||") and piece.endswith("||")
        # spoiler_unwrap refuses a block whose member text could close it early
        assert "".join(spoiler_unwrap(piece) for piece in pieces) == body
        assert posted.thread_id is not None
        assert "".join(_descriptions(posted.thread)) == body
        _assert_chrome_carries_no_body(posted.thread, LABEL)
        _assert_linked(posted.thread)
        assert f"<#{posted.thread_id}>" in posted.channel[0]["content"]
    else:
        assert "".join(pieces) == body
        assert posted.thread == []


async def _db_state(club: Club) -> list[list[tuple[Any, ...]]]:
    return [
        await db_rows(club, f"SELECT * FROM {table} ORDER BY 1")
        for table in ("reviews", "review_messages", "helpful_votes")
    ]


# ---------------------------------------------------------------------------- long texts


async def _post_and_check(club: Club, raw: bytes | str, body: str) -> Posted:
    await _setup(club)
    alice = club.guild.add_member("alice")
    itx = await _write_file(club, alice, raw, spoilers=True, headline="Break and heal")
    assert itx.ephemeral and "is posted" in itx.texts(), itx.texts()
    posted = await _posted(club, alice)
    assert_posted_whole(posted, body)
    return posted


@pytest.mark.parametrize("sample", SAMPLES or [None], ids=lambda p: p.name if p else "none")
async def test_each_shared_sample_posts_hidden_and_whole(club: Club, sample: Path | None) -> None:
    if sample is None:
        pytest.skip("../shared/samples is not there")
    raw = await asyncio.to_thread(sample.read_bytes)
    body = normalize_newlines(raw.decode("utf-8-sig")).rstrip("\n")
    await _post_and_check(club, raw, body)


OWN_TEXTS = {
    "essay-17k": (texts.LONG_REVIEW, texts.LONG_REVIEW),
    "essay-crlf": (texts.CRLF_REVIEW, texts.LONG_REVIEW),
    "pipes": (texts.PIPES_REVIEW, texts.PIPES_REVIEW),
    "cjk": (texts.CJK_REVIEW, texts.CJK_REVIEW),
}


@pytest.mark.parametrize("name", OWN_TEXTS)
async def test_the_suites_long_texts_post_hidden_and_whole(club: Club, name: str) -> None:
    raw, body = OWN_TEXTS[name]
    posted = await _post_and_check(club, raw, body)
    if name.startswith("essay"):
        assert len(posted.channel) >= 3  # really split across messages, not just embeds
        assert len(_descriptions(posted.channel)) >= 6


def _essay(length: int) -> str:
    """Paragraphs of sentences, exactly ``length`` characters."""
    paragraph = " ".join(f"Sentence {i} of the long essay about the balloon." for i in range(12))
    text = "\n\n".join([paragraph] * (length // len(paragraph) + 1))
    return text[:length].rstrip() + "x" * (length - len(text[:length].rstrip()))


async def test_forty_thousand_characters_post_and_one_more_is_refused(club: Club) -> None:
    await _setup(club, card=False)
    alice, bob = club.guild.add_member("alice"), club.guild.add_member("bob")
    body = _essay(MAX_FILE_CHARS)
    assert len(body) == MAX_FILE_CHARS
    itx = await _write_file(club, alice, body)
    assert "is posted" in itx.texts()
    assert_posted_whole(await _posted(club, alice), body)

    before = await _db_state(club)
    posts = len(club.emu.calls_to("POST /channels/{channel_id}/messages"))
    refused = await _write_file(club, bob, _essay(MAX_FILE_CHARS + 1))
    assert refused.ephemeral
    assert "40,001 characters; the limit is 40,000" in refused.texts()
    assert await _db_state(club) == before
    assert len(club.emu.calls_to("POST /channels/{channel_id}/messages")) == posts


BAD_FILES = [
    ("poster.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "must be a .txt or .md file"),
    ("poster.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "an image or a document"),
    ("latin1.txt", "Un film très émouvant, déjà culte.".encode("latin-1"), "not UTF-8 text"),
    ("empty.txt", b"", "That file is empty"),
    ("utf16-no-bom.txt", "A review".encode("utf-16-le"), "binary data"),
]


@pytest.mark.parametrize(("name", "data", "says"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
async def test_bad_files_are_refused_clearly_and_change_nothing(
    club: Club, name: str, data: bytes, says: str
) -> None:
    await _setup(club, card=False)
    before = await _db_state(club)
    itx = await _write_file(club, club.guild.add_member("carol"), data, name=name, spoilers=True)
    assert itx.ephemeral
    assert says in itx.texts()
    assert "went wrong" not in itx.texts()
    assert await _db_state(club) == before
    assert club.emu.world.messages(club.guild.channel("reviews")) == []


async def test_utf16_and_utf8_with_a_byte_order_mark_are_read(club: Club) -> None:
    await _setup(club, card=False)
    text = "Ye-seung’s balloon 🎈 — 풍선\n\nSecond paragraph."
    for name, data in [
        ("bom8", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("bom16", b"\xff\xfe" + text.encode("utf-16-le")),
    ]:
        member = club.guild.add_member(name)
        itx = await _write_file(club, member, data, name=f"{name}.md")
        assert "is posted" in itx.texts()
        assert_posted_whole(await _posted(club, member), text)


# ---------------------------------------------------------------------------- the form


async def test_the_form_posts_author_title_headline_rating_and_body(club: Club) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    [sync] = club.emu.calls_to("PUT /applications/{application_id}/guilds/{guild_id}/commands")
    review = next(c for c in sync.json if c["name"] == "review")
    assert {o["name"] for o in review["options"]} == {"write", "read", "edit", "delete"}
    menu = next(c for c in sync.json if c["name"] == "Hide as spoiler")
    assert menu["type"] == 3  # a message context menu
    choices = await club.emu.autocomplete(alice, "review write", focused="movie", value="cell")
    assert [c["name"] for c in choices] == [LABEL]
    itx = await club.emu.slash(alice, "review write", movie=LABEL, rating=8)
    modal = (await itx.response()) and itx.modal
    assert modal is not None and modal["title"].startswith("Review: Miracle")
    inputs = [c["components"][0] for c in modal["components"]]
    assert [i["label"] for i in inputs] == [HEADLINE, RATING, "Review"]
    assert inputs[1]["value"] == "8"  # the option pre-fills the form
    assert inputs[2]["max_length"] == 4000
    done = await club.emu.submit_modal(
        itx, {"Review": "It wrecked me.\n\nIn a good way.", HEADLINE: "Bring tissues", RATING: "8"}
    )
    await done.wait_done(timeout=10)
    assert done.ephemeral and "is posted" in done.texts()
    posted = await _posted(club, alice)
    assert_posted_whole(posted, "It wrecked me.\n\nIn a good way.")
    [message] = posted.channel
    [embed] = message["embeds"]
    assert embed["title"] == f"{LABEL} — Bring tissues"
    assert embed["author"]["name"] == "alice"
    assert embed["fields"] == [{"name": "Rating", "value": "8/10 ★★★★", "inline": True}]
    assert message["content"] == ""


async def test_a_second_review_points_to_edit_before_any_form(club: Club) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    await _write_form(club, alice, "First thoughts.")
    before = await _db_state(club)
    again = await club.emu.slash(alice, "review write", movie=LABEL)
    await again.wait_done()
    assert again.modal is None and again.ephemeral
    assert "already reviewed" in again.texts() and "/review edit" in again.texts()
    with_file = await _write_file(club, alice, "Second thoughts.")
    assert "/review edit" in with_file.texts()
    assert await _db_state(club) == before


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"Review": "ok", RATING: "11"}, "from 1 to 10"),
        ({"Review": "ok", HEADLINE: "The ||twist||"}, "can't hide spoilers"),
        ({"Review": "   \n  "}, "Your review is empty"),
    ],
)
async def test_bad_form_input_is_explained_and_changes_nothing(
    club: Club, values: dict[str, str], says: str
) -> None:
    await _setup(club, card=False)
    before = await _db_state(club)
    itx = await club.emu.slash(club.guild.add_member("dan"), "review write", movie=LABEL)
    done = await club.emu.submit_modal(itx, values)
    await done.wait_done()
    assert done.ephemeral and says in done.texts()
    assert await _db_state(club) == before


# ---------------------------------------------------------------------------- mentions


async def test_mentions_in_a_review_ping_nobody(club: Club) -> None:
    await _setup(club)
    alice, bob = club.guild.add_member("alice"), club.guild.add_member("bob")
    hostile = f"@everyone look! <@&1> and <@2> and {bob.mention} — @here too."
    await _write_form(club, alice, hostile, headline="@everyone read this", spoilers=True)
    await _write_file(club, bob, hostile + "\n\n" + _essay(7000), spoilers=True)
    read = await club.emu.slash(alice, "review read", movie=LABEL)
    await read.wait_done()
    assert_nothing_can_ping(club)
    for author in (alice, bob):
        posted = await _posted(club, author)
        for message in posted.channel + posted.thread:
            assert message["allowed_mentions"] == {"parse": []}
            assert message["mention_everyone"] is False and message["mention_roles"] == []


# ---------------------------------------------------------------------------- edit and delete


async def test_editing_from_three_messages_to_one_deletes_the_stale_ones(club: Club) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    long_body = _essay(15_000)
    await _write_file(club, alice, long_body)
    before = await _posted(club, alice)
    assert len(before.channel) == 3
    old_ids = [int(m["id"]) for m in before.channel]

    # Too long for the form: the member is told to attach the new version.
    form = await club.emu.slash(alice, "review edit", movie=LABEL)
    await form.wait_done()
    assert form.modal is None and "attached as `file`" in form.texts()

    edit = await _write_file(club, alice, "Shorter now.", command="review edit", rating=6)
    assert edit.ephemeral and "is updated" in edit.texts()
    after = await _posted(club, alice)
    assert_posted_whole(after, "Shorter now.")
    assert [int(m["id"]) for m in after.channel] == old_ids[:1]  # edited in place
    reviews = club.guild.channel("reviews")
    assert [int(m["id"]) for m in club.emu.world.messages(reviews)] == old_ids[:1]
    assert after.channel[0]["embeds"][0]["fields"][0]["value"].startswith("6/10")
    assert await db_rows(club, "SELECT count(*) FROM review_messages") == [(1,)]


async def test_an_edit_reposts_parts_a_moderator_deleted_in_order(club: Club) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    body = _essay(15_000)
    await _write_file(club, alice, body)
    before = await _posted(club, alice)
    reviews = club.guild.channel("reviews")
    await club.emu.delete_message(reviews, int(before.channel[1]["id"]), by=club.guild.mod)
    await _write_file(club, alice, body + " Revised.", command="review edit")
    after = await _posted(club, alice)
    assert_posted_whole(after, body + " Revised.")
    ids = [m["id"] for m in after.channel]
    assert ids[0] == before.channel[0]["id"] and before.channel[2]["id"] not in ids
    assert [m["id"] for m in club.emu.world.messages(reviews)] == ids  # nothing else left


async def test_the_form_edit_is_prefilled_and_can_grow_and_add_spoilers(club: Club) -> None:
    await _setup(club)
    alice = club.guild.add_member("alice")
    await _write_form(club, alice, "Short and sweet.", headline="Tears", rating="9")
    first_id = (await _posted(club, alice)).channel[0]["id"]
    itx = await club.emu.slash(alice, "review edit", movie=LABEL, spoilers=True)
    modal = (await itx.response()) and itx.modal
    assert modal is not None
    prefilled = [c["components"][0].get("value") for c in modal["components"]]
    assert prefilled == ["Tears", "9", "Short and sweet."]
    grown = "The ending. " * 330  # 3,960 characters: one message, two copies
    done = await club.emu.submit_modal(itx, {"Review": grown, HEADLINE: "Tears", RATING: "9"})
    await done.wait_done(timeout=10)
    after = await _posted(club, alice)
    assert_posted_whole(after, grown.strip())
    assert after.channel[0]["id"] == first_id and after.thread

    # Spoilers off again: the thread copy goes, the channel copy is shown openly.
    itx = await club.emu.slash(alice, "review edit", movie=LABEL, spoilers=False)
    done = await club.emu.submit_modal(itx, {"Review": grown, HEADLINE: "Tears", RATING: "9"})
    await done.wait_done(timeout=10)
    final = await _posted(club, alice)
    assert_posted_whole(final, grown.strip())
    for message in after.thread:
        assert club.emu.world.find_message(int(message["id"])) is None


async def test_delete_removes_every_message_and_the_row(club: Club) -> None:
    await _setup(club)
    alice, bob = club.guild.add_member("alice"), club.guild.add_member("bob")
    await _write_file(club, alice, texts.LONG_REVIEW, spoilers=True)
    posted = await _posted(club, alice)
    messages = posted.channel + posted.thread
    assert len(messages) >= 6
    first = posted.channel[0]
    await club.emu.react(bob, int(first["channel_id"]), int(first["id"]), THUMBS)

    async def voted() -> None:
        assert await db_rows(club, "SELECT count(*) FROM helpful_votes") == [(1,)]

    await eventually(voted)

    refused = await club.emu.slash(bob, "review delete", movie=LABEL, options={"member": alice})
    await refused.wait_done()
    assert refused.ephemeral and "Manage Messages" in refused.texts()
    assert len(await db_rows(club, "SELECT * FROM review_messages")) == len(messages)

    itx = await club.emu.slash(alice, "review delete", movie=LABEL)
    await itx.wait_done(timeout=10)
    assert itx.ephemeral and "is deleted" in itx.texts()
    for message in messages:
        assert club.emu.world.find_message(int(message["id"])) is None
    assert await _db_state(club) == [[], [], []]


async def test_a_moderator_deletes_anothers_review(club: Club) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    await _write_form(club, alice, "Hot take.")
    posted = await _posted(club, alice)
    itx = await club.emu.slash(
        club.guild.mod, "review delete", movie=LABEL, options={"member": alice}
    )
    await itx.wait_done()
    assert f"<@{alice.id}>'s review" in itx.texts()
    assert club.emu.world.find_message(int(posted.channel[0]["id"])) is None
    assert await db_rows(club, "SELECT count(*) FROM reviews") == [(0,)]


# ---------------------------------------------------------------------------- read, votes, restart


async def test_read_pages_hide_spoilers_and_survive_a_restart_with_votes(club: Club) -> None:
    movie_id = await _setup(club)
    emu, guild = club.emu, club.guild
    alice, bob, carol = (guild.add_member(n) for n in ("alice", "bob", "carol"))
    secret = "The balloon catches on the wire and he is executed."
    await _write_form(club, alice, secret, spoilers=True, headline="Devastating")
    assert club.bot is not None
    movie = await club.bot.services.movies.by_id(movie_id)
    assert movie is not None
    for i in range(5):  # five more, without Discord, so there are two pages
        draft = club.bot.services.reviews.draft_from_form(
            f"Open review {i}. ||The warden adopts her.|| Lovely.", None, None, spoilers=False
        )
        await club.bot.services.reviews.create(movie, 9000 + i, draft)
    posted = await _posted(club, alice)
    part = posted.thread[0]
    await emu.react(bob, int(part["channel_id"]), int(part["id"]), THUMBS)
    await emu.react(bob, int(posted.channel[0]["channel_id"]), int(posted.channel[0]["id"]), THUMBS)
    await emu.react(alice, int(part["channel_id"]), int(part["id"]), THUMBS)  # her own

    async def helpful(n: int) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            rows = await db_rows(club, "SELECT count(*) FROM helpful_votes")
            assert rows == [(n,)], rows

        return check

    await eventually(await helpful(1))

    read = await emu.slash(carol, "review read", movie=LABEL)
    await read.wait_done()
    shown = read.texts()
    assert "Page 1/2" in shown and "6 reviews" in shown
    assert secret not in shown and "balloon" not in shown
    assert "warden" not in shown  # a member's own spoiler block in an open review stays out
    assert "Contains spoilers" in shown and f"{THUMBS} 1" in shown
    assert "Open review 0." in shown
    listing = read.message
    assert listing is not None

    await club.restart()
    await emu.react(carol, int(part["channel_id"]), int(part["id"]), THUMBS)
    await eventually(await helpful(2))
    await emu.unreact(bob, int(part["channel_id"]), int(part["id"]), THUMBS)
    await eventually(await helpful(1))

    nxt = await emu.click(carol, listing, f"reviews:{movie_id}:0:1:n")
    await nxt.wait_done()
    assert "Page 2/2" in nxt.texts() and "Open review 4." in nxt.texts()
    back = await emu.click(carol, listing, f"reviews:{movie_id}:0:0:p")
    await back.wait_done()
    assert "Page 1/2" in back.texts() and secret not in back.texts()

    only = await emu.slash(carol, "review read", movie=LABEL, options={"member": alice})
    await only.wait_done()
    assert "1 review" in only.texts() and "Devastating" in only.texts()
    none = await emu.slash(carol, "review read", movie=LABEL, options={"member": carol})
    await none.wait_done()
    assert f"<@{carol.id}> hasn't reviewed" in none.texts()


# ---------------------------------------------------------------------------- spoiler threads


def _card(club: Club, movie_row: tuple[Any, ...]) -> JSON:
    card = club.emu.world.message(int(movie_row[0]), int(movie_row[1]))
    assert card is not None
    return card


async def _movie_row(club: Club) -> tuple[Any, ...]:
    rows = await db_rows(club, "SELECT card_channel_id, card_message_id, thread_id FROM movies")
    return rows[0]


async def test_a_deleted_spoiler_thread_is_made_again_and_the_card_links_it(club: Club) -> None:
    await _setup(club)
    old_thread = (await _movie_row(club))[2]
    await club.emu.delete_channel(old_thread, by=club.guild.mod)
    alice = club.guild.add_member("alice")
    itx = await _write_form(club, alice, "He dies. It is unbearable.", spoilers=True)
    assert "is posted" in itx.texts()
    row = await _movie_row(club)
    new_thread = row[2]
    assert new_thread != old_thread
    thread = club.guild.thread(new_thread)
    assert thread.name == f"{LABEL} · spoilers"
    posted = await _posted(club, alice)
    assert posted.thread_id == new_thread
    assert_posted_whole(posted, "He dies. It is unbearable.")
    await club.settle()
    fields = _card(club, row)["embeds"][0]["fields"]
    assert {"name": "Spoilers", "value": f"<#{new_thread}>", "inline": True} in fields
    assert {"name": "Reviews", "value": "1", "inline": True} in fields


async def test_an_archived_spoiler_thread_is_reopened(club: Club) -> None:
    await _setup(club)
    thread_id = (await _movie_row(club))[2]
    await club.emu.archive_thread(thread_id)
    assert club.guild.thread(thread_id).archived
    alice = club.guild.add_member("alice")
    await _write_form(club, alice, "The twist.", spoilers=True)
    assert not club.guild.thread(thread_id).archived
    assert (await _posted(club, alice)).thread_id == thread_id


async def test_a_forum_movies_channel_gets_a_new_post_tagged_spoilers(club: Club) -> None:
    await _setup(club, movies="movie-forum")
    forum = club.guild.channel("movie-forum")
    first_post = (await _movie_row(club))[2]
    await club.emu.delete_channel(first_post, by=club.guild.mod)
    alice = club.guild.add_member("alice")
    itx = await _write_file(club, alice, texts.LONG_REVIEW, spoilers=True)
    assert "is posted" in itx.texts(), itx.texts()
    posted = await _posted(club, alice)
    assert posted.thread_id not in (None, first_post)
    post = club.guild.thread(posted.thread_id)
    assert post.parent_id == forum.id
    assert post.applied_tags == [forum.tag_id("Spoilers")]
    assert_posted_whole(posted, texts.LONG_REVIEW)


@pytest.mark.parametrize("card_deleted", [False, True], ids=["card-kept", "card-deleted"])
async def test_a_movie_whose_thread_was_never_made_gets_exactly_one(
    club: Club, card_deleted: bool
) -> None:
    """The bot could not create threads when the movie was added; maybe the card went too."""
    emu, guild = club.emu, club.guild
    movies = guild.channel("movies")
    movies.deny(guild.me, Perm.CREATE_PUBLIC_THREADS)
    await _setup(club)
    channel_id, card_id, thread_id = await _movie_row(club)
    assert thread_id is None
    movies.clear_overwrites()
    if card_deleted:
        await emu.delete_message(channel_id, card_id, by=guild.mod)

        async def noticed() -> None:
            assert (await _movie_row(club))[1] is None

        await eventually(noticed)
    alice = guild.add_member("alice")
    itx = await _write_form(club, alice, "Spoiler-heavy.", spoilers=True)
    assert "is posted" in itx.texts()
    channel_id, card_id, thread_id = await _movie_row(club)
    assert thread_id is not None and (await _posted(club, alice)).thread_id == thread_id
    threads = [t.id for t in guild.thread_channels.values() if t.parent_id == movies.id]
    assert threads == [thread_id]
    await club.settle()
    assert f"<#{thread_id}>" in str(_card(club, (channel_id, card_id))["embeds"][0]["fields"])


# ---------------------------------------------------------------------------- permissions


async def test_missing_permission_to_post_is_explained_and_nothing_is_kept(club: Club) -> None:
    await _setup(club)
    reviews = club.guild.channel("reviews")
    reviews.deny(club.guild.me, Perm.EMBED_LINKS)
    before = await _db_state(club)
    itx = await _write_file(club, club.guild.add_member("erin"), texts.LONG_REVIEW, spoilers=True)
    assert itx.ephemeral
    assert "I couldn't post the review" in itx.texts()
    assert "missing a permission" in itx.texts()
    assert await _db_state(club) == before
    thread_id = (await _movie_row(club))[2]
    assert club.emu.world.messages(thread_id) == []  # the half-posted thread copy is removed


@pytest.mark.real_rate_limits
async def test_a_delete_during_an_edit_leaves_no_message_behind(club: Club) -> None:
    """The delete waits for the edit's turn and then removes what the edit posted."""
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    await _write_form(club, alice, "A short first take.")
    assert len(await db_rows(club, "SELECT * FROM review_messages")) == 1
    longer = club.emu.attachment("review.txt", texts.LONG_REVIEW.encode(), "text/plain")
    posts = "POST /channels/{channel_id}/messages"
    before = len(club.emu.calls_to(posts))
    edit = await club.emu.slash(alice, "review edit", movie=LABEL, file=longer)
    await club.emu.wait_for_calls(posts, before + 1, timeout=10)  # the edit is re-posting ...
    delete = await club.emu.slash(alice, "review delete", movie=LABEL)  # ... when this arrives
    await edit.wait_done(timeout=30)
    await delete.wait_done(timeout=30)
    assert await _db_state(club) == [[], [], []]
    left = [m for m in club.emu.world.messages(club.guild.channel("reviews")) if m.get("embeds")]
    assert left == [], [m["embeds"][0].get("footer") for m in left]


async def test_a_form_opened_before_a_restart_is_answered_and_its_text_handed_back(
    club: Club,
) -> None:
    await _setup(club, card=False)
    alice = club.guild.add_member("alice")
    opened = await club.emu.slash(alice, "review write", movie=LABEL)
    await opened.response()
    assert opened.modal is not None
    await club.restart()  # the member is still typing
    body = "Forty minutes of typing about the ending. " * 20
    submitted = await club.emu.submit_modal(opened, {"Review": body, HEADLINE: "", RATING: ""})
    await submitted.wait_done()
    assert submitted.ephemeral
    assert "opened before I restarted" in submitted.texts()
    attachments = (submitted.message or {}).get("attachments") or []
    assert [a["filename"] for a in attachments] == ["my-review.txt"]
    assert await db_rows(club, "SELECT count(*) FROM reviews") == [(0,)]
