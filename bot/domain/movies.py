"""Movies: what a title and a year may be, how they are shown and how they are matched."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.errors import InvalidInput

MAX_TITLE_CHARS = 200
EARLIEST_YEAR = 1870  # the oldest surviving motion pictures
YEARS_AHEAD = 5  # announced films may be added a few years before release

# Characters that are invisible or reorder text; a title holding them looks like another title.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

MovieSort = Literal["recent", "top", "title"]  # the orders /movie list offers


@dataclass(frozen=True)
class Movie:
    id: int
    guild_id: int
    title: str
    year: int | None
    added_by: int
    card_channel_id: int | None = None
    card_message_id: int | None = None
    thread_id: int | None = None

    @property
    def label(self) -> str:
        return movie_label(self.title, self.year)

    @property
    def has_card(self) -> bool:
        return self.card_channel_id is not None and self.card_message_id is not None


def movie_label(title: str, year: int | None) -> str:
    """``Title (Year)`` — the one way a movie is named everywhere."""
    return f"{title} ({year})" if year is not None else f"{title} (year unknown)"


def clean_title(raw: str) -> str:
    """The title as it will be stored: NFC, no invisible or control characters, single spaces.

    Markdown and mentions are kept as typed (a film may really be called ``*batteries not
    included``); they are escaped when shown and never ping, because the bot allows no mentions.
    """
    text = unicodedata.normalize("NFC", raw)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    if not fold(text):  # empty, or only accents and other marks
        raise InvalidInput("The title is empty. Type the movie's title, e.g. `Parasite`.")
    if len(text) > MAX_TITLE_CHARS:
        raise InvalidInput(
            f"That title is {len(text)} characters long; the limit is {MAX_TITLE_CHARS}. "
            "Shorten it and try again."
        )
    return text


def check_year(year: int | None, now: datetime) -> int | None:
    if year is None:
        return None
    latest = now.year + YEARS_AHEAD
    if not EARLIEST_YEAR <= year <= latest:
        raise InvalidInput(
            f"{year} is not a release year I can use: give a year from {EARLIEST_YEAR} to {latest}."
        )
    return year


def fold(text: str) -> str:
    """A key for matching: case-, accent- and spacing-insensitive (``Amélie`` == ``amelie``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _INVISIBLE.sub("", stripped)
    return _SPACES.sub(" ", stripped.casefold()).strip()


_LABEL = re.compile(r"^(?P<title>.+?)\s*\((?P<year>\d{4})\)\s*$")


def split_label(text: str) -> tuple[str, int | None]:
    """``"Parasite (2019)"`` -> ``("Parasite", 2019)``; a bare title has no year."""
    match = _LABEL.match(text.strip())
    if match:
        return match["title"], int(match["year"])
    return text.strip(), None
