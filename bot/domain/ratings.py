"""The rating scale: 1-10 integers, shown as ``8/10`` and as half-stars out of five."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.errors import InvalidInput

MIN_SCORE = 1
MAX_SCORE = 10

# The reactions a card carries, in order; index + 1 is the score.
SCORE_EMOJI: tuple[str, ...] = (
    "1\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "2\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "3\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "4\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "5\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "6\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "7\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "8\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "9\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}",
    "\N{KEYCAP TEN}",
)
_EMOJI_SCORE = {emoji: i + 1 for i, emoji in enumerate(SCORE_EMOJI)}
# Some clients send keycaps without the variation selector.
_EMOJI_SCORE.update(
    {emoji.replace("\N{VARIATION SELECTOR-16}", ""): s for emoji, s in _EMOJI_SCORE.items()}
)


def score_for_emoji(emoji: str) -> int | None:
    """The score a reaction stands for, or None for any other emoji."""
    return _EMOJI_SCORE.get(emoji)


def emoji_for_score(score: int) -> str:
    return SCORE_EMOJI[check_score(score) - 1]


def check_score(score: int) -> int:
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidInput(
            f"A rating is a whole number from {MIN_SCORE} to {MAX_SCORE}; {score} is not."
        )
    return score


def stars(value: float) -> str:
    """Half-stars out of five: 8 -> ``★★★★``, 7 -> ``★★★½``, 7.4 -> ``★★★½`` (nearest half)."""
    halves = round(value)  # a 1-10 value is a count of half-stars
    halves = max(0, min(MAX_SCORE, halves))
    return "★" * (halves // 2) + ("½" if halves % 2 else "")


def show_score(score: int) -> str:
    return f"{score}/10 {stars(score)}"


@dataclass(frozen=True)
class RatingSummary:
    """What a card and ``/movie info`` show about a movie's ratings."""

    counts: tuple[int, ...]  # counts[i] = number of members who gave i + 1

    @classmethod
    def from_counts(cls, counts: Mapping[int, int]) -> RatingSummary:
        return cls(tuple(counts.get(score, 0) for score in range(MIN_SCORE, MAX_SCORE + 1)))

    @classmethod
    def from_scores(cls, scores: Sequence[int]) -> RatingSummary:
        counts = [0] * MAX_SCORE
        for score in scores:
            counts[check_score(score) - 1] += 1
        return cls(tuple(counts))

    @property
    def votes(self) -> int:
        return sum(self.counts)

    @property
    def average(self) -> float | None:
        if not self.votes:
            return None
        return sum((i + 1) * n for i, n in enumerate(self.counts)) / self.votes

    def headline(self) -> str:
        avg = self.average
        if avg is None:
            return "No ratings yet"
        noun = "vote" if self.votes == 1 else "votes"
        return f"{avg:.1f}/10 {stars(avg)} · {self.votes} {noun}"

    def histogram(self, width: int = 12) -> str:
        """One line per score, 10 down to 1, bars scaled to the most common score."""
        top = max(self.counts) or 1
        lines = []
        for score in range(MAX_SCORE, MIN_SCORE - 1, -1):
            n = self.counts[score - 1]
            bar = "█" * round(width * n / top) if n else ""
            lines.append(f"{score:>2} {bar} {n}".rstrip())
        return "\n".join(lines)
