"""The weekly pick on Discord: the publisher the service posts through, its request pacer, and
the embeds of the post, the pool, the history and the replies.

Discord allows a bot 50 requests a second across every route (interaction responses aside).
discord.py waits out per-route buckets from the headers but does not pace that global limit, so
a hundred guilds due in the same minute would meet 429s. Every request the publisher makes first
takes a slot from a :class:`Pacer`, shared by all guilds of a run, at 45 a second: under the
limit with room for the rest of the bot, and close enough to it that a big run is not slow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

import discord
from discord import app_commands

from bot.domain.errors import BotMissingPermissions
from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.weeks import WEEKDAYS
from bot.services.watch import (
    ChannelCheck,
    FoundPost,
    History,
    Note,
    Outcome,
    PollPlan,
    PostedIds,
    RunResult,
    ScheduleInfo,
    ThreadResult,
    WeeklyPost,
)
from bot.storage.watch import PickPlan, PoolEntry, WatchRun
from bot.ui.cards import CardKeeper
from bot.ui.embeds import CARD_COLOUR
from bot.ui.errors import bot_action
from bot.ui.text import plain_cap, safe

log = logging.getLogger(__name__)

REQUESTS_PER_SECOND = 45.0  # Discord's global limit is 50
# Messages searched for an earlier post's marker, oldest first from when its run started: the
# post follows the start within seconds, so the first page (one request) holds it.
HISTORY_SEARCHED = 100
POLL_ANSWER_CHARS = 55  # Discord's limit for an answer's text
FINAL_COUNT_WAIT = 2.0  # seconds before re-reading a poll Discord had not finished counting
POOL_SHOWN = 25
RECOMMENDATION_TITLE_CHARS = 120

NOTE_TEXT: Mapping[Note, str] = {
    Note.POOL_EMPTY: "The pool was empty, so there is no pick this week; members can add "
    "movies with `/watch suggest`.",
    Note.POLL_NO_PERMISSION: "There is no poll: I need the **Send Polls** permission in that "
    "channel.",
    Note.POLL_TOO_FEW: "There is no poll: the pool needs at least two movies besides the pick.",
    Note.POLL_REFUSED: "There is no poll: Discord refused it (check my **Send Polls** "
    "permission there).",
    Note.NO_THREAD: "I couldn't open the pick's spoiler thread: I need **Create Public "
    "Threads** and **Manage Threads** where its card is.",
}


class Pacer:
    """Releases requests one after another, each at least ``1 / per_second`` after the last
    release as it really happened, first come first served, across every caller.

    ``take(n)`` waits for the caller's turn; the caller then sends its ``n`` requests and the
    next turn comes ``n / per_second`` later. Spacing is measured from actual releases, so a
    stalled event loop delays requests but never lets them out in a burst: any one second holds
    at most ``per_second`` releases (plus the ``n - 1`` of one multi-request turn).
    """

    def __init__(
        self,
        per_second: float = REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._turn = asyncio.Lock()  # FIFO: waiters are served in the order they came
        self._next = float("-inf")
        self.taken = 0

    async def take(self, requests: int = 1) -> None:
        if requests <= 0:
            return
        async with self._turn:
            wait = self._next - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._next = self._clock() + requests * self._interval
            self.taken += requests


class DiscordPublisher:
    """:class:`bot.services.watch.Publisher` for Discord: cache lookups cost nothing, every
    request is paced."""

    def __init__(self, client: discord.Client, cards: CardKeeper, pacer: Pacer) -> None:
        self._client = client
        self._cards = cards
        self._pacer = pacer

    # -- cache only --------------------------------------------------------------------------
    def _text_channel(self, channel_id: int) -> discord.TextChannel | None:
        channel = self._client.get_channel(channel_id)
        return channel if isinstance(channel, discord.TextChannel) else None

    def channel_for(self, guild_id: int, candidates: Sequence[int | None]) -> int | None:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        for channel_id in candidates:
            if channel_id is not None and isinstance(
                guild.get_channel(channel_id), discord.TextChannel
            ):
                return channel_id
        return None

    def check_channel(self, channel_id: int) -> ChannelCheck:
        channel = self._text_channel(channel_id)
        if channel is None:
            return ChannelCheck(False, False, False, ("View Channel",))
        perms = channel.permissions_for(channel.guild.me)
        needed = (
            ("View Channel", perms.view_channel),
            ("Send Messages", perms.send_messages),
            ("Embed Links", perms.embed_links),
        )
        missing = tuple(name for name, granted in needed if not granted)
        return ChannelCheck(
            can_post=not missing,
            can_poll=perms.send_polls,
            can_read_history=perms.read_message_history,
            missing=missing,
        )

    def quote(self, title: str) -> str:
        return safe(title)

    # -- requests ----------------------------------------------------------------------------
    async def close_poll(self, channel_id: int, message_id: int) -> Mapping[int, int] | None:
        partial = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        await self._pacer.take()
        message: discord.Message | None
        try:
            message = await partial.end_poll()
        except discord.NotFound:
            return None
        except discord.HTTPException as exc:  # already ended (it expired), or not ours
            log.info("poll %d was not ended (%s); reading its counts", message_id, exc.code)
            message = await self._fetch(partial)
        if message is None:
            return None
        if message.poll is not None and not message.poll.is_finalised():
            await asyncio.sleep(FINAL_COUNT_WAIT)
            message = await self._fetch(partial) or message
        if message.poll is None:
            return None
        return {answer.id: answer.vote_count for answer in message.poll.answers}

    async def _fetch(self, partial: discord.PartialMessage) -> discord.Message | None:
        await self._pacer.take()
        try:
            return await partial.fetch()
        except (discord.NotFound, discord.Forbidden):
            return None

    async def find_post(self, channel_id: int, marker: str, since: datetime) -> FoundPost:
        channel = self._text_channel(channel_id)
        if channel is None or self._client.user is None:
            return FoundPost()
        me = self._client.user.id
        pick: int | None = None
        poll: int | None = None
        await self._pacer.take()
        async with bot_action(f"read the recent messages of <#{channel_id}>"):
            history = channel.history(
                limit=HISTORY_SEARCHED, after=since - timedelta(hours=1), oldest_first=True
            )
            async for message in history:
                if message.author.id != me:
                    continue
                if pick is None and any(e.footer.text == marker for e in message.embeds):
                    pick = message.id
                if poll is None and message.poll is not None and marker in message.poll.question:
                    poll = message.id
        return FoundPost(pick, poll)

    async def open_thread(self, movie: Movie) -> ThreadResult:
        await self._pacer.take(self._thread_requests(movie))
        try:
            _, thread = await self._cards.ensure_thread(movie)
        except (BotMissingPermissions, discord.HTTPException):
            log.warning("could not open the spoiler thread of weekly pick %d", movie.id)
            return ThreadResult(None, failed=True)
        return ThreadResult(thread.id)

    def _thread_requests(self, movie: Movie) -> int:
        """How many requests ``CardKeeper.ensure_thread`` will make, to reserve them."""
        if movie.thread_id is not None:
            cached = self._client.get_channel(movie.thread_id)
            if isinstance(cached, discord.Thread):
                return 1 if cached.archived else 0
            return 3  # fetch it; then re-open it, or open another (two tries)
        if not movie.has_card:
            return 14  # a new card: post, thread, edit, ten reactions
        return 2  # off its card, or beside it

    async def publish(self, post: WeeklyPost, found: FoundPost) -> PostedIds:
        channel = self._text_channel(post.channel_id)
        if channel is None:
            raise BotMissingPermissions(
                f"I couldn't post the weekly pick: <#{post.channel_id}> is gone or is not a "
                "text channel. Choose another with `/club setup picks_channel:`."
            )
        pick_id = found.pick_message_id
        if pick_id is None:
            await self._pacer.take()
            async with bot_action(f"post the weekly pick in <#{channel.id}>"):
                message = await channel.send(embeds=weekly_embeds(post))
            pick_id = message.id
        poll_id = found.poll_message_id
        if post.poll is None or poll_id is not None:
            return PostedIds(pick_id, poll_id)
        await self._pacer.take()
        try:
            poll_message = await channel.send(poll=build_poll(post.poll))
        except discord.Forbidden as exc:  # any other failure leaves the run to be finished later
            log.warning("the weekly poll in channel %d was refused: %s", channel.id, exc.code)
            await self._pacer.take()
            try:
                await channel.get_partial_message(pick_id).edit(
                    embeds=weekly_embeds(post, poll_refused=True)
                )
            except discord.HTTPException:
                log.info("could not correct weekly pick %d after its poll failed", pick_id)
            return PostedIds(pick_id, None, poll_refused=True)
        return PostedIds(pick_id, poll_message.id)


# -- the weekly post -----------------------------------------------------------------------------
def build_poll(plan: PollPlan) -> discord.Poll:
    poll = discord.Poll(question=plan.question, duration=timedelta(hours=plan.hours))
    for movie in plan.answers:
        poll.add_answer(text=plain_cap(movie.label, POLL_ANSWER_CHARS))
    return poll


def _timestamp(instant: datetime, style: str = "F") -> str:
    return f"<t:{int(instant.timestamp())}:{style}>"


def _why(pick: PickPlan) -> str:
    if pick.reason == "poll":
        votes = pick.votes or 0
        return f"Last week's poll winner, with **{votes}** vote{'s' if votes != 1 else ''}."
    predicted = f" (**{pick.predicted:.1f}/10**)" if pick.predicted is not None else ""
    return (
        "No poll votes to go by, so it's the pool movie the club is predicted to like best"
        f"{predicted}."
    )


def _poll_line(post: WeeklyPost, *, refused: bool) -> str:
    if refused:
        return NOTE_TEXT[Note.POLL_REFUSED]
    if post.poll is not None:
        closes = f", {_timestamp(post.next_post)}" if post.next_post else ""
        return f"Vote for next week's pick in the poll below; it closes with the next post{closes}."
    if post.poll_state == "no_permission":
        return "No poll this week: I need the **Send Polls** permission in this channel."
    return (
        "No poll this week: the pool needs at least two more movies. "
        "Suggest some with `/watch suggest`."
    )


def _pick_embed(post: WeeklyPost, *, poll_refused: bool) -> discord.Embed:
    pick = post.pick
    if pick is None:
        embed = discord.Embed(title="No pick this week", colour=CARD_COLOUR)
        lines = [
            "The pick pool is empty. Suggest a movie from the catalog with "
            "`/watch suggest movie:` — next week's pick comes from the pool."
        ]
    else:
        movie = pick.movie
        embed = discord.Embed(
            title=f"This week's pick: {safe(movie.label, 230)}", colour=CARD_COLOUR
        )
        lines = [_why(pick), f"Suggested by <@{pick.suggested_by}>."]
        if post.thread.thread_id is not None:
            lines.append(f"Spoilers go in <#{post.thread.thread_id}>.")
        else:
            lines.append(
                "Its spoiler thread could not be opened; an admin can check my permissions."
            )
        if movie.card_channel_id is not None and movie.card_message_id is not None:
            link = message_link(movie.guild_id, movie.card_channel_id, movie.card_message_id)
            lines.append(f"[Its card]({link}) — rate it there once you've watched it.")
    lines.append(_poll_line(post, refused=poll_refused))
    embed.description = "\n".join(lines)
    embed.set_footer(text=post.marker)
    return embed


def _recommendations_embed(post: WeeklyPost) -> discord.Embed:
    embed = discord.Embed(title="Recommended from the club's ratings", colour=CARD_COLOUR)
    if not post.recommendations:
        embed.description = (
            "Nothing to recommend yet: rate more movies (react 1️⃣–🔟 on their cards) "
            "and the club's taste will show here."
        )
        return embed
    embed.description = "\n".join(
        f"{index}. **{safe(r.movie.label, RECOMMENDATION_TITLE_CHARS)}** · "
        f"{r.predicted:.1f}/10 — {r.reason}"
        for index, r in enumerate(post.recommendations, 1)
    )
    embed.set_footer(text="Like one? Suggest it with /watch suggest")
    return embed


def weekly_embeds(post: WeeklyPost, *, poll_refused: bool = False) -> list[discord.Embed]:
    """The week's post: the pick (with the marker in its footer) and the recommendations."""
    return [_pick_embed(post, poll_refused=poll_refused), _recommendations_embed(post)]


