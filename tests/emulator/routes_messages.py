"""Channels, messages, history, reactions, polls, threads and the loopback CDN."""

from __future__ import annotations

import time
from typing import Any

from tests.emulator import errors
from tests.emulator.core import Core
from tests.emulator.entities import FORUM, PRIVATE_THREAD, PUBLIC_THREAD, ChannelState
from tests.emulator.errors import ApiError
from tests.emulator.limits import validate_message
from tests.emulator.messaging import (
    check_send_permissions,
    create_message,
    edit_message,
    reopen_if_archived,
)
from tests.emulator.perms import Perm
from tests.emulator.rest import ApiRequest, Reply, RouteTable, no_content, ok
from tests.emulator.world import MESSAGE_FLAG_HAS_THREAD, message_created_at

JSON = dict[str, Any]
routes = RouteTable()

HISTORY_MAX = 100
REACTIONS_MAX = 20
BULK_MIN, BULK_MAX = 2, 100
BULK_MAX_AGE = 14 * 24 * 3600
CHANNEL_FIELDS = ("name", "topic", "position", "rate_limit_per_user", "parent_id")
THREAD_FIELDS = ("name", "archived", "locked", "auto_archive_duration", "invitable")


# ---- channels ------------------------------------------------------------------------------
@routes.route("GET", "/channels/{channel_id}")
async def get_channel(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.VIEW_CHANNEL)
    return ok(channel.payload())


