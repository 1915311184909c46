"""Ranking a guild's catalog against what a member is typing (autocomplete and lookups)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import TypeVar

from bot.domain.movies import Movie, fold

T = TypeVar("T")

AUTOCOMPLETE_LIMIT = 25
_FUZZY_FLOOR = 0.55
_TRAILING_YEAR = re.compile(r"^(?P<rest>.*?)\s*\(?(?P<year>1[89]\d\d|2[01]\d\d)\)?$")


def match_rank(query: str, title: str, year: int | None) -> float | None:
    """Lower is better; None means no match. ``query`` must already be folded.

    Prefix of the title beats the prefix of a later word, which beats a substring, which beats a
    fuzzy match (typos, missing letters). A year typed after the title narrows the match.
    """
    key = fold(title)
    label = f"{key} {year}" if year is not None else key
    if not query:
        return 0.0
    if key.startswith(query) or label.startswith(query):
        return 0.0 + len(key) / 1000
    if any(word.startswith(query) for word in key.split()):
        return 1.0 + len(key) / 1000
    if query in label:
        return 2.0 + label.index(query) / 1000
    ratio = SequenceMatcher(None, query, key[: len(query) + 3]).ratio()
    whole = SequenceMatcher(None, query, key).ratio()
    best = max(ratio, whole)
    if best >= _FUZZY_FLOOR or _is_subsequence(query.replace(" ", ""), key):
        return 3.0 + (1.0 - best)
    return None


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return len(needle) >= 3 and all(ch in it for ch in needle)


def _split_year(folded: str) -> tuple[str, int | None]:
    """``"miracle 2019"`` or ``"miracle (2019)"`` -> ``("miracle", 2019)``."""
    match = _TRAILING_YEAR.match(folded)
    if match and match["rest"]:
        return match["rest"], int(match["year"])
    return folded, None


def rank_movies(
    query: str, movies: Iterable[Movie], limit: int = AUTOCOMPLETE_LIMIT
) -> list[Movie]:
    """The best ``limit`` matches, best first; equal matches by title, then oldest year first
    (the original before its remakes). An empty query keeps the catalog's order (newest first).
    A year typed after the title keeps only the movies of that year.
    """
    folded, year = _split_year(fold(query))
    scored: list[tuple[float, str, int, int, Movie]] = []
    for position, movie in enumerate(movies):
        if year is not None and movie.year != year:
            continue
        rank = match_rank(folded, movie.title, movie.year)
        if rank is None:
            continue
        if folded:
            scored.append((rank, fold(movie.title), movie.year or 0, position, movie))
        else:
            scored.append((rank, "", 0, position, movie))
    scored.sort(key=lambda item: item[:4])
    return [item[4] for item in scored[:limit]]
