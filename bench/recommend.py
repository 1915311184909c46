"""Benchmark for bot/domain/recommend.py: recommendation quality on synthetic clubs against
popularity baselines, then timing at 500 members x 5,000 movies x 100,000 ratings.

    python bench/recommend.py          (from the repository root)
    python -m bench.recommend

Everything is seeded. The recommender's constants were chosen on clubs with seeds 100..115;
the figures printed here come from seeds 0..99, which were not used for choosing anything.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stats import Summary, ratio, time_calls
from bot.domain.recommend import Rating, predict_club, recommend

K = 3
HIT_THRESHOLD = 8.0
MIN_HELD_OUT = 2  # held-out ratings a pick needs to be judged at all
HOLD_OUT = 0.2
PRIOR = 5.0  # pseudo-ratings at the mean in the damped-mean baseline, as in the recommender
QUALITY_CLUBS = 100
TIMING_RUNS = 15
# How strongly members choose what to watch by how much they expect to like it (0: at random).
REGIMES = {
    "members mostly watch what they expect to like (selection 0.5)": 0.5,
    "members watch at random (selection 0)": 0.0,
}


@dataclass(frozen=True)
class Club:
    ratings: list[Rating]
    watched: frozenset[int]
    movies: int
    truth: dict[int, float]  # each movie's noise-free rating averaged over all members


def synthetic_club(
    seed: int,
    *,
    members: int,
    movies: int,
    ratings_per_member: float,
    selection: float,
    total: int | None = None,
    with_truth: bool = True,
) -> Club:
    """A club with taste clusters: 4 clusters of members, 8 genres of movies. Member ``u`` in
    cluster ``c`` rates movie ``j`` of genre ``g``
    ``round(6.2 + quality_j + taste[c][g] + generosity_u + N(0, 1))``, clipped to 1..10.

    Who rates what: 4% of the movies are past picks, each rated by about 60% of the members
    whatever their taste; the rest are drawn by popularity (Zipf-like) times
    ``exp(selection * (quality_j + taste[c][g]))``, so with ``selection`` > 0 members mostly
    watch what they expect to like. ``total`` keeps that many ratings, chosen at random."""
    rng = random.Random(seed)
    genres, clusters = 8, 4
    genre = [rng.randrange(genres) for _ in range(movies)]
    quality = [rng.gauss(0.0, 0.9) for _ in range(movies)]
    taste = [[rng.gauss(0.0, 1.3) for _ in range(genres)] for _ in range(clusters)]
    weights = [rng.uniform(0.5, 1.5) for _ in range(clusters)]
    cluster = rng.choices(range(clusters), weights=weights, k=members)
    generosity = [rng.gauss(0.0, 0.7) for _ in range(members)]
    activity = [rng.lognormvariate(0.0, 0.6) for _ in range(members)]
    scale = ratings_per_member / (sum(activity) / members)
    order = list(range(movies))
    rng.shuffle(order)
    popularity = [0.0] * movies
    for rank, movie in enumerate(order):
        popularity[movie] = 1.0 / (rank + 20) ** 0.9
    watched = frozenset(rng.sample(order[: movies // 5], max(1, movies // 25)))
    movie_ids = list(range(movies))
    appeal = [
        [popularity[j] * math.exp(selection * (quality[j] + taste[c][genre[j]])) for j in movie_ids]
        for c in range(clusters)
    ]

    def expected(u: int, j: int) -> float:
        return 6.2 + quality[j] + taste[cluster[u]][genre[j]] + generosity[u]

    ratings: list[Rating] = []
    for u in range(members):
        seen = {j for j in watched if rng.random() < 0.6}
        wanted = max(1, round(activity[u] * scale))
        seen.update(rng.choices(movie_ids, weights=appeal[cluster[u]], k=wanted))
        for j in sorted(seen):
            score = round(expected(u, j) + rng.gauss(0.0, 1.0))
            ratings.append((u, j, min(10, max(1, score))))
    if total is not None:
        if len(ratings) < total:
            raise ValueError(f"generated {len(ratings)} ratings, fewer than {total}")
        keep = sorted(rng.sample(range(len(ratings)), total))
        ratings = [ratings[i] for i in keep]
    truth: dict[int, float] = {}
    if with_truth:
        truth = {
            j: sum(min(10.0, max(1.0, expected(u, j))) for u in range(members)) / members
            for j in movie_ids
        }
    return Club(ratings=ratings, watched=watched, movies=movies, truth=truth)


def split(ratings: Sequence[Rating], seed: int) -> tuple[list[Rating], list[Rating]]:
    rng = random.Random(seed)
    train: list[Rating] = []
    test: list[Rating] = []
    for rating in ratings:
        (test if rng.random() < HOLD_OUT else train).append(rating)
    return train, test


# --- the methods ---------------------------------------------------------------------------------


def _sums(ratings: Sequence[Rating]) -> tuple[dict[int, int], dict[int, int]]:
    sums: dict[int, int] = {}
    counts: dict[int, int] = {}
    for _, movie, score in ratings:
        sums[movie] = sums.get(movie, 0) + score
        counts[movie] = counts.get(movie, 0) + 1
    return sums, counts


def top_by_damped_mean(ratings: Sequence[Rating], pool: Sequence[int], k: int) -> list[int]:
    """The baseline: count-weighted (Bayesian) mean ``(sum + PRIOR * mean) / (count + PRIOR)``."""
    sums, counts = _sums(ratings)
    n = sum(counts.values())
    mu = sum(sums.values()) / n if n else 5.5
    return sorted(
        pool, key=lambda j: (-(sums.get(j, 0) + PRIOR * mu) / (counts.get(j, 0) + PRIOR), j)
    )[:k]


def top_by_mean(ratings: Sequence[Rating], pool: Sequence[int], k: int) -> list[int]:
    """Highest raw mean; more ratings, then the lower id, break ties."""
    sums, counts = _sums(ratings)
    rated = [j for j in pool if j in counts]
    return sorted(rated, key=lambda j: (-sums[j] / counts[j], -counts[j], j))[:k]


def top_by_count(ratings: Sequence[Rating], pool: Sequence[int], k: int) -> list[int]:
    """Most ratings."""
    _, counts = _sums(ratings)
    return sorted(pool, key=lambda j: (-counts.get(j, 0), j))[:k]


def top_by_recommender(ratings: Sequence[Rating], pool: Sequence[int], k: int) -> list[int]:
    return [r.movie_id for r in recommend(ratings, candidates=pool, watched=(), titles={}, k=k)]


OURS = "recommender (ours)"
BASELINE = "damped mean (baseline)"
METHODS: dict[str, Callable[[Sequence[Rating], Sequence[int], int], list[int]]] = {
    OURS: top_by_recommender,
    BASELINE: top_by_damped_mean,
    "raw mean": top_by_mean,
    "most rated": top_by_count,
}


# --- quality -------------------------------------------------------------------------------------


@dataclass
class Score:
    hits: list[int] = field(default_factory=list)  # per club
    held_out_means: list[float] = field(default_factory=list)  # per judged pick
    club_hits: list[int] = field(default_factory=list)  # per club
    club_means: list[float] = field(default_factory=list)  # per club: mean over its picks

    def add(self, picks: list[int], held: dict[int, list[int]], truth: dict[int, float]) -> None:
        hits = 0
        for movie in picks:
            scores = held.get(movie, [])
            if len(scores) >= MIN_HELD_OUT:
                mean = statistics.fmean(scores)
                self.held_out_means.append(mean)
                hits += mean >= HIT_THRESHOLD
        self.hits.append(hits)
        self.club_hits.append(sum(truth[movie] >= HIT_THRESHOLD for movie in picks))
        self.club_means.append(statistics.fmean(truth[movie] for movie in picks))

    def row(self, name: str) -> str:
        slots = K * len(self.hits)
        held_mean = statistics.fmean(self.held_out_means) if self.held_out_means else math.nan
        return (
            f"   {name:<24} {sum(self.hits) / slots:>8.3f} {len(self.held_out_means):>4}/{slots:<4}"
            f" {held_mean:>8.2f} {sum(self.club_hits) / slots:>9.3f}"
            f" {statistics.fmean(self.club_means):>9.2f}"
        )


QUALITY_DEFINITIONS = f"""\
   Each club: 200 members, 1,000 movies, ~14k ratings (see synthetic_club); 40 movies are past
   picks (watched) and never candidates. {HOLD_OUT:.0%} of each club's ratings are held out at
   random; every method sees the rest and ranks the 960 unwatched movies; its top {K} are scored.
   held-out p@{K}   hits / ({K} x clubs); a hit is a pick whose held-out ratings average
                  >= {HIT_THRESHOLD:.0f} (fewer than {MIN_HELD_OUT} held-out ratings: a miss)
   judged         picks with at least {MIN_HELD_OUT} held-out ratings
   held-out mean  the mean, over judged picks, of their held-out average
   club p@{K}       as held-out p@{K}, but a hit is a pick whose rating averaged over ALL 200
                  members is >= {HIT_THRESHOLD:.0f}: the generator's noise-free rating, known only
                  because the club is synthetic; what the whole club would give it as a pick
   club mean      that all-member rating, averaged over the picks
   baseline       damped mean (sum + {PRIOR:g} x mean) / (count + {PRIOR:g}), the same prior
                  strength as ours; raw mean and most rated for reference"""


def _paired(ours: Sequence[float], base: Sequence[float]) -> str:
    diffs = [a - b for a, b in zip(ours, base, strict=True)]
    mean = statistics.fmean(diffs)
    error = 2 * statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
    return f"{mean:+.3f} ± {error:.3f}"


def quality(clubs: int) -> None:
    print(f"== quality: {clubs} seeded clubs per regime (seeds 0..{clubs - 1}), top {K}")
    print(QUALITY_DEFINITIONS)
    for regime, selection in REGIMES.items():
        scores = {name: Score() for name in METHODS}
        ratings = 0
        for seed in range(clubs):
            club = synthetic_club(
                seed, members=200, movies=1000, ratings_per_member=60, selection=selection
            )
            ratings += len(club.ratings)
            train, test = split(club.ratings, seed=10_000 + seed)
            held: dict[int, list[int]] = {}
            for _, movie, value in test:
                held.setdefault(movie, []).append(value)
            pool = [j for j in range(club.movies) if j not in club.watched]
            for name, method in METHODS.items():
                scores[name].add(method(train, pool, K), held, club.truth)
        print(f"\n   {regime}; {ratings / clubs:,.0f} ratings per club on average")
        print(
            f"   {'method':<24} {'held-out':>8} {'judged':>9} {'held-out':>8} {'club':>9}"
            f" {'club':>9}\n   {'':<24} {'p@3':>8} {'':>9} {'mean':>8} {'p@3':>9} {'mean':>9}"
        )
        for name, score in scores.items():
            print(score.row(name))
        ours, base = scores[OURS], scores[BASELINE]
        print(
            "   ours - baseline, per club (mean ± 2 standard errors):"
            f" held-out hits {_paired(ours.hits, base.hits)},"
            f" club hits {_paired(ours.club_hits, base.club_hits)},"
            f" club mean {_paired(ours.club_means, base.club_means)}"
        )


# --- timing --------------------------------------------------------------------------------------


def timing(runs: int) -> None:
    members, movies, total = 500, 5000, 100_000
    club = synthetic_club(
        7,
        members=members,
        movies=movies,
        ratings_per_member=100,
        selection=0.5,
        total=total,
        with_truth=False,
    )
    ratings = club.ratings
    pool = [j for j in range(movies) if j not in club.watched]
    titles = {j: f"Movie {j}" for j in range(movies)}
    print(
        f"\n== timing: {members} members x {movies:,} movies x {len(ratings):,} ratings"
        f" (selection 0.5); {len(pool):,} candidates, {len(club.watched)} watched"
    )

    def baseline() -> None:
        top_by_damped_mean(ratings, pool, K)

    def ours() -> None:
        recommend(ratings, candidates=pool, watched=club.watched, titles=titles, k=K)

    def pick_fallback() -> None:
        predict_club(ratings, pool[:10])

    started = time.perf_counter()
    base = Summary.of(time_calls(baseline, runs))
    mine = Summary.of(time_calls(ours, runs))
    fallback = Summary.of(time_calls(pick_fallback, runs))
    print("   " + base.line("damped-mean baseline (one pass)"))
    print("   " + mine.line("recommend(), k=3"))
    print("   " + fallback.line("predict_club(), 10-movie pool"))
    print(
        f"   recommend() / baseline: median {ratio(mine.median, base.median)},"
        f" p99 {ratio(mine.p99, base.p99)}"
        f"   (p99 interpolates between the two slowest of {runs} runs)"
    )
    print(f"   timing section: {time.perf_counter() - started:.1f} s")


def main() -> None:
    started = time.perf_counter()
    quality(QUALITY_CLUBS)
    timing(TIMING_RUNS)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
