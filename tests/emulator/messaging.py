"""Turning a create/edit request body (JSON or multipart) into a stored message."""

from __future__ import annotations

from typing import Any

from tests.emulator import errors
from tests.emulator.core import Core
from tests.emulator.entities import ChannelState, MemberState
from tests.emulator.limits import validate_message
from tests.emulator.perms import Perm
from tests.emulator.rest import Upload

JSON = dict[str, Any]

EDITABLE = ("content", "embeds", "components", "flags", "allowed_mentions", "attachments")


def attach_uploads(core: Core, channel: ChannelState, body: JSON, uploads: list[Upload]) -> JSON:
    """Store uploaded files and put their attachment payloads in the body.

    discord.py lists `attachments: [{"id": n, ...}]` where `n` indexes the `files[n]` parts;
    attachments already on the message come with their real (snowflake) ids and are kept.
    """
    if not uploads and "attachments" not in body:
        return body
    by_field = {u.field: u for u in uploads}
    result: list[JSON] = []
    for item in body.get("attachments") or []:
        upload = by_field.pop(f"files[{item.get('id')}]", None)
        if upload is not None:
            result.append(_store(core, channel, upload, item))
        else:
            existing = core.world.files.get(int(item.get("id", 0)))
            if existing is not None:
                result.append(existing.payload())
    result.extend(_store(core, channel, upload, {}) for upload in by_field.values())
    return body | {"attachments": result}


def _store(core: Core, channel: ChannelState, upload: Upload, item: JSON) -> JSON:
    stored = core.world.store_file(
        channel.id, str(item.get("filename") or upload.filename), upload.data, upload.content_type
    )
    payload = stored.payload()
    if item.get("description"):
        payload["description"] = item["description"]
    return payload


def check_send_permissions(core: Core, channel: ChannelState, body: JSON, files: bool) -> None:
    """What Discord checks before the bot may post `body` in `channel` outside interactions."""
    needed = core.send_permission(channel)
    if body.get("embeds"):
        needed |= Perm.EMBED_LINKS
    if files:
        needed |= Perm.ATTACH_FILES
    if body.get("poll") is not None:
        needed |= Perm.SEND_POLLS
    if body.get("message_reference"):
        needed |= Perm.READ_MESSAGE_HISTORY
    core.require(channel, needed)


def reopen_if_archived(core: Core, channel: ChannelState) -> None:
    """Sending into an archived thread unarchives it; a locked one needs MANAGE_THREADS."""
    if not channel.is_thread or not channel.archived:
        return
    if channel.locked and not core.bot_permissions(channel) & Perm.MANAGE_THREADS:
        raise errors.ApiError(400, errors.THREAD_LOCKED, "Thread is locked")
    core.world.update_channel(channel, archived=False)


def create_message(
    core: Core,
    channel: ChannelState,
    author: MemberState,
    body: JSON,
    uploads: list[Upload],
    *,
    store: bool = True,
    message_id: int | None = None,
) -> JSON:
    """Validate, build and (unless ephemeral) store a message; MESSAGE_CREATE is dispatched."""
    validate_message(body, has_files=bool(uploads))
    body = attach_uploads(core, channel, body, uploads)
    message = core.world.build_message(channel, author, body, message_id=message_id)
    if store:
        core.world.store_message(channel, message)
    return message


def edit_message(core: Core, message: JSON, body: JSON, uploads: list[Upload]) -> JSON:
    """Validate the merged result, then apply the edit and dispatch MESSAGE_UPDATE."""
    channel = core.world.channel(int(message["channel_id"]))
    assert channel is not None
    changes = {k: v for k, v in body.items() if k in EDITABLE}
    if uploads or "attachments" in changes:
        changes = attach_uploads(core, channel, changes, uploads)
    merged = {k: message.get(k) for k in EDITABLE} | changes
    if message.get("poll") is not None:
        merged["poll"] = message["poll"]
    validate_message(merged)
    return core.world.update_message(message, changes)
