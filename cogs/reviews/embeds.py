"""The ``/review read`` page: most helpful first, spoiler reviews kept hidden."""

from __future__ import annotations

import re

import discord

from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.ratings import show_score
from bot.domain.review_text import SPOILER_MARK
from bot.domain.reviews import HELPFUL_EMOJI, Review
from bot.services.reviews import ReviewPage
from bot.ui.text import safe
from cogs.reviews.poster import REVIEW_COLOUR

EXCERPT_CHARS = 300

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
