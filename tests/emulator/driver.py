"""`Emulator`: the loopback server, the client redirect, and members' actions for tests."""

# Timeouts are part of the public test API (like asyncio.wait_for), hence ASYNC109.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import yarl
from aiohttp import web

from tests.emulator import routes_app, routes_interactions, routes_messages
from tests.emulator.clock import EmuClock, RealTime
from tests.emulator.commands import (
    CHAT_INPUT,
    MESSAGE_COMMAND,
    USER_COMMAND,
    OptionBuilder,
    Resolved,
    find_command,
    find_component,
    modal_answers,
    nest_options,
    walk_path,
)
from tests.emulator.core import Core
from tests.emulator.entities import ChannelState, GuildState, MemberState
from tests.emulator.gateway import Gateway
from tests.emulator.interactions import AUTOCOMPLETE_RESULT, Interaction
from tests.emulator.launch import ENV_GATEWAY, ENV_REST
from tests.emulator.limits import RateLimiter, validate_message
from tests.emulator.logins import Identify, Logins
from tests.emulator.perms import Perm
from tests.emulator.records import Call, Signal
from tests.emulator.rest import RestServer
from tests.emulator.world import StoredFile, World, emoji_key

JSON = dict[str, Any]
ChannelRef = ChannelState | int
MessageRef = JSON | tuple[int, int]

API_PREFIX = "/api/v10"
# discord.py registers a View only after the HTTP reply to the send arrives, on another
# connection than the gateway; a click that overtakes it is dropped (tests/README.md, fact 18).
SETTLE_SECONDS = 0.3
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
INTERACTION_COMPONENT, INTERACTION_AUTOCOMPLETE, INTERACTION_MODAL = 3, 4, 5
INTERACTION_COMMAND = 2


