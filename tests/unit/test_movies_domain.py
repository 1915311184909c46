"""Titles, years, labels, matching and the rating scale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.movies import Movie, check_year, clean_title, fold, movie_label, split_label
from bot.domain.ratings import RatingSummary, emoji_for_score, score_for_emoji, stars
from bot.domain.search import rank_movies

NOW = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  Miracle   in Cell\tNo. 7 ", "Miracle in Cell No. 7"),
        ("Par\u200basite", "Parasite"),  # zero-width space
        ("\ufeffAme\u0301lie", "Amélie"),  # BOM and a combining accent, NFC-composed
        ("@everyone watch this", "@everyone watch this"),  # kept; mentions never ping
        ("**Bold** _title_", "**Bold** _title_"),
        ("Robert'); DROP TABLE movies;--", "Robert'); DROP TABLE movies;--"),
    ],
)
def test_clean_title_keeps_what_was_meant(raw: str, stored: str) -> None:
    assert clean_title(raw) == stored


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\u200b", "\u0301", "\u0301\u0308 ", "a" * 201])
def test_clean_title_refuses_blank_and_overlong(raw: str) -> None:
    with pytest.raises(InvalidInput):
        clean_title(raw)


def test_overlong_title_message_says_the_limit() -> None:
    with pytest.raises(InvalidInput, match="300 characters long; the limit is 200"):
        clean_title("x" * 300)


@pytest.mark.parametrize("year", [1700, 1869, 2032, 3000])
def test_years_out_of_range_are_refused(year: int) -> None:
    with pytest.raises(InvalidInput, match="from 1870 to 2031"):
        check_year(year, NOW)


def test_years_in_range_pass() -> None:
    assert check_year(1870, NOW) == 1870
    assert check_year(2031, NOW) == 2031
    assert check_year(None, NOW) is None


def test_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("  AMÉLIE ") == fold("amelie") == "amelie"
    assert fold("Miracle  in cell no. 7") == fold("miracle in Cell No. 7")


def test_labels_round_trip() -> None:
    assert movie_label("Heat", 1995) == "Heat (1995)"
    assert split_label("Heat (1995)") == ("Heat", 1995)
    assert split_label("Heat") == ("Heat", None)
    assert split_label("2001: A Space Odyssey (1968)") == ("2001: A Space Odyssey", 1968)


def _movie(i: int, title: str, year: int | None) -> Movie:
    return Movie(i, 1, title, year, 1)


CATALOG = [
    _movie(1, "Miracle in Cell No. 7", 2013),
    _movie(2, "Miracle in Cell No. 7", 2019),
    _movie(3, "Amélie", 2001),
    _movie(4, "The Miracle Worker", 1962),
    _movie(5, "Parasite", 2019),
]


def test_search_prefix_then_word_then_fuzzy() -> None:
    found = rank_movies("miracle", CATALOG)
    assert [m.id for m in found][:2] == [1, 2]  # title prefix first, catalog order kept
    assert found[2].id == 4  # a later word
    assert [m.id for m in rank_movies("amelie", CATALOG)] == [3]  # accent-insensitive
    assert rank_movies("PARSITE", CATALOG)[0].id == 5  # a typo
    assert [m.id for m in rank_movies("miracle 2019", CATALOG)] == [2]  # the year narrows


def test_search_limit_and_empty_query() -> None:
    many = [_movie(i, f"Film {i}", 2000) for i in range(40)]
    assert len(rank_movies("film", many)) == 25
    assert [m.id for m in rank_movies("", many, limit=3)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "shown"), [(10, "★★★★★"), (8, "★★★★"), (7, "★★★½"), (1, "½"), (7.4, "★★★½")]
)
def test_half_stars(value: float, shown: str) -> None:
    assert stars(value) == shown


def test_score_emoji_round_trip_and_others_ignored() -> None:
    for score in range(1, 11):
        assert score_for_emoji(emoji_for_score(score)) == score
    assert score_for_emoji("1\u20e3") == 1  # keycap without the variation selector
    assert score_for_emoji("👍") is None


def test_summary_average_and_histogram() -> None:
    summary = RatingSummary.from_scores([8, 8, 7, 10])
    assert summary.votes == 4
    assert summary.average == pytest.approx(8.25)
    assert summary.headline() == "8.2/10 ★★★★ · 4 votes"
    lines = summary.histogram().splitlines()
    assert lines[0].startswith("10 ") and lines[0].endswith(" 1")
    assert lines[2] == " 8 ████████████ 2"
    assert RatingSummary.from_scores([]).headline() == "No ratings yet"
