"""Posting a review on Discord: embeds from layout plans, the lines that link a review's messages,
and posting, re-posting and deleting them (the steps and their undo are ``ReviewService``'s).

A review is posted as one or two *copies*: in the reviews channel (every body piece a spoiler
block when the review has spoilers) and, for spoiler reviews, openly in the movie's spoiler
thread. Each copy is a run of messages laid out by :func:`bot.domain.review_text.plan_review`.

How members get from one message of a review to the next (the body of a long review takes
several): every message after the first starts with a jump link back to the one before it, and
the first message carries links to all the others. Those lines live in the message *content*,
never in embed titles or footers, and hold only links and a mention (which pings nobody: the
bot allows no mentions).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import discord

from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.review_text import (
    EmbedPlan,
    MessagePlan,
    ReviewHeader,
    plan_review,
)
from bot.domain.reviews import PostedPart, Review, ReviewDraft
from bot.ui.cards import Cards
from bot.ui.errors import bot_action
from bot.ui.text import safe

log = logging.getLogger(__name__)

REVIEW_COLOUR = discord.Colour(0x5B8DEF)
CONTENT_LIMIT = 2000

ReviewTarget = discord.TextChannel | discord.Thread


# --------------------------------------------------------------------------------------------
# Embeds and the lines that link a review's messages
# --------------------------------------------------------------------------------------------


def review_header(movie: Movie, author_name: str, draft: ReviewDraft) -> ReviewHeader:
    # The title is shown with markdown, so the member's text is escaped before it is measured.
    headline = safe(draft.headline) if draft.headline else None
    return ReviewHeader(author_name, safe(movie.label), headline, draft.rating)


def plan_copies(
    movie: Movie, author_name: str, draft: ReviewDraft
) -> tuple[list[MessagePlan], list[MessagePlan]]:
    """The reviews-channel copy, and the open spoiler-thread copy (empty without spoilers)."""
    header = review_header(movie, author_name, draft)
    channel = plan_review(header, draft.body, spoilers=draft.spoilers)
    thread = plan_review(header, draft.body, spoilers=False) if draft.spoilers else []
    return channel, thread


def embed_from_plan(plan: EmbedPlan) -> discord.Embed:
    embed = discord.Embed(title=plan.title, description=plan.description, colour=REVIEW_COLOUR)
    if plan.author:
        embed.set_author(name=plan.author)
    for name, value in plan.fields:
        embed.add_field(name=name, value=value)
    if plan.footer:
        embed.set_footer(text=plan.footer)
    return embed


@dataclass(frozen=True)
class CopyContext:
    """What the link lines of one copy need to know."""

    guild_id: int
    channel_id: int
    author_id: int
    open_copy_in: int | None = None  # the spoiler thread, on the hidden copy's first message


def link_line(ctx: CopyContext, index: int, ids: list[int], count: int) -> str | None:
    """The content of message ``index`` of ``count``; ``ids`` are the ids known so far."""

    def link(i: int) -> str | None:
        return message_link(ctx.guild_id, ctx.channel_id, ids[i]) if i < len(ids) else None

    if index > 0:
        previous = link(index - 1)
        back = f" · [◀ previous message]({previous})" if previous else ""
        return f"-# <@{ctx.author_id}>'s review, message {index + 1}/{count}{back}"
    lines = []
    if ctx.open_copy_in is not None:
        lines.append(
            f"🔒 Spoilers are hidden here; the whole review is open in <#{ctx.open_copy_in}>."
        )
    later = [(i, link(i)) for i in range(1, count)]
    if later and all(url for _, url in later):
        jumps = " · ".join(f"[{i + 1}]({url})" for i, url in later)
        lines.append(f"-# <@{ctx.author_id}>'s review continues in messages {jumps}")
    return "\n".join(lines) or None


# --------------------------------------------------------------------------------------------
# Posting, editing and deleting a review's messages
# --------------------------------------------------------------------------------------------


@dataclass
class _Copy:
    target: ReviewTarget
    in_thread: bool
    plans: list[MessagePlan]
    existing: list[PostedPart]
    ctx: CopyContext
    ids: list[int] = field(default_factory=list)
    sent_first: str | None = None  # the content message 0 now has


class ReviewPoster:
    """Makes a review's messages on Discord match a layout, keeping what can be kept.

    Messages that exist are edited in place; missing ones are posted; those no longer needed
    are deleted once everything else worked. If a message was deleted by a moderator, it and
    every later one are posted again, so the order stays right. When posting fails, the
    messages made by this call are deleted again and the error goes up.
    """

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def publish(
        self,
        review: Review,
        *,
        movie: Movie,
        author_name: str,
        draft: ReviewDraft,
        channel: ReviewTarget,
        thread: discord.Thread | None,
    ) -> list[PostedPart]:
        """Post (or re-post) ``draft`` as ``review``; returns every message it is now made of."""
        channel_plans, thread_plans = plan_copies(movie, author_name, draft)
        existing_channel = review.copy(in_thread=False)
        target = self._existing_target(existing_channel) or channel
        copies = [
            _Copy(
                target,
                False,
                channel_plans,
                existing_channel,
                CopyContext(
                    movie.guild_id,
                    target.id,
                    review.author_id,
                    thread.id if thread is not None and draft.spoilers else None,
                ),
            )
        ]
        if thread is not None and thread_plans:
            copies.append(
                _Copy(
                    thread,
                    True,
                    thread_plans,
                    review.copy(in_thread=True),
                    CopyContext(movie.guild_id, thread.id, review.author_id),
                )
            )
        created: list[tuple[int, int]] = []  # (channel id, message id) made by this call
        results = await asyncio.gather(
            *(self._sync(copy, created) for copy in copies), return_exceptions=True
        )
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            await self._delete_ids(created, quiet=True)
            raise failure
        parts = [part for result in results if isinstance(result, list) for part in result]
        kept = {p.message_id for p in parts}
        stale = [p for p in review.parts if p.message_id not in kept]
        await self.delete(stale)
        log.info(
            "review %d posted: %d channel and %d thread messages (%d stale removed)",
            review.id,
            len(channel_plans),
            len(thread_plans) if len(copies) > 1 else 0,
            len(stale),
        )
        return parts

    def _existing_target(self, parts: list[PostedPart]) -> ReviewTarget | None:
        """A review stays where it was posted, even if the reviews channel changed since."""
        if not parts:
            return None
        channel = self._client.get_channel(parts[0].channel_id)
        return channel if isinstance(channel, discord.TextChannel | discord.Thread) else None

    async def _sync(self, copy: _Copy, created: list[tuple[int, int]]) -> list[PostedPart]:
        where = f"post the review in <#{copy.target.id}>"
        # Parts of this copy elsewhere (an old spoiler thread) cannot be edited here.
        existing = [p for p in copy.existing if p.channel_id == copy.target.id]
        count = len(copy.plans)
        for index, plan in enumerate(copy.plans):
            embeds = [embed_from_plan(e) for e in plan.embeds]
            if index < len(existing):
                # Editing in place: the first message can link the others straight away when
                # they are all kept (no second edit needed).
                known = [p.message_id for p in existing[:count]] if index == 0 else copy.ids
                content = link_line(copy.ctx, index, known, count)
                message = copy.target.get_partial_message(existing[index].message_id)
                try:
                    async with bot_action(where):
                        await message.edit(content=content, embeds=embeds)
                except discord.NotFound:  # deleted by a moderator: re-post from here on
                    await self.delete(existing[index + 1 :])
                    existing = existing[:index]
                else:
                    copy.ids.append(message.id)
                    if index == 0:
                        copy.sent_first = content
                    continue
            content = link_line(copy.ctx, index, copy.ids, count)
            async with bot_action(where):
                posted = await copy.target.send(content=content, embeds=embeds)
            created.append((copy.target.id, posted.id))
            copy.ids.append(posted.id)
            if index == 0:
                copy.sent_first = content
        await self._finish_first(copy, where)
        return [
            PostedPart(copy.target.id, message_id, part, copy.in_thread)
            for part, message_id in enumerate(copy.ids)
        ]

    async def _finish_first(self, copy: _Copy, where: str) -> None:
        """Message 0 links to the others, whose ids are known only once they are posted."""
        final = link_line(copy.ctx, 0, copy.ids, len(copy.plans))
        first = copy.ids[0] if copy.ids else None
        if first is None or final == copy.sent_first:
            return
        async with bot_action(where):
            await copy.target.get_partial_message(first).edit(content=final)
        copy.sent_first = final

    async def delete(self, parts: list[PostedPart], *, quiet: bool = False) -> None:
        """Delete posted messages; ones already gone are fine (``quiet``: see below)."""
        await self._delete_ids([(p.channel_id, p.message_id) for p in parts], quiet=quiet)

    async def _delete_ids(self, ids: list[tuple[int, int]], *, quiet: bool = False) -> None:
        """``quiet`` when cleaning up after another error, which is the one to report."""
        for channel_id, message_id in ids:
            message = self._client.get_partial_messageable(channel_id).get_partial_message(
                message_id
            )
            try:
                async with bot_action(f"delete a review message in <#{channel_id}>"):
                    await message.delete()
            except discord.NotFound:
                continue
            except Exception:
                if not quiet:
                    raise
                log.warning("could not delete message %d while cleaning up", message_id)


class ReviewHere:
    """:class:`bot.services.reviews.ReviewPublisher` for one review command: the channel it
    posts in and the author's display name are known."""

    def __init__(
        self,
        poster: ReviewPoster,
        cards: Cards,
        *,
        channel: ReviewTarget | None = None,
        author_name: str = "",
    ) -> None:
        self._poster = poster
        self._cards = cards
        self._channel = channel
        self._author_name = author_name
        self._thread: discord.Thread | None = None

    async def open_thread(self, movie: Movie) -> Movie:
        movie, self._thread = await self._cards.ensure_thread(movie)
        return movie

    async def publish(self, review: Review, movie: Movie, draft: ReviewDraft) -> list[PostedPart]:
        assert self._channel is not None
        return await self._poster.publish(
            review,
            movie=movie,
            author_name=self._author_name,
            draft=draft,
            channel=self._channel,
            thread=self._thread if draft.spoilers else None,
        )

    async def delete(self, parts: list[PostedPart], *, quiet: bool = False) -> None:
        await self._poster.delete(parts, quiet=quiet)

    def card_changed(self, movie_id: int) -> None:
        self._cards.show_soon(movie_id)