class Emulator:
    """A loopback Discord for one world; see the `tests.emulator` package docstring."""

    def __init__(
        self,
        world: World | None = None,
        *,
        limit_clock: EmuClock | None = None,
        deadline_clock: EmuClock | None = None,
        identify_clock: EmuClock | None = None,
        shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        """The rate limits run on ``limit_clock`` and the interaction deadlines (3 s, 15 min) on
        ``deadline_clock``; both are real time unless given (see `tests.emulator.clock`).

        The IDENTIFY pacing and the daily session starts (`emu.logins`) run on
        ``identify_clock``, by default the rate limits' clock itself. ``GET /gateway/bot``
        recommends ``shards`` and reports ``max_concurrency`` (tests/README.md, fact 26).
        """
        self.world = world or World()
        self.signal = Signal()
        limits_clock: EmuClock = limit_clock or RealTime()
        self.logins = Logins(
            clock=identify_clock or limits_clock,
            max_concurrency=max_concurrency,
            recommended_shards=shards,
        )
        self.core = Core(self.world, self.signal, limits_clock, self.logins)
        self.deadline_clock: EmuClock = deadline_clock or RealTime()
        self.gateway = Gateway(self.world, self.signal, self.logins)
        self._api = RestServer(
            self.core, [routes_app.routes, routes_messages.routes, routes_interactions.routes]
        )
        self._cdn = RestServer(self.core, [routes_messages.cdn])
        self._runner: web.AppRunner | None = None
        self._saved: tuple[str, yarl.URL] | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._on_api)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self._on_other)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.world.cdn_base = f"http://127.0.0.1:{self.port}"
        self.gateway.url = self.gateway_url
        self.core.gateway_url = self.gateway_url

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_api(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0].removeprefix(API_PREFIX)
        return await self._api.handle(request, raw_path)

    async def _on_other(self, request: web.Request) -> web.StreamResponse:
        return await self._cdn.handle(request, request.raw_path.split("?", 1)[0])

    def install(self) -> None:
        """Point discord.py at this emulator (tests/README.md, facts 1-2).

        `uninstall` restores the old values.
        """
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        if self._saved is None:
            self._saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE = self.rest_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def uninstall(self) -> None:
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        if self._saved is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None

    def subprocess_env(self) -> dict[str, str]:
        """Environment for `python -m tests.emulator.launch -m <module>` (see launch.py)."""
        return {
            ENV_REST: self.rest_base,
            ENV_GATEWAY: self.gateway_url,
            "DISCORD_TOKEN": self.token,
        }

    # ---- addresses and records -------------------------------------------------------------
    @property
    def rest_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def calls(self) -> list[Call]:
        return self.core.calls

    @property
    def unknown(self) -> list[Call]:
        return self.core.unknown

    @property
    def internal_errors(self) -> list[Exception]:
        """Exceptions raised inside route handlers (answered 400 code -1); should stay empty."""
        return self.core.internal_errors

    @property
    def rate_limited(self) -> int:
        return self.core.rate_limited

    @property
    def limits(self) -> RateLimiter:
        return self.core.limiter

    @property
    def interactions(self) -> list[Interaction]:
        return list(self.core.interactions.values())

    def calls_to(self, route: str) -> list[Call]:
        """Calls to one templated route, e.g. "POST /channels/{channel_id}/messages"."""
        return [c for c in self.calls if c.route == route]

    def after_reply(self, route: str, hook: Callable[[Call], None]) -> None:
        """Run ``hook(call)`` each time a reply to ``route`` (e.g.
        "GET /channels/{channel_id}/messages/{message_id}") is built, before it is sent: what
        the hook changes in the world (a member reacting) happens between the bot's request and
        its next one, and the reply still shows the world as it was."""
        self.core.reply_hooks.setdefault(route, []).append(hook)

    # ---- waiting ---------------------------------------------------------------------------
    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "a condition"
    ) -> None:
        """Re-check `predicate` after every REST call and gateway event until it holds."""
        await self.signal.wait_for(predicate, timeout, what)

    async def wait_for_calls(self, route: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(
            lambda: len(self.calls_to(route)) >= count, timeout, f"{count} x {route}"
        )
        return self.calls_to(route)

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    async def wait_connected(
        self, timeout: float = 10.0, *, shards: Iterable[int] | None = None
    ) -> None:
        """Until a bot is connected; with ``shards``, until each of those shard ids has a
        connected session (from whichever client or process)."""
        if shards is None:
            await self.wait_for(lambda: self.connected, timeout, "a bot to connect to the gateway")
            return
        wanted = sorted(set(shards))
        await self.wait_for(
            lambda: all(self.gateway.live_on_shard(s) for s in wanted),
            timeout,
            f"sessions for shards {wanted}",
        )

    def identifies(
        self,
        *,
        shard_id: int | None = None,
        outcome: str | None = None,
        within_limits: bool | None = None,
    ) -> list[Identify]:
        """Every IDENTIFY the gateway received, oldest first (see `Logins.identifies`)."""
        return self.logins.identifies(
            shard_id=shard_id, outcome=outcome, within_limits=within_limits
        )

    async def reconnect(
        self,
        resume: bool = True,
        *,
        during: Callable[[], Awaitable[None]] | None = None,
        timeout: float = 10.0,
        shard_id: int | None = None,
    ) -> None:
        """op 7 and a RESUME (events from `during` are replayed), or op 9 and a new IDENTIFY;
        with several sessions connected, ``shard_id`` says whose."""
        await self.gateway.reconnect(
            resume=resume, during=during, timeout=timeout, shard_id=shard_id
        )

    # ---- helpers ---------------------------------------------------------------------------
    def _channel(self, ref: ChannelRef) -> ChannelState:
        if isinstance(ref, ChannelState):
            return ref
        channel = self.world.channel(ref)
        assert channel is not None, f"no channel {ref}"
        return channel

    def _guild(self, member: MemberState) -> GuildState:
        return self.world.guilds[member.guild_id]

    def _stored(self, ref: MessageRef) -> JSON:
        """The stored message for a dict or (channel_id, message_id); ephemeral dicts as given."""
        if isinstance(ref, tuple):
            found = self.world.message(ref[0], ref[1])
            assert found is not None, f"no message {ref[1]} in channel {ref[0]}"
            return found
        return self.world.find_message(int(ref["id"])) or ref

    def attachment(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> StoredFile:
        """A file a member uploads as an attachment option; served from the loopback CDN."""
        return self.world.store_file(0, filename, data, content_type)

    # ---- interactions ----------------------------------------------------------------------
    def _dispatch_interaction(
        self,
        member: MemberState,
        channel: ChannelState,
        kind: int,
        data: JSON,
        source: JSON | None = None,
    ) -> Interaction:
        guild = self._guild(member)
        member_perms = guild.permissions_for(member, channel)
        app_perms = guild.permissions_for(guild.me, channel)
        itx_id = self.world.ids.next()
        token = f"itx.{secrets.token_urlsafe(32)}"
        payload: JSON = {
            "id": str(itx_id),
            "application_id": str(self.world.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload() | {"permissions": str(int(member_perms))},
            "member": member.member_payload() | {"permissions": str(int(member_perms))},
            "token": token,
            "version": 1,
            "app_permissions": str(int(app_perms)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if source is not None:
            payload["message"] = source
        itx = Interaction(
            itx_id,
            token,
            kind,
            payload,
            channel,
            member,
            self.signal,
            source,
            clock=self.deadline_clock,
        )
        self.core.interactions[itx_id] = itx
        self.core.by_token[token] = itx
        self.world.emit("INTERACTION_CREATE", payload, guild.id)
        return itx

    def _command_data(
        self,
        member: MemberState,
        channel: ChannelState,
        path: str,
        values: dict[str, Any],
        focused: str | None = None,
    ) -> JSON:
        guild = self._guild(member)
        top, *rest = path.split()
        command, guild_scoped = find_command(self.world, guild, top, CHAT_INPUT)
        leaf, chain = walk_path(command, rest)
        builder = OptionBuilder(self.world, guild, channel)
        options = builder.build(list(leaf.get("options") or []), values, focused=focused)
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": CHAT_INPUT,
            "options": nest_options(chain, options),
        }
        if resolved := builder.resolved.payload():
            data["resolved"] = resolved
        if guild_scoped:
            # discord.py finds guild commands only through data.guild_id (tests/README.md, fact 18).
            data["guild_id"] = str(guild.id)
        return data

    async def slash(
        self,
        member: MemberState,
        path: str,
        *,
        channel: ChannelRef | None = None,
        options: dict[str, Any] | None = None,
        **values: Any,
    ) -> Interaction:
        """Run a slash command; `options={...}` for option names that clash with `channel`."""
        where = (
            self._channel(channel)
            if channel is not None
            else self._guild(member).channel("general")
        )
        data = self._command_data(member, where, path, {**values, **(options or {})})
        return self._dispatch_interaction(member, where, INTERACTION_COMMAND, data)

    async def autocomplete(
        self,
        member: MemberState,
        path: str,
        *,
        focused: str,
        value: str,
        channel: ChannelRef | None = None,
        options: dict[str, Any] | None = None,
        timeout: float = 5.0,
        **values: Any,
    ) -> list[JSON]:
        """Type into an autocomplete option; returns the bot's choices."""
        where = (
            self._channel(channel)
            if channel is not None
            else self._guild(member).channel("general")
        )
        typed = {**values, **(options or {}), focused: value}
        data = self._command_data(member, where, path, typed, focused=focused)
        itx = self._dispatch_interaction(member, where, INTERACTION_AUTOCOMPLETE, data)
        response = await itx.response(timeout)
        assert response["type"] == AUTOCOMPLETE_RESULT, f"expected choices, got {response}"
        return itx.choices

    async def message_command(
        self, member: MemberState, name: str, target: MessageRef, *, timeout: float = 5.0
    ) -> Interaction:
        """Use a message context-menu command on `target`."""
        message = self._stored(target)
        channel = self._channel(int(message["channel_id"]))
        command, guild_scoped = find_command(self.world, self._guild(member), name, MESSAGE_COMMAND)
        resolved = Resolved(messages={message["id"]: message})
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": MESSAGE_COMMAND,
            "target_id": message["id"],
            "resolved": resolved.payload(),
        }
        if guild_scoped:
            data["guild_id"] = str(channel.guild_id)
        return self._dispatch_interaction(member, channel, INTERACTION_COMMAND, data)

    async def user_command(
        self,
        member: MemberState,
        name: str,
        target: MemberState,
        *,
        channel: ChannelRef | None = None,
    ) -> Interaction:
        """Use a user context-menu command on `target`."""
        guild = self._guild(member)
        where = self._channel(channel) if channel is not None else guild.channel("general")
        command, guild_scoped = find_command(self.world, guild, name, USER_COMMAND)
        builder = OptionBuilder(self.world, guild, where)
        builder.convert({"name": "target", "type": 6}, target)
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": USER_COMMAND,
            "target_id": str(target.id),
            "resolved": builder.resolved.payload(),
        }
        if guild_scoped:
            data["guild_id"] = str(guild.id)
        return self._dispatch_interaction(member, where, INTERACTION_COMMAND, data)

    async def _settle(self, changed_at: float | None) -> None:
        if changed_at is not None:
            delay = changed_at + SETTLE_SECONDS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def click(
        self,
        member: MemberState,
        message: MessageRef,
        custom_id: str,
        *,
        values: list[str] | None = None,
    ) -> Interaction:
        """Press a button (or pick `values` in a select) on a message, as `member`."""
        stored = self._stored(message)
        component = find_component(stored, custom_id)
        assert not component.get("disabled"), f"component {custom_id!r} is disabled"
        await self._settle(self.world.message_times.get(int(stored["id"])))
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        channel = self._channel(int(stored["channel_id"]))
        return self._dispatch_interaction(member, channel, INTERACTION_COMPONENT, data, stored)

    async def submit_modal(
        self,
        itx: Interaction,
        values: dict[str, str],
        *,
        member: MemberState | None = None,
        timeout: float = 5.0,
    ) -> Interaction:
        """Fill in the modal the bot answered `itx` with; values keyed by label or custom_id."""
        await itx.response(timeout)
        modal = itx.modal
        assert modal is not None, f"interaction {itx.id} was answered with {itx.kind}, not a modal"
        await self._settle(itx.callback_at)
        data = {"custom_id": modal["custom_id"], "components": modal_answers(modal, values)}
        source = itx.source_message
        return self._dispatch_interaction(
            member or itx.member, itx.channel, INTERACTION_MODAL, data, source
        )

    # ---- member actions (gateway events) ---------------------------------------------------
    async def post_message(
        self, member: MemberState, channel: ChannelRef, content: str, **fields: Any
    ) -> JSON:
        """A member sends a message (MESSAGE_CREATE)."""
        where = self._channel(channel)
        perms = self._guild(member).permissions_for(member, where)
        send = Perm.SEND_MESSAGES_IN_THREADS if where.is_thread else Perm.SEND_MESSAGES
        assert perms & send, f"{member.name} may not send messages in {where.name}"
        body = {"content": content, **fields}
        validate_message(body)
        return self.world.post(where, member, body)

    async def delete_message(
        self, channel: ChannelRef, message_id: int, *, by: MemberState | None = None
    ) -> None:
        where = self._channel(channel)
        message = self.world.message(where, message_id)
        assert message is not None, f"no message {message_id}"
        if by is not None and message["author"]["id"] != str(by.id):
            perms = self._guild(by).permissions_for(by, where)
            assert perms & Perm.MANAGE_MESSAGES, f"{by.name} may not delete others' messages"
        self.world.delete_message(where.id, message_id)

    async def delete_channel(self, channel: ChannelRef, *, by: MemberState | None = None) -> None:
        where = self._channel(channel)
        if by is not None:
            needed = Perm.MANAGE_THREADS if where.is_thread else Perm.MANAGE_CHANNELS
            own_thread = where.is_thread and where.owner_id == by.id
            perms = self._guild(by).permissions_for(by, where)
            assert own_thread or perms & needed, f"{by.name} may not delete {where.name}"
        self.world.delete_channel(where)

    async def archive_thread(self, thread: ChannelRef, archived: bool = True) -> None:
        self.world.update_channel(self._channel(thread), archived=archived)

    async def react(
        self, member: MemberState, channel: ChannelRef, message_id: int, emoji: str
    ) -> None:
        """A member adds a reaction (MESSAGE_REACTION_ADD), within Discord's rules."""
        where = self._channel(channel)
        message = self.world.message(where, message_id)
        assert message is not None, f"no message {message_id} in {where.name}"
        existing = self.world.reaction_emojis(message_id)
        perms = self._guild(member).permissions_for(member, where)
        assert perms & Perm.READ_MESSAGE_HISTORY, f"{member.name} cannot read {where.name}"
        if emoji_key(emoji) not in existing:
            assert perms & Perm.ADD_REACTIONS, f"{member.name} may not add new reactions"
            assert len(existing) < 20, "the message already has 20 different reactions"
        self.world.add_reaction(message, member, emoji)

    async def unreact(
        self, member: MemberState, channel: ChannelRef, message_id: int, emoji: str
    ) -> None:
        message = self.world.message(self._channel(channel), message_id)
        assert message is not None, f"no message {message_id}"
        self.world.remove_reaction(message, member, emoji)

    async def clear_reactions(
        self,
        channel: ChannelRef,
        message_id: int,
        *,
        by: MemberState,
        emoji: str | None = None,
    ) -> None:
        """A moderator removes all reactions (REMOVE_ALL) or all of one emoji (REMOVE_EMOJI)."""
        where = self._channel(channel)
        message = self.world.message(where, message_id)
        assert message is not None, f"no message {message_id}"
        perms = self._guild(by).permissions_for(by, where)
        assert perms & Perm.MANAGE_MESSAGES, f"{by.name} may not clear reactions"
        self.world.clear_reactions(message, emoji)

    async def vote_poll(
        self, member: MemberState, channel: ChannelRef, message_id: int, answer_id: int
    ) -> None:
        message = self.world.message(self._channel(channel), message_id)
        assert message is not None, f"no message {message_id}"
        self.world.vote(message, member, answer_id, add=True)

    async def unvote_poll(
        self, member: MemberState, channel: ChannelRef, message_id: int, answer_id: int
    ) -> None:
        message = self.world.message(self._channel(channel), message_id)
        assert message is not None, f"no message {message_id}"
        self.world.vote(message, member, answer_id, add=False)
