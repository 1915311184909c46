"""Small key/value facts about the installation (e.g. the last synced command signature)."""

from __future__ import annotations

from bot.storage.base import Repository


class MetaRepository(Repository):
    async def get(self, key: str) -> str | None:
        value = await self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        await self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
