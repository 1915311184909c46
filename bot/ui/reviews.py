"""Reviews on Discord: embeds from layout plans, posting and re-posting a review's messages,
the ``/review read`` page, and the text of a message hidden as a spoiler.

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
import re
from dataclasses import dataclass, field

import discord

from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.ratings import show_score
from bot.domain.review_text import (
    SPOILER_MARK,
    EmbedPlan,
    MessagePlan,
    ReviewHeader,
    plan_review,
    split_for_spoilers,
    spoiler_wrap,
)
from bot.domain.reviews import HELPFUL_EMOJI, PostedPart, Review, ReviewDraft
from bot.services.reviews import ReviewPage
from bot.ui.errors import bot_action
from bot.ui.text import safe

log = logging.getLogger(__name__)

REVIEW_COLOUR = discord.Colour(0x5B8DEF)
CONTENT_LIMIT = 2000
EXCERPT_CHARS = 300

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
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, review_id: int) -> asyncio.Lock:
        """One publish or delete at a time per review (a double-clicked edit must not race)."""
        return self._locks.setdefault(review_id, asyncio.Lock())

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


# --------------------------------------------------------------------------------------------
# /review read
# --------------------------------------------------------------------------------------------

_MEMBER_SPOILER = re.compile(r"\|\|.+?\|\|", re.DOTALL)


def excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """The opening of a review without spoilers, for listing.

    Blocks the member hid with ``||`` are left out rather than shown escaped (which would show
    them openly), and the excerpt stops at an unclosed ``||``.
    """
    text = _MEMBER_SPOILER.sub(" ▒▒▒ ", body)
    text = text.split(SPOILER_MARK, 1)[0]
    flat = " ".join(text.split())
    return safe(flat, limit) if flat else "…"


def _review_entry(movie: Movie, review: Review) -> str:
    facts = [f"<@{review.author_id}>"]
    if review.rating is not None:
        facts.append(show_score(review.rating))
    facts.append(f"{HELPFUL_EMOJI} {review.helpful}")
    first = review.first_message
    if first is not None:
        link = message_link(movie.guild_id, first.channel_id, first.message_id)
        facts.append(f"[read it]({link})")
    lines = [" · ".join(facts)]
    if review.headline:
        lines.append(f"**{safe(review.headline, 200)}**")
    if review.spoilers:
        where = f" — read it in <#{movie.thread_id}>" if movie.thread_id else ""
        lines.append(f"🔒 *Contains spoilers{where}.*")
    else:
        lines.append(f"> {excerpt(review.body)}")
    return "\n".join(lines)


def review_page_embed(page: ReviewPage) -> discord.Embed:
    movie = page.movie
    embed = discord.Embed(title=f"Reviews of {safe(movie.label, 240)}", colour=REVIEW_COLOUR)
    if not page.reviews:
        if page.member_id is not None:
            embed.description = f"<@{page.member_id}> hasn't reviewed this movie."
        else:
            embed.description = "No reviews yet. Write the first with `/review write`."
    else:
        embed.description = "\n\n".join(_review_entry(movie, r) for r in page.reviews)
    noun = "review" if page.total == 1 else "reviews"
    embed.set_footer(
        text=f"Page {page.page + 1}/{page.pages} · {page.total} {noun} · most helpful first · "
        f"react {HELPFUL_EMOJI} on a review to mark it helpful"
    )
    return embed


# --------------------------------------------------------------------------------------------
# Hide as spoiler
# --------------------------------------------------------------------------------------------


def hidden_repost(text: str, author_id: int, invoker_id: int) -> list[str]:
    """Message contents that re-post ``text`` hidden: a credit line, then one spoiler block per
    message (none spans two), each message within Discord's 2,000 characters."""
    if author_id == invoker_id:
        credit = f"<@{author_id}> hid their message as a spoiler:\n"
    else:
        credit = f"<@{author_id}> wrote (hidden as a spoiler by <@{invoker_id}>):\n"
    pieces = split_for_spoilers(text, CONTENT_LIMIT - len(credit))
    blocks = [spoiler_wrap(piece) for piece in pieces]
    return [credit + blocks[0], *blocks[1:]]