# -- replies -------------------------------------------------------------------------------------
def pool_embed(pool: Sequence[PoolEntry]) -> discord.Embed:
    embed = discord.Embed(title=f"The pick pool · {len(pool)} movies", colour=CARD_COLOUR)
    if not pool:
        embed.title = "The pick pool"
        embed.description = (
            "The pool is empty. Suggest a movie from the catalog with `/watch suggest movie:`."
        )
        return embed
    lines = [
        f"{index}. **{safe(entry.movie.label, 100)}** — suggested by <@{entry.suggested_by}>"
        for index, entry in enumerate(pool[:POOL_SHOWN], 1)
    ]
    if len(pool) > POOL_SHOWN:
        lines.append(f"…and {len(pool) - POOL_SHOWN} more.")
    embed.description = "\n".join(lines)
    embed.set_footer(text="Each week's poll offers the ten longest-waiting suggestions")
    return embed


def _history_line(run: WatchRun) -> str:
    link = ""
    if run.pick_message_id is not None:
        link = f" · [post]({message_link(run.guild_id, run.channel_id, run.pick_message_id)})"
    if run.pick_label is None:
        return f"**{run.week_key}** · no pick (the pool was empty){link}"
    if run.pick_reason == "poll":
        votes = run.pick_votes or 0
        why = f"poll winner, {votes} vote{'s' if votes != 1 else ''}"
    else:
        why = "best predicted" + (
            f", {run.pick_predicted:.1f}/10" if run.pick_predicted is not None else ""
        )
    by = f", suggested by <@{run.pick_suggested_by}>" if run.pick_suggested_by else ""
    return f"**{run.week_key}** · {safe(run.pick_label, 100)} — {why}{by}{link}"


