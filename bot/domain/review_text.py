"""Review text: reading review files, splitting long bodies, spoiler blocks and embed layout.

A review body can be up to 40,000 characters, but one embed description holds at most 4,096 and
one message at most 6,000 characters of embed text. :func:`plan_review` decides how a review is
laid out across embeds and messages; everything else here is a building block it uses.

Lengths are counted in code points (Python ``len``). Pure domain code: no Discord, no I/O.

Invariants the tests hold this module to:

* splitting never loses, reorders or adds text: ``"".join(pieces) == text``;
* a spoiler piece is one ``||…||`` block that member text cannot close early, and
  :func:`spoiler_unwrap` gives the member's text back exactly;
* a plan never exceeds a Discord limit, and :func:`reassemble` gives the body back exactly.
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.errors import ClubError
from bot.domain.ratings import check_score, show_score

MAX_MODAL_CHARS = 4000
MAX_FILE_CHARS = 40_000
# Refused before decoding. 40,000 characters are at most 160,000 bytes in UTF-8 or UTF-16
# (4 bytes for an emoji), so no postable file is near this.
MAX_FILE_BYTES = 200_000
MAX_HEADLINE_CHARS = 256

# Discord's limits for what a message may carry.
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TITLE_LIMIT = 256
EMBED_AUTHOR_LIMIT = 256
EMBED_FOOTER_LIMIT = 2048
MESSAGE_EMBED_TEXT_LIMIT = 6000
MESSAGE_EMBED_LIMIT = 10

SPOILER_MARK = "||"
_SPOILER_OVERHEAD = 2 * len(SPOILER_MARK)


class ReviewTextError(ClubError):
    """A review's text cannot be posted as given; the message says what to do instead."""


class ReviewFileError(ReviewTextError):
    """An attached review file cannot be read as review text."""


# --------------------------------------------------------------------------------------------
# Reading what members give us
# --------------------------------------------------------------------------------------------

_FILE_SUFFIXES = (".txt", ".md")
_SAVE_AS_TEXT = "Save the file as UTF-8 text (.txt or .md) and try again."
# Formats members attach by mistake; none of them is text.
_BINARY_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, odt, epub
    b"\xd0\xcf\x11\xe0",  # old Word documents
    b"\x1f\x8b",  # gzip
)
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_TEXT_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_review_file(data: bytes, filename: str) -> str:
    """The review text in an attached file, or :class:`ReviewFileError` saying what to fix.

    Accepts ``.txt`` and ``.md`` in UTF-8 (with or without a byte order mark) or UTF-16 with a
    byte order mark. Newlines become ``\\n`` and trailing newlines are dropped; everything else
    is kept exactly as written.
    """
    if not filename.strip().lower().endswith(_FILE_SUFFIXES):
        raise ReviewFileError(f"A review file must be a .txt or .md file. {_SAVE_AS_TEXT}")
    if len(data) > MAX_FILE_BYTES:
        raise ReviewFileError(
            f"That file is {len(data) // 1000:,} KB; a review file can be at most "
            f"{MAX_FILE_BYTES // 1000} KB ({MAX_FILE_CHARS:,} characters). "
            "Shorten the review and try again."
        )
    if data.startswith(_BINARY_SIGNATURES):
        raise ReviewFileError(
            f"That file is an image or a document, not plain text. {_SAVE_AS_TEXT}"
        )
    text = normalize_newlines(_decode_text(data)).rstrip("\n")
    if not text.strip():
        raise ReviewFileError("That file is empty. Write your review in it and try again.")
    if len(text) > MAX_FILE_CHARS:
        raise ReviewFileError(
            f"That review is {len(text):,} characters; the limit is {MAX_FILE_CHARS:,}. "
            "Shorten it and try again."
        )
    return text


def _decode_text(data: bytes) -> str:
    if data.startswith(_UTF32_BOMS):
        raise ReviewFileError(f"That file is saved as UTF-32. {_SAVE_AS_TEXT}")
    encoding, payload = "utf-8", data
    for bom, bom_encoding in _TEXT_BOMS:
        if data.startswith(bom):
            encoding, payload = bom_encoding, data[len(bom) :]
            break
    else:
        if b"\x00" in data:  # UTF-8 text never has NUL bytes; UTF-16 without a BOM lands here too
            raise ReviewFileError(
                f"That file contains binary data, not plain text. {_SAVE_AS_TEXT}"
            )
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError:
        raise ReviewFileError(
            "That file is not UTF-8 text (it may be saved in an older encoding such as "
            f"Latin-1 or Windows-1252). {_SAVE_AS_TEXT}"
        ) from None
    if "\x00" in text:
        raise ReviewFileError(f"That file contains binary data, not plain text. {_SAVE_AS_TEXT}")
    return text


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def validate_review_body(text: str, max_chars: int) -> str:
    """Review text typed into a modal, trimmed; :class:`ReviewTextError` if empty or too long."""
    body = normalize_newlines(text).strip()
    if not body:
        raise ReviewTextError("Your review is empty. Write your review and try again.")
    if len(body) > max_chars:
        hint = (
            f", or put it in a .txt or .md file and attach it with `file` "
            f"(up to {MAX_FILE_CHARS:,} characters)"
            if max_chars < MAX_FILE_CHARS
            else ""
        )
        raise ReviewTextError(
            f"Your review is {len(body):,} characters; the limit is {max_chars:,}. "
            f"Shorten it{hint} and try again."
        )
    return body


