"""Ratings: the 1-10 scale (shown as ``8/10`` and as half-stars out of five), and how number
reactions on a card turn into ratings — one rule, used live and after restarts.

- Adding a number sets your rating to it (the latest wins).
- Removing the number your rating holds removes your rating; removing any other number changes
  nothing (it was an older reaction the bot could not tidy away).
- While the bot was offline, several new numbers from one member leave their order unknowable
  (Discord lists reaction users by id, not by time). Rule: the **highest** new number wins, and
  the others are tidied away when the bot may.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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


# -- reactions: the one rule, live and after restarts -------------------------------------------
Key = tuple[int, int]  # (movie_id, member_id)


@dataclass(frozen=True)
class ReactionChange:
    movie_id: int
    member_id: int
    score: int
    added: bool
    # Only what the card shows changed, not the rating: the member rated since (see
    # reconcile_card's ``live``).
    seen_only: bool = False


@dataclass
class BatchPlan:
    """The net effect of a batch of changes, ready for a few set-based statements."""

    upserts: dict[Key, int] = field(default_factory=dict)
    deletes: set[Key] = field(default_factory=set)
    # Delete the rating only if it still holds this score (its value before the batch is unknown).
    conditional_deletes: set[tuple[int, int, int]] = field(default_factory=set)
    seen_add: set[tuple[int, int, int]] = field(default_factory=set)
    seen_remove: set[tuple[int, int, int]] = field(default_factory=set)

    @property
    def movies(self) -> set[int]:
        touched = {k[0] for k in self.upserts} | {k[0] for k in self.deletes}
        touched |= {c[0] for c in self.conditional_deletes}
        return touched | {s[0] for s in self.seen_add} | {s[0] for s in self.seen_remove}


def plan_batch(changes: Iterable[ReactionChange]) -> BatchPlan:
    """Fold changes, in arrival order, into their net effect."""
    plan = BatchPlan()
    known: dict[Key, int | None] = {}  # final rating once an add was seen in this batch
    pending_removals: dict[Key, set[int]] = {}  # removals applied to the unknown prior rating
    for change in changes:
        key = (change.movie_id, change.member_id)
        seen = (change.movie_id, change.member_id, change.score)
        if change.added:
            plan.seen_add.add(seen)
            plan.seen_remove.discard(seen)
            if not change.seen_only:
                known[key] = change.score
        else:
            plan.seen_remove.add(seen)
            plan.seen_add.discard(seen)
            if change.seen_only:
                continue
            if key in known:
                if known[key] == change.score:
                    known[key] = None
            else:
                pending_removals.setdefault(key, set()).add(change.score)
    for key, score in known.items():
        if score is None:
            plan.deletes.add(key)
        else:
            plan.upserts[key] = score
    for key, scores in pending_removals.items():
        if key not in known:
            plan.conditional_deletes.update((key[0], key[1], s) for s in scores)
    return plan


@dataclass(frozen=True)
class Reconciliation:
    """What changed on one card while the bot was away."""

    changes: list[ReactionChange]
    # (member_id, score) reactions to tidy away when allowed; the tidy never removes the number
    # that is the member's rating (see RatingService.still_extra).
    extra: list[tuple[int, int]]


def reconcile_card(
    movie_id: int,
    last_seen: Mapping[int, set[int]],
    now_on_card: Mapping[int, set[int]],
    live: Mapping[int, int] | None = None,
) -> Reconciliation:
    """Compare the reactions last seen with those on the card now, member by member.

    ``live`` holds the ratings members gave since the bot came back (member -> score): they
    are newer than anything found on the card, so for those members only what the card shows
    is recorded, and their other numbers are tidied away.
    """
    changes: list[ReactionChange] = []
    extra: list[tuple[int, int]] = []
    live = live or {}
    for member in sorted(set(last_seen) | set(now_on_card)):
        before = last_seen.get(member, set())
        after = now_on_card.get(member, set())
        if member in live:
            changes.extend(
                ReactionChange(movie_id, member, score, added=False, seen_only=True)
                for score in sorted(before - after)
            )
            changes.extend(
                ReactionChange(movie_id, member, score, added=True, seen_only=True)
                for score in sorted(after - before)
            )
            if after - before:
                extra.extend((member, s) for s in sorted(after) if s != live[member])
            continue
        for score in sorted(before - after):
            changes.append(ReactionChange(movie_id, member, score, added=False))
        added = sorted(after - before)
        if added:
            winner = max(added)
            changes.extend(
                ReactionChange(movie_id, member, s, added=True) for s in added if s != winner
            )
            changes.append(ReactionChange(movie_id, member, winner, added=True))
            extra.extend((member, s) for s in sorted(after) if s != winner)
        elif len(after) > 1:
            # Several numbers and none new: the old number of a swap whose tidy died with the
            # process (killed between the commit and the removal). The tidy keeps the rating.
            extra.extend((member, s) for s in sorted(after))
    return Reconciliation(changes, extra)
