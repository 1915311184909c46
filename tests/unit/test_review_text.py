"""Review text: file decoding, splitting, spoiler blocks and the embed/message layout."""

from __future__ import annotations

import codecs
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import ClubError
from bot.domain.review_text import (
    EMBED_AUTHOR_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    MAX_FILE_BYTES,
    MAX_FILE_CHARS,
    MAX_MODAL_CHARS,
    MESSAGE_EMBED_LIMIT,
    MESSAGE_EMBED_TEXT_LIMIT,
    EmbedPlan,
    MessagePlan,
    ReviewFileError,
    ReviewHeader,
    ReviewTextError,
    decode_review_file,
    plan_review,
    reassemble,
    split_body,
    split_for_spoilers,
    spoiler_unwrap,
    spoiler_wrap,
    validate_headline,
    validate_review_body,
)
from tests.unit import texts

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
HEADER = ReviewHeader("Alice", "Miracle in Cell No. 7 (2013)", "Break and heal", 7)
TOKEN = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+)>")
FOOTER = re.compile(r"part (\d+)/(\d+)")


# ---------------------------------------------------------------------------- helpers


def boundaries(pieces: list[str]) -> list[int]:
    """Offsets in the joined text where one piece ends and the next begins."""
    offsets, total = [], 0
    for piece in pieces[:-1]:
        total += len(piece)
        offsets.append(total)
    return offsets


def safely_escaped(inner: str) -> bool:
    """True when no '|' inside a spoiler block can pair up with another or the delimiters:
    every pipe has an odd run of backslashes before it, and the text does not end in an odd
    run (which would escape the closing '||')."""
    for match in re.finditer(r"(\\*)(\||\Z)", inner):
        run = len(match.group(1))
        if match.group(2) == "|" and run % 2 == 0:
            return False
        if match.group(2) == "" and match.end() == len(inner) and run % 2 == 1:
            return False
    return True


def all_embeds(plans: list[MessagePlan]) -> list[EmbedPlan]:
    return [embed for plan in plans for embed in plan.embeds]


def assert_plan_ok(
    plans: list[MessagePlan],
    body: str,
    *,
    spoilers: bool,
    description_limit: int = EMBED_DESCRIPTION_LIMIT,
    total_limit: int = MESSAGE_EMBED_TEXT_LIMIT,
    max_embeds: int = MESSAGE_EMBED_LIMIT,
) -> None:
    assert plans, "a review always makes at least one message"
    for plan in plans:
        assert 1 <= len(plan.embeds) <= max_embeds
        counted = 0
        for e in plan.embeds:
            counted += (
                len(e.title or "")
                + len(e.author or "")
                + len(e.description)
                + len(e.footer or "")
                + sum(len(name) + len(value) for name, value in e.fields)
            )
            assert 0 < len(e.description) <= description_limit
            assert len(e.title or "") <= EMBED_TITLE_LIMIT
            assert len(e.author or "") <= EMBED_AUTHOR_LIMIT
            assert len(e.footer or "") <= EMBED_FOOTER_LIMIT
            for name, value in e.fields:
                assert 0 < len(name) <= 256 and 0 < len(value) <= 1024
            if spoilers:
                assert e.description.startswith("||") and e.description.endswith("||")
                assert safely_escaped(e.description[2:-2]), e.description
        assert counted == plan.text_length()
        assert counted <= total_limit
    embeds = all_embeds(plans)
    if len(embeds) == 1:
        assert embeds[0].footer is None
    else:
        assert [e.footer for e in embeds] == [
            f"part {i}/{len(embeds)}" for i in range(1, 1 + len(embeds))
        ]
    assert embeds[0].title is not None
    assert all(e.title is None and not e.fields for e in embeds[1:])
    assert reassemble(plans) == body


def ends_inside(pieces: list[str], start: int, end: int) -> list[int]:
    """Piece boundaries strictly inside text[start:end]."""
    return [b for b in boundaries(pieces) if start < b < end]


