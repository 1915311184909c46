"""Interaction callbacks and the interaction webhook (@original and followups).

These carry no Authorization header (tests/README.md, fact 8) and are exempt from the global
rate limit.
"""

from __future__ import annotations

import time
from typing import Any

from tests.emulator import errors
from tests.emulator.core import Core
from tests.emulator.errors import ApiError
from tests.emulator.interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
    Interaction,
)
from tests.emulator.limits import validate_message
from tests.emulator.messaging import EDITABLE, attach_uploads, create_message, edit_message
from tests.emulator.rest import ApiRequest, Reply, RouteTable, Upload, no_content, ok
from tests.emulator.world import MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING

JSON = dict[str, Any]
routes = RouteTable()

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
CHOICES_MAX = 25
MODAL_TITLE_MAX = 45
MODAL_ROWS_MAX = 5

# Which callback types each interaction type accepts.
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}


def _interaction(core: Core, req: ApiRequest) -> Interaction:
    itx = core.interactions.get(int(req.params["interaction_id"]))
    if itx is None or itx.token != req.params["token"]:
        raise errors.unknown("interaction", errors.UNKNOWN_INTERACTION)
    return itx


@routes.route(
    "POST", "/interactions/{interaction_id}/{token}/callback", auth=False, exempt_global=True
)
async def callback(core: Core, req: ApiRequest) -> Reply:
    itx = _interaction(core, req)
    if itx.responded:
        raise ApiError(
            400, errors.ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
        )
    if itx.late:
        # The 3-second rule: after it, the interaction is gone for good.
        raise errors.unknown("interaction", errors.UNKNOWN_INTERACTION)
    body = req.body()
    kind = int(body.get("type", 0))
    if kind not in ALLOWED_CALLBACKS.get(itx.type, set()):
        raise errors.invalid_form(
            {"type": errors.field_error("INTERACTION_CALLBACK_TYPE", f"Invalid type {kind}")}
        )
    data: JSON = body.get("data") or {}
    message = _apply_callback(core, itx, kind, data, req.files)
    itx.callback = {"type": kind, "data": data}
    itx.callback_at = time.monotonic()
    itx.original = message
    return ok(_callback_response(itx, kind, message))


def _apply_callback(
    core: Core, itx: Interaction, kind: int, data: JSON, files: list[Upload]
) -> JSON | None:
    if kind == CHANNEL_MESSAGE:
        return _respond_with_message(core, itx, data, files)
    if kind == DEFERRED_CHANNEL_MESSAGE:
        flags = MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        return _respond_with_message(core, itx, {"flags": flags}, [], allow_empty=True)
    if kind in (UPDATE_MESSAGE, DEFERRED_UPDATE_MESSAGE) and itx.source_message is None:
        raise errors.invalid_form(
            {"type": errors.field_error("INTERACTION_CALLBACK_TYPE", "No message to update")}
        )
    if kind == UPDATE_MESSAGE:
        assert itx.source_message is not None
        return _edit(core, itx.source_message, data, files)
    if kind == DEFERRED_UPDATE_MESSAGE:
        return itx.source_message
    if kind == AUTOCOMPLETE_RESULT:
        _check_choices(data)
    if kind == MODAL:
        _check_modal(data)
    return None


