"""A club with something in every table, written through the repositories, and a snapshot of
what the repositories return for it: the data of the tests that move a club between backends.

Two guilds; movies with cards and spoiler threads (one deleted, so the ids have a gap); ratings
by reaction and by command; the reactions last seen on the cards; reviews with their posted
messages (a spoiler review also in its thread) and helpful votes; a watch pool, a schedule, two
posted weekly runs with their polls' answers and counts, and one run still open. Discord ids use
all 64 bits; text has accents, emoji, quotes, ``||`` and newlines; a predicted score is a float
that decimal text would round.
"""

from __future__ import annotations

from typing import Any

from bot.domain.club import ClubSettings
from bot.domain.movies import fold
from bot.domain.ratings import BatchPlan
from bot.domain.reviews import PostedPart, ReviewDraft
from bot.domain.watch import PickPlan
from bot.storage.database import Database

GUILD = 1_339_000_000_000_000_001
OTHER_GUILD = 1_339_000_000_000_000_777
GUILDS = (GUILD, OTHER_GUILD)
CHANNEL = GUILD + 10
MEMBERS = [GUILD + 100 + n for n in range(24)]
META = {"commands_signature": "5f1c…e9", "synced_at": "2026-11-21T18:00:00+00:00"}
MOVIES = [
    ("Miracle in Cell No. 7", 2013),
    ("Miracle in Cell No. 7", 2019),
    ("Heat", 1995),
    ("Amélie", 2001),
    ("A film nobody remembers", None),
    ("Ikiru", 1952),
]
DELETED = 4  # index in MOVIES: removed again, leaving a gap in the ids
PREDICTED = 22 / 3  # 7.333…: exact only if the float itself is copied


def at(day: int, hour: int = 18) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00+00:00"


async def fill(db: Database) -> None:
    """Write the club into ``db`` (a freshly migrated, empty database)."""
    async with db.session() as s:
        for key, value in META.items():
            await s.meta.set(key, value)
        await s.club.save(
            ClubSettings(GUILD, CHANNEL, CHANNEL + 1, CHANNEL + 2, "Europe/Berlin"), at(1)
        )
        await s.club.save(ClubSettings(OTHER_GUILD), at(2))
        ids = []
        for n, (title, year) in enumerate(MOVIES):
            movie = await s.movies.add(
                GUILD,
                title=title,
                title_key=fold(title),
                year=year,
                added_by=MEMBERS[n],
                added_at=at(3 + n),
            )
            await s.movies.set_card(movie.id, CHANNEL, GUILD + 1000 + n)
            await s.movies.set_thread(movie.id, GUILD + 2000 + n)
            ids.append(movie.id)
        await s.movies.delete(ids[DELETED])
        del ids[DELETED]
        other = await s.movies.add(
            OTHER_GUILD, title="Heat", title_key="heat", year=1995, added_by=7, added_at=at(4)
        )
        await s.ratings.put(other.id, 7, 6, "command", at(5))

        plan = BatchPlan()
        for m, movie_id in enumerate(ids):
            for n, member in enumerate(MEMBERS[: 6 + 4 * m]):
                score = (n * 7 + m * 3) % 10 + 1
                if n % 3 == 0:
                    await s.ratings.put(movie_id, member, score, "command", at(10, n % 24))
                else:
                    plan.upserts[(movie_id, member)] = score
                    plan.seen_add.add((movie_id, member, score))
        plan.seen_add.add((ids[0], MEMBERS[1], 3))  # a second number still on a card
        await s.ratings.apply(plan, at(11))

        drafts = [
            ReviewDraft(
                "It **wrecked** me.\n\n> “Daddy!”\n\nEmoji: 😭🎬", "Bring tissues", 9, False
            ),
            ReviewDraft("The ending: ||he is executed||.\n\n" + "Long. " * 2000, None, 7, True),
            ReviewDraft("Shot for shot, but 'flatter'.", 'A "remake"', None, False),
            ReviewDraft("Gone in a moment.", None, 2, False),
        ]
        reviews = []
        for n, draft in enumerate(drafts):
            movie_id = ids[0] if n < 2 else ids[1]
            review = await s.reviews.add(movie_id, MEMBERS[n], draft, at(12 + n))
            parts = [PostedPart(CHANNEL + 1, GUILD + 3000 + 10 * n + p, p, False) for p in (0, 1)]
            if draft.spoilers:
                parts.append(PostedPart(GUILD + 2000, GUILD + 3500 + n, 0, True))
            await s.reviews.replace_parts(review.id, parts)
            reviews.append(review)
        await s.reviews.delete(reviews[3].id)  # a gap in the review ids too
        for member in MEMBERS[5:12]:
            await s.reviews.add_vote(reviews[0].id, member)
        await s.reviews.add_vote(reviews[1].id, MEMBERS[9])

        for n, movie_id in enumerate(ids[2:]):
            await s.watch.add_to_pool(GUILD, movie_id, MEMBERS[n], at(14, n))
        await s.watch.save_schedule(GUILD, 4, "20:30", CHANNEL + 2, at(1))
        first = await s.movies.by_id(ids[0])
        second = await s.movies.by_id(ids[1])
        assert first is not None and second is not None
        weeks = [
            ("2026-W45", PickPlan(first, MEMBERS[0], at(3), "predicted", None, PREDICTED)),
            ("2026-W46", PickPlan(second, MEMBERS[1], at(4), "poll", 5, None)),
        ]
        for n, (week, pick) in enumerate(weeks):
            run = await s.watch.start_run(
                GUILD,
                week,
                channel_id=CHANNEL + 2,
                started_at=at(15 + n),
                pick=pick,
                poll_state="planned",
                poll_movie_ids=ids[2:],
            )
            await s.watch.mark_posted(
                run, at(15 + n, 19), GUILD + 4000 + n, GUILD + 4100 + n, GUILD + 2000 + n
            )
            await s.watch.record_poll_counts(run, {1: 2 + n, 2: 5})
        await s.watch.start_run(
            GUILD,
            "2026-W47",
            channel_id=CHANNEL + 2,
            started_at=at(17),
            pick=None,
            poll_state="too_few_movies",
            poll_movie_ids=[],
        )