def validate_headline(text: str | None) -> str | None:
    """A review headline, trimmed (None when blank).

    Headlines go into embed titles, where Discord renders no spoiler blocks, so a headline that
    tries to hide a spoiler is refused rather than shown in the open.
    """
    if text is None or not text.strip():
        return None
    headline = " ".join(text.split())
    if SPOILER_MARK in headline:
        raise ReviewTextError(
            "Headlines are always shown openly, so they can't hide spoilers with `||`. "
            "Move the spoiler into the review itself and try again."
        )
    if len(headline) > MAX_HEADLINE_CHARS:
        raise ReviewTextError(
            f"Your headline is {len(headline):,} characters; the limit is "
            f"{MAX_HEADLINE_CHARS}. Shorten it and try again."
        )
    return headline


# --------------------------------------------------------------------------------------------
# Spoiler blocks
# --------------------------------------------------------------------------------------------

# A run of backslashes (maximal: the lookbehind stops a match from starting inside one) that is
# followed by a pipe or by the end of the piece, where the closing ``||`` will follow.
_PIPE_OR_END = re.compile(r"(?<!\\)(\\*)(\||\Z)")


def _escape_match(match: re.Match[str]) -> str:
    backslashes, pipe = match.group(1), match.group(2)
    # k backslashes before a pipe become 2k + 1: k literal backslashes and an escaped pipe.
    # k backslashes at the end become 2k, so they cannot escape the closing delimiter.
    return backslashes * 2 + ("\\|" if pipe else "")


