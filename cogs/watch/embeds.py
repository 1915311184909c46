"""What the weekly pick shows: the week's post (pick, poll, recommendations), the pool and the
history of picks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import discord

from bot.domain.links import message_link
from bot.domain.watch import PickPlan, PoolEntry, WatchRun
from bot.services.watch import History, Note, PollPlan, WeeklyPost
from bot.ui.embeds import CARD_COLOUR
from bot.ui.notes import NOTE_TEXT
from bot.ui.text import plain_cap, safe, timestamp

POLL_ANSWER_CHARS = 55  # Discord's limit for an answer's text
POOL_SHOWN = 25
RECOMMENDATION_TITLE_CHARS = 120


def build_poll(plan: PollPlan) -> discord.Poll:
    poll = discord.Poll(question=plan.question, duration=timedelta(hours=plan.hours))
    for movie in plan.answers:
        poll.add_answer(text=plain_cap(movie.label, POLL_ANSWER_CHARS))
    return poll


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
        closes = f", {timestamp(post.next_post)}" if post.next_post else ""
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
            "No picks yet. An admin sets the weekly slot with `/club schedule`, "
            "or runs this week's pick with `/club pick-now`."
        )
        return embed
    embed.description = "\n".join(_history_line(run) for run in history.runs)
    shown = len(history.runs)
    embed.set_footer(
        text=f"The latest {shown} of {history.total}" if history.total > shown else f"{shown} picks"
    )
    return embed
