"""**Hide as spoiler**: any member can hide a message that leaks a spoiler.

The bot re-posts the message's text as spoiler blocks, credits its author (a mention that pings
nobody: the bot allows no mentions), carries its attachments over as spoiler files, and deletes
the original. That needs the bot's Manage Messages in the channel; without it nothing is posted
or deleted and the member is told why.

The bot's own messages are refused: its reviews already hide spoilers (their authors change
them with ``/review edit``), and deleting a card or a review part would break what the database
points at.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import BotMissingPermissions, InvalidInput, NotAllowed
from bot.domain.links import message_link
from bot.domain.review_text import split_for_spoilers, spoiler_wrap
from bot.ui.errors import bot_action

if TYPE_CHECKING:
    from bot.client import ClubBot

log = logging.getLogger(__name__)

MENU_NAME = "Hide as spoiler"


class Spoilers(commands.Cog):
    def __init__(self, bot_id: int, tree: app_commands.CommandTree[ClubBot]) -> None:
        self.bot_id = bot_id
        self.tree = tree
        # Context menus cannot be declared inside a cog; this one is added and removed with it.
        self.menu = app_commands.ContextMenu(
            name=MENU_NAME,
            callback=self.hide,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )
        self.menu.guild_only = True  # no DM permission, and refused at run time outside guilds

    async def cog_load(self) -> None:
        self.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.tree.remove_command(self.menu.name, type=self.menu.type)

    async def hide(
        self, interaction: discord.Interaction[ClubBot], message: discord.Message
    ) -> None:
        _check_target(message, self.bot_id)
        channel = interaction.channel
        assert interaction.guild is not None
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            raise InvalidInput("I can only hide messages in text channels and threads.")
        _check_bot_permissions(interaction, channel, attachments=bool(message.attachments))
        await interaction.response.defer(ephemeral=True, thinking=True)
        files = await _spoiler_files(message)
        contents = hidden_repost(message.content, message.author.id, interaction.user.id)
        posted: list[discord.Message] = []
        try:
            async with bot_action(f"post in <#{channel.id}>"):
                for index, content in enumerate(contents):
                    last = index == len(contents) - 1
                    posted.append(await channel.send(content, files=files if last else []))
            await _delete_original(message, channel.id)
        except BaseException:
            # All or nothing: with the original still there, a hidden copy would only add noise.
            for done in posted:
                with contextlib.suppress(discord.HTTPException):
                    await done.delete()
            raise
        log.info(
            "message %d in channel %d hidden by member %d",
            message.id,
            channel.id,
            interaction.user.id,
        )
        link = message_link(interaction.guild.id, channel.id, posted[0].id)
        await interaction.followup.send(
            f"Done: the message is [re-posted as a spoiler]({link}) and the original is deleted.",
            ephemeral=True,
        )


async def _delete_original(message: discord.Message, channel_id: int) -> None:
    try:
        async with bot_action(f"delete the original message in <#{channel_id}>"):
            await message.delete()
    except discord.NotFound:
        pass  # someone deleted it meanwhile; the hidden copy stands


async def _spoiler_files(message: discord.Message) -> list[discord.File]:
    """The message's attachments, downloaded before anything changes, marked as spoilers."""
    limit = message.guild.filesize_limit if message.guild is not None else 10 * 1024 * 1024
    if sum(attachment.size for attachment in message.attachments) > limit:
        # Nitro members may post files larger than the bot may upload: check before anything.
        raise InvalidInput(
            "That message's attachments are larger than I may upload here, so I can't re-post "
            "them hidden; I left the message as it is. Ask a moderator to delete it."
        )
    try:
        return [await attachment.to_file(spoiler=True) for attachment in message.attachments]
    except discord.HTTPException as exc:
        log.warning("could not download the attachments of message %d: %s", message.id, exc.status)
        raise InvalidInput(
            "I couldn't copy that message's attachments, so I left it as it is. "
            "Try again, or ask a moderator to delete it."
        ) from exc


def _check_target(message: discord.Message, bot_id: int) -> None:
    if message.author.id == bot_id:
        raise NotAllowed(
            "That's one of my own messages. Reviews already hide their spoilers; to change one, "
            "its author uses `/review edit`."
        )
    if not message.content.strip():
        raise InvalidInput(
            "That message has no text to hide (only attachments or embeds). "
            "A moderator can delete it, and its author can re-upload the file marked as a spoiler."
        )


def _check_bot_permissions(
    interaction: discord.Interaction[ClubBot],
    channel: discord.TextChannel | discord.Thread | discord.VoiceChannel,
    *,
    attachments: bool,
) -> None:
    """Before doing anything: without these, a half-done hide would leak or lose the text.

    ``app_permissions`` is Discord's own figure for the bot in the message's channel, sent with
    the interaction: unlike the cache it cannot lag behind an overwrite that just changed.
    """
    perms = interaction.app_permissions
    send = (
        perms.send_messages_in_threads
        if isinstance(channel, discord.Thread)
        else (perms.send_messages)
    )
    needed = {
        "Manage Messages": perms.manage_messages,
        "Send Messages": send,
        "Attach Files": perms.attach_files or not attachments,
    }
    missing = [name for name, ok in needed.items() if not ok]
    if missing:
        names = ", ".join(f"**{name}**" for name in missing)
        raise BotMissingPermissions(
            f"I can't hide that message: I need {names} in <#{channel.id}> to re-post it hidden "
            "and delete the original. Nothing was changed. Ask an admin to give my role that "
            "permission, or ask a moderator to delete the message."
        )


CONTENT_LIMIT = 2000  # Discord's limit for a message's text


def hidden_repost(text: str, author_id: int, invoker_id: int) -> list[str]:
    """Message contents that re-post ``text`` hidden: a credit line, then one spoiler block per
    message (none spans two), each message within Discord's 2,000 characters."""
    if author_id == invoker_id:
        credit = f"<@{author_id}> hid their message as a spoiler:\n"
    else:
        credit = f"<@{author_id}> wrote (hidden as a spoiler by <@{invoker_id}>):\n"
    pieces = split_for_spoilers(text, CONTENT_LIMIT - len(credit))
    blocks = [spoiler_wrap(piece) for piece in pieces]
    return [credit + blocks[0], *blocks[1:]]
