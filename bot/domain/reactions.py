"""How number reactions on a card turn into ratings — one rule, used live and after restarts.

- Adding a number sets your rating to it (the latest wins).
- Removing the number your rating holds removes your rating; removing any other number changes
  nothing (it was an older reaction the bot could not tidy away).
- While the bot was offline, several new numbers from one member leave their order unknowable
  (Discord lists reaction users by id, not by time). Rule: the **highest** new number wins, and
  the others are tidied away when the bot may.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Key = tuple[int, int]  # (movie_id, member_id)


@dataclass(frozen=True)
class ReactionChange:
    movie_id: int
    member_id: int
    score: int
    added: bool


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
            known[key] = change.score
            plan.seen_add.add(seen)
            plan.seen_remove.discard(seen)
        else:
            plan.seen_remove.add(seen)
            plan.seen_add.discard(seen)
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
    extra: list[tuple[int, int]]  # (member_id, score) reactions to tidy away when allowed


def reconcile_card(
    movie_id: int,
    last_seen: Mapping[int, set[int]],
    now_on_card: Mapping[int, set[int]],
) -> Reconciliation:
    """Compare the reactions last seen with those on the card now, member by member."""
    changes: list[ReactionChange] = []
    extra: list[tuple[int, int]] = []
    for member in sorted(set(last_seen) | set(now_on_card)):
        before = last_seen.get(member, set())
        after = now_on_card.get(member, set())
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
    return Reconciliation(changes, extra)
