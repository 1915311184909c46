"""Facts about this installation that must survive restarts."""

from __future__ import annotations

from bot.storage.database import Database

_COMMAND_SIGNATURE = "command_signature"


class InstallService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def command_signature(self) -> str | None:
        """The signature of the command list last synced globally, if any."""
        async with self._db.reader() as s:
            return await s.meta.get(_COMMAND_SIGNATURE)

    async def remember_command_signature(self, signature: str) -> None:
        async with self._db.session() as s:
            await s.meta.set(_COMMAND_SIGNATURE, signature)
