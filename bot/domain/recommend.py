"""Recommendations from the club's own ratings: the movies the whole club would rate highest.

The model, for member ``u`` and movie ``j`` (ratings are integers 1-10, one per member and movie)::

    rating(u, j) = mu + b_u + b_j + taste(u, j)

* ``mu`` is the club's mean rating, ``b_u`` how generous member ``u`` is, ``b_j`` how good movie
  ``j`` is. All three are Bayesian estimates with a prior of pseudo-ratings: ``PRIOR_CLUB`` at the
  scale's midpoint behind ``mu``, ``PRIOR_MEMBER`` / ``PRIOR_MOVIE`` at zero behind ``b_u`` /
  ``b_j``. So a movie with a single 10 stays near the club mean, while one with forty ratings
  averaging 8.8 keeps nearly all of its lead.
* ``taste(u, j)`` is item-item collaborative filtering: the similarity-weighted average of ``u``'s
  residuals (rating minus ``mu + b_u + b_i``) on the ``NEIGHBOURS`` movies ``i`` most similar to
  ``j``, shrunk toward zero by ``TASTE_PRIOR``. Similarity is the adjusted cosine of two movies'
  residual vectors, damped by ``n / (n + SIM_SHRINK)`` for ``n`` co-raters (significance
  weighting); only positive similarities count. ``b_j`` is estimated net of its raters' predicted
  taste, so a movie seen mostly by the members who like its kind is not taken for one that the
  whole club likes.

A movie's predicted club rating is the mean over every member who has rated anything: their own
rating where they gave one, the model's prediction otherwise.

Cost: the biases take a few passes over the ratings. Similarities are only computed for one movie
at a time, against the movies its raters rated (never all pairs), so :func:`recommend` first
ranks every candidate by the model without ``taste`` (one pass over the candidates' ratings) and
computes ``taste`` for the best ``SHORTLIST`` of those; :func:`predict_club` computes it for every
candidate it is given.

Deterministic: the result depends on the set of ratings, not their order (sums are exact with
``math.fsum`` or run in id order), and equal predictions go to the lower movie id.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

MIN_SCORE = 1
MAX_SCORE = 10
MIDPOINT = 5.5  # the middle of the scale: the prediction when the club has no ratings at all

PRIOR_CLUB = 10.0  # pseudo-ratings at MIDPOINT behind the club mean mu
PRIOR_MEMBER = 5.0  # pseudo-ratings behind every member's generosity b_u
PRIOR_MOVIE = 5.0  # pseudo-ratings behind every movie's quality b_j: the Bayesian prior
SIM_SHRINK = 10.0  # co-raters at which a similarity counts half
NEIGHBOURS = 30  # nearest movies used for a member's taste
TASTE_PRIOR = 1.0  # similarity mass of a zero residual added to every taste estimate
SHORTLIST = 60  # candidates whose taste term recommend() computes (at least 10 * k)

FAN_SCORE = 9  # "members who rated X 9+"
MIN_FANS = 2  # a statement about "members" needs at least two of them
MIN_FAN_AVERAGE = 7.0  # only cite fans who liked this movie
MAX_TITLE = 80  # characters of a title quoted in a reason
_EPSILON = 1e-12

Rating = tuple[int, int, int]  # (member_id, movie_id, score)


@dataclass(frozen=True)
class Recommendation:
    movie_id: int
    predicted: float  # predicted club rating, 1-10
    reason: str  # one line; quotes other movies' titles verbatim between asterisks


class _ClubModel:
    """Biases and per-movie neighbourhoods fitted to one club's ratings."""

    def __init__(self, ratings: Iterable[Rating]) -> None:
        by_member: dict[int, dict[int, int]] = {}
        for member, movie, score in ratings:
            row = by_member.get(member)
            if row is None:
                row = by_member[member] = {}
            row[movie] = score  # one rating per member per movie: the last one wins
        by_movie: dict[int, dict[int, int]] = {}
        for member in sorted(by_member):  # columns list their raters in id order
            for movie, score in by_member[member].items():
                col = by_movie.get(movie)
                if col is None:
                    col = by_movie[movie] = {}
                col[member] = score
        self.by_member = by_member
        self.by_movie = by_movie
        self.members = len(by_member)
        count = sum(len(row) for row in by_member.values())
        total = sum(sum(row.values()) for row in by_member.values())
        self.average = total / count if count else None  # what members actually gave
        self.mu = (total + PRIOR_CLUB * MIDPOINT) / (count + PRIOR_CLUB)
        self.movie_sum = {movie: sum(col.values()) for movie, col in by_movie.items()}

        # Alternating Bayesian estimates of generosity and quality; fsum keeps them independent
        # of the order the ratings came in.
        mu = self.mu
        member_excess = {m: sum(row.values()) - len(row) * mu for m, row in by_member.items()}
        movie_excess = {j: self.movie_sum[j] - len(col) * mu for j, col in by_movie.items()}
        b_movie: dict[int, float] = dict.fromkeys(by_movie, 0.0)
        b_member: dict[int, float] = {}
        raters_bias: dict[int, float] = {}
        for _ in range(2):
            for m, row in by_member.items():
                others = math.fsum(map(b_movie.__getitem__, row))
                b_member[m] = (member_excess[m] - others) / (len(row) + PRIOR_MEMBER)
            for j, col in by_movie.items():
                raters_bias[j] = math.fsum(map(b_member.__getitem__, col))
                b_movie[j] = (movie_excess[j] - raters_bias[j]) / (len(col) + PRIOR_MOVIE)
        self.b_member = b_member
        self.b_movie = b_movie
        self.raters_bias = raters_bias  # sum of b_u over each movie's raters
        self.member_bias_total = math.fsum(b_member.values())
        self._residual_rows: dict[int, dict[int, float]] = {}
        self._norms: dict[int, float] = {}

    # -- pieces ------------------------------------------------------------------------------

    def residual_row(self, member: int) -> dict[int, float]:
        """``rating - (mu + b_u + b_i)`` for every movie the member rated."""
        row = self._residual_rows.get(member)
        if row is None:
            base = self.mu + self.b_member[member]
            b_movie = self.b_movie
            row = {i: s - base - b_movie[i] for i, s in self.by_member[member].items()}
            self._residual_rows[member] = row
        return row

    def norm(self, movie: int) -> float:
        """The length of a movie's residual vector over its raters."""
        norm = self._norms.get(movie)
        if norm is None:
            base = self.mu + self.b_movie[movie]
            b_member = self.b_member
            col = self.by_movie[movie]
            norm = math.sqrt(math.fsum((s - base - b_member[u]) ** 2 for u, s in col.items()))
            self._norms[movie] = norm
        return norm

    def _club_mean(self, movie: int, b_movie: float, nonrater_taste: float) -> float:
        """Mean over members: actual ratings for raters, ``mu + b_u + b_movie + taste`` else."""
        if not self.members:
            return MIDPOINT
        col = self.by_movie.get(movie, {})
        outsiders = self.members - len(col)
        total = (
            self.movie_sum.get(movie, 0)
            + outsiders * (self.mu + b_movie)
            + (self.member_bias_total - self.raters_bias.get(movie, 0.0))
            + nonrater_taste
        )
        return min(float(MAX_SCORE), max(float(MIN_SCORE), total / self.members))

    def baseline(self, movie: int) -> float:
        """The predicted club rating without the taste term: one pass over the movie's raters."""
        return self._club_mean(movie, self.b_movie.get(movie, 0.0), 0.0)

    def similarities(self, movie: int) -> dict[int, float]:
        """Damped adjusted-cosine similarity of ``movie`` to every movie its raters rated."""
        col = self.by_movie.get(movie)
        norm_j = self.norm(movie) if col else 0.0
        if not col or norm_j < _EPSILON:
            return {}
        dots: dict[int, float] = {}
        co_raters: Counter[int] = Counter()
        get = dots.get
        for member in col:  # member id order: float sums are reproducible
            row = self.residual_row(member)
            z_j = row[movie]
            co_raters.update(row.keys())
            if z_j == 0.0:
                continue
            for i, z_i in row.items():
                dots[i] = get(i, 0.0) + z_i * z_j
        dots.pop(movie, None)
        sims: dict[int, float] = {}
        for i, dot in dots.items():
            if dot <= 0.0:
                continue
            norm_i = self.norm(i)
            if norm_i < _EPSILON:
                continue
            n = co_raters[i]
            sims[i] = dot / (norm_i * norm_j) * n / (n + SIM_SHRINK)
        return sims

    def predict(self, movie: int) -> float:
        """The predicted club rating, with each member's taste for ``movie``."""
        sims = self.similarities(movie)
        if not sims:
            return self.baseline(movie)
        neighbours = heapq.nlargest(NEIGHBOURS, sims.items(), key=lambda kv: (kv[1], -kv[0]))
        weighted: dict[int, float] = {}
        mass: dict[int, float] = {}
        mu, b_member = self.mu, self.b_member
        for i, s in neighbours:
            base = mu + self.b_movie[i]
            for u, score in self.by_movie[i].items():
                weighted[u] = weighted.get(u, 0.0) + s * (score - base - b_member[u])
                mass[u] = mass.get(u, 0.0) + s
        col = self.by_movie[movie]
        rater_taste: list[float] = []
        outsider_taste: list[float] = []
        for u, w in weighted.items():
            (rater_taste if u in col else outsider_taste).append(w / (mass[u] + TASTE_PRIOR))
        # The movie's own quality, net of how much its raters were expected to like it anyway.
        b_movie = (
            self.movie_sum[movie] - len(col) * mu - self.raters_bias[movie] - math.fsum(rater_taste)
        ) / (len(col) + PRIOR_MOVIE)
        return self._club_mean(movie, b_movie, math.fsum(outsider_taste))

    # -- reasons -----------------------------------------------------------------------------

    def reason(self, movie: int, titles: Mapping[int, str]) -> str:
        """One true line about the data behind ``movie``'s prediction.

        Preferably about its most similar movie (the neighbour with the largest weight in the
        members' taste) whose fans, at least ``MIN_FANS`` members who rated it ``FAN_SCORE``+
        and also rated this movie, gave this movie ``MIN_FAN_AVERAGE`` or more on average.
        Otherwise about this movie's own ratings, or the club's when it has none.
        """
        col = self.by_movie.get(movie, {})
        fans = self._fan_averages(movie)
        for i, _ in sorted(self.similarities(movie).items(), key=lambda kv: (-kv[1], kv[0])):
            found = fans.get(i)
            title = _quote(titles.get(i, ""))
            if found is None or not title:
                continue
            fan_count, fan_average = found
            if fan_count >= MIN_FANS and fan_average >= MIN_FAN_AVERAGE:
                return (
                    f"members who rated *{title}* {FAN_SCORE}+ gave this {fan_average:.1f}"
                    " on average"
                )
        if len(col) >= 2:
            average = self.movie_sum[movie] / len(col)
            return f"{len(col)} members rated it {average:.1f} on average"
        if len(col) == 1:
            (score,) = col.values()
            return f"1 member rated it {score}/10; with so few ratings it leans on the club average"
        if self.average is not None:
            return f"no ratings yet; the club's ratings average {self.average:.1f}"
        return "no ratings in the club yet"

    def _fan_averages(self, movie: int) -> dict[int, tuple[int, float]]:
        """For each other movie ``i``: how many members rated ``i`` 9+ and this movie, and their
        average rating of this movie."""
        sums: dict[int, int] = {}
        counts: dict[int, int] = {}
        for member, score in self.by_movie.get(movie, {}).items():
            for i, other in self.by_member[member].items():
                if other >= FAN_SCORE and i != movie:
                    sums[i] = sums.get(i, 0) + score
                    counts[i] = counts.get(i, 0) + 1
        return {i: (n, sums[i] / n) for i, n in counts.items()}


