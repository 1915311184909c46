"""Login, application commands, guilds, members and scheduled events."""

from __future__ import annotations

from typing import Any

from tests.emulator import errors
from tests.emulator.core import Core
from tests.emulator.entities import GuildState
from tests.emulator.ids import now_iso
from tests.emulator.limits import validate_commands
from tests.emulator.perms import Perm
from tests.emulator.rest import ApiRequest, Reply, RouteTable, no_content, ok

JSON = dict[str, Any]
routes = RouteTable()


# ---- login (tests/README.md, fact 7) -------------------------------------------------------
@routes.route("GET", "/users/@me")
async def get_me(core: Core, req: ApiRequest) -> Reply:
    return ok(core.world.bot_user_payload() | {"verified": True, "mfa_enabled": False})


@routes.route("GET", "/users/{user_id}")
async def get_user(core: Core, req: ApiRequest) -> Reply:
    user_id = int(req.params["user_id"])
    for guild in core.world.guilds.values():
        if user_id in guild.members:
            return ok(guild.members[user_id].user_payload())
    raise errors.unknown("User", errors.UNKNOWN_USER)


@routes.route("GET", "/oauth2/applications/@me")
async def get_application(core: Core, req: ApiRequest) -> Reply:
    world = core.world
    owner = world.guild.admin.user_payload()
    return ok(
        {
            "id": str(world.application_id),
            "name": world.bot_name,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            # Must be null, or discord.py warns that interactions go to an HTTP endpoint.
            "interactions_endpoint_url": None,
            "bot": world.bot_user_payload(),
        }
    )


@routes.route("GET", "/gateway")
async def get_gateway(core: Core, req: ApiRequest) -> Reply:
    return ok({"url": core.gateway_url})


@routes.route("GET", "/gateway/bot")
async def get_gateway_bot(core: Core, req: ApiRequest) -> Reply:
    # Only AutoShardedClient without shard_count asks, and it reads all three fields
    # (tests/README.md, fact 2); the figures are the logins' (fact 26).
    logins = core.logins
    return ok(
        {
            "url": core.gateway_url,
            "shards": logins.recommended_shards,
            "session_start_limit": logins.session_start_limit(),
        }
    )


# ---- application commands ------------------------------------------------------------------
def _stored_command(core: Core, guild_id: int | None, command: JSON) -> JSON:
    kind = int(command.get("type", 1))
    key = (guild_id, kind, str(command["name"]))
    command_id = core.command_ids.setdefault(key, core.world.ids.next())
    stored: JSON = {
        "options": [],
        "default_member_permissions": None,
        "dm_permission": True,
        "nsfw": False,
        "description": "",
        **command,
        "id": str(command_id),
        "type": kind,
        "application_id": str(core.world.application_id),
        "version": str(core.world.ids.next()),
    }
    if guild_id is not None:
        stored["guild_id"] = str(guild_id)
    return stored


def _put_commands(core: Core, guild_id: int | None, req: ApiRequest) -> Reply:
    commands = req.json if isinstance(req.json, list) else []
    validate_commands(commands)
    core.world.commands[guild_id] = [_stored_command(core, guild_id, c) for c in commands]
    return ok(core.world.commands[guild_id])


def _upsert_command(core: Core, guild_id: int | None, req: ApiRequest) -> Reply:
    command = req.body()
    validate_commands([command])
    stored = _stored_command(core, guild_id, command)
    existing = [c for c in core.world.commands.get(guild_id, []) if c["id"] != stored["id"]]
    core.world.commands[guild_id] = [*existing, stored]
    return Reply(201, stored)


def _app_check(core: Core, req: ApiRequest) -> None:
    if req.params["application_id"] != str(core.world.application_id):
        raise errors.ApiError(403, 50001, "Missing Access")


