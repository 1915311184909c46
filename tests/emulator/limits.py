"""Discord's documented limits: message bodies, command sync payloads and rate limits."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.clock import EmuClock, RealTime
from tests.emulator.errors import EMPTY_MESSAGE, ApiError, field_error, invalid_form

JSON = dict[str, Any]
Errors = dict[str, Any]

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
# (path inside an embed, limit) -- each counts towards the 6,000 total.
EMBED_TEXT_LIMITS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("title",), 256),
    (("description",), 4096),
    (("footer", "text"), 2048),
    (("author", "name"), 256),
)
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
ACTION_ROWS_MAX = 5
ROW_ITEMS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
POLL_QUESTION_MAX = 300
POLL_ANSWERS_MAX = 10
POLL_ANSWER_MAX = 55
POLL_HOURS_MAX = 768


def _too_long(limit: int) -> JSON:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _required() -> JSON:
    return field_error("BASE_TYPE_REQUIRED", "This field is required")


def _put(errors: Errors, path: list[str | int], leaf: JSON) -> None:
    """Merge a leaf error into Discord's nested error tree."""
    node = errors
    for key in path[:-1]:
        node = node.setdefault(str(key), {})
    node[str(path[-1])] = leaf


# ---- messages ------------------------------------------------------------------------------
def embed_length(embed: JSON) -> int:
    total = 0
    for keys, _limit in EMBED_TEXT_LIMITS:
        total += len(_dig(embed, keys))
    for fld in embed.get("fields") or []:
        total += len(str(fld.get("name") or "")) + len(str(fld.get("value") or ""))
    return total


def _dig(embed: JSON, keys: tuple[str, ...]) -> str:
    node: Any = embed
    for key in keys:
        if not isinstance(node, dict):
            return ""
        node = node.get(key)
    return str(node) if node is not None else ""


def _check_embed(embed: JSON, index: int, errors: Errors) -> None:
    for keys, limit in EMBED_TEXT_LIMITS:
        if len(_dig(embed, keys)) > limit:
            _put(errors, ["embeds", index, *keys], _too_long(limit))
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_MAX:
        _put(errors, ["embeds", index, "fields"], _too_long(EMBED_FIELDS_MAX))
    for position, fld in enumerate(fields):
        for key, limit in (("name", FIELD_NAME_MAX), ("value", FIELD_VALUE_MAX)):
            text = str(fld.get(key) or "")
            if not text:
                _put(errors, ["embeds", index, "fields", position, key], _required())
            elif len(text) > limit:
                _put(errors, ["embeds", index, "fields", position, key], _too_long(limit))


