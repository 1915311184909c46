"""One error reporter for every app command, view, modal and dynamic item.

Domain errors are shown as they are (ephemeral). Failed checks and Discord refusals get a sentence
that says what to do. Anything else is a bug: it is logged with a short reference code, and the
member sees only an apology carrying that code — never a traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
from discord import app_commands

from bot.domain.errors import BotMissingPermissions, ClubError, Duplicate

log = logging.getLogger(__name__)

_PERMISSION_NAMES = {
    "manage_guild": "Manage Server",
    "manage_messages": "Manage Messages",
    "manage_threads": "Manage Threads",
    "administrator": "Administrator",
}


def _perm_names(missing: list[str]) -> str:
    return ", ".join(
        f"**{_PERMISSION_NAMES.get(p, p.replace('_', ' ').title())}**" for p in missing
    )


def describe(error: BaseException, *, where: str) -> str:
    """The sentence a member sees for ``error``; logs it first when it is a bug."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        if isinstance(error, app_commands.TransformerError):
            return f"`{str(error.value)[:80]}` is not something I can use for that option."
        error = error.original
    if isinstance(error, Duplicate):
        return f"{error}\nIts card: {error.link}" if error.link else str(error)
    if isinstance(error, ClubError):
        return str(error)
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_perm_names(error.missing_permissions)} permission to do that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need the {_perm_names(error.missing_permissions)} permission here to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only inside a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that here."
    if isinstance(error, discord.Forbidden):
        log.warning("discord refused an action in %s: %s %s", where, error.status, error.code)
        return (
            "Discord refused me that action: I'm missing a permission in this channel. "
            "Ask an admin to check my role's permissions."
        )
    ref = secrets.token_hex(3)
    log.error("unhandled error in %s (ref %s)", where, ref, exc_info=error)
    return f"Something went wrong on my side (ref `{ref}`). It has been logged; please try again."


async def send_ephemeral(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer privately, whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:  # expired token, deleted channel: nothing left to tell
        log.warning("could not report an error to the member: %s %s", exc.status, exc.code)


async def report(interaction: discord.Interaction[Any], error: BaseException) -> None:
    command = interaction.command
    data: dict[str, Any] = dict(interaction.data or {})
    where = command.qualified_name if command is not None else f"component {data.get('custom_id')}"
    await send_ephemeral(interaction, describe(error, where=where))


class ClubTree(app_commands.CommandTree[Any]):
    """Every command is for a server: a command that says nothing else is synced guild-only
    (``contexts`` ``[0]``), so Discord never offers it in DMs."""

    def __init__(self, client: discord.Client) -> None:
        super().__init__(client, allowed_contexts=app_commands.AppCommandContext(guild=True))

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await report(interaction, error)


class ClubView(discord.ui.View):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report(interaction, error)


class ClubModal(discord.ui.Modal):
    async def on_error(  # type: ignore[override]  # Modal narrows BaseView's signature itself
        self, interaction: discord.Interaction[Any], error: Exception
    ) -> None:
        await report(interaction, error)


@asynccontextmanager
async def bot_action(what: str) -> AsyncIterator[None]:
    """Turn Discord's 403 for a bot action into words: ``what`` says what the bot was doing."""
    try:
        yield
    except discord.Forbidden as exc:
        log.warning("forbidden while trying to %s (code %s)", what, exc.code)
        raise BotMissingPermissions(
            f"I couldn't {what}: Discord says I'm missing a permission there. "
            "Ask an admin to give my role access to that channel."
        ) from exc
