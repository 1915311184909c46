"""Recommendations from the club's ratings: deterministic, never watched, honest reasons."""

from __future__ import annotations

import random
import re
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.recommend import Rating, Recommendation, predict_club, recommend

FAN_REASON = re.compile(
    r"members who rated \*(?P<title>.+)\* 9\+ gave this (?P<avg>\d+\.\d) on average"
)
COUNT_REASON = re.compile(r"(?P<n>\d+) members rated it (?P<avg>\d+\.\d) on average")
ONE_REASON = re.compile(
    r"1 member rated it (?P<score>\d+)/10; with so few ratings it leans on the club average"
)
UNRATED_REASON = re.compile(r"no ratings yet; the club's ratings average (?P<avg>\d+\.\d)")


def clustered_club(seed: int, members: int = 60, movies: int = 80) -> list[Rating]:
    """Two taste clusters over two genres, plus generosity and noise; about 30% density."""
    rng = random.Random(seed)
    genre = [rng.randrange(2) for _ in range(movies)]
    quality = [rng.gauss(0, 1) for _ in range(movies)]
    ratings: list[Rating] = []
    for member in range(members):
        cluster = member % 2
        generosity = rng.gauss(0, 0.5)
        for movie in range(movies):
            if rng.random() < 0.3:
                taste = 1.5 if genre[movie] == cluster else -1.5
                score = round(6 + quality[movie] + taste + generosity + rng.gauss(0, 1))
                ratings.append((1000 + member, movie, min(10, max(1, score))))
    return ratings


def titles_for(movies: int) -> dict[int, str]:
    return {movie: f"Film {movie:03d}" for movie in range(movies)}


# --- determinism -------------------------------------------------------------------------------


def test_same_ratings_in_any_order_give_the_same_recommendations() -> None:
    ratings = clustered_club(1)

    def top5(rows: list[Rating]) -> list[Recommendation]:
        return recommend(rows, candidates=range(80), watched={3, 5, 8}, titles=titles_for(80), k=5)

    expected = top5(ratings)
    assert len(expected) == 5
    rng = random.Random(99)
    for _ in range(5):
        shuffled = ratings[:]
        rng.shuffle(shuffled)
        assert top5(shuffled) == expected
        assert predict_club(shuffled, range(80)) == predict_club(ratings, range(80))
    # candidates and watched are sets: their order and repeats do not matter either
    again = recommend(
        iter(ratings),
        candidates=[*reversed(range(80)), 1, 1],
        watched=[8, 5, 3, 3],
        titles=titles_for(80),
        k=5,
    )
    assert again == expected


def test_ties_go_to_the_lower_movie_id() -> None:
    # Movies 7 and 4 have identical ratings from the same members: equal predictions.
    ratings = [(m, 7, 8) for m in range(5)] + [(m, 4, 8) for m in range(5)]
    ratings += [(m, 1, 5) for m in range(5)]
    recs = recommend(ratings, candidates={7, 4, 1}, watched=(), titles={}, k=3)
    assert [r.movie_id for r in recs] == [4, 7, 1]
    assert recs[0].predicted == recs[1].predicted


# --- watched -----------------------------------------------------------------------------------


def test_watched_movies_are_never_recommended_even_the_best() -> None:
    ratings = clustered_club(2)
    predicted = predict_club(ratings, range(80))
    best_five = sorted(predicted, key=lambda j: (-predicted[j], j))[:5]
    recs = recommend(ratings, candidates=range(80), watched=best_five, titles={}, k=10)
    assert len(recs) == 10
    assert not {r.movie_id for r in recs} & set(best_five)
    assert recs[0].movie_id == sorted(predicted, key=lambda j: (-predicted[j], j))[5]


def test_only_candidates_are_recommended() -> None:
    ratings = clustered_club(3)
    recs = recommend(ratings, candidates={10, 20, 30}, watched={20}, titles={}, k=3)
    assert sorted(r.movie_id for r in recs) == [10, 30]


# --- the Bayesian prior ------------------------------------------------------------------------


@pytest.mark.parametrize("fan_also_rated_the_favourite", [False, True])
def test_one_ten_does_not_beat_forty_ratings_averaging_8_8(
    fan_also_rated_the_favourite: bool,
) -> None:
    favourite, one_hit, filler = 1, 2, range(10, 20)
    forty = [(m, favourite, 9) for m in range(32)] + [(m, favourite, 8) for m in range(32, 40)]
    assert statistics.fmean(score for _, _, score in forty) == pytest.approx(8.8)
    fan = 5 if fan_also_rated_the_favourite else 40
    ratings = [*forty, (fan, one_hit, 10)]
    ratings += [(m, movie, 5 + (m + movie) % 3) for m in range(41) for movie in filler]

    recs = recommend(ratings, candidates={favourite, one_hit}, watched=(), titles={}, k=2)
    assert [r.movie_id for r in recs] == [favourite, one_hit]
    predicted = predict_club(ratings, {favourite, one_hit})
    assert predicted[favourite] > 8.0
    club_mean = statistics.fmean(score for *_, score in ratings)
    # A single 10 moves a movie above the club's mean, but nowhere near 10.
    assert club_mean < predicted[one_hit] < 8.0