def _check_embeds(embeds: list[JSON], errors: Errors) -> None:
    if len(embeds) > EMBEDS_MAX:
        _put(errors, ["embeds"], _too_long(EMBEDS_MAX))
        return
    for index, embed in enumerate(embeds):
        _check_embed(embed, index, errors)
    if sum(embed_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        _put(
            errors,
            ["embeds"],
            field_error(
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
            ),
        )


def _check_components(rows: list[JSON], errors: Errors) -> None:
    if len(rows) > ACTION_ROWS_MAX:
        _put(errors, ["components"], _too_long(ACTION_ROWS_MAX))
    for r, row in enumerate(rows):
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > ROW_ITEMS_MAX:
            _put(errors, ["components", r, "components"], _too_long(ROW_ITEMS_MAX))
        for c, child in enumerate(children):
            path: list[str | int] = ["components", r, "components", c]
            if len(str(child.get("custom_id") or "")) > CUSTOM_ID_MAX:
                _put(errors, [*path, "custom_id"], _too_long(CUSTOM_ID_MAX))
            if len(str(child.get("label") or "")) > BUTTON_LABEL_MAX:
                _put(errors, [*path, "label"], _too_long(BUTTON_LABEL_MAX))
            if len(child.get("options") or []) > SELECT_OPTIONS_MAX:
                _put(errors, [*path, "options"], _too_long(SELECT_OPTIONS_MAX))


def _check_poll(poll: JSON, errors: Errors) -> None:
    question = str((poll.get("question") or {}).get("text") or "")
    if not question:
        _put(errors, ["poll", "question", "text"], _required())
    elif len(question) > POLL_QUESTION_MAX:
        _put(errors, ["poll", "question", "text"], _too_long(POLL_QUESTION_MAX))
    answers = poll.get("answers") or []
    if not answers or len(answers) > POLL_ANSWERS_MAX:
        _put(errors, ["poll", "answers"], _too_long(POLL_ANSWERS_MAX))
    for index, answer in enumerate(answers):
        text = str((answer.get("poll_media") or {}).get("text") or "")
        if len(text) > POLL_ANSWER_MAX:
            _put(
                errors, ["poll", "answers", index, "poll_media", "text"], _too_long(POLL_ANSWER_MAX)
            )
    hours = float(poll.get("duration") or 24)
    if not 1 <= hours <= POLL_HOURS_MAX:
        _put(errors, ["poll", "duration"], _too_long(POLL_HOURS_MAX))


def validate_message(body: JSON, *, has_files: bool = False) -> None:
    """Raise like Discord for an over-long or empty message body (create or merged edit)."""
    errors: Errors = {}
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_MAX:
        _put(errors, ["content"], _too_long(CONTENT_MAX))
    _check_embeds(list(body.get("embeds") or []), errors)
    _check_components(list(body.get("components") or []), errors)
    if body.get("poll") is not None:
        _check_poll(body["poll"], errors)
    if errors:
        raise invalid_form(errors)
    if not has_content(body) and not has_files:
        raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")


def has_content(body: JSON) -> bool:
    return any(
        body.get(key)
        for key in ("content", "embeds", "attachments", "components", "sticker_ids", "poll")
    )


# ---- application commands ------------------------------------------------------------------
CHAT_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMANDS_MAX = {1: 100, 2: 15, 3: 15}
OPTIONS_MAX = 25
CHOICES_MAX = 25
DESCRIPTION_MAX = 100
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


def _check_chat_name(name: str, path: list[str | int], errors: Errors) -> None:
    if not CHAT_NAME.match(name) or name != name.lower():
        _put(
            errors,
            [*path, "name"],
            field_error("APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"),
        )


def _check_description(text: str, path: list[str | int], errors: Errors) -> None:
    if not 1 <= len(text) <= DESCRIPTION_MAX:
        _put(
            errors,
            [*path, "description"],
            field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
        )


def _check_options(options: list[JSON], path: list[str | int], errors: Errors) -> None:
    if len(options) > OPTIONS_MAX:
        _put(errors, [*path, "options"], _too_long(OPTIONS_MAX))
    seen_optional = False
    for index, option in enumerate(options):
        opt_path: list[str | int] = [*path, "options", index]
        _check_chat_name(str(option.get("name", "")), opt_path, errors)
        _check_description(str(option.get("description", "")), opt_path, errors)
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(list(option.get("options") or []), opt_path, errors)
            continue
        if option.get("required"):
            if seen_optional:
                _put(
                    errors,
                    [*opt_path, "required"],
                    field_error(
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    ),
                )
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            _put(errors, [*opt_path, "choices"], _too_long(CHOICES_MAX))
        if choices and option.get("autocomplete"):
            _put(
                errors,
                [*opt_path, "autocomplete"],
                field_error("AUTOCOMPLETE_AND_CHOICES", "Autocomplete cannot be used with choices"),
            )


def _check_command(command: JSON, index: int, errors: Errors) -> None:
    path: list[str | int] = [index]
    kind = command.get("type", 1)
    name = str(command.get("name", ""))
    description = str(command.get("description", ""))
    if kind == 1:
        _check_chat_name(name, path, errors)
        _check_description(description, path, errors)
        _check_options(list(command.get("options") or []), path, errors)
        return
    # User (2) and message (3) context menus: any case and spaces, no description.
    if not 1 <= len(name) <= 32:
        _put(errors, [*path, "name"], field_error("BASE_TYPE_BAD_LENGTH", "Must be 1-32 long."))
    if description:
        _put(
            errors,
            [*path, "description"],
            field_error("APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Must be empty."),
        )


def validate_commands(commands: list[JSON]) -> None:
    """Validate a bulk-overwrite payload the way Discord does (50035 on the first problems)."""
    errors: Errors = {}
    per_type: dict[int, set[str]] = {}
    for index, command in enumerate(commands):
        _check_command(command, index, errors)
        kind = int(command.get("type", 1))
        names = per_type.setdefault(kind, set())
        if command.get("name") in names:
            _put(
                errors,
                [index, "name"],
                field_error("APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate command name"),
            )
        names.add(str(command.get("name")))
    for kind, names in per_type.items():
        if len(names) > COMMANDS_MAX.get(kind, 100):
            raise ApiError(400, 30032, "Maximum number of application commands reached")
    if errors:
        raise invalid_form(errors)


# ---- rate limits ---------------------------------------------------------------------------
@dataclass
class RateRule:
    """`limit` requests per `per` seconds in a bucket shared by the routes that use this rule.

    With `advertise=False` the X-RateLimit headers are left out, so the client cannot pace itself
    (as with Discord's undocumented sub-limits) and will meet real 429s.
    """

    limit: int
    per: float
    name: str = ""
    advertise: bool = True


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class RateDecision:
    headers: dict[str, str]
    retry_after: float | None = None
    is_global: bool = False


def _bucket_hash(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def default_rules() -> dict[str, RateRule]:
    message_writes = RateRule(5, 5.0, "message-create")
    edits = RateRule(5, 5.0, "message-edit")
    reaction_routes = [
        "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
        "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
        "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
        "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
        "DELETE /channels/{channel_id}/messages/{message_id}/reactions",
    ]
    # Discord shares one reaction bucket across these routes: 1 request per 0.25 s per channel.
    rules = dict.fromkeys(reaction_routes, RateRule(1, 0.25, "reactions"))
    rules["POST /channels/{channel_id}/messages"] = message_writes
    rules["PATCH /channels/{channel_id}/messages/{message_id}"] = edits
    return rules


@dataclass
class RateLimiter:
    """Fixed-window buckets keyed like Discord's (bucket + major parameter) and a global limit.

    Windows are counted on `clock` (see `tests.emulator.clock`); what the client is told to wait
    (X-RateLimit-Reset-After / -Reset and a 429's ``retry_after``) is in real seconds.
    """

    rules: dict[str, RateRule] = field(default_factory=default_rules)
    default: RateRule = field(default_factory=lambda: RateRule(50, 1.0, "default"))
    global_per_second: int = 50
    enabled: bool = True
    clock: EmuClock = field(default_factory=RealTime)
    _windows: dict[str, _Window] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)

    def configure(self, route: str, limit: int, per: float, *, advertise: bool = True) -> None:
        """Give `route` (e.g. "PATCH /channels/{channel_id}/messages/{message_id}") its own rule."""
        self.rules[route] = RateRule(limit, per, route, advertise)
        self._windows.clear()

    def check(self, route: str, major: str, *, exempt_global: bool) -> RateDecision:
        now = self.clock.now()
        if not self.enabled:
            return RateDecision({})
        if not exempt_global:
            decision = self._check_global(now)
            if decision is not None:
                return decision
        rule = self.rules.get(route, self.default)
        name = rule.name or route
        key = f"{name}:{major}" if rule is not self.default else f"{route}:{major}"
        window = self._windows.get(key)
        if window is None or now >= window.started + rule.per:
            window = self._windows[key] = _Window(now)
        reset_after = self._real(window.started + rule.per - now)
        headers = self._headers(rule, name, window, reset_after)
        if window.count >= rule.limit:
            return RateDecision(headers, retry_after=reset_after)
        window.count += 1
        headers = self._headers(rule, name, window, reset_after)
        return RateDecision(headers)

    def _check_global(self, now: float) -> RateDecision | None:
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= self.global_per_second:
            retry = self._real(self._global[0] + 1.0 - now)
            return RateDecision({"X-RateLimit-Global": "true"}, retry, is_global=True)
        self._global.append(now)
        return None

    def _real(self, wait: float) -> float:
        """A wait on the limits' time line as the real seconds a client is told: rounded up to
        the millisecond (at least 1 ms), so a client that sleeps what it is told never comes
        back before the window has ended."""
        real = self.clock.real_seconds(max(wait, 0.0))
        return max(math.ceil(round(real * 1000, 6)) / 1000, 0.001)

    @staticmethod
    def _headers(rule: RateRule, name: str, window: _Window, reset_after: float) -> dict[str, str]:
        if not rule.advertise:
            return {}
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - window.count, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(name),
        }
