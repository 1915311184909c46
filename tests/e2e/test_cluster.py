"""The acceptance test of running Reel Club as a cluster: two ``python -m bot`` processes with one
shard each, on one PostgreSQL database, against the emulator with two shards — then one process
running both shards on the same database.

Everything is real except Discord: the processes (tests/emulator/process.py), the PostgreSQL
server (tests/pgcluster.py), the bot's own waits (card edits 2 s apart, logins 5 s apart per
bucket, as in production). The emulator judges the logins on real time (Discord's 5 s per
bucket, ``max_concurrency`` 1, so both shards share bucket 0); its other rate limits run
LIMITS_SPEED times faster, as in every e2e test that is not about request pacing.

One test, in phases that build on each other (each needs the club the one before left):

1. both processes start at the same moment; Discord sees their logins paced, and each guild's
   events go only to the process that runs its shard;
2. in four guilds (two per shard) an admin sets the club up and adds movies; fifty members
   react on every card at once (ratings, swaps, removals): the ratings are exact per guild, the
   old numbers of a swap are tidied away, every card shows its exact summary;
3. a review (the form) and "Hide as spoiler" in a guild of each shard;
4. ``/club pick-now`` in every guild: one weekly post each, also when asked again; then a
   schedule whose slot this week has passed, which no scheduler tick posts again;
5. the shard-0 process is killed (``kill -9``) in the middle of a second burst; the other one
   carries on. Started again, it reconciles its own cards: the ratings are exact again (the
   reactions made while it was dead included), the swaps whose tidy died with it are tidied,
   still one post each;
6. both stopped, one process runs both shards on the same database: still exact, still one post.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.domain.ratings import SCORE_EMOJI, RatingSummary
from bot.ui.embeds import ratings_block
from tests.conftest import fresh_pg_database
from tests.e2e.conftest import LIMITS_SPEED, eventually
from tests.emulator import BotProcess, Emulator, FastTime, GuildState, MemberState, RealTime
from tests.emulator.ids import shard_of
from tests.emulator.logins import IDENTIFY_WINDOW, INVALID_SESSION
from tests.pgcluster import Cluster

if TYPE_CHECKING:
    import asyncpg

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHARDS = 2
MEMBERS = 50
TITLES = (("Parasite", 2019), ("Heat", 1995), ("Alien", 1979))
READY = " ready as "
START_WITHIN = 40.0  # a login may wait its turn behind another process's (5 s a bucket)
EXACT_WITHIN = 30.0
WEEKLY = re.compile(r"Weekly pick · (\d{4}-W\d\d)")
RECONCILED = re.compile(r"every active card is reconciled \([\d.]+ s after READY; (\d+) cards")


# -- the world and the processes -----------------------------------------------------------------
@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """Two shards, one login bucket; logins judged on real time (see the module docstring)."""
    emulator = Emulator(
        limit_clock=FastTime(LIMITS_SPEED),
        identify_clock=RealTime(),
        shards=SHARDS,
        max_concurrency=1,
    )
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def four_guilds(emu: Emulator) -> list[GuildState]:
    """The world's first guild and three more, two on each shard."""
    first = emu.world.guild
    mine = shard_of(first.id, SHARDS)
    other = 1 - mine
    more = [(mine, "club two"), (other, "club three"), (other, "club four")]
    return [first, *(emu.world.add_guild(name, shard=(s, SHARDS)) for s, name in more)]


def bot_process(
    emu: Emulator, url: str, cwd: Path, shard_ids: list[int] | None = None
) -> BotProcess:
    """``python -m bot`` on the shared database with SHARD_COUNT=2 and these SHARD_IDS (None:
    every shard), whatever the caller's environment says (an empty value is an unset one).
    No DEV_GUILD_ID: commands are synced globally, by the process that runs shard 0."""
    env = {
        "DATABASE_URL": url,
        "DATABASE_PATH": "",
        "DEV_GUILD_ID": "",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPO),  # the bot runs in ``cwd``, away from any developer's .env
    }
    if shard_ids is None:
        env["SHARD_IDS"] = ""
    return BotProcess(emu, "bot", env=env, cwd=cwd, shard_count=SHARDS, shard_ids=shard_ids)


def clean(process: BotProcess) -> None:
    """Nothing went wrong in the process's own eyes: no traceback, no logged error."""
    bad = [line for line in process.lines if "Traceback" in line or " ERROR " in line]
    assert bad == [], process.output