def test_many_good_ratings_beat_a_few_perfect_ones() -> None:
    ratings = [(m, 1, 9) for m in range(30)] + [(m, 2, 10) for m in range(2)]
    ratings += [(m, 3, 6) for m in range(30)]
    recs = recommend(ratings, candidates={1, 2, 3}, watched=(), titles={}, k=3)
    assert [r.movie_id for r in recs] == [1, 2, 3]


# --- collaborative filtering -------------------------------------------------------------------


def test_a_movie_only_one_taste_cluster_loves_ranks_below_one_everybody_likes() -> None:
    """Members 0-9 love genre X, members 10-39 dislike it; everyone watched five X movies and
    five neutral ones. The niche movie has the higher raw average (only X fans and two others
    rated it); the broad one is liked the same by both groups. The club as a whole would prefer
    the broad one."""
    fans, others = range(10), range(10, 40)
    x_movies, neutral = range(100, 105), range(200, 205)
    ratings: list[Rating] = []
    for movie in x_movies:
        ratings += [(m, movie, 9 + (m + movie) % 2) for m in fans]
        ratings += [(m, movie, 3 + (m + movie) % 2) for m in others]
    for movie in neutral:
        ratings += [(m, movie, 6 + (m + movie) % 3) for m in [*fans, *others]]
    niche, broad = 1, 2
    ratings += [(m, niche, 10) for m in range(4)] + [(m, niche, 5) for m in (10, 11)]
    ratings += [(m, broad, 8) for m in (4, 5, 6, 12, 13, 14)]
    raw = {j: statistics.fmean(s for _, movie, s in ratings if movie == j) for j in (niche, broad)}
    assert raw[niche] > raw[broad]

    predicted = predict_club(ratings, {niche, broad})
    assert predicted[broad] > predicted[niche] + 0.5
    recs = recommend(ratings, candidates={niche, broad}, watched=(), titles={}, k=1)
    assert [r.movie_id for r in recs] == [broad]


# --- reasons -----------------------------------------------------------------------------------


def _check_reason(rec: Recommendation, ratings: list[Rating], titles: dict[int, str]) -> str:
    """Recompute what the reason states from the raw ratings; return which kind it was."""
    score = {(member, movie): s for member, movie, s in ratings}
    raters = {member for member, movie in score if movie == rec.movie_id}
    if match := FAN_REASON.fullmatch(rec.reason):
        (other,) = [movie for movie, title in titles.items() if title == match["title"]]
        fans = [m for m in raters if score.get((m, other), 0) >= 9]
        assert len(fans) >= 2
        average = statistics.fmean(score[(m, rec.movie_id)] for m in fans)
        assert f"{average:.1f}" == match["avg"]
        return "fans"
    if match := COUNT_REASON.fullmatch(rec.reason):
        assert int(match["n"]) == len(raters)
        average = statistics.fmean(score[(m, rec.movie_id)] for m in raters)
        assert f"{average:.1f}" == match["avg"]
        return "count"
    if match := ONE_REASON.fullmatch(rec.reason):
        (rater,) = raters
        assert score[(rater, rec.movie_id)] == int(match["score"])
        return "one"
    if match := UNRATED_REASON.fullmatch(rec.reason):
        assert not raters
        assert f"{statistics.fmean(score.values()):.1f}" == match["avg"]
        return "unrated"
    if rec.reason == "no ratings in the club yet":
        assert not ratings
        return "empty"
    raise AssertionError(f"unexpected reason {rec.reason!r}")


def test_reasons_state_what_the_data_says() -> None:
    kinds: list[str] = []
    for seed in range(4):
        ratings = clustered_club(seed)
        titles = titles_for(80)
        recs = recommend(ratings, candidates=range(80), watched={0, 1}, titles=titles, k=8)
        assert len(recs) == 8
        for rec in recs:
            assert "\n" not in rec.reason and len(rec.reason) < 200
            kinds.append(_check_reason(rec, ratings, titles))
    assert kinds.count("fans") >= 16  # the neighbour reason is the usual one


def test_reason_falls_back_to_the_movies_own_ratings_without_titles() -> None:
    ratings = clustered_club(5)
    recs = recommend(ratings, candidates=range(80), watched=(), titles={}, k=3)
    for rec in recs:
        assert _check_reason(rec, ratings, {}) == "count"


