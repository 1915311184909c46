"""What a weekly run could not do, in words: the weekly post and ``/club pick-now``'s reply say
the same sentence for the same :class:`bot.services.watch.Note`."""

from __future__ import annotations

from collections.abc import Mapping

from bot.services.watch import Note

NOTE_TEXT: Mapping[Note, str] = {
    Note.POOL_EMPTY: "The pool was empty, so there is no pick this week; members can add "
    "movies with `/watch suggest`.",
    Note.POLL_NO_PERMISSION: "There is no poll: I need the **Send Polls** permission in that "
    "channel.",
    Note.POLL_TOO_FEW: "There is no poll: the pool needs at least two movies besides the pick.",
    Note.POLL_REFUSED: "There is no poll: Discord refused it (check my **Send Polls** "
    "permission there).",
    Note.NO_THREAD: "I couldn't open the pick's spoiler thread: I need **Create Public "
    "Threads** and **Manage Threads** where its card is.",
}