def _unescape_match(match: re.Match[str]) -> str:
    run, pipe = len(match.group(1)), match.group(2)
    if pipe:
        if run % 2 == 0:
            raise ValueError("not a spoiler block made by spoiler_wrap: unescaped '|'")
        return "\\" * (run // 2) + "|"
    if run % 2:
        raise ValueError("not a spoiler block made by spoiler_wrap: odd trailing backslashes")
    return "\\" * (run // 2)


def spoiler_wrap(piece: str) -> str:
    """``piece`` as one Discord spoiler block that nothing inside it can close early.

    Every ``|`` is escaped as ``\\|`` (backslashes just before one are doubled, so they stay
    literal), and backslashes at the very end are doubled so they cannot escape the closing
    ``||``. Rendered, the block shows the member's text; other markdown is left alone.
    """
    return SPOILER_MARK + _PIPE_OR_END.sub(_escape_match, piece) + SPOILER_MARK


def spoiler_unwrap(wrapped: str) -> str:
    """The exact text :func:`spoiler_wrap` was given; ValueError for anything else."""
    if (
        len(wrapped) < _SPOILER_OVERHEAD
        or not wrapped.startswith(SPOILER_MARK)
        or not wrapped.endswith(SPOILER_MARK)
    ):
        raise ValueError("not a spoiler block made by spoiler_wrap")
    inner = wrapped[len(SPOILER_MARK) : -len(SPOILER_MARK)]
    return _PIPE_OR_END.sub(_unescape_match, inner)


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------

# Where a piece may end, best first. A cut goes after the separator, so the separator stays at
# the end of the piece before it.
_BREAKS = (
    # blank lines (which may hold spaces), and the line break before a markdown heading
    re.compile(r"\n(?:[ \t]*\n)+|\n(?=#{1,6} )"),
    re.compile(r"\n+"),
    # sentence ends: punctuation, closing quotes/brackets/emphasis/spoiler marks, then spaces;
    # CJK full stops
    re.compile(r"[.!?…]+[\"'”’»)\]*_~|]*[ \t]+|[。！？]+[」』”’)）]*"),
    re.compile(r"[ \t\u3000]+"),
)
_ANY_BREAK = re.compile(r"[ \t\n\u3000]+")
# Spans a cut should stay out of when there is another choice: code blocks, the member's own
# spoiler blocks, inline code, markdown links, and a heading with the first character of what
# follows it (so a heading never ends a piece).
_KEEP_TOGETHER = re.compile(
    r"```.*?```|\|\|.+?\|\||`[^`\n]+`|\[[^\]\n]{1,256}\]\([^)\s]{1,2048}\)"
    r"|(?<![^\n])#{1,6} [^\n]*\n(?:[ \t]*\n)*.",
    re.DOTALL,
)
# Mentions, channel links, custom emoji, timestamps and command mentions: never cut inside.
_TOKEN = re.compile(
    r"<(?:@[!&]?\d+|#\d+|a?:\w{1,32}:\d+|t:-?\d+(?::[a-zA-Z])?|/[^<>\n]{1,96}:\d+)>"
)
_TOKEN_MAX = 140
# A member's own spoiler block in an open review (an unescaped || … ||).
_MEMBER_SPOILER = re.compile(r"(?<!\\)\|\|.+?(?<!\\)\|\|", re.DOTALL)
_MAX_GRAPHEME_BACKOFF = 32
_ZWJ = "\u200d"


def _extends_previous(ch: str) -> bool:
    """Whether ``ch`` belongs to the grapheme before it (combining mark, emoji modifier...)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0xDC00 <= cp <= 0xDFFF  # low half of a surrogate pair, should one ever get here
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_grapheme_boundary(text: str, i: int) -> bool:
    """A cheap approximation of "cutting at ``i`` does not break a character in two"."""
    if i <= 0 or i >= len(text):
        return True
    before, after = text[i - 1], text[i]
    if (before == "\r" and after == "\n") or before == _ZWJ or _extends_previous(after):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0  # flags are pairs of regional indicators: cut only between pairs
        while i - run - 1 >= 0 and _is_regional_indicator(text[i - run - 1]):
            run += 1
        return run % 2 == 0
    return True


class _Meter:
    """What a slice of the text costs once posted: its length, or its escaped length plus."""

    def __init__(self, text: str, *, spoilers: bool) -> None:
        self._length = len(text)
        # In a spoiler block every '|' gains a backslash, and a backslash gains at most one.
        # Counting both as 2 is exact without backslashes and a safe upper bound with them.
        self._prefix: list[int] | None = (
            list(itertools.accumulate((2 if ch in "|\\" else 1 for ch in text), initial=0))
            if spoilers
            else None
        )

    def cost(self, start: int, end: int) -> int:
        if self._prefix is None:
            return end - start
        return self._prefix[end] - self._prefix[start]

    def window_end(self, start: int, budget: int) -> int:
        """The furthest end such that ``cost(start, end) <= budget``."""
        if self._prefix is None:
            return min(self._length, start + budget)
        return bisect.bisect_right(self._prefix, self._prefix[start] + budget, lo=start) - 1


class _Splitter:
    def __init__(self, text: str, *, spoilers: bool) -> None:
        self.text = text
        self.meter = _Meter(text, spoilers=spoilers)
        spans = [m.span() for m in _KEEP_TOGETHER.finditer(text)]
        self._span_starts = [start for start, _ in spans]
        self._span_ends = [end for _, end in spans]

    def pieces(self, budget_for: Callable[[int], int]) -> list[str]:
        """Split the whole text; piece ``i`` costs at most ``budget_for(i)``."""
        pieces: list[str] = []
        pos = 0
        while pos < len(self.text):
            cut = self.next_cut(pos, budget_for(len(pieces)))
            pieces.append(self.text[pos:cut])
            pos = cut
        return pieces

    def next_cut(self, pos: int, budget: int) -> int:
        """Where the piece starting at ``pos`` should end (greedy, at the best break)."""
        text = self.text
        end = self.meter.window_end(pos, budget)
        if end >= len(text):
            return len(text)
        if end <= pos:
            raise ValueError(f"a budget of {budget} cannot hold the next character")
        # Only breaks in the second half of the window count, so pieces stay reasonably full.
        floor = pos + max(1, (end - pos) // 2)
        for keep_together in (True, False):
            for pattern in _BREAKS:
                cut = self._last_break(pattern, pos, floor, end, keep_together=keep_together)
                if cut:
                    return cut
        return self._break_before_long_word(pos, end, budget) or self._hard_cut(pos, end)

    def _last_break(
        self, pattern: re.Pattern[str], pos: int, floor: int, end: int, *, keep_together: bool
    ) -> int:
        best = 0
        for match in pattern.finditer(self.text, pos, end):
            cut = match.end()
            if cut >= floor and not (keep_together and self._inside_span(cut)):
                best = cut
        return best

    def _inside_span(self, cut: int) -> bool:
        i = bisect.bisect_left(self._span_starts, cut) - 1
        return i >= 0 and self._span_ends[i] > cut

    def _break_before_long_word(self, pos: int, end: int, budget: int) -> int:
        """With no break in the second half of the window, the text there is one long word
        (often a URL). Break before it when it then fits whole in the next piece."""
        text = self.text
        last = 0
        for match in _ANY_BREAK.finditer(text, pos, end):
            last = match.end()
        if last <= pos:
            return 0
        following = _ANY_BREAK.search(text, end)
        word_end = following.start() if following else len(text)
        if word_end == end:  # the window ends exactly where the word does
            return end
        return last if self.meter.cost(last, word_end) <= budget else 0

    def _hard_cut(self, pos: int, end: int) -> int:
        text = self.text
        cut = end
        for match in _TOKEN.finditer(text, max(pos, end - _TOKEN_MAX), end + _TOKEN_MAX):
            if match.start() < cut < match.end():
                if match.start() > pos:
                    cut = match.start()
                break
        candidate = cut
        while candidate > pos and cut - candidate < _MAX_GRAPHEME_BACKOFF:
            if _is_grapheme_boundary(text, candidate):
                return candidate
            candidate -= 1
        return cut


def split_body(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, as few as reasonable.

    Breaks go at blank lines first, then line breaks, then sentence ends, then spaces (only
    breaks in the second half of the space left count, so pieces stay full), and only then
    mid-word, never inside a mention or emoji token or a character. Separators stay at the end
    of the piece before them: ``"".join(split_body(text, n)) == text``. No piece is empty.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return _Splitter(text, spoilers=False).pieces(lambda _i: limit)


def split_for_spoilers(text: str, limit: int) -> list[str]:
    """Like :func:`split_body`, but ``len(spoiler_wrap(piece)) <= limit`` for every piece."""
    if limit < _SPOILER_OVERHEAD + 2:
        raise ValueError(f"limit must be at least {_SPOILER_OVERHEAD + 2}")
    return _Splitter(text, spoilers=True).pieces(lambda _i: limit - _SPOILER_OVERHEAD)


# --------------------------------------------------------------------------------------------
# Laying a review out as embeds and messages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewHeader:
    author_name: str  # display name; shortened to fit an embed author line
    movie_label: str  # "Title (Year)"
    headline: str | None
    rating: int | None  # 1..10

    def __post_init__(self) -> None:
        if self.rating is not None:
            check_score(self.rating)


@dataclass(frozen=True)
class EmbedPlan:
    title: str | None
    author: str | None
    description: str  # a body piece (spoiler-wrapped when the review has spoilers)
    footer: str | None  # "part 2/5" when the body takes more than one embed
    fields: tuple[tuple[str, str], ...] = ()  # (name, value): the rating, on the first embed
    hidden: bool = False  # the description is one whole spoiler block (``spoiler_wrap``)

    def text_length(self) -> int:
        """The characters Discord counts against a message's 6,000 embed-text limit."""
        return (
            len(self.title or "")
            + len(self.author or "")
            + len(self.description)
            + len(self.footer or "")
            + sum(len(name) + len(value) for name, value in self.fields)
        )


@dataclass(frozen=True)
class MessagePlan:
    embeds: tuple[EmbedPlan, ...]

    def text_length(self) -> int:
        return sum(embed.text_length() for embed in self.embeds)


RATING_FIELD_NAME = "Rating"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never mid-character."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and not _is_grapheme_boundary(text, cut):
        cut -= 1
    return text[:cut].rstrip() + "…"


def _title(header: ReviewHeader) -> str:
    title = _shorten(_one_line(header.movie_label), EMBED_TITLE_LIMIT)
    headline = _one_line(header.headline or "")
    joiner = " — "
    room = EMBED_TITLE_LIMIT - len(title) - len(joiner)
    if headline and room >= 8:
        title = f"{title}{joiner}{_shorten(headline, room)}"
    return title


def _footer(part: int, parts: int) -> str:
    return f"part {part}/{parts}"


def _slots(room: int, description_limit: int, footer_room: int, max_embeds: int) -> list[int]:
    """Description budgets for one message with ``room`` characters left after its header.

    Chooses how many embeds to use so the message carries the most text: with Discord's limits
    that is two embeds of about 2,950 characters (5,900 in all) rather than one of 4,096.
    Ties go to fewer embeds.
    """
    best_total, best = 0, [0]
    for count in range(1, max_embeds + 1):
        each = min(description_limit, (room - count * footer_room) // count)
        if each * count > best_total:
            best_total, best = each * count, [each] * count
    return best


def _budgets(first: list[int], later: int, overhead: int) -> Callable[[int], int]:
    """Piece ``i``'s budget: the first message's slots, then every later message's."""

    def budget(i: int) -> int:
        return (first[i] if i < len(first) else later) - overhead

    return budget


def plan_review(
    header: ReviewHeader,
    body: str,
    *,
    spoilers: bool,
    description_limit: int = EMBED_DESCRIPTION_LIMIT,
    message_total_limit: int = MESSAGE_EMBED_TEXT_LIMIT,
    max_embeds: int = MESSAGE_EMBED_LIMIT,
) -> list[MessagePlan]:
    """How to post a review: the messages to send, in order, and the embeds in each.

    The first embed carries the title (``Title (Year) — Headline``), the author and the rating
    field; the first embed of every later message repeats the author so a reader knows whose
    review continues. Every embed's description is one piece of the body (one whole spoiler
    block when ``spoilers``), and every embed has a ``part i/n`` footer when there is more than
    one piece. A body that fits one embed gets exactly one; a longer one is cut into pieces of
    about half a message each so each message carries about 5,900 characters in two embeds.

    An open review is cut outside the member's own ``||…||`` blocks when it can be. When a
    block is too long for one piece, cutting it would show its middle openly (Discord draws no
    spoiler across two embeds), so the whole review is planned hidden instead.
    """
    if not body:
        raise ValueError("a review body cannot be empty")
    if max_embeds < 1:
        raise ValueError("max_embeds must be at least 1")
    title = _title(header)
    author = _shorten(_one_line(header.author_name), EMBED_AUTHOR_LIMIT) or None
    fields = ((RATING_FIELD_NAME, show_score(header.rating)),) if header.rating is not None else ()
    first_header = EmbedPlan(title, author, "", None, fields).text_length()
    later_header = len(author or "")
    wrap = spoiler_wrap if spoilers else None
    overhead = _SPOILER_OVERHEAD if spoilers else 0

    whole = len(wrap(body)) if wrap else len(body)
    if whole <= description_limit and first_header + whole <= message_total_limit:
        pieces = [body]
    else:
        splitter = _Splitter(body, spoilers=spoilers)
        footer_room = len(_footer(99, 99))
        while True:  # until the footers we made room for are as long as the real ones
            first = _slots(
                message_total_limit - first_header, description_limit, footer_room, max_embeds
            )
            later = _slots(
                message_total_limit - later_header, description_limit, footer_room, max_embeds
            )
            smallest = min(*first, *later) - overhead
            if smallest < (2 if spoilers else 1):
                raise ValueError("these limits leave no room for the review body")
            pieces = splitter.pieces(_budgets(first, later[0], overhead))
            if len(_footer(len(pieces), len(pieces))) <= footer_room:
                break
            footer_room = len(_footer(len(pieces), len(pieces)))
        if not spoilers and _cuts_a_member_spoiler(body, pieces):
            return plan_review(
                header,
                body,
                spoilers=True,
                description_limit=description_limit,
                message_total_limit=message_total_limit,
                max_embeds=max_embeds,
            )

    messages: list[list[EmbedPlan]] = []
    used = 0
    parts = len(pieces)
    for number, piece in enumerate(pieces, start=1):
        description = wrap(piece) if wrap else piece
        footer = _footer(number, parts) if parts > 1 else None
        embed = EmbedPlan(None, None, description, footer, hidden=spoilers)
        current = messages[-1] if messages else None
        if (
            current is None
            or len(current) >= max_embeds
            or used + embed.text_length() > message_total_limit
        ):
            if messages:
                embed = EmbedPlan(None, author, description, footer, hidden=spoilers)
            else:
                embed = EmbedPlan(title, author, description, footer, fields, hidden=spoilers)
            if embed.text_length() > message_total_limit:
                raise ValueError("these limits leave no room for the review body")
            messages.append([embed])
            used = embed.text_length()
        else:
            current.append(embed)
            used += embed.text_length()
    return [MessagePlan(tuple(embeds)) for embeds in messages]


def _cuts_a_member_spoiler(body: str, pieces: list[str]) -> bool:
    cuts = list(itertools.accumulate(len(piece) for piece in pieces))[:-1]
    spans = [m.span() for m in _MEMBER_SPOILER.finditer(body)]
    return any(start < cut < end for cut in cuts for start, end in spans)


def reassemble(plans: list[MessagePlan]) -> str:
    """The body a plan was made from, exactly."""
    return "".join(
        spoiler_unwrap(embed.description) if embed.hidden else embed.description
        for plan in plans
        for embed in plan.embeds
    )
