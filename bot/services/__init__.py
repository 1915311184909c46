"""Use cases. Nothing here imports discord: services take ids and text, return domain objects."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.services.club import ClubService
from bot.services.install import InstallService
from bot.services.movies import MovieService
from bot.services.ratings import RatingService
from bot.services.reviews import ReviewService
from bot.services.watch import WatchService
from bot.storage.database import Database


@dataclass(frozen=True)
class Services:
    club: ClubService
    movies: MovieService
    install: InstallService
    ratings: RatingService
    reviews: ReviewService
    watch: WatchService


def build_services(db: Database, clock: Clock) -> Services:
    return Services(
        club=ClubService(db, clock),
        movies=MovieService(db, clock),
        install=InstallService(db),
        ratings=RatingService(db, clock),
        reviews=ReviewService(db, clock),
        watch=WatchService(db, clock),
    )