# ---------------------------------------------------------------------------- decoding

TEXT = "Ye-seung 😭 — “the bag” ||he dies||\nsecond line\tend"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_decode_gives_the_same_text_in_every_accepted_encoding(data: bytes) -> None:
    assert decode_review_file(data, "review.txt") == TEXT


def test_decode_turns_a_crlf_file_into_the_lf_text() -> None:
    crlf = texts.CRLF_REVIEW + "\r\n\r\n"
    assert "\r" in crlf
    assert decode_review_file(crlf.encode("utf-8"), "review.md") == texts.LONG_REVIEW
    utf16 = codecs.BOM_UTF16_LE + crlf.encode("utf-16-le")
    assert decode_review_file(utf16, "review.txt") == texts.LONG_REVIEW


def test_decode_normalizes_newlines_and_keeps_everything_else() -> None:
    data = b"  indented first line\rold mac line\r\n\r\nlast line  \n\n\r\n"
    assert decode_review_file(data, "r.txt") == (
        "  indented first line\nold mac line\n\nlast line  "
    )


@pytest.mark.parametrize("name", ["review.TXT", "Review.Md", "my review.final.txt"])
def test_decode_accepts_txt_and_md_in_any_case(name: str) -> None:
    assert decode_review_file(b"fine", name) == "fine"


@pytest.mark.parametrize("name", ["review.pdf", "review.txt.exe", "review", "review.docx"])
def test_decode_refuses_other_extensions(name: str) -> None:
    with pytest.raises(ReviewFileError, match=r"\.txt or \.md"):
        decode_review_file(b"plain text", name)


def test_decode_refuses_latin1_bytes_and_says_to_save_as_utf8() -> None:
    with pytest.raises(ReviewFileError, match="Save the file as UTF-8"):
        decode_review_file("Café crème, naïve père".encode("latin-1"), "review.txt")


def test_decode_refuses_a_png_renamed_to_txt() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
    with pytest.raises(ReviewFileError, match="image or a document"):
        decode_review_file(png, "poster.txt")


@pytest.mark.parametrize(
    "data",
    [
        b"hello\x00world",
        b"\x00\x01\x02\xff\xfe\xfd\x80",
        "hello".encode("utf-16-le"),
        codecs.BOM_UTF16_LE + b"a\x00\x00\x00",
    ],
    ids=["nul-in-utf8", "random-bytes", "utf-16-without-bom", "nul-in-utf16"],
)
def test_decode_refuses_binary_content(data: bytes) -> None:
    with pytest.raises(ReviewFileError, match="binary data"):
        decode_review_file(data, "review.txt")


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + b"a\x00\x00\xd8",  # a lone surrogate
        codecs.BOM_UTF16_LE + b"a\x00b",  # odd number of bytes
        codecs.BOM_UTF32_LE + "hi".encode("utf-32-le"),
    ],
    ids=["lone-surrogate", "odd-length", "utf-32"],
)
def test_decode_refuses_broken_or_unsupported_unicode(data: bytes) -> None:
    with pytest.raises(ReviewFileError, match="UTF-8"):
        decode_review_file(data, "review.txt")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", codecs.BOM_UTF8, codecs.BOM_UTF16_BE])
def test_decode_refuses_empty_files(data: bytes) -> None:
    with pytest.raises(ReviewFileError, match="empty"):
        decode_review_file(data, "review.txt")