def test_reason_quotes_a_long_or_multiline_title_on_one_short_line() -> None:
    ratings = clustered_club(6)
    titles = {movie: f"Film {movie}\n{'very ' * 60}long\\" for movie in range(80)}
    recs = recommend(ratings, candidates=range(80), watched=(), titles=titles, k=5)
    fan_reasons = [r.reason for r in recs if r.reason.startswith("members who rated")]
    assert fan_reasons
    for reason in fan_reasons:
        assert "\n" not in reason
        assert len(reason) < 200
        assert "…* 9+ gave this" in reason
        assert "\\…" not in reason  # never cut an escape in half


# --- sparse data -------------------------------------------------------------------------------


def test_no_ratings_at_all() -> None:
    recs = recommend([], candidates={3, 1, 2}, watched=(), titles={}, k=2)
    assert recs == [
        Recommendation(1, 5.5, "no ratings in the club yet"),
        Recommendation(2, 5.5, "no ratings in the club yet"),
    ]
    assert predict_club([], {1, 2}) == {1: 5.5, 2: 5.5}


def test_a_single_rating() -> None:
    loved = recommend([(7, 2, 10)], candidates={1, 2, 3}, watched=(), titles={}, k=3)
    assert [r.movie_id for r in loved] == [2, 1, 3]
    assert loved[0].predicted == 10.0  # the only member rated it 10
    assert (
        loved[0].reason
        == "1 member rated it 10/10; with so few ratings it leans on the club average"
    )
    assert loved[1].reason == "no ratings yet; the club's ratings average 10.0"
    assert loved[1].predicted < 8.0  # one rating says little about the club's other movies

    hated = recommend([(7, 2, 1)], candidates={1, 2, 3}, watched=(), titles={}, k=3)
    assert [r.movie_id for r in hated] == [1, 3, 2]


def test_candidates_nobody_rated_among_rated_ones() -> None:
    ratings = clustered_club(7)
    recs = recommend(ratings, candidates={500, 501, 10}, watched=(), titles={}, k=3)
    assert {r.movie_id for r in recs} == {500, 501, 10}
    unrated = [r for r in recs if r.movie_id in (500, 501)]
    assert unrated[0].predicted == unrated[1].predicted
    assert unrated[0].movie_id == 500
    average = statistics.fmean(s for *_, s in ratings)
    assert unrated[0].reason == f"no ratings yet; the club's ratings average {average:.1f}"


# --- k -----------------------------------------------------------------------------------------


def test_k_larger_than_the_candidates_returns_them_all_best_first() -> None:
    ratings = clustered_club(8)
    recs = recommend(ratings, candidates={4, 9, 15, 16}, watched={9}, titles={}, k=10)
    assert sorted(r.movie_id for r in recs) == [4, 15, 16]
    assert [r.predicted for r in recs] == sorted((r.predicted for r in recs), reverse=True)


@pytest.mark.parametrize(
    ("k", "candidates", "watched"), [(0, {1, 2}, set()), (3, set(), set()), (3, {1}, {1})]
)
def test_nothing_to_recommend(k: int, candidates: set[int], watched: set[int]) -> None:
    assert (
        recommend(clustered_club(9), candidates=candidates, watched=watched, titles={}, k=k) == []
    )


def test_recommend_agrees_with_predict_club() -> None:
    ratings = clustered_club(10)
    recs = recommend(ratings, candidates=range(80), watched=(), titles={}, k=5)
    predicted = predict_club(ratings, range(80))
    assert [r.movie_id for r in recs] == sorted(predicted, key=lambda j: (-predicted[j], j))[:5]
    for rec in recs:
        assert rec.predicted == predicted[rec.movie_id]


# --- properties --------------------------------------------------------------------------------

small_clubs = st.dictionaries(
    keys=st.tuples(st.integers(1, 8), st.integers(1, 12)),  # (member, movie)
    values=st.integers(1, 10),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    scores=small_clubs,
    candidates=st.sets(st.integers(1, 15), max_size=15),
    watched=st.sets(st.integers(1, 15), max_size=6),
    k=st.integers(0, 6),
)
def test_any_small_club(
    scores: dict[tuple[int, int], int], candidates: set[int], watched: set[int], k: int
) -> None:
    ratings = [(member, movie, s) for (member, movie), s in scores.items()]
    titles = {movie: f"T{movie}" for movie in range(16)}
    recs = recommend(ratings, candidates=candidates, watched=watched, titles=titles, k=k)
    ids = [r.movie_id for r in recs]
    assert len(ids) == min(k, len(candidates - watched))
    assert len(set(ids)) == len(ids)
    assert set(ids) <= candidates - watched
    assert all(1.0 <= r.predicted <= 10.0 for r in recs)
    assert [r.predicted for r in recs] == sorted((r.predicted for r in recs), reverse=True)
    for rec in recs:
        assert "\n" not in rec.reason and len(rec.reason) < 200
        _check_reason(rec, ratings, titles)
    assert (
        recommend(
            list(reversed(ratings)), candidates=candidates, watched=watched, titles=titles, k=k
        )
        == recs
    )