def history_embed(history: History) -> discord.Embed:
    embed = discord.Embed(title="Past picks", colour=CARD_COLOUR)
    if not history.runs:
        embed.description = (
            "No picks yet. An admin sets the weekly slot with `/watch schedule`, "
            "or runs this week's pick with `/watch pick-now`."
        )
        return embed
    embed.description = "\n".join(_history_line(run) for run in history.runs)
    shown = len(history.runs)
    embed.set_footer(
        text=f"The latest {shown} of {history.total}" if history.total > shown else f"{shown} picks"
    )
    return embed


def schedule_reply(info: ScheduleInfo, check: ChannelCheck) -> str:
    """The schedule as saved, when the next post goes out, and what would stop it."""
    schedule = info.schedule
    when = f"{WEEKDAYS[schedule.weekday]} {schedule.time} ({schedule.timezone})"
    text = (
        f"The weekly pick goes out every **{when}** in <#{info.posts_in}>. "
        f"Next post: {_timestamp(info.next_post)} ({_timestamp(info.next_post, 'R')})."
    )
    if info.posts_now:
        text += " This week's slot has passed without a pick, so it goes out within a minute."
    if not check.can_post:
        needed = ", ".join(f"**{name}**" for name in check.missing)
        text += f"\nBut I can't post there yet: I need {needed} in that channel."
    elif not check.can_poll:
        text += "\nWithout the **Send Polls** permission there, the post will have no poll."
    return text


