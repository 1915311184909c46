"""The Gateway: HELLO/IDENTIFY/READY, dispatches with intents, RESUME replay and reconnects.

Frames are sent as TEXT JSON; discord.py only decompresses binary frames, so the `compress`
query parameter and IDENTIFY's `compress: true` can be ignored (tests/README.md, fact 3).
"""

# Timeouts are part of the public test API (like asyncio.wait_for), hence ASYNC109.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulator.records import Signal
from tests.emulator.world import World

JSON = dict[str, Any]

# Opcodes
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, RECONNECT = 0, 1, 2, 3, 4, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

# Intents
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
GUILD_SCHEDULED_EVENTS = 1 << 16
GUILD_MESSAGE_POLLS = 1 << 24
DIRECT_MESSAGE_POLLS = 1 << 25
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

HEARTBEAT_INTERVAL_MS = 41_250
REPLAY_BUFFER = 10_000
CLOSE_AUTH_FAILED = 4004
CLOSE_DISALLOWED_INTENTS = 4014
# A client closing with 1000/1001 ends its session; other codes leave it resumable.
SESSION_ENDING_CLOSE_CODES = frozenset({1000, 1001})

_GUILD_INTENT_PREFIXES: tuple[tuple[str, int, int], ...] = (
    # (event prefix, intent in a guild, intent in a DM)
    ("MESSAGE_REACTION_", GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    ("MESSAGE_POLL_VOTE_", GUILD_MESSAGE_POLLS, DIRECT_MESSAGE_POLLS),
    ("MESSAGE_", GUILD_MESSAGES, DIRECT_MESSAGES),
    ("GUILD_MEMBER_", GUILD_MEMBERS, GUILD_MEMBERS),
    ("GUILD_SCHEDULED_EVENT_", GUILD_SCHEDULED_EVENTS, GUILD_SCHEDULED_EVENTS),
    ("GUILD_", GUILDS, GUILDS),
    ("CHANNEL_", GUILDS, GUILDS),
    ("THREAD_", GUILDS, GUILDS),
)


def required_intent(event: str, guild_id: int | None) -> int:
    """The intent bit an event needs (tests/README.md, fact 20); 0 means it is always sent."""
    for prefix, in_guild, in_dm in _GUILD_INTENT_PREFIXES:
        if event.startswith(prefix):
            return in_guild if guild_id is not None else in_dm
    return 0


def _blank_content(data: JSON, bot_id: int) -> JSON:
    """Without MESSAGE_CONTENT, guild messages lose content unless by or mentioning the bot."""
    author = (data.get("author") or {}).get("id")
    mentioned = any(m.get("id") == str(bot_id) for m in data.get("mentions") or [])
    if author == str(bot_id) or mentioned:
        return data
    blanked = dict(data)
    blanked.update(content="", embeds=[], attachments=[], components=[])
    blanked.pop("poll", None)
    return blanked


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: GatewaySession | None = None

    def send(self, frame: JSON) -> None:
        self.outbox.put_nowait(json.dumps(frame))


@dataclass(eq=False)
class GatewaySession:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    valid: bool = True
    attaches: int = 0  # how many times a connection identified or resumed into it
    resumes: int = 0
    conn: Connection | None = None
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))

    def push(self, event: str, data: JSON) -> None:
        """Number the event, keep it for replay, and send it if a connection is attached."""
        self.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.conn is not None:
            self.conn.outbox.put_nowait(frame)