def test_decode_accepts_exactly_the_character_limit() -> None:
    text = ("a" * 99 + "\n") * (MAX_FILE_CHARS // 100 - 1) + "b" * 100
    assert len(text) == MAX_FILE_CHARS
    assert decode_review_file(text.encode("utf-8") + b"\n\n", "r.txt") == text


def test_decode_counts_characters_not_bytes() -> None:
    text = "😭" * MAX_FILE_CHARS  # 160,000 bytes in UTF-8 and in UTF-16
    assert decode_review_file(text.encode("utf-8"), "r.txt") == text
    assert decode_review_file(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "r.txt") == text


def test_decode_refuses_one_character_over_the_limit_with_the_count() -> None:
    with pytest.raises(ReviewFileError, match="40,001 characters; the limit is 40,000"):
        decode_review_file(b"a" * (MAX_FILE_CHARS + 1), "r.txt")


def test_decode_refuses_oversized_files_before_decoding() -> None:
    # Invalid UTF-8 too, so only the size check can produce this message.
    with pytest.raises(ReviewFileError, match="at most 200 KB"):
        decode_review_file(b"\xff" * (MAX_FILE_BYTES + 1), "r.txt")


def test_review_errors_are_club_errors() -> None:
    assert issubclass(ReviewFileError, ReviewTextError)
    assert issubclass(ReviewTextError, ClubError)


# ---------------------------------------------------------------------------- modal text


def test_validate_review_body_trims_and_normalizes() -> None:
    assert validate_review_body("\n  My review.\r\nLine two.  \n", MAX_MODAL_CHARS) == (
        "My review.\nLine two."
    )


def test_validate_review_body_refuses_blank() -> None:
    with pytest.raises(ReviewTextError, match="empty"):
        validate_review_body(" \n\t ", MAX_MODAL_CHARS)


def test_validate_review_body_limit_counts_after_trimming() -> None:
    assert validate_review_body(" " + "x" * 4000 + " ", MAX_MODAL_CHARS) == "x" * 4000
    with pytest.raises(ReviewTextError, match=r"4,001 characters; the limit is 4,000\..*file"):
        validate_review_body("x" * 4001, MAX_MODAL_CHARS)


def test_validate_headline() -> None:
    assert validate_headline(None) is None
    assert validate_headline("  \n ") is None
    assert validate_headline("  Break\nand   heal ") == "Break and heal"
    with pytest.raises(ReviewTextError, match="can't hide spoilers"):
        validate_headline("He ||dies|| at the end")
    with pytest.raises(ReviewTextError, match="257 characters"):
        validate_headline("h" * 257)


# ---------------------------------------------------------------------------- splitting


def test_split_short_and_empty_text() -> None:
    assert split_body("hello", 10) == ["hello"]
    assert split_body("hello", 5) == ["hello"]
    assert split_body("", 10) == []


def test_split_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        split_body("text", 0)


def test_split_prefers_a_paragraph_break_over_a_later_line_break() -> None:
    text = "A" * 50 + "\n\n" + "B" * 20 + "\n" + "C" * 40
    assert split_body(text, 80) == ["A" * 50 + "\n\n", "B" * 20 + "\n" + "C" * 40]


def test_split_keeps_a_blank_line_run_with_the_piece_before() -> None:
    text = "A" * 50 + "\n\n  \n\n" + "B" * 40
    assert split_body(text, 70) == ["A" * 50 + "\n\n  \n\n", "B" * 40]


def test_split_ignores_a_paragraph_break_too_early_and_uses_a_line_break() -> None:
    text = "A" * 10 + "\n\n" + "B" * 50 + "\n" + "C" * 50
    assert split_body(text, 80) == ["A" * 10 + "\n\n" + "B" * 50 + "\n", "C" * 50]


def test_split_at_a_sentence_end_before_a_plain_space() -> None:
    text = "w" * 40 + ".” " + "y" * 10 + " " + "z" * 30
    assert split_body(text, 70)[0] == "w" * 40 + ".” "


def test_split_at_a_space_when_there_is_no_sentence_end() -> None:
    assert split_body("w" * 40 + "  " + "y" * 40, 60) == ["w" * 40 + "  ", "y" * 40]


def test_split_hard_cuts_a_long_word() -> None:
    assert [len(p) for p in split_body("x" * 100, 30)] == [30, 30, 30, 10]


def test_split_never_cuts_inside_a_mention() -> None:
    mention = "<@123456789012345678>"
    pieces = split_body("x" * 25 + mention + "y" * 30, 30)
    assert pieces[0] == "x" * 25
    assert pieces[1].startswith(mention)


@pytest.mark.parametrize(
    "cluster",
    ["👨\u200d👧", "🇰🇷", "e\u0301", "👍🏽", "1\ufe0f\u20e3"],
    ids=["zwj-family", "flag", "combining-accent", "skin-tone", "keycap"],
)
def test_split_does_not_break_a_character_in_two(cluster: str) -> None:
    pieces = split_body("x" * 9 + cluster + "y" * 20, 10)
    assert pieces[0] == "x" * 9
    assert pieces[1].startswith(cluster)


def test_split_starts_a_url_on_a_new_piece_when_it_fits_whole() -> None:
    url = "https://example.org/" + "a" * 40
    pieces = split_body("words " * 5 + url + " tail", 70)
    assert pieces[0] == "words " * 5
    assert pieces[1].startswith(url)


def test_split_keeps_a_members_spoiler_block_together() -> None:
    spoiler = "||" + "secret " * 5 + "||"
    pieces = split_body("a " * 20 + spoiler + " b" * 20, 60)
    assert pieces[0] == "a " * 20
    assert pieces[1].startswith(spoiler)


def test_split_keeps_a_heading_with_its_paragraph() -> None:
    pieces = split_body("p" * 30 + "\n\n## Head\n\n" + "q" * 50, 60)
    assert pieces[0] == "p" * 30 + "\n\n"
    assert pieces[1].startswith("## Head\n\nq")


def test_split_long_review_at_whitespace_except_inside_the_long_word() -> None:
    text = texts.LONG_REVIEW
    pieces = split_body(text, 2000)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= 2000 for p in pieces)
    word_start = text.index(texts.LONG_WORD)
    word_end = word_start + len(texts.LONG_WORD)
    for offset in boundaries(pieces):
        if not word_start < offset < word_end:
            assert text[offset - 1] in " \n", text[offset - 20 : offset + 20]
    for token in TOKEN.finditer(text):
        assert not ends_inside(pieces, *token.span()), token.group()


