"""What the admin commands answer: the settings, the schedule as saved, a pick run's outcome."""

from __future__ import annotations

import discord

from bot.domain.club import ClubSettings
from bot.domain.weeks import WEEKDAYS
from bot.services.watch import ChannelCheck, Outcome, RunResult, ScheduleInfo
from bot.ui.embeds import CARD_COLOUR
from bot.ui.notes import NOTE_TEXT
from bot.ui.text import timestamp


def settings_embed(settings: ClubSettings) -> discord.Embed:
    def channel(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else "not set — the channel where a command is used"

    embed = discord.Embed(title="Club settings", colour=CARD_COLOUR)
    embed.add_field(name="Movies channel", value=channel(settings.movies_channel_id), inline=False)
    embed.add_field(
        name="Reviews channel", value=channel(settings.reviews_channel_id), inline=False
    )
    embed.add_field(name="Picks channel", value=channel(settings.picks_channel_id), inline=False)
    embed.add_field(name="Time zone", value=settings.timezone, inline=False)
    embed.set_footer(text="Admins change these with /club setup")
    return embed


def schedule_reply(info: ScheduleInfo, check: ChannelCheck) -> str:
    """The schedule as saved, when the next post goes out, and what would stop it."""
    schedule = info.schedule
    when = f"{WEEKDAYS[schedule.weekday]} {schedule.time} ({schedule.timezone})"
    text = (
        f"The weekly pick goes out every **{when}** in <#{info.posts_in}>. "
        f"Next post: {timestamp(info.next_post)} ({timestamp(info.next_post, 'R')})."
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
    """What ``/club pick-now`` answers."""
    run = result.run
    where = f"<#{run.channel_id}>" if run is not None else "the picks channel"
    link = result.link
    if result.outcome is Outcome.POSTED:
        text = f"Posted this week's pick in {where}: {link}"
    elif result.outcome is Outcome.FOUND:
        text = f"This week's pick was already in {where} from an earlier attempt: {link}"
    elif result.outcome is Outcome.BUSY:
        text = (
            "Another process of this bot is posting this week's pick right now. Run this again "
            "in a minute to see it."
        )
    elif run is not None and run.status == "skipped":
        text = "This week's pick could not go out and was skipped."
    else:
        text = f"This week's pick is already out: {link}" if link else "This week is done."
    if result.outcome is not Outcome.POSTED and result.next_post is not None:
        text += f"\nThe next one goes out {timestamp(result.next_post)}."
    notes = [NOTE_TEXT[note] for note in result.notes]
    return "\n".join([text, *notes])