def _quote(title: str) -> str:
    """A title on one line, short enough for a one-line reason."""
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip("\\ ") + "…"
    return title


def _ranked(predicted: Mapping[int, float]) -> list[int]:
    """Highest first; equal predictions (to 1e-9) go to the lower movie id."""
    return sorted(predicted, key=lambda j: (-round(predicted[j], 9), j))


def predict_club(ratings: Iterable[Rating], candidates: Collection[int]) -> dict[int, float]:
    """The predicted club rating (1-10) of every candidate: the mean over all members who have
    rated anything of their rating, or the model's prediction where they have none."""
    model = _ClubModel(ratings)
    return {movie: model.predict(movie) for movie in sorted(set(candidates))}


def recommend(
    ratings: Iterable[Rating],
    *,
    candidates: Collection[int],
    watched: Collection[int],
    titles: Mapping[int, str],
    k: int = 3,
) -> list[Recommendation]:
    """Up to ``k`` candidates the club has not watched, best predicted club rating first.

    ``titles`` maps movie ids to the titles quoted in reasons (pass them escaped for the markup
    the reasons end up in); a movie without a title is never quoted. Only the best
    ``max(SHORTLIST, 10 * k)`` candidates by the model without taste get the full prediction.
    """
    pool = sorted(set(candidates) - set(watched))
    if k <= 0 or not pool:
        return []
    model = _ClubModel(ratings)
    baseline = {movie: model.baseline(movie) for movie in pool}
    shortlist = _ranked(baseline)[: max(SHORTLIST, 10 * k)]
    predictions = {movie: model.predict(movie) for movie in shortlist}
    return [
        Recommendation(movie, predictions[movie], model.reason(movie, titles))
        for movie in _ranked(predictions)[:k]
    ]