def test_split_breaks_a_blank_line_free_paragraph_at_sentence_ends() -> None:
    paragraph = texts.LONG_PARAGRAPH
    assert len(paragraph) > 5000 and "\n" not in paragraph
    pieces = split_body(paragraph, 1500)
    longest_sentence = max(len(s) for s in re.split(r"(?<=[.|]) ", paragraph))
    for piece in pieces[:-1]:
        assert len(piece) > 1500 - longest_sentence - 1  # greedy: only the last sentence moves
        assert re.search(r"[.!?][|”’\"')]* $", piece), piece[-40:]


def test_split_japanese_at_full_stops() -> None:
    pieces = split_body(texts.CJK_REVIEW, 1000)
    assert "".join(pieces) == texts.CJK_REVIEW
    assert all(len(p) <= 1000 for p in pieces)
    assert all(p[-1] in "。！？" for p in pieces)


# ---------------------------------------------------------------------------- spoilers


@pytest.mark.parametrize(
    ("raw", "wrapped"),
    [
        ("plain", "||plain||"),
        ("a||b", "||a\\|\\|b||"),
        ("|x|", "||\\|x\\|||"),
        ("C:\\", "||C:\\\\||"),
        ("\\|", "||\\\\\\|||"),
        ("a\\b", "||a\\b||"),
    ],
)
def test_spoiler_wrap_escapes_pipes_and_closing_backslashes(raw: str, wrapped: str) -> None:
    assert spoiler_wrap(raw) == wrapped
    assert spoiler_unwrap(wrapped) == raw


@pytest.mark.parametrize("bad", ["plain", "|", "||a|b||", "||a\\||"])
def test_spoiler_unwrap_refuses_what_wrap_cannot_make(bad: str) -> None:
    with pytest.raises(ValueError):
        spoiler_unwrap(bad)