def reconciled(process: BotProcess) -> set[int]:
    """The card counts of every reconciliation the process logged."""
    return {int(m[1]) for line in process.lines if (m := RECONCILED.search(line))}


# -- what the club holds -------------------------------------------------------------------------
@dataclass(frozen=True)
class Card:
    movie_id: int
    guild: GuildState
    label: str
    channel_id: int
    message_id: int


Key = tuple[int, int]  # (movie id, member id)


@dataclass
class Club:
    """The test's model of the four clubs: what the database and the cards must show."""

    guilds: list[GuildState]
    members: dict[int, list[MemberState]]  # guild id -> its fifty members
    cards: list[Card] = field(default_factory=list)
    expected: dict[Key, int] = field(default_factory=dict)  # every member's rating

    def cards_of(self, guilds: Iterable[GuildState]) -> list[Card]:
        ids = {g.id for g in guilds}
        return [c for c in self.cards if c.guild.id in ids]

    def on_shard(self, shard_id: int) -> list[GuildState]:
        return [g for g in self.guilds if shard_of(g.id, SHARDS) == shard_id]

    def summary(self, movie_id: int) -> RatingSummary:
        return RatingSummary.from_scores(
            [s for (m, _), s in self.expected.items() if m == movie_id]
        )


@dataclass(frozen=True)
class Act:
    """One member's reaction, added or removed, on one card."""

    card: Card
    member: MemberState
    score: int
    added: bool = True


async def perform(emu: Emulator, acts: list[Act]) -> None:
    """As fast as the gateway takes them, yielding now and then so the bot reads while we send."""
    for index, act in enumerate(acts):
        emoji = SCORE_EMOJI[act.score - 1]
        if act.added:
            await emu.react(act.member, act.card.channel_id, act.card.message_id, emoji)
        else:
            await emu.unreact(act.member, act.card.channel_id, act.card.message_id, emoji)
        if index % 100 == 99:
            await asyncio.sleep(0)


async def ratings(db: asyncpg.Connection, cards: list[Card]) -> dict[Key, int]:
    rows = await db.fetch(
        "SELECT movie_id, member_id, score FROM ratings WHERE movie_id = ANY($1::bigint[])",
        [c.movie_id for c in cards],
    )
    return {(r["movie_id"], r["member_id"]): r["score"] for r in rows}


def shown(emu: Emulator, card: Card) -> dict[str, Any]:
    message = emu.world.message(card.channel_id, card.message_id)
    assert message is not None, f"the card of {card.label} is gone"
    embed: dict[str, Any] = message["embeds"][0]
    return embed


async def assert_exact(
    emu: Emulator, db: asyncpg.Connection, club: Club, guilds: list[GuildState] | None = None
) -> None:
    """Until the ratings in the database are the expected ones, guild by guild, and every card
    shows its exact summary."""
    cards = club.cards_of(guilds or club.guilds)
    wanted = {k: s for k, s in club.expected.items() if k[0] in {c.movie_id for c in cards}}

    async def exact() -> None:
        found = await ratings(db, cards)
        for guild in guilds or club.guilds:
            movies = {c.movie_id for c in club.cards_of([guild])}
            mine = {k: s for k, s in found.items() if k[0] in movies}
            assert mine == {k: s for k, s in wanted.items() if k[0] in movies}, guild.name
        for card in cards:
            assert shown(emu, card)["description"] == ratings_block(club.summary(card.movie_id))

    await eventually(exact, EXACT_WITHIN)


def reactions_of(emu: Emulator, card: Card, member: MemberState) -> set[int]:
    return {
        score
        for score in range(1, 11)
        if member.id in emu.world.reaction_users(card.message_id, SCORE_EMOJI[score - 1])
    }


async def tidied(emu: Emulator, club: Club) -> None:
    """Each member has only their rating's number on each card: the bot removed the old number
    of every swap."""
    for card in club.cards:
        for member in club.members[card.guild.id]:
            score = club.expected.get((card.movie_id, member.id))
            assert reactions_of(emu, card, member) == ({score} if score else set()), (
                card.label,
                shard_of(card.guild.id, SHARDS),
                member.id,
                card.movie_id,
            )


def receivers(emu: Emulator) -> dict[int, set[int]]:
    """Guild id -> the shards of the gateway sessions that were sent any event of that guild."""
    found: dict[int, set[int]] = {}
    for session in emu.gateway.sessions.values():
        for frame in session.sent():
            data = frame["d"]
            guild_id = data["id"] if frame["t"] == "GUILD_CREATE" else data.get("guild_id")
            if guild_id is not None:
                found.setdefault(int(guild_id), set()).add(session.shard_id)
    return found


