"""What ``/help`` shows: what the bot does, with examples, and this club's channels and schedule."""

from __future__ import annotations

import discord

from bot.domain.club import ClubSettings
from bot.domain.weeks import WEEKDAYS
from bot.services.watch import ScheduleInfo
from bot.ui.embeds import CARD_COLOUR
from bot.ui.text import timestamp

HELP_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "The catalog",
        "`/movie add title:Parasite year:2019` adds a film and posts its card.\n"
        "`/movie info movie:Parasite` shows its ratings; `/movie list sort:top` the catalog.",
    ),
    (
        "Rating",
        "React 1️⃣…🔟 on a movie card, or `/rate movie:Parasite score:9`. `/unrate` takes it back.",
    ),
    (
        "Reviews",
        "`/review write movie:Parasite spoilers:True` opens a form; attach a .txt or .md file "
        "for long essays. Spoilers stay hidden outside the movie's spoiler thread.",
    ),
    (
        "Spoilers",
        "Each movie has a thread named `Title (Year) · spoilers`. Right-click a message → "
        "Apps → **Hide as spoiler** to hide a leak.",
    ),
    (
        "Weekly pick",
        "`/watch suggest movie:…` adds to the pool; `/watch pool` and `/watch history` show it. "
        "Each week the bot posts the pick, a poll for next week and recommendations from the "
        "club's ratings.",
    ),
    (
        "Admins",
        "`/club setup` sets the channels and time zone, `/club schedule` the weekly post, "
        "`/club pick-now` posts this week's pick now; `/club settings` shows the setup. "
        "Members with **Manage Server** see these.",
    ),
)


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "the channel where the command is used"


def club_lines(settings: ClubSettings, schedule: ScheduleInfo | None) -> str:
    """This club's channels and weekly slot, as members need them."""
    lines = [
        f"Movie cards: {_channel(settings.movies_channel_id)}",
        f"Reviews: {_channel(settings.reviews_channel_id)}",
    ]
    if schedule is None:
        lines.append("Weekly pick: not scheduled yet (an admin sets it with `/club schedule`).")
    else:
        slot = schedule.schedule
        lines.append(
            f"Weekly pick: every {WEEKDAYS[slot.weekday]} at {slot.time} ({slot.timezone}) in "
            f"<#{schedule.posts_in}>; next {timestamp(schedule.next_post)}."
        )
    return "\n".join(lines)


def help_embed(settings: ClubSettings, schedule: ScheduleInfo | None) -> discord.Embed:
    embed = discord.Embed(
        title="Reel Club",
        description=(
            "Run a movie club here: a catalog, ratings, spoiler-safe reviews and a weekly pick."
        ),
        colour=CARD_COLOUR,
    )
    embed.add_field(name="This club", value=club_lines(settings, schedule), inline=False)
    for name, value in HELP_SECTIONS:
        embed.add_field(name=name, value=value, inline=False)
    return embed
