"""MovieService and ClubService against a real migrated database."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.errors import Duplicate, InvalidInput, NotFound
from bot.services import Services
from bot.services.movies import CHOICE_PREFIX

GUILD = 111
OTHER_GUILD = 222


async def test_add_then_duplicate_points_at_the_card(services: Services) -> None:
    movie = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    await services.movies.attach_card(movie, 10, 20)
    with pytest.raises(Duplicate) as caught:
        await services.movies.add_entry(GUILD, 2, "  miracle IN cell no. 7 ", 2013)
    assert caught.value.link == f"https://discord.com/channels/{GUILD}/10/20"
    assert "Miracle in Cell No. 7 (2013) is already in the catalog." in str(caught.value)
    remake = await services.movies.add_entry(GUILD, 2, "Miracle in Cell No. 7", 2019)
    assert remake.id != movie.id
    assert (await services.movies.page(GUILD, "recent", 0)).total == 2


async def test_same_title_in_another_guild_is_another_movie(services: Services) -> None:
    await services.movies.add_entry(GUILD, 1, "Heat", 1995)
    await services.movies.add_entry(OTHER_GUILD, 1, "Heat", 1995)
    assert (await services.movies.page(OTHER_GUILD, "title", 0)).total == 1


async def test_missing_year_with_same_title_asks_which(services: Services) -> None:
    await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    with pytest.raises(InvalidInput, match=r"Miracle in Cell No\. 7 \(2013\).*Give the `year`"):
        await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", None)
    assert (await services.movies.page(GUILD, "recent", 0)).total == 1


async def test_concurrent_adds_of_one_movie_store_it_once(services: Services) -> None:
    results = await asyncio.gather(
        *(services.movies.add_entry(GUILD, m, "Parasite", 2019) for m in range(8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Duplicate) for r in results if isinstance(r, BaseException))
    assert (await services.movies.page(GUILD, "recent", 0)).total == 1


@pytest.mark.parametrize(
    ("title", "year"), [("", 2000), ("x" * 300, 2000), ("Ok", 1700), ("Ok", 3000)]
)
async def test_bad_input_leaves_the_catalog_unchanged(
    services: Services, title: str, year: int
) -> None:
    with pytest.raises(InvalidInput):
        await services.movies.add_entry(GUILD, 1, title, year)
    assert (await services.movies.page(GUILD, "recent", 0)).total == 0


async def test_resolve_by_choice_label_and_title(services: Services) -> None:
    a = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2013)
    b = await services.movies.add_entry(GUILD, 1, "Miracle in Cell No. 7", 2019)
    c = await services.movies.add_entry(GUILD, 1, "Amélie", 2001)
    assert await services.movies.resolve(GUILD, f"{CHOICE_PREFIX}{b.id}") == b
    assert await services.movies.resolve(GUILD, "Miracle in Cell No. 7 (2013)") == a
    assert await services.movies.resolve(GUILD, "amelie") == c
    with pytest.raises(InvalidInput, match="More than one movie matches"):
        await services.movies.resolve(GUILD, "miracle in cell no. 7")
    with pytest.raises(NotFound, match="Did you mean Amélie"):
        await services.movies.resolve(GUILD, "Amelei")
    with pytest.raises(NotFound):  # another guild's id is not a way in
        await services.movies.resolve(OTHER_GUILD, f"{CHOICE_PREFIX}{a.id}")


async def test_paging_clamps_and_sorts(services: Services) -> None:
    for i in range(23):
        await services.movies.add_entry(GUILD, 1, f"Film {i:02d}", 2000)
    first = await services.movies.page(GUILD, "title", 0)
    assert (first.pages, len(first.rows), first.rows[0][0].title) == (3, 10, "Film 00")
    last = await services.movies.page(GUILD, "title", 99)
    assert (last.page, len(last.rows)) == (2, 3)
    assert (await services.movies.page(GUILD, "title", -5)).page == 0


async def test_configure_changes_only_given_options(services: Services) -> None:
    await services.club.configure(GUILD, movies_channel_id=5, timezone="Europe/Berlin")
    updated = await services.club.configure(GUILD, reviews_channel_id=6)
    assert (updated.movies_channel_id, updated.reviews_channel_id) == (5, 6)
    assert updated.timezone == "Europe/Berlin"
    assert await services.club.settings(GUILD) == updated


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "../../etc/passwd", "Berlin", "Europe", "America", "Etc"]
)
async def test_bad_timezone_is_refused_and_nothing_changes(services: Services, zone: str) -> None:
    with pytest.raises(InvalidInput, match="IANA"):
        await services.club.configure(GUILD, movies_channel_id=9, timezone=zone)
    assert (await services.club.settings(GUILD)).movies_channel_id is None


async def test_timezone_hint_names_the_zone_and_case_does_not_matter(services: Services) -> None:
    with pytest.raises(InvalidInput, match="Did you mean Europe/Berlin"):
        await services.club.configure(GUILD, timezone="Berlin")
    assert (await services.club.configure(GUILD, timezone="europe/berlin")).timezone == (
        "Europe/Berlin"
    )
