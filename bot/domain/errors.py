"""Errors the bot shows to members.

Every service raises a subclass of :class:`ClubError`; its ``str()`` is written for the member who
caused it (what went wrong and what to do), so the central error handler can show it as it is.
Anything that is not a ``ClubError`` is a bug: it is logged with a reference code instead.
"""

from __future__ import annotations


class ClubError(Exception):
    """An error whose message is safe to show to the member who caused it."""


class InvalidInput(ClubError):
    """The member gave a value the bot cannot use; the message says which and what to give."""


class NotFound(ClubError):
    """Something the member named (a movie, a review) is not there."""


class Duplicate(ClubError):
    """The thing already exists; ``link`` points at it when there is one."""

    def __init__(self, message: str, *, link: str | None = None) -> None:
        super().__init__(message)
        self.link = link


class NotAllowed(ClubError):
    """The member may not do this (not the author, lacks a permission)."""


class BotMissingPermissions(ClubError):
    """Discord refused the bot an action for lack of a permission; the text names it and where."""


class StorageError(Exception):
    """The database cannot be used as it is (for example it is newer than this code)."""


class ConstraintViolation(Exception):
    """The database refused a change that breaks one of its rules (a unique key, a check or a
    reference), whatever the backend. Nothing of that unit of work was kept."""
