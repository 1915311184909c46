"""REST plumbing: route tables, request parsing, auth, rate limits, recording, JSON replies."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from tests.emulator.core import Core
from tests.emulator.errors import ApiError
from tests.emulator.limits import RateDecision
from tests.emulator.records import Call


@dataclass
class Upload:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[Upload] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}

    def int_query(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        return default if raw is None else int(raw)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"


NO_CONTENT = 204
Handler = Callable[[Core, ApiRequest], Awaitable[Reply]]


def ok(body: Any) -> Reply:
    return Reply(200, body)


def no_content() -> Reply:
    return Reply(NO_CONTENT)


@dataclass(frozen=True)
class RouteDef:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]
    auth: bool
    exempt_global: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def _compile(template: str) -> re.Pattern[str]:
    """`{something_id}` matches a snowflake only, so `@me`/`@original`/`pins` never pass as ids."""
    regex = ""
    for part in re.split(r"(\{\w+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            regex += f"(?P<{name}>\\d+)" if name.endswith("_id") else f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


class RouteTable:
    """Routes declared next to their handlers; the first matching route wins."""

    def __init__(self) -> None:
        self.routes: list[RouteDef] = []

    def route(
        self, method: str, template: str, *, auth: bool = True, exempt_global: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                RouteDef(method, template, handler, _compile(template), auth, exempt_global)
            )
            return handler

        return register


# Discord's major parameters: a bucket is per route *and* per one of these.
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")


class RestServer:
    """Turns aiohttp requests into handler calls and records every one of them."""

    def __init__(self, core: Core, tables: list[RouteTable]) -> None:
        self.core = core
        self.routes = [r for t in tables for r in t.routes]

    def match(self, method: str, raw_path: str) -> tuple[RouteDef, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(raw_path)
            if found is not None:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    async def handle(self, request: web.Request, raw_path: str) -> web.Response:
        body, uploads = await _read_body(request)
        call = Call(
            method=request.method,
            path=unquote(raw_path),
            route=None,
            query=dict(request.query),
            json=body,
            headers=_recorded_headers(request),
            files=[u.filename for u in uploads],
        )
        self.core.calls.append(call)
        headers: dict[str, str] = {}
        matched = self.match(request.method, raw_path)
        if matched is None:
            self.core.unknown.append(call)
            reply = Reply(404, {"message": "404: Not Found", "code": 0})
        else:
            route, params = matched
            call.route = route.key
            reply, headers = await self._run(route, params, request, body, uploads)
        call.status = reply.status
        call.response = reply.body
        response = _to_response(reply, headers)  # the reply as it is now, whatever hooks do
        for hook in self.core.reply_hooks.get(call.route or "", []):
            hook(call)
        self.core.signal.fire()
        return response

    async def _run(
        self,
        route: RouteDef,
        params: dict[str, str],
        request: web.Request,
        body: Any,
        uploads: list[Upload],
    ) -> tuple[Reply, dict[str, str]]:
        if route.auth and request.headers.get("Authorization") != f"Bot {self.core.world.token}":
            return Reply(401, {"message": "401: Unauthorized", "code": 0}), {}
        major = "+".join(params[k] for k in MAJOR_PARAMETERS if k in params)
        decision = self.core.limiter.check(route.key, major, exempt_global=route.exempt_global)
        if decision.retry_after is not None:
            self.core.rate_limited += 1
            return _too_many(decision), _limit_headers(decision)
        api_request = ApiRequest(
            request.method, unquote(request.path), params, dict(request.query), body, uploads
        )
        try:
            reply = await route.handler(self.core, api_request)
        except ApiError as error:
            reply = Reply(error.status, error.body())
        except Exception as error:
            # A bug in the emulator. Not a 5xx: discord.py would retry those for seconds.
            self.core.internal_errors.append(error)
            reply = Reply(400, {"message": f"emulator internal error: {error!r}", "code": -1})
        return reply, decision.headers


def _too_many(decision: RateDecision) -> Reply:
    retry_after = decision.retry_after or 0.0
    return Reply(
        429,
        {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": decision.is_global,
        },
    )


def _limit_headers(decision: RateDecision) -> dict[str, str]:
    headers = dict(decision.headers)
    headers["Retry-After"] = str(math.ceil(decision.retry_after or 0))
    headers["X-RateLimit-Scope"] = "global" if decision.is_global else "user"
    # discord.py treats a 429 without `Via` as a Cloudflare ban and raises instead of retrying.
    headers["Via"] = "1.1 google"
    return headers


async def _read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    if not request.body_exists:
        return None, []
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        return raw.decode(errors="replace"), []


async def _read_multipart(request: web.Request) -> tuple[Any, list[Upload]]:
    """discord.py sends `payload_json` plus one `files[n]` part per file."""
    payload: Any = None
    uploads: list[Upload] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read(decode=False)
        if part.name == "payload_json":
            payload = json.loads(data)
        else:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            uploads.append(Upload(part.name or "", part.filename or "file", content_type, data))
    return payload, uploads


def _recorded_headers(request: web.Request) -> dict[str, str]:
    headers = {
        k: request.headers[k]
        for k in ("User-Agent", "X-Audit-Log-Reason", "Content-Type")
        if k in request.headers
    }
    if "Authorization" in request.headers:
        headers["Authorization"] = "Bot <token>"
    return headers


def _to_response(reply: Reply, headers: dict[str, str]) -> web.Response:
    if reply.status == NO_CONTENT:
        return web.Response(status=NO_CONTENT, headers=headers)
    if reply.raw is not None:
        return web.Response(
            status=reply.status,
            body=reply.raw,
            headers={**headers, "Content-Type": reply.content_type},
        )
    # Exactly "application/json": discord.py compares the header with == (tests/README.md, fact 5).
    body = json.dumps(reply.body).encode()
    return web.Response(
        status=reply.status, body=body, headers={**headers, "Content-Type": "application/json"}
    )
