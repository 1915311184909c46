"""Reviews: what a member's review is, where it was posted, and who may change it.

The text rules (splitting, spoiler blocks, file decoding, layout) live in
:mod:`bot.domain.review_text`; this module holds the review itself and the rules around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.ratings import MAX_SCORE, MIN_SCORE, check_score
from bot.domain.review_text import validate_headline, validate_review_body

HELPFUL_EMOJI = "\N{THUMBS UP SIGN}"


@dataclass(frozen=True)
class ReviewDraft:
    """Checked review input: what a member wrote, ready to be stored and posted."""

    body: str
    headline: str | None
    rating: int | None
    spoilers: bool


@dataclass(frozen=True)
class PostedPart:
    """One message the bot posted for a review: ``part`` counts from 0 within its copy."""

    channel_id: int
    message_id: int
    part: int
    in_thread: bool


@dataclass(frozen=True)
class Review:
    id: int
    movie_id: int
    author_id: int
    headline: str | None
    body: str
    spoilers: bool
    rating: int | None
    created_at: str
    updated_at: str
    parts: tuple[PostedPart, ...] = ()
    helpful: int = 0

    def copy(self, *, in_thread: bool) -> list[PostedPart]:
        """The posted messages of one copy (reviews channel or spoiler thread), in order."""
        return sorted((p for p in self.parts if p.in_thread == in_thread), key=lambda p: p.part)

    @property
    def first_message(self) -> PostedPart | None:
        """Where a link to the review should point: its first part outside the thread."""
        parts = self.copy(in_thread=False) or self.copy(in_thread=True)
        return parts[0] if parts else None


def make_draft(
    body: str, headline: str | None, rating: int | None, *, spoilers: bool, max_chars: int
) -> ReviewDraft:
    """Validate everything a member gave; raises a ``ClubError`` that says what to fix."""
    checked_rating = check_score(rating) if rating is not None else None
    return ReviewDraft(
        body=validate_review_body(body, max_chars),
        headline=validate_headline(headline),
        rating=checked_rating,
        spoilers=spoilers,
    )


def parse_rating(text: str | None) -> int | None:
    """A rating typed into a form: blank means none, otherwise a whole number 1-10."""
    if text is None or not text.strip():
        return None
    raw = text.strip().removesuffix("/10").strip()
    if not raw.isdecimal():
        raise InvalidInput(
            f"The rating must be a whole number from {MIN_SCORE} to {MAX_SCORE}, or left empty."
        )
    return check_score(int(raw))


def check_may_delete(review: Review, actor_id: int, *, manages_messages: bool) -> None:
    """Authors delete their own review; moderators (Manage Messages) anyone's."""
    if review.author_id != actor_id and not manages_messages:
        raise NotAllowed(
            "Only the author can delete this review, or a moderator with **Manage Messages**."
        )


def counts_as_helpful(emoji: str) -> bool:
    """Only a plain 👍 is a helpful vote; the check every reaction passes through, so cheap."""
    return emoji == HELPFUL_EMOJI