def _respond_with_message(
    core: Core, itx: Interaction, data: JSON, files: list[Upload], *, allow_empty: bool = False
) -> JSON:
    """Ephemeral replies stay on the interaction; others are stored and dispatched."""
    ephemeral = bool(int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
    bot = core.bot(itx.channel)
    if allow_empty:
        message = core.world.build_message(itx.channel, bot, data)
    else:
        message = create_message(core, itx.channel, bot, data, files, store=False)
    message.update(_interaction_fields(core, itx))
    if ephemeral:
        core.world.message_times[int(message["id"])] = time.monotonic()
    else:
        core.world.store_message(itx.channel, message)
    return message


def _interaction_fields(core: Core, itx: Interaction) -> JSON:
    user = itx.member.user_payload()
    name = str((itx.payload.get("data") or {}).get("name") or "")
    return {
        "type": 20 if itx.type == APPLICATION_COMMAND else 0,
        "webhook_id": str(core.world.application_id),
        "application_id": str(core.world.application_id),
        "interaction_metadata": {
            "id": str(itx.id),
            "type": itx.type,
            "user": user,
            "authorizing_integration_owners": {"0": str(itx.channel.guild_id)},
        },
        "interaction": {"id": str(itx.id), "type": itx.type, "name": name, "user": user},
    }


def _check_choices(data: JSON) -> None:
    choices = data.get("choices") or []
    problems: JSON = {}
    if len(choices) > CHOICES_MAX:
        problems["choices"] = errors.field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")
    for index, choice in enumerate(choices):
        if not 1 <= len(str(choice.get("name", ""))) <= 100:
            problems[f"choices.{index}.name"] = errors.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
    if problems:
        raise errors.invalid_form({"data": problems})


def _check_modal(data: JSON) -> None:
    problems: JSON = {}
    if not 1 <= len(str(data.get("title") or "")) <= MODAL_TITLE_MAX:
        problems["title"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be 1-45 long.")
    if not data.get("custom_id"):
        problems["custom_id"] = errors.field_error("BASE_TYPE_REQUIRED", "Required")
    if not 1 <= len(data.get("components") or []) <= MODAL_ROWS_MAX:
        problems["components"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be 1-5 long.")
    if problems:
        raise errors.invalid_form({"data": problems})


def _callback_response(itx: Interaction, kind: int, message: JSON | None) -> JSON:
    """discord.py >= 2.5 asks `with_response=1`; `response_message_id` binds Views.

    See tests/README.md, fact 8.
    """
    resource: JSON = {"type": kind}
    if message is not None and kind != DEFERRED_UPDATE_MESSAGE:
        resource["message"] = message
    return {
        "interaction": {
            "id": str(itx.id),
            "type": itx.type,
            "response_message_id": None if message is None else message["id"],
            "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": itx.ephemeral
            or bool(message and int(message.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL),
            "activity_instance_id": None,
        },
        "resource": resource,
    }


# ---- the interaction webhook ---------------------------------------------------------------
def _webhook(core: Core, req: ApiRequest) -> Interaction:
    itx = core.by_token.get(req.params["webhook_token"])
    if itx is None or req.params["webhook_id"] != str(core.world.application_id):
        raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
    if itx.expired:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    if not itx.responded:
        raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
    return itx


def _original(itx: Interaction) -> JSON:
    if itx.original is None:
        raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
    return itx.original


def _followup(itx: Interaction, message_id: str) -> JSON:
    for message in [itx.original, *itx.followups]:
        if message is not None and message["id"] == message_id:
            return message
    raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)


def _edit(core: Core, message: JSON, body: JSON, files: list[Upload]) -> JSON:
    """Edit a response; ephemeral ones live only on the interaction, so no event for them."""
    flags = int(message.get("flags") or 0)
    if flags & MESSAGE_FLAG_LOADING:
        # Completing a deferral: the "thinking" state ends, ephemerality stays.
        body = body | {"flags": flags & ~MESSAGE_FLAG_LOADING}
    if core.world.find_message(int(message["id"])) is message:
        return edit_message(core, message, body, files)
    channel = core.world.channel(int(message["channel_id"]))
    assert channel is not None
    changes = {k: v for k, v in body.items() if k in EDITABLE}
    changes = attach_uploads(core, channel, changes, files)
    validate_message({k: message.get(k) for k in EDITABLE} | changes)
    message.update(changes)
    core.world.message_times[int(message["id"])] = time.monotonic()
    return message


@routes.route(
    "GET",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    auth=False,
    exempt_global=True,
)
async def get_original(core: Core, req: ApiRequest) -> Reply:
    return ok(_original(_webhook(core, req)))


@routes.route(
    "PATCH",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    auth=False,
    exempt_global=True,
)
async def edit_original(core: Core, req: ApiRequest) -> Reply:
    itx = _webhook(core, req)
    message = _edit(core, _original(itx), req.body(), req.files)
    itx.completed = True
    return ok(message)


@routes.route(
    "DELETE",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    auth=False,
    exempt_global=True,
)
async def delete_original(core: Core, req: ApiRequest) -> Reply:
    itx = _webhook(core, req)
    message = _original(itx)
    core.world.delete_message(int(message["channel_id"]), int(message["id"]))
    itx.completed = True
    return no_content()


@routes.route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth=False, exempt_global=True)
async def followup(core: Core, req: ApiRequest) -> Reply:
    itx = _webhook(core, req)
    body = req.body()
    if itx.kind == DEFERRED_CHANNEL_MESSAGE and not itx.completed:
        # The first followup after a deferral replaces the "thinking" message.
        message = _edit(core, _original(itx), body, req.files)
    else:
        ephemeral = bool(int(body.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        bot = core.bot(itx.channel)
        message = create_message(core, itx.channel, bot, body, req.files, store=False)
        message.update(_interaction_fields(core, itx))
        if ephemeral:
            core.world.message_times[int(message["id"])] = time.monotonic()
        else:
            core.world.store_message(itx.channel, message)
        itx.followups.append(message)
    itx.completed = True
    return ok(message) if req.query.get("wait") in ("1", "true", "True") else no_content()


@routes.route(
    "GET",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    auth=False,
    exempt_global=True,
)
async def get_followup(core: Core, req: ApiRequest) -> Reply:
    return ok(_followup(_webhook(core, req), req.params["message_id"]))


@routes.route(
    "PATCH",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    auth=False,
    exempt_global=True,
)
async def edit_followup(core: Core, req: ApiRequest) -> Reply:
    itx = _webhook(core, req)
    message = _followup(itx, req.params["message_id"])
    return ok(_edit(core, message, req.body(), req.files))


@routes.route(
    "DELETE",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    auth=False,
    exempt_global=True,
)
async def delete_followup(core: Core, req: ApiRequest) -> Reply:
    itx = _webhook(core, req)
    message = _followup(itx, req.params["message_id"])
    core.world.delete_message(int(message["channel_id"]), int(message["id"]))
    return no_content()
