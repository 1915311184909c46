"""The Gateway: HELLO/IDENTIFY/READY, dispatches with intents, RESUME replay and reconnects.

Frames are sent as TEXT JSON; discord.py only decompresses binary frames, so the `compress`
query parameter and IDENTIFY's `compress: true` can be ignored (tests/README.md, fact 3).

Sessions may be shards (tests/README.md, facts 27-29): IDENTIFY names ``[shard_id,
num_shards]`` (none means ``[0, 1]``), is paced by `tests.emulator.logins`, and each session
gets only the events of its own guilds, ``(guild_id >> 22) % num_shards == shard_id``; events
outside any guild go to shard 0. Sessions from any number of clients or processes coexist.
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

from tests.emulator import logins as outcome
from tests.emulator.entities import GuildState
from tests.emulator.ids import shard_of
from tests.emulator.logins import Logins
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
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011
CLOSE_DISALLOWED_INTENTS = 4014
# Discord's most guilds one session may handle before sharding is required (4011).
MAX_GUILDS_PER_SESSION = 2500
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


def parse_shard(raw: object) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(shard_id, num_shards)``; no shard is ``(0, 1)``, and None
    means a value Discord refuses with 4010 (tests/README.md, fact 27)."""
    if raw is None:
        return (0, 1)
    if isinstance(raw, list) and len(raw) == 2 and all(type(n) is int for n in raw):
        shard_id, num_shards = raw
        if num_shards >= 1 and 0 <= shard_id < num_shards:
            return (shard_id, num_shards)
    return None


def _named_shard(raw: object) -> tuple[int, int]:
    """What an invalid ``shard`` named, for the record: its numbers, or (0, 0)."""
    if isinstance(raw, list) and len(raw) == 2 and all(type(n) is int for n in raw):
        return (raw[0], raw[1])
    return (0, 0)


@dataclass(eq=False)
class GatewaySession:
    id: str
    intents: int
    shard_id: int = 0
    num_shards: int = 1
    sharded: bool = False  # IDENTIFY named a shard, so READY names it back
    seq: int = 0
    valid: bool = True
    attaches: int = 0  # how many times a connection identified or resumed into it
    resumes: int = 0
    conn: Connection | None = None
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))

    @property
    def shard(self) -> tuple[int, int]:
        return (self.shard_id, self.num_shards)

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session gets an event of that guild (or outside any guild: None)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.num_shards) == self.shard_id

    def sent(self, event: str | None = None) -> list[JSON]:
        """The dispatches this session was given (still in its replay buffer), oldest first:
        ``{"t", "s", "d"}`` frames, only those named ``event`` if given."""
        frames = [json.loads(frame) for _, frame in self.buffer]
        return [f for f in frames if event is None or f["t"] == event]

    def push(self, event: str, data: JSON) -> None:
        """Number the event, keep it for replay, and send it if a connection is attached."""
        self.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.conn is not None:
            self.conn.outbox.put_nowait(frame)