def weekly_posts(emu: Emulator, guild: GuildState) -> tuple[list[str], list[str]]:
    """The week of each pick post and of each poll in the guild's picks channel."""
    picks, polls = [], []
    for message in emu.world.messages(guild.channel("picks")):
        if message.get("poll"):
            found = WEEKLY.search(message["poll"]["question"]["text"])
            assert found is not None
            polls.append(found[1])
        elif message.get("embeds") and (found := WEEKLY.search(str(message["embeds"]))):
            picks.append(found[1])
    return picks, polls


# -- the phases' steps ---------------------------------------------------------------------------
async def set_up_club(emu: Emulator, guild: GuildState) -> None:
    """What an admin does: the club's channels, then the movies (card, ten numbers, thread)."""
    setup = await emu.slash(
        guild.admin,
        "club setup",
        movies_channel=guild.channel("movies"),
        reviews_channel=guild.channel("reviews"),
        picks_channel=guild.channel("picks"),
        timezone="UTC",
    )
    await setup.wait_done(timeout=10)
    assert setup.ephemeral, setup.texts()
    for title, year in TITLES:
        added = await emu.slash(guild.admin, "movie add", title=title, year=year)
        await added.wait_done(timeout=15)
        assert f"Added **{title} ({year})**" in added.texts()


async def pick_now(emu: Emulator, guild: GuildState) -> str:
    itx = await emu.slash(guild.admin, "club pick-now")
    await itx.wait_done(timeout=15)
    assert itx.ephemeral
    return itx.texts()


async def one_post_each(emu: Emulator, club: Club, week: str) -> None:
    """Each guild has exactly one pick post and one poll, of ``week``, and /club pick-now in
    every guild (all at once) says this week's is out and posts nothing."""
    replies = await asyncio.gather(*(pick_now(emu, g) for g in club.guilds))
    assert all("This week's pick is already out" in r for r in replies), replies
    assert [weekly_posts(emu, g) for g in club.guilds] == [([week], [week])] * len(club.guilds)


def first_burst(club: Club, rng: random.Random) -> list[Act]:
    """Every member on every card: a rating (55%), a swap to another number (20%), a rating
    taken back (15%) or nothing. First everyone's first reaction, then the second ones."""
    first: list[Act] = []
    second: list[Act] = []
    for card in club.cards:
        for member in club.members[card.guild.id]:
            roll, score = rng.random(), rng.randint(1, 10)
            key = (card.movie_id, member.id)
            if roll < 0.55:
                first.append(Act(card, member, score))
                club.expected[key] = score
            elif roll < 0.75:
                other = rng.choice([s for s in range(1, 11) if s != score])
                first.append(Act(card, member, score))
                second.append(Act(card, member, other))
                club.expected[key] = other
            elif roll < 0.90:
                first.append(Act(card, member, score))
                second.append(Act(card, member, score, added=False))
    rng.shuffle(first)
    rng.shuffle(second)
    return first + second


def second_burst(club: Club, rng: random.Random) -> list[Act]:
    """At most one reaction per member and card, so the outcome does not depend on which of
    them the killed process saw: a rater moves to another number (30%) or takes the rating
    back (15%); one who had not rated rates (40%)."""
    acts: list[Act] = []
    for card in club.cards:
        for member in club.members[card.guild.id]:
            key, roll = (card.movie_id, member.id), rng.random()
            current = club.expected.get(key)
            if current is not None and roll < 0.30:
                score = rng.choice([s for s in range(1, 11) if s != current])
                acts.append(Act(card, member, score))
                club.expected[key] = score
            elif current is not None and roll < 0.45:
                acts.append(Act(card, member, current, added=False))
                del club.expected[key]
            elif current is None and roll < 0.40:
                score = rng.randint(1, 10)
                acts.append(Act(card, member, score))
                club.expected[key] = score
    rng.shuffle(acts)
    return acts