async def snapshot(db: Database) -> dict[str, Any]:
    """What the repositories return for the club: equal on two databases if the club is."""
    out: dict[str, Any] = {}
    async with db.reader() as s:
        out["meta"] = {key: await s.meta.get(key) for key in META}
        out["states"] = await s.watch.schedule_states()
        for guild in GUILDS:
            out[f"{guild} settings"] = await s.club.get(guild)
            movies = await s.movies.all_for_guild(guild)
            out[f"{guild} movies"] = movies
            for sort in ("recent", "top", "title"):
                out[f"{guild} page {sort}"] = await s.movies.page(guild, sort, 0, 50)
            out[f"{guild} summaries"] = await s.movies.summaries([m.id for m in movies])
            out[f"{guild} ratings"] = sorted(await s.ratings.all_for_guild(guild))
            for movie in movies:
                out[f"{movie.id} reviews"] = await s.reviews.page(movie.id, None, 0, 50)
                out[f"{movie.id} seen"] = await s.ratings.seen_on_card(movie.id)
            out[f"{guild} pool"] = await s.watch.pool(guild)
            out[f"{guild} schedule"] = await s.watch.schedule(guild)
            runs = await s.watch.posted_runs(guild, 50)
            out[f"{guild} posted"] = runs
            out[f"{guild} open"] = await s.watch.open_runs(guild)
            for run in runs:
                out[f"{run.id} answers"] = await s.watch.poll_answers(run.id)
    return out


async def shout_timezones_on_insert(url: str) -> None:
    """A trigger on the PostgreSQL database at ``url`` that changes every guild_settings row as
    it is copied in: what a copy that does not arrive intact looks like."""
    import asyncpg  # only the PostgreSQL tests use this; they are left out without it

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE FUNCTION shout() RETURNS trigger AS $$ BEGIN "
            "NEW.timezone := upper(NEW.timezone); RETURN NEW; END $$ LANGUAGE plpgsql; "
            "CREATE TRIGGER shout BEFORE INSERT ON guild_settings "
            "FOR EACH ROW EXECUTE FUNCTION shout()"
        )
    finally:
        await conn.close()
