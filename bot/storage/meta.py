"""Small key/value facts about the installation (e.g. the last synced command signature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage.database import Queries


class MetaRepository:
    def __init__(self, q: Queries) -> None:
        self._q = q

    async def get(self, key: str) -> str | None:
        value = await self._q.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        await self._q.write(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