@routes.route("PATCH", "/channels/{channel_id}")
async def edit_channel(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    body = req.body()
    if channel.is_thread:
        _check_thread_edit(core, channel, body)
        changes = {k: body[k] for k in THREAD_FIELDS if k in body}
        if "applied_tags" in body:
            changes["applied_tags"] = [int(t) for t in body["applied_tags"]]
    else:
        core.require(channel, Perm.MANAGE_CHANNELS)
        changes = {k: body[k] for k in CHANNEL_FIELDS if k in body}
    core.world.update_channel(channel, **changes)
    return ok(channel.payload())


def _check_thread_edit(core: Core, thread: ChannelState, body: JSON) -> None:
    """Archiving, locking or renaming someone else's thread needs MANAGE_THREADS."""
    own = thread.owner_id == core.world.bot_user_id
    needed = Perm.VIEW_CHANNEL
    if "locked" in body or (not own and {"name", "archived", "applied_tags"} & body.keys()):
        needed |= Perm.MANAGE_THREADS
    if body.get("archived") is False and thread.locked:
        needed |= Perm.MANAGE_THREADS
    core.require(thread, needed)


@routes.route("DELETE", "/channels/{channel_id}")
async def delete_channel(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS)
    core.world.delete_channel(channel)
    return ok(channel.payload())


@routes.route("POST", "/channels/{channel_id}/typing")
async def typing(core: Core, req: ApiRequest) -> Reply:
    core.require(core.channel(req.params["channel_id"]), Perm.VIEW_CHANNEL)
    return no_content()


# ---- messages ------------------------------------------------------------------------------
@routes.route("POST", "/channels/{channel_id}/messages")
async def post_message(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    if channel.type == FORUM:
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    body = req.body()
    check_send_permissions(core, channel, body, bool(req.files))
    reopen_if_archived(core, channel)
    return ok(create_message(core, channel, core.bot(channel), body, req.files))


@routes.route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    return ok(core.message(channel, req.params["message_id"]))


@routes.route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def patch_message(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    message = core.message(channel, req.params["message_id"])
    body = req.body()
    if message["author"]["id"] != str(core.world.bot_user_id):
        # Only flags (suppressing embeds) may change on someone else's message.
        if set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        core.require(channel, Perm.MANAGE_MESSAGES)
    elif body.get("embeds"):
        core.require(channel, Perm.EMBED_LINKS)
    return ok(edit_message(core, message, body, req.files))


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    message = core.message(channel, req.params["message_id"])
    if message["author"]["id"] != str(core.world.bot_user_id):
        core.require(channel, Perm.MANAGE_MESSAGES)
    core.world.delete_message(channel.id, int(message["id"]))
    return no_content()


@routes.route("POST", "/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.MANAGE_MESSAGES)
    ids = [int(m) for m in req.body().get("messages") or []]
    if not BULK_MIN <= len(ids) <= BULK_MAX:
        raise errors.invalid_form(
            {"messages": errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be 2 to 100 long.")}
        )
    oldest = time.time() - BULK_MAX_AGE
    for message_id in ids:
        message = core.world.message(channel, message_id)
        if message is not None and message_created_at(message) < oldest:
            raise ApiError(400, 50034, "You can only bulk delete messages under 14 days old.")
    core.world.bulk_delete(channel, ids)
    return no_content()


@routes.route("GET", "/channels/{channel_id}/messages")
async def history(core: Core, req: ApiRequest) -> Reply:
    """Newest first, like Discord, for `before`, `after` and `around` alike."""
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    limit = max(1, min(req.int_query("limit", 50), HISTORY_MAX))
    messages = sorted(core.world.messages(channel), key=lambda m: int(m["id"]))
    ids = [int(m["id"]) for m in messages]
    if "around" in req.query:
        pivot = int(req.query["around"])
        older = [m for m, i in zip(messages, ids, strict=True) if i < pivot]
        newer = [m for m, i in zip(messages, ids, strict=True) if i >= pivot]
        half = limit // 2
        picked = older[-half:] if half else []
        picked += newer[: limit - len(picked)]
    elif "after" in req.query:
        after = int(req.query["after"])
        picked = [m for m, i in zip(messages, ids, strict=True) if i > after][:limit]
    else:
        before = int(req.query.get("before", 0)) or None
        eligible = [m for m, i in zip(messages, ids, strict=True) if before is None or i < before]
        picked = eligible[-limit:]
    return ok(list(reversed(picked)))


# ---- reactions (tests/README.md, fact 10) --------------------------------------------------
def _reaction_target(core: Core, req: ApiRequest) -> tuple[ChannelState, JSON]:
    channel = core.channel(req.params["channel_id"])
    return channel, core.message(channel, req.params["message_id"])


@routes.route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def add_reaction(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    emoji = req.params["emoji"]
    existing = core.world.reaction_emojis(int(message["id"]))
    new_emoji = emoji not in existing
    # Adding a new emoji needs ADD_REACTIONS; joining an existing one only needs history.
    core.require(
        channel, Perm.READ_MESSAGE_HISTORY | (Perm.ADD_REACTIONS if new_emoji else Perm(0))
    )
    if new_emoji and len(existing) >= REACTIONS_MAX:
        raise ApiError(400, errors.MAX_REACTIONS, "Maximum number of reactions reached (20)")
    core.world.add_reaction(message, core.bot(channel), emoji)
    return no_content()


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def remove_own_reaction(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    core.world.remove_reaction(message, core.bot(channel), req.params["emoji"])
    return no_content()


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
async def remove_user_reaction(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    user_id = int(req.params["user_id"])
    if user_id != core.world.bot_user_id:
        core.require(channel, Perm.MANAGE_MESSAGES)
    member = core.world.member(channel.guild_id, user_id)
    if member is None:
        raise errors.unknown("User", errors.UNKNOWN_USER)
    core.world.remove_reaction(message, member, req.params["emoji"])
    return no_content()


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def clear_emoji(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.MANAGE_MESSAGES)
    core.world.clear_reactions(message, req.params["emoji"])
    return no_content()


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions")
async def clear_all(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.MANAGE_MESSAGES)
    core.world.clear_reactions(message)
    return no_content()


@routes.route("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def reaction_users(core: Core, req: ApiRequest) -> Reply:
    """Users by ascending id, `limit` 1-100 (default 25), after a user id."""
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    limit = req.int_query("limit", 25)
    if not 1 <= limit <= HISTORY_MAX:
        raise errors.invalid_form(
            {"limit": errors.field_error("NUMBER_TYPE_MAX", "Must be between 1 and 100.")}
        )
    after = req.int_query("after", 0)
    user_ids = sorted(core.world.reaction_users(int(message["id"]), req.params["emoji"]))
    page = [u for u in user_ids if u > after][:limit]
    return ok([_user(core, channel, u) for u in page])


def _user(core: Core, channel: ChannelState, user_id: int) -> JSON:
    member = core.world.member(channel.guild_id, user_id)
    assert member is not None
    return member.user_payload()


# ---- polls ---------------------------------------------------------------------------------
@routes.route("POST", "/channels/{channel_id}/polls/{message_id}/expire")
async def expire_poll(core: Core, req: ApiRequest) -> Reply:
    _channel, message = _reaction_target(core, req)
    if message.get("poll") is None:
        raise ApiError(400, 520001, "This message does not have a poll")
    if message["author"]["id"] != str(core.world.bot_user_id):
        raise ApiError(403, 50013, "Missing Permissions")
    if message["poll"]["results"]["is_finalized"]:
        raise ApiError(400, 520002, "This poll has already ended")
    core.world.expire_poll(message)
    return ok(message)


@routes.route("GET", "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}")
async def poll_voters(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    limit = max(1, min(req.int_query("limit", 25), HISTORY_MAX))
    after = req.int_query("after", 0)
    voters = sorted(core.world.poll_voters(int(message["id"]), int(req.params["answer_id"])))
    page = [u for u in voters if u > after][:limit]
    return ok({"users": [_user(core, channel, u) for u in page]})


# ---- threads (tests/README.md, fact 11) ----------------------------------------------------
@routes.route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
async def thread_from_message(core: Core, req: ApiRequest) -> Reply:
    channel, message = _reaction_target(core, req)
    core.require(channel, Perm.CREATE_PUBLIC_THREADS)
    if message.get("thread") is not None:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    body = req.body()
    thread = core.world.open_thread(
        channel,
        _thread_name(body),
        core.bot(channel),
        thread_id=int(message["id"]),  # Discord reuses the message id
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
    )
    flags = int(message.get("flags") or 0) | MESSAGE_FLAG_HAS_THREAD
    core.world.update_message(message, {"thread": thread.payload(), "flags": flags}, edited=False)
    return Reply(201, thread.payload())


def _thread_name(body: JSON) -> str:
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise errors.invalid_form(
            {"name": errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")}
        )
    return name


@routes.route("POST", "/channels/{channel_id}/threads")
async def start_thread(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    if channel.type == FORUM:
        return _forum_post(core, channel, req)
    body = req.body()
    kind = int(body.get("type") or PRIVATE_THREAD)
    needed = Perm.CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else Perm.CREATE_PUBLIC_THREADS
    core.require(channel, needed)
    thread = core.world.open_thread(
        channel,
        _thread_name(body),
        core.bot(channel),
        type=kind,
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
    )
    return Reply(201, thread.payload())


def _forum_post(core: Core, forum: ChannelState, req: ApiRequest) -> Reply:
    """A forum post is a thread plus its starter message, which shares the thread's id."""
    core.require(forum, Perm.SEND_MESSAGES)
    body = req.body()
    starter = dict(body.get("message") or {})
    tags = [int(t) for t in body.get("applied_tags") or []]
    known = {int(t["id"]) for t in forum.available_tags}
    if set(tags) - known or len(tags) > 5:
        raise errors.invalid_form(
            {"applied_tags": errors.field_error("INVALID_TAG", "Unknown or too many tags")}
        )
    if starter.get("embeds"):
        core.require(forum, Perm.EMBED_LINKS)
    thread_id = core.world.ids.next()
    name = _thread_name(body)
    # Validate the starter message before the thread exists, like Discord does.
    validate_message(starter, has_files=bool(req.files))
    thread = core.world.open_thread(
        forum,
        name,
        core.bot(forum),
        thread_id=thread_id,
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        applied_tags=tags,
        type=PUBLIC_THREAD,
    )
    message = create_message(
        core, thread, core.bot(forum), starter, req.files, message_id=thread_id
    )
    return Reply(201, thread.payload() | {"message": message})


@routes.route("PUT", "/channels/{channel_id}/thread-members/@me")
async def join_thread(core: Core, req: ApiRequest) -> Reply:
    core.require(core.channel(req.params["channel_id"]), Perm.VIEW_CHANNEL)
    return no_content()


@routes.route("DELETE", "/channels/{channel_id}/thread-members/@me")
async def leave_thread(core: Core, req: ApiRequest) -> Reply:
    core.channel(req.params["channel_id"])
    return no_content()


@routes.route("GET", "/channels/{channel_id}/threads/archived/public")
async def archived_threads(core: Core, req: ApiRequest) -> Reply:
    channel = core.channel(req.params["channel_id"])
    core.require(channel, Perm.READ_MESSAGE_HISTORY)
    guild = core.world.guild_of(channel)
    threads = [
        t.payload()
        for t in guild.thread_channels.values()
        if t.parent_id == channel.id and t.archived and t.type == PUBLIC_THREAD
    ]
    return ok({"threads": threads, "members": [], "has_more": False})


# ---- the loopback CDN (outside /api/v10) ------------------------------------------------
cdn = RouteTable()


@cdn.route("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", auth=False)
async def download(core: Core, req: ApiRequest) -> Reply:
    stored = core.world.files.get(int(req.params["attachment_id"]))
    if stored is None or stored.filename != req.params["filename"]:
        return Reply(404, {"message": "404: Not Found", "code": 0})
    return Reply(200, raw=stored.data, content_type=stored.content_type)
