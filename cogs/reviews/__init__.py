"""Reviews on Discord: /review write, edit, delete and read, the review form, posting a review's
messages, and helpful votes (👍)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.reviews.cog import ReviewPageButton, Reviews
from cogs.reviews.poster import ReviewPoster

if TYPE_CHECKING:
    from bot.client import ClubBot


async def setup(bot: ClubBot) -> None:
    assert bot.user is not None  # extensions load in setup_hook, after login
    bot.add_dynamic_items(ReviewPageButton)
    await bot.add_cog(
        Reviews(
            bot.user.id,
            reviews=bot.services.reviews,
            movies=bot.services.movies,
            club=bot.services.club,
            cards=bot.cards,
            poster=ReviewPoster(bot),
        )
    )