async def review_and_hide(emu: Emulator, db: asyncpg.Connection, club: Club) -> None:
    """A member reviews through the form, another hides a leak, in one guild of each shard."""
    for shard_id in range(SHARDS):
        guild = club.on_shard(shard_id)[0]
        card = club.cards_of([guild])[0]
        writer, reader = club.members[guild.id][0], club.members[guild.id][1]
        body = f"Slow, then relentless. Seen on shard {shard_id}."
        write = await emu.slash(writer, "review write", movie=card.label)
        form = await emu.submit_modal(
            write, {"Review": body, "Headline (shown openly: no spoilers)": "Worth it"}
        )
        await form.wait_done(timeout=15)
        assert form.ephemeral, form.texts()
        rows = await db.fetch(
            "SELECT movie_id, body, rating FROM reviews WHERE author_id = $1", writer.id
        )
        assert [tuple(r) for r in rows] == [(card.movie_id, body, None)]
        posted = [str(m["embeds"]) for m in emu.world.messages(guild.channel("reviews"))]
        assert len(posted) == 1 and body in posted[0]

        async def counted(card: Card = card) -> None:
            fields = {f["name"]: f["value"] for f in shown(emu, card)["fields"]}
            assert fields["Reviews"] == "1"

        await eventually(counted, EXACT_WITHIN)  # the card counts the review

        general = guild.channel("general")
        leak = await emu.post_message(reader, general, f"the father dies at the end ({shard_id})")
        hide = await emu.message_command(writer, "Hide as spoiler", leak)
        await hide.wait_done(timeout=10)
        assert hide.ephemeral and "re-posted as a spoiler" in hide.texts()
        assert emu.world.message(general, int(leak["id"])) is None
        [repost] = emu.world.messages(general)
        assert repost["content"].endswith(f"||the father dies at the end ({shard_id})||")
        assert (
            f"<@{reader.id}> wrote (hidden as a spoiler by <@{writer.id}>)" in (repost["content"])
        )