def test_split_for_spoilers_counts_the_escapes() -> None:
    text = texts.PIPES_REVIEW
    pieces = split_for_spoilers(text, 30)
    assert "".join(pieces) == text
    assert max(len(spoiler_wrap(p)) for p in pieces) <= 30
    # Pipes cost double once escaped, so plain splitting at 26 would overflow some blocks.
    assert max(len(spoiler_wrap(p)) for p in split_body(text, 26)) > 30
    with pytest.raises(ValueError):
        split_for_spoilers(text, 5)


# ---------------------------------------------------------------------------- properties

ATOMS = [
    "word",
    "longerword",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\n \n",
    ". ",
    "! ",
    "。",
    "|",
    "||",
    "\\",
    "😭",
    "👨\u200d👧",
    "🇰🇷",
    "e\u0301",
    "<@123>",
    "<:popcorn:1>",
    "```",
    "## ",
    "`",
    "[link](https://x.y/z)",
    "https://example.org/a/b?c=d",
]
review_like = st.lists(st.sampled_from(ATOMS), max_size=300).map("".join)
texts_strategy = st.one_of(review_like, st.text(max_size=400))


@settings(max_examples=300, deadline=None)
@given(text=texts_strategy, limit=st.integers(min_value=1, max_value=120))
def test_property_split_body(text: str, limit: int) -> None:
    pieces = split_body(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= limit for p in pieces)


@settings(max_examples=300, deadline=None)
@given(text=texts_strategy, limit=st.integers(min_value=6, max_value=120))
def test_property_split_for_spoilers(text: str, limit: int) -> None:
    pieces = split_for_spoilers(text, limit)
    wrapped = [spoiler_wrap(p) for p in pieces]
    assert all(p for p in pieces)
    assert all(len(w) <= limit for w in wrapped)
    assert all(safely_escaped(w[2:-2]) for w in wrapped)
    assert "".join(spoiler_unwrap(w) for w in wrapped) == text


@settings(max_examples=300, deadline=None)
@given(text=texts_strategy)
def test_property_spoiler_round_trip(text: str) -> None:
    wrapped = spoiler_wrap(text)
    assert safely_escaped(wrapped[2:-2])
    assert spoiler_unwrap(wrapped) == text


short_line = st.text(max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    body=texts_strategy.filter(bool),
    spoilers=st.booleans(),
    description_limit=st.integers(min_value=10, max_value=400),
    total_limit=st.integers(min_value=200, max_value=1500),
    max_embeds=st.integers(min_value=1, max_value=10),
    author=short_line,
    label=short_line,
    headline=st.none() | short_line,
    rating=st.none() | st.integers(min_value=1, max_value=10),
)
def test_property_plan_review(
    *,
    body: str,
    spoilers: bool,
    description_limit: int,
    total_limit: int,
    max_embeds: int,
    author: str,
    label: str,
    headline: str | None,
    rating: int | None,
) -> None:
    header = ReviewHeader(author, label, headline, rating)
    plans = plan_review(
        header,
        body,
        spoilers=spoilers,
        description_limit=description_limit,
        message_total_limit=total_limit,
        max_embeds=max_embeds,
    )
    assert_plan_ok(
        plans,
        body,
        spoilers=spoilers,
        description_limit=description_limit,
        total_limit=total_limit,
        max_embeds=max_embeds,
    )


# ---------------------------------------------------------------------------- planning


def test_plan_short_review_is_one_embed_with_the_header() -> None:
    body = "Short and sweet. ||The dad dies.||"
    [message] = plan_review(HEADER, body, spoilers=False)
    assert message.embeds == (
        EmbedPlan(
            title="Miracle in Cell No. 7 (2013) — Break and heal",
            author="Alice",
            description=body,
            footer=None,
            fields=(("Rating", "7/10 ★★★½"),),
        ),
    )


def test_plan_short_spoiler_review_is_one_spoiler_block() -> None:
    [message] = plan_review(HEADER, "The dad || dies.", spoilers=True)
    assert [e.description for e in message.embeds] == ["||The dad \\|\\| dies.||"]