def run_reply(result: RunResult) -> str:
    """What ``/watch pick-now`` answers."""
    run = result.run
    where = f"<#{run.channel_id}>" if run is not None else "the picks channel"
    link = result.link
    if result.outcome is Outcome.POSTED:
        text = f"Posted this week's pick in {where}: {link}"
    elif result.outcome is Outcome.FOUND:
        text = f"This week's pick was already in {where} from an earlier attempt: {link}"
    elif run is not None and run.status == "skipped":
        text = "This week's pick could not go out and was skipped."
    else:
        text = f"This week's pick is already out: {link}" if link else "This week is done."
    if result.outcome is not Outcome.POSTED and result.next_post is not None:
        text += f"\nThe next one goes out {_timestamp(result.next_post)}."
    notes = [NOTE_TEXT[note] for note in result.notes]
    return "\n".join([text, *notes])


# -- autocomplete --------------------------------------------------------------------------------
CHOICES_MAX = 25


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def weekday_choices(current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().casefold()
    return [
        app_commands.Choice(name=day, value=day)
        for day in WEEKDAYS
        if day.casefold().startswith(typed) or not typed
    ]


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    """IANA zones containing what was typed (``berlin`` -> ``Europe/Berlin``); prefixes first."""
    typed = current.strip().casefold().replace(" ", "_")
    found = [zone for zone in _zones() if typed in zone.casefold()]
    found.sort(key=lambda zone: (not zone.casefold().startswith(typed), zone))
    return [app_commands.Choice(name=zone, value=zone) for zone in found[:CHOICES_MAX]]