# -- the test ------------------------------------------------------------------------------------
async def test_two_processes_share_the_club_survive_a_kill_and_fold_into_one(
    emu: Emulator, pg_cluster: Cluster, tmp_path: Path
) -> None:
    import asyncpg  # the dev install has it; without it, tests needing pg_cluster are left out

    name = await fresh_pg_database(pg_cluster)
    url = pg_cluster.url(name)
    db = await asyncpg.connect(url)
    guilds = four_guilds(emu)
    club = Club(
        guilds, {g.id: [g.add_member(f"{g.name}/m{n}") for n in range(MEMBERS)] for g in guilds}
    )
    rng = random.Random(2026)
    first = bot_process(emu, url, tmp_path, [0])
    second = bot_process(emu, url, tmp_path, [1])
    single: BotProcess | None = None
    try:
        # 1. Both processes at once: their logins take turns; each gets only its guilds.
        await asyncio.gather(
            first.start(ready=READY, timeout=START_WITHIN),
            second.start(ready=READY, timeout=START_WITHIN),
        )
        started = emu.logins.started()
        assert sorted(r.shard for r in started) == [(0, SHARDS), (1, SHARDS)]
        assert abs(started[1].at - started[0].at) >= IDENTIFY_WINDOW
        assert emu.logins.too_fast() == [] and emu.identifies(outcome=INVALID_SESSION) == []
        for process, shard_id in ((first, 0), (second, 1)):
            assert f"shard {shard_id} logging in" in process.output
            assert f"shard {1 - shard_id} logging in" not in process.output
            assert "in 2 guilds" in next(line for line in process.lines if READY in line)
        assert re.search(r"synced \d+ global commands", first.output)
        assert "commands are synced by the process running shard 0" in second.output

        # 2. The clubs are set up; fifty members react on every card at once.
        await asyncio.gather(*(set_up_club(emu, g) for g in guilds))
        by_guild = {g.id: g for g in guilds}
        for row in await db.fetch(
            "SELECT id, guild_id, title, year, card_channel_id, card_message_id FROM movies "
            "ORDER BY id"
        ):
            club.cards.append(
                Card(
                    row["id"],
                    by_guild[row["guild_id"]],
                    f"{row['title']} ({row['year']})",
                    row["card_channel_id"],
                    row["card_message_id"],
                )
            )
        assert len(club.cards) == len(guilds) * len(TITLES)
        await emu.wait_for(
            lambda: all(
                emu.world.bot_user_id in emu.world.reaction_users(c.message_id, emoji)
                for c in club.cards
                for emoji in SCORE_EMOJI
            ),
            timeout=15,
            what="the ten numbers on every card",
        )
        await perform(emu, first_burst(club, rng))
        await assert_exact(emu, db, club)
        await eventually(lambda: tidied(emu, club), EXACT_WITHIN)
        # Each guild's events (its GUILD_CREATE, commands, reactions) went to one session: the
        # one of its shard, which only the process running that shard identified as.
        assert len(emu.gateway.sessions) == SHARDS
        assert receivers(emu) == {g.id: {shard_of(g.id, SHARDS)} for g in guilds}

        # 3. Reviews and Hide as spoiler, in a guild of each shard.
        await review_and_hide(emu, db, club)

        # 4. This week's pick, once per guild; then a schedule whose slot this week has passed,
        #    which every scheduler tick from here on (and each start's first) finds done.
        for guild in guilds:
            for card, member in zip(club.cards_of([guild]), club.members[guild.id], strict=False):
                itx = await emu.slash(member, "watch suggest", movie=card.label)
                await itx.wait_done()
                assert "to the pick pool" in itx.texts()
        replies = await asyncio.gather(*(pick_now(emu, g) for g in guilds))
        assert all("Posted this week's pick" in r for r in replies), replies
        week = weekly_posts(emu, guilds[0])[0][0]
        today = datetime.now(UTC).strftime("%A")
        for guild in guilds:
            itx = await emu.slash(
                guild.admin,
                "club schedule",
                weekday=today,
                time="00:00",
                timezone="UTC",
                options={"channel": guild.channel("picks")},
            )
            await itx.wait_done()
        await one_post_each(emu, club, week)

        # 5. kill -9 of the shard-0 process in the middle of a second burst, then back.
        burst = second_burst(club, rng)
        shard0 = {g.id for g in club.on_shard(0)}
        before = await ratings(db, club.cards_of(club.on_shard(0)))
        third = len(burst) // 3
        head, middle, tail = burst[:third], burst[third : 2 * third], burst[2 * third :]
        assert any(a.card.guild.id in shard0 for a in tail), "nothing left for the dead process"
        await perform(emu, head)

        async def working() -> None:  # the shard-0 process is busy with the burst
            assert await ratings(db, club.cards_of(club.on_shard(0))) != before

        await eventually(working, EXACT_WITHIN)
        await perform(emu, middle)  # on the wire while it dies
        assert await first.kill() == -9
        clean(first)
        await perform(emu, tail)  # while it is dead
        await assert_exact(emu, db, club, club.on_shard(1))  # the other process carries on
        dead_movies = {c.movie_id for c in club.cards_of(club.on_shard(0))}
        assert await ratings(db, club.cards_of(club.on_shard(0))) != {
            k: s for k, s in club.expected.items() if k[0] in dead_movies
        }, "the dead process missed nothing: the test would prove nothing"
        first.lines.clear()
        await first.start(ready=READY, timeout=START_WITHIN)
        await assert_exact(emu, db, club)
        await first.wait_for_line("every active card is reconciled")
        assert reconciled(first) == {len(club.cards_of(club.on_shard(0)))}  # its own cards only
        await eventually(lambda: tidied(emu, club), EXACT_WITHIN)
        await one_post_each(emu, club, week)

        # 6. Both stopped; one process runs both shards on the same database.
        codes = await asyncio.gather(first.stop(), second.stop())
        assert codes == [0, 0], first.output + second.output
        clean(first)
        clean(second)
        single = bot_process(emu, url, tmp_path)
        await single.start(ready=READY, timeout=START_WITHIN)
        assert "in 4 guilds" in next(line for line in single.lines if READY in line)
        assert "shard 0 logging in" in single.output and "shard 1 logging in" in single.output
        await single.wait_for_line("every active card is reconciled")
        assert reconciled(single) == {len(club.cards)}  # every card once, though two shards
        late = []
        for guild in guilds:  # a new rating in every guild, all to the one process
            card = club.cards_of([guild])[0]
            member = next(
                m for m in club.members[guild.id] if (card.movie_id, m.id) not in club.expected
            )
            late.append(Act(card, member, 7))
            club.expected[(card.movie_id, member.id)] = 7
        await perform(emu, late)
        await assert_exact(emu, db, club)
        await eventually(lambda: tidied(emu, club), EXACT_WITHIN)
        await one_post_each(emu, club, week)
        assert await single.stop() == 0, single.output
        clean(single)
    finally:
        for process in (first, second, single):
            if process is not None:
                await process.stop()
        await db.close()

    assert emu.logins.too_fast() == [] and emu.identifies(outcome=INVALID_SESSION) == []
    assert {r.num_shards for r in emu.logins.records} == {SHARDS}
    assert [c.route for c in emu.unknown] == [], "the bot called routes Discord does not have"
    assert emu.internal_errors == [], "the emulator itself failed"
    assert pg_cluster.unexpected_errors(name) == []