def test_plan_without_headline_or_rating() -> None:
    header = ReviewHeader("Bob", "Miracle in Cell No. 7 (2019)", None, None)
    [message] = plan_review(header, "Fine.", spoilers=False)
    assert message.embeds[0].title == "Miracle in Cell No. 7 (2019)"
    assert message.embeds[0].fields == ()


def test_plan_uses_one_embed_up_to_the_description_limit() -> None:
    body = "x" * EMBED_DESCRIPTION_LIMIT
    plans = plan_review(HEADER, body, spoilers=False)
    assert [len(p.embeds) for p in plans] == [1]
    plans = plan_review(HEADER, body + "y", spoilers=False)
    assert [len(p.embeds) for p in plans] == [2]
    assert_plan_ok(plans, body + "y", spoilers=False)


def test_plan_shortens_long_author_and_headline_safely() -> None:
    header = ReviewHeader(
        "**Very** _long_ name " * 20,
        "Miracle in Cell No. 7 (2013)",
        "An extremely long headline that goes on " * 10,
        10,
    )
    [message] = plan_review(header, "Body.", spoilers=False)
    first = message.embeds[0]
    assert first.author is not None and len(first.author) <= EMBED_AUTHOR_LIMIT
    assert first.author.endswith("…") and first.author.startswith("**Very** _long_ name")
    assert first.title is not None and len(first.title) <= EMBED_TITLE_LIMIT
    assert first.title.startswith("Miracle in Cell No. 7 (2013) — An extremely long")
    assert first.title.endswith("…")
    assert first.fields == (("Rating", "10/10 ★★★★★"),)


def test_plan_header_refuses_a_rating_outside_1_to_10() -> None:
    with pytest.raises(ClubError):
        ReviewHeader("Alice", "Movie (2000)", None, 11)


def test_plan_refuses_limits_with_no_room_for_the_body() -> None:
    with pytest.raises(ValueError):
        plan_review(HEADER, "x" * 500, spoilers=False, message_total_limit=60)


@pytest.mark.parametrize("spoilers", [False, True])
def test_plan_long_review(spoilers: bool) -> None:
    body = texts.LONG_REVIEW
    assert 17_000 <= len(body) <= 18_000
    plans = plan_review(HEADER, body, spoilers=spoilers)
    assert_plan_ok(plans, body, spoilers=spoilers)
    # Design: two embeds of about 2,950 characters per message, so ~5,900 per message.
    assert len(plans) == 4
    for plan in plans[:-1]:
        assert len(plan.embeds) == 2
        assert sum(len(e.description) for e in plan.embeds) >= 5000
    # Whose review continues is repeated on every later message; nothing else is.
    assert [p.embeds[0].author for p in plans] == ["Alice"] * len(plans)
    for e in all_embeds(plans):
        assert e.footer is not None and FOOTER.fullmatch(e.footer)
    # Mentions arrive whole, and the member's own spoilers stay closed in the plain version.
    pieces = [
        spoiler_unwrap(e.description) if spoilers else e.description for e in all_embeds(plans)
    ]
    for token in TOKEN.finditer(body):
        assert not ends_inside(pieces, *token.span()), token.group()
    if not spoilers:
        assert all(p.count("||") % 2 == 0 for p in pieces)


def test_plan_puts_as_many_pieces_in_a_message_as_fit() -> None:
    # Paragraph breaks make every piece one paragraph; three of 1,502 fit in 6,000.
    body = "\n\n".join(c * 1500 for c in "abcdefghi")
    plans = plan_review(HEADER, body, spoilers=False)
    assert_plan_ok(plans, body, spoilers=False)
    assert [len(p.embeds) for p in plans] == [3, 3, 3]


def test_plan_counts_footers_and_header_when_packing() -> None:
    # Three pieces of 1,992 are 5,976 characters: they would fit without footers and header.
    body = "\n\n".join(c * 1990 for c in "abcdef")
    plans = plan_review(HEADER, body, spoilers=False)
    assert_plan_ok(plans, body, spoilers=False)
    assert [len(p.embeds) for p in plans] == [2, 2, 2]