@routes.route("PUT", "/applications/{application_id}/commands")
async def put_global_commands(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    return _put_commands(core, None, req)


@routes.route("GET", "/applications/{application_id}/commands")
async def get_global_commands(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    return ok(core.world.commands.get(None, []))


@routes.route("POST", "/applications/{application_id}/commands")
async def post_global_command(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    return _upsert_command(core, None, req)


@routes.route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def put_guild_commands(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    guild = core.guild(req.params["guild_id"])
    return _put_commands(core, guild.id, req)


@routes.route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def get_guild_commands(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    guild = core.guild(req.params["guild_id"])
    return ok(core.world.commands.get(guild.id, []))


@routes.route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def post_guild_command(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    guild = core.guild(req.params["guild_id"])
    return _upsert_command(core, guild.id, req)


@routes.route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
async def get_command_permissions(core: Core, req: ApiRequest) -> Reply:
    _app_check(core, req)
    core.guild(req.params["guild_id"])
    return ok([])


# ---- guilds and members --------------------------------------------------------------------
@routes.route("GET", "/guilds/{guild_id}")
async def get_guild(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    payload = guild.payload()
    if req.query.get("with_counts") in ("true", "1"):
        payload |= {"approximate_member_count": len(guild.members)}
        payload |= {"approximate_presence_count": 0}
    return ok(payload)


@routes.route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    return ok([c.payload() for c in guild.channels.values()])


@routes.route("GET", "/guilds/{guild_id}/roles")
async def get_roles(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    return ok([r.payload() for r in guild.roles.values()])


@routes.route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    member = guild.members.get(int(req.params["user_id"]))
    if member is None:
        raise errors.unknown("Member", errors.UNKNOWN_MEMBER)
    return ok(member.member_payload())


@routes.route("GET", "/guilds/{guild_id}/members")
async def list_members(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    limit = min(req.int_query("limit", 1), 1000)
    after = req.int_query("after", 0)
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return ok([m.member_payload() for m in members[:limit]])


@routes.route("GET", "/guilds/{guild_id}/threads/active")
async def active_threads(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    threads = [t.payload() for t in guild.thread_channels.values() if not t.archived]
    return ok({"threads": threads, "members": []})


# ---- scheduled events ----------------------------------------------------------------------
def _event_payload(core: Core, guild: GuildState, body: JSON, event_id: int) -> JSON:
    channel_id = body.get("channel_id")
    return {
        "id": str(event_id),
        "guild_id": str(guild.id),
        "channel_id": None if channel_id is None else str(channel_id),
        "creator_id": str(guild.me.id),
        "creator": guild.me.user_payload(),
        "name": body.get("name", ""),
        "description": body.get("description"),
        "scheduled_start_time": body.get("scheduled_start_time", now_iso()),
        "scheduled_end_time": body.get("scheduled_end_time"),
        "privacy_level": body.get("privacy_level", 2),
        "status": body.get("status", 1),
        "entity_type": body.get("entity_type", 3),
        "entity_id": None,
        "entity_metadata": body.get("entity_metadata"),
        "user_count": 0,
        "image": None,
        "recurrence_rule": body.get("recurrence_rule"),
    }


def _check_event(body: JSON) -> None:
    missing = [k for k in ("name", "scheduled_start_time", "entity_type") if not body.get(k)]
    if body.get("entity_type") == 3:
        if not (body.get("entity_metadata") or {}).get("location"):
            missing.append("entity_metadata")
        if not body.get("scheduled_end_time"):
            missing.append("scheduled_end_time")
    if missing:
        required = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
        raise errors.invalid_form(dict.fromkeys(missing, required))


@routes.route("POST", "/guilds/{guild_id}/scheduled-events")
async def create_event(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    core.require_guild(guild, Perm.CREATE_EVENTS)
    body = req.body()
    _check_event(body)
    event = _event_payload(core, guild, body, core.world.ids.next())
    guild.scheduled_events[int(event["id"])] = event
    core.world.emit("GUILD_SCHEDULED_EVENT_CREATE", event, guild.id)
    return ok(event)


@routes.route("GET", "/guilds/{guild_id}/scheduled-events")
async def list_events(core: Core, req: ApiRequest) -> Reply:
    guild = core.guild(req.params["guild_id"])
    return ok(list(guild.scheduled_events.values()))


def _event(core: Core, req: ApiRequest) -> tuple[GuildState, JSON]:
    guild = core.guild(req.params["guild_id"])
    event = guild.scheduled_events.get(int(req.params["event_id"]))
    if event is None:
        raise errors.unknown("Guild Scheduled Event", errors.UNKNOWN_EVENT)
    return guild, event


@routes.route("GET", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def get_event(core: Core, req: ApiRequest) -> Reply:
    return ok(_event(core, req)[1])


@routes.route("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def edit_event(core: Core, req: ApiRequest) -> Reply:
    guild, event = _event(core, req)
    core.require_guild(guild, Perm.MANAGE_EVENTS)
    event.update({k: v for k, v in req.body().items() if k in event})
    core.world.emit("GUILD_SCHEDULED_EVENT_UPDATE", event, guild.id)
    return ok(event)


@routes.route("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def delete_event(core: Core, req: ApiRequest) -> Reply:
    guild, event = _event(core, req)
    core.require_guild(guild, Perm.MANAGE_EVENTS)
    del guild.scheduled_events[int(event["id"])]
    core.world.emit("GUILD_SCHEDULED_EVENT_DELETE", event, guild.id)
    return no_content()