class Gateway:
    """The websocket endpoint at `/` (also the `resume_gateway_url`)."""

    def __init__(self, world: World, signal: Signal, logins: Logins | None = None) -> None:
        self.world = world
        self.signal = signal
        self.logins = logins or Logins()
        self.url = "ws://127.0.0.1:0/"
        self.allowed_intents = PRIVILEGED
        self.max_guilds_per_session = MAX_GUILDS_PER_SESSION
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

    def live_on_shard(self, shard_id: int) -> list[GatewaySession]:
        """The connected sessions identified as ``shard_id`` (of any shard count)."""
        return [s for s in self.live_sessions if s.shard_id == shard_id]

    def dispatch(self, event: str, data: JSON, guild_id: int | None = None) -> None:
        """World sink: deliver to every valid session that owns the guild (shard 0 for events
        outside any guild) and whose intents ask for the event."""
        for session in self.sessions.values():
            if not session.valid or not session.receives(guild_id):
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
        """Validate, pace and record one IDENTIFY; start a session if all is well."""
        shard = parse_shard(data.get("shard"))
        shard_id, num_shards = shard or _named_shard(data.get("shard"))
        logins = self.logins
        # Judged before anything else changes: whether Discord would accept it at this moment.
        within = logins.paced(shard_id) and logins.remaining > 0

        def record(result: str, session_id: str | None = None) -> None:
            logins.record(shard_id, num_shards, result, within_limits=within, session_id=session_id)
            self.signal.fire()

        if not self._token_ok(data.get("token")):
            record(outcome.AUTHENTICATION_FAILED)
            await conn.ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return
        if shard is None:
            record(outcome.INVALID_SHARD)
            await conn.ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~self.allowed_intents:
            record(outcome.DISALLOWED_INTENTS)
            await conn.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        guilds = self.world.guilds_on_shard(shard_id, num_shards)
        if len(guilds) > self.max_guilds_per_session:
            record(outcome.SHARDING_REQUIRED)
            await conn.ws.close(code=CLOSE_SHARDING_REQUIRED, message=b"Sharding required.")
            return
        if not logins.paced(shard_id):
            # Too soon for its bucket: no session, the client identifies again later.
            record(outcome.INVALID_SESSION)
            conn.send({"op": INVALID_SESSION, "d": False})
            return
        if logins.remaining <= 0:
            record(outcome.TOKEN_RESET)
            await self._reset_token()
            return
        # A new login replaces this shard's sessions whose connection went away unresumed.
        for old in self.sessions.values():
            if old.conn is None and old.shard == shard:
                old.valid = False
        session = GatewaySession(
            secrets.token_hex(16), intents, shard_id, num_shards, data.get("shard") is not None
        )
        self.sessions[session.id] = session
        self._attach(conn, session)
        record(outcome.READY, session.id)
        session.push("READY", self._ready_payload(session, guilds))
        for guild in guilds:
            session.push("GUILD_CREATE", guild.create_payload())
        self.signal.fire()

    async def _reset_token(self) -> None:
        """What Discord does when the day's session starts run out: every session of the app
        ends and its token is reset (so the old one fails, 401 and 4004, from now on)."""
        self.world.token = f"reset-{secrets.token_urlsafe(16)}"
        for session in self.sessions.values():
            session.valid = False
        for conn in list(self._connections):
            await conn.ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")

    def _ready_payload(self, session: GatewaySession, guilds: list[GuildState]) -> JSON:
        # user, guilds, session_id and resume_gateway_url are read directly
        # (tests/README.md, fact 14); a shard's READY lists only its guilds (fact 29).
        ready: JSON = {
            "v": 10,
            "user": self.world.bot_user_payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "session_type": "normal",
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["reel-club-emulator"],
        }
        if session.sharded:
            ready["shard"] = [session.shard_id, session.num_shards]
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
        if guild is None or not conn.session.receives(guild.id):
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
    def _the_live_session(self, shard_id: int | None) -> GatewaySession:
        live = self.live_sessions if shard_id is None else self.live_on_shard(shard_id)
        assert live, f"no bot is connected to the gateway (shard {shard_id})"
        assert len(live) == 1, f"{len(live)} sessions are connected; say which shard"
        return live[0]

    async def reconnect(
        self,
        *,
        resume: bool,
        during: Callable[[], Awaitable[None]] | None,
        timeout: float,
        shard_id: int | None = None,
    ) -> None:
        """op 7 (resume) or op 9 false (re-identify) to the one connected session, or to the
        one of ``shard_id``; `during` runs while that session is away."""
        session = self._the_live_session(shard_id)
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
                lambda: any(
                    s.conn is not None and s.shard == session.shard
                    for k, s in self.sessions.items()
                    if k not in known
                ),
                timeout,
                "the bot to IDENTIFY again",
            )

    async def close_all(self) -> None:
        for conn in list(self._connections):
            await conn.ws.close(code=1001, message=b"emulator stopping")