def test_plan_makes_room_for_three_digit_part_numbers() -> None:
    # One embed per message, each filling the message: the footer length decides what fits.
    body = "x" * 30_000
    plans = plan_review(HEADER, body, spoilers=False, message_total_limit=300, max_embeds=1)
    assert_plan_ok(plans, body, spoilers=False, total_limit=300, max_embeds=1)
    assert len(plans) >= 100
    assert plans[-1].embeds[0].footer == f"part {len(plans)}/{len(plans)}"
    assert max(p.text_length() for p in plans) == 300  # and the room is used


@pytest.mark.parametrize("spoilers", [False, True])
def test_plan_maximum_length_review(spoilers: bool) -> None:
    body = (texts.LONG_REVIEW * 3)[:MAX_FILE_CHARS]
    plans = plan_review(HEADER, body, spoilers=spoilers)
    assert_plan_ok(plans, body, spoilers=spoilers)
    assert len(plans) <= 8  # at most one message per 5,000 characters


def test_plan_header_never_carries_body_text() -> None:
    body = "UNIQUE-BODY-MARKER " * 600
    plans = plan_review(HEADER, body, spoilers=True)
    for e in all_embeds(plans):
        for text in (e.title, e.author, e.footer, *[v for f in e.fields for v in f]):
            assert "UNIQUE-BODY-MARKER" not in (text or "")
            assert "||" not in (text or "")


# ---------------------------------------------------------------------------- real samples


def sample_texts() -> list[tuple[str, str]]:
    if not SAMPLES.is_dir():
        pytest.skip(f"no sample reviews at {SAMPLES}")
    found = sorted(SAMPLES.glob("*.txt"))
    if not found:
        pytest.skip(f"no sample reviews in {SAMPLES}")
    return [(p.name, decode_review_file(p.read_bytes(), p.name)) for p in found]


@pytest.mark.parametrize("spoilers", [False, True])
def test_real_samples_plan_and_reassemble(spoilers: bool) -> None:
    for name, text in sample_texts():
        plans = plan_review(HEADER, text, spoilers=spoilers)
        assert_plan_ok(plans, text, spoilers=spoilers)
        pieces = [
            spoiler_unwrap(e.description) if spoilers else e.description for e in all_embeds(plans)
        ]
        # The samples' paragraphs are short, so every piece ends at a line break, and each
        # message but the last carries at least 5,000 characters.
        assert all(p.endswith("\n") for p in pieces[:-1]), name
        assert len(plans) == math.ceil(len(text) / 5000), name


def test_real_samples_split_small() -> None:
    for name, text in sample_texts():
        pieces = split_for_spoilers(text, 500)
        assert "".join(pieces) == text, name
        assert all(len(spoiler_wrap(p)) <= 500 for p in pieces), name


def test_a_member_spoiler_too_long_for_one_piece_hides_the_whole_open_review() -> None:
    """Cutting a member's own ||…|| block would show its middle openly; hide all instead."""
    body = "Setup, no spoilers.\n\n||" + ("The ending, at length. " * 400) + "||\n\nAfterword."
    plans = plan_review(HEADER, body, spoilers=False)
    embeds = all_embeds(plans)
    assert len(embeds) > 1
    assert all(e.hidden and e.description.startswith("||") for e in embeds)
    assert all(e.description.endswith("||") for e in embeds)
    assert reassemble(plans) == body


def test_member_spoilers_that_fit_keep_an_open_review_open() -> None:
    body = ("Open talk. " * 300) + "\n\n||short secret||\n\n" + ("More open talk. " * 300)
    plans = plan_review(HEADER, body, spoilers=False)
    embeds = all_embeds(plans)
    assert len(embeds) > 1 and not any(e.hidden for e in embeds)
    assert sum("||short secret||" in e.description for e in embeds) == 1
    assert reassemble(plans) == body