class Gateway:
    """The websocket endpoint at `/` (also the `resume_gateway_url`)."""

    def __init__(self, world: World, signal: Signal) -> None:
        self.world = world
        self.signal = signal
        self.url = "ws://127.0.0.1:0/"
        self.allowed_intents = PRIVILEGED
        self.sessions: dict[str, GatewaySession] = {}
        self.received: list[JSON] = []  # every frame the clients sent (heartbeats excluded)
        self._gate = asyncio.Event()
        self._gate.set()
        self._connections: set[Connection] = set()
        world.subscribe(self.dispatch)

    # ---- state -----------------------------------------------------------------------------
    @property
    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.valid and s.conn is not None]

    @property
    def connected(self) -> bool:
        return bool(self.live_sessions)

    def dispatch(self, event: str, data: JSON, guild_id: int | None = None) -> None:
        """World sink: deliver to every valid session whose intents ask for the event."""
        for session in self.sessions.values():
            if not session.valid:
                continue
            needed = required_intent(event, guild_id)
            if needed and not session.intents & needed:
                continue
            payload = data
            no_content = not session.intents & MESSAGE_CONTENT
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and guild_id and no_content:
                payload = _blank_content(data, self.world.bot_user_id)
            session.push(event, payload)
        self.signal.fire()

    # ---- websocket -------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self._gate.wait()
        conn = Connection(ws)
        self._connections.add(conn)
        writer = asyncio.create_task(self._write(conn))
        conn.send({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_frame(conn, json.loads(msg.data))
        finally:
            self._detach(conn, ws.close_code)
            conn.outbox.put_nowait(None)
            await writer
            self._connections.discard(conn)
        return ws

    async def _write(self, conn: Connection) -> None:
        while (frame := await conn.outbox.get()) is not None:
            if conn.ws.closed:
                continue
            with contextlib.suppress(ConnectionError):
                await conn.ws.send_str(frame)

    def _detach(self, conn: Connection, close_code: int | None) -> None:
        session = conn.session
        if session is not None and session.conn is conn:
            session.conn = None
            if close_code in SESSION_ENDING_CLOSE_CODES:
                session.valid = False
        self.signal.fire()

    async def _on_frame(self, conn: Connection, frame: JSON) -> None:
        op = frame.get("op")
        if op == HEARTBEAT:
            conn.send({"op": HEARTBEAT_ACK})
            return
        self.received.append(frame)
        data: JSON = frame.get("d") or {}
        if op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            self._resume(conn, data)
        elif op == REQUEST_MEMBERS:
            self._send_members(conn, data)

    def _token_ok(self, token: object) -> bool:
        return isinstance(token, str) and token.removeprefix("Bot ") == self.world.token

    async def _identify(self, conn: Connection, data: JSON) -> None:
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~self.allowed_intents:
            await conn.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        # A new login replaces sessions whose connection went away without resuming.
        for old in self.sessions.values():
            if old.conn is None:
                old.valid = False
        session = GatewaySession(secrets.token_hex(16), intents, data.get("shard"))
        self.sessions[session.id] = session
        self._attach(conn, session)
        session.push("READY", self._ready_payload(session))
        for guild in self.world.guilds.values():
            session.push("GUILD_CREATE", guild.create_payload())
        self.signal.fire()

    def _ready_payload(self, session: GatewaySession) -> JSON:
        # user, guilds, session_id and resume_gateway_url are read directly
        # (tests/README.md, fact 14).
        ready: JSON = {
            "v": 10,
            "user": self.world.bot_user_payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "session_type": "normal",
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["reel-club-emulator"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        return ready

    def _attach(self, conn: Connection, session: GatewaySession) -> None:
        conn.session = session
        session.conn = conn
        session.attaches += 1

    def _resume(self, conn: Connection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        usable = session is not None and session.valid and session.conn is None
        if session is None or not usable or not self._token_ok(data.get("token")):
            conn.send({"op": INVALID_SESSION, "d": False})
            return
        self._attach(conn, session)
        after = int(data.get("seq") or 0)
        for seq, frame in session.buffer:
            if seq > after:
                conn.outbox.put_nowait(frame)
        session.resumes += 1
        session.push("RESUMED", {"_trace": ["reel-club-emulator"]})
        self.signal.fire()

    def _send_members(self, conn: Connection, data: JSON) -> None:
        if conn.session is None:
            return
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.member_payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        conn.session.push("GUILD_MEMBERS_CHUNK", chunk)

    # ---- control ---------------------------------------------------------------------------
    def _the_live_session(self) -> GatewaySession:
        live = self.live_sessions
        assert live, "no bot is connected to the gateway"
        return live[0]

    async def reconnect(
        self,
        *,
        resume: bool,
        during: Callable[[], Awaitable[None]] | None,
        timeout: float,
    ) -> None:
        """op 7 (resume) or op 9 false (re-identify); `during` runs while the bot is away."""
        session = self._the_live_session()
        conn = session.conn
        assert conn is not None
        attaches = session.attaches
        known = set(self.sessions)
        self._gate.clear()
        try:
            if resume:
                conn.send({"op": RECONNECT, "d": None})
            else:
                session.valid = False
                conn.send({"op": INVALID_SESSION, "d": False})
            await self.signal.wait_for(
                lambda: session.conn is not conn, timeout, "the bot to hang up"
            )
            if during is not None:
                await during()
        finally:
            self._gate.set()
        if resume:
            await self.signal.wait_for(
                lambda: session.attaches > attaches and session.conn is not None,
                timeout,
                "the bot to RESUME",
            )
        else:
            await self.signal.wait_for(
                lambda: any(s not in known for s in self.sessions) and self.connected,
                timeout,
                "the bot to IDENTIFY again",
            )

    async def close_all(self) -> None:
        for conn in list(self._connections):
            await conn.ws.close(code=1001, message=b"emulator stopping")
