"""The emulated Discord state: guilds, messages, reactions, polls, threads and files.

Every change that Discord would announce on the gateway is announced through `World.emit`;
the gateway (when a bot is connected) turns those into dispatches.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.emulator.entities import (
    FORUM,
    JSON,
    PUBLIC_THREAD,
    ChannelState,
    GuildState,
    MemberState,
)
from tests.emulator.ids import Snowflakes, iso_in, now_iso, shard_of, snowflake_time

EventSink = Callable[[str, JSON, "int | None"], None]
ChannelRef = "ChannelState | int"

DEFAULT_TEXT_CHANNELS = ("general", "movies", "reviews", "picks")
DEFAULT_FORUM = "movie-forum"
DEFAULT_FORUM_TAGS = ("Spoilers", "Discussion")

MESSAGE_FLAG_HAS_THREAD = 1 << 5
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7

_USER_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass
class StoredFile:
    """An uploaded attachment, served back from the loopback CDN route."""

    id: int
    channel_id: int
    filename: str
    content_type: str
    data: bytes
    url: str

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


def emoji_key(emoji: str) -> str:
    """Normalise an emoji as it appears in a reaction path: unicode, or `name:id` for custom."""
    return emoji.removeprefix("<").removesuffix(">").removeprefix("a:")


def emoji_payload(key: str) -> JSON:
    name, sep, emoji_id = key.partition(":")
    if sep and emoji_id.isdigit():
        return {"id": emoji_id, "name": name}
    return {"id": None, "name": key}


class World:
    """All guilds, the bot's identity, synced commands, and every message."""

    def __init__(
        self,
        *,
        bot_name: str = "Reel Club",
        guild_name: str = "Reel Club HQ",
        token: str = "emulator-token",
    ) -> None:
        self.ids = Snowflakes()
        self.token = token
        self.bot_name = bot_name
        self.application_id = self.ids.next()
        self.bot_user_id = self.application_id  # modern bots share the application's id
        self.cdn_base = "http://127.0.0.1:0"
        self.guilds: dict[int, GuildState] = {}
        self.commands: dict[int | None, list[JSON]] = {}
        self.files: dict[int, StoredFile] = {}
        self.message_times: dict[int, float] = {}
        self._user_ids: dict[str, int] = {bot_name: self.bot_user_id}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._message_channel: dict[int, int] = {}
        self._reactions: dict[int, dict[str, list[int]]] = {}
        self._votes: dict[int, dict[int, list[int]]] = {}
        self._sinks: list[EventSink] = []
        self.guild = self.add_guild(guild_name)

    # ---- identity and guilds ---------------------------------------------------------------
    def user_id_for(self, name: str) -> int:
        if name not in self._user_ids:
            self._user_ids[name] = self.ids.next()
        return self._user_ids[name]

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> GuildState:
        """A guild with the default channels: general, movies, reviews, picks and a forum.

        With ``shard=(shard_id, num_shards)`` its id is chosen so that, among ``num_shards``
        shards, its events go to ``shard_id``: ``(guild_id >> 22) % num_shards == shard_id``.
        """
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        guild = GuildState(self, guild_id, name)
        self.guilds[guild.id] = guild
        for channel_name in DEFAULT_TEXT_CHANNELS:
            guild.add_channel(channel_name)
        guild.add_channel(DEFAULT_FORUM, type=FORUM, tags=list(DEFAULT_FORUM_TAGS))
        self.emit("GUILD_CREATE", guild.create_payload(), guild.id)
        return guild

    def add_guilds(
        self, count: int, *, num_shards: int = 1, name: str = "guild {index}"
    ) -> list[GuildState]:
        """``count`` new guilds spread round-robin over ``num_shards`` shards: the guild at
        ``index`` goes to shard ``index % num_shards``. ``name`` is formatted with ``index``."""
        return [
            self.add_guild(name.format(index=index), shard=(index % num_shards, num_shards))
            for index in range(count)
        ]

    def guilds_on_shard(self, shard_id: int, num_shards: int) -> list[GuildState]:
        """The guilds whose events a session identified as ``[shard_id, num_shards]`` gets."""
        return [g for g in self.guilds.values() if shard_of(g.id, num_shards) == shard_id]

    def bot_user_payload(self) -> JSON:
        return self.guild.me.user_payload()

    def channel(self, channel_id: int) -> ChannelState | None:
        for guild in self.guilds.values():
            found = guild.channels.get(channel_id) or guild.thread_channels.get(channel_id)
            if found is not None:
                return found
        return None

    def guild_of(self, channel: ChannelState) -> GuildState:
        return self.guilds[channel.guild_id]

    def member(self, guild_id: int, user_id: int) -> MemberState | None:
        guild = self.guilds.get(guild_id)
        return None if guild is None else guild.members.get(user_id)

    @property
    def threads(self) -> list[JSON]:
        return [t for g in self.guilds.values() for t in g.threads]

    # ---- events ----------------------------------------------------------------------------
    def subscribe(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: EventSink) -> None:
        self._sinks.remove(sink)

    def emit(self, event: str, data: JSON, guild_id: int | None = None) -> None:
        for sink in list(self._sinks):
            sink(event, data, guild_id)

    # ---- messages --------------------------------------------------------------------------
    def messages(self, channel: ChannelState | int) -> list[JSON]:
        """The channel's stored messages, oldest first."""
        channel_id = channel if isinstance(channel, int) else channel.id
        return list(self._messages.get(channel_id, {}).values())

    def message(self, channel: ChannelState | int, message_id: int) -> JSON | None:
        channel_id = channel if isinstance(channel, int) else channel.id
        return self._messages.get(channel_id, {}).get(message_id)

    def find_message(self, message_id: int) -> JSON | None:
        channel_id = self._message_channel.get(message_id)
        return None if channel_id is None else self.message(channel_id, message_id)

    def build_message(
        self,
        channel: ChannelState,
        author: MemberState,
        body: JSON,
        *,
        message_id: int | None = None,
    ) -> JSON:
        """A message payload from a validated request body; not stored yet.

        The fields discord.py requires: tests/README.md, fact 12.
        """
        content = body.get("content") or ""
        message: JSON = {
            "id": str(message_id or self.ids.next()),
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "author": author.user_payload(),
            "member": author.member_payload(with_user=False),
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": self._mentions(channel.guild_id, content),
            "mention_roles": [],
            "attachments": list(body.get("attachments") or []),
            "embeds": [_normalise_embed(e) for e in body.get("embeds") or []],
            "components": list(body.get("components") or []),
            "reactions": [],
            "pinned": False,
            "type": 19 if body.get("message_reference") else 0,
            "flags": int(body.get("flags") or 0),
        }
        for key in ("message_reference", "allowed_mentions", "sticker_ids", "nonce"):
            if body.get(key) is not None:
                message[key] = body[key]
        if body.get("poll") is not None:
            message["poll"] = _normalise_poll(body["poll"])
            self._votes[int(message["id"])] = {}
        return message

    def _mentions(self, guild_id: int, content: str) -> list[JSON]:
        found: list[JSON] = []
        for raw in _USER_MENTION.findall(content):
            member = self.member(guild_id, int(raw))
            if member is not None:
                found.append(
                    member.user_payload() | {"member": member.member_payload(with_user=False)}
                )
        return found

    def store_message(self, channel: ChannelState, message: JSON) -> JSON:
        """Store a built message and dispatch MESSAGE_CREATE."""
        message_id = int(message["id"])
        self._messages.setdefault(channel.id, {})[message_id] = message
        self._message_channel[message_id] = channel.id
        self.message_times[message_id] = time.monotonic()
        if channel.is_thread:
            channel.message_count += 1
        self.emit("MESSAGE_CREATE", message, channel.guild_id)
        return message

    def post(self, channel: ChannelState, author: MemberState, body: JSON) -> JSON:
        return self.store_message(channel, self.build_message(channel, author, body))

    def update_message(self, message: JSON, changes: JSON, *, edited: bool = True) -> JSON:
        """Apply changes to a stored message and dispatch MESSAGE_UPDATE (full message)."""
        for key, value in changes.items():
            if key == "embeds":
                message["embeds"] = [_normalise_embed(e) for e in value or []]
            elif key == "content":
                message["content"] = value or ""
                message["mentions"] = self._mentions(int(message["guild_id"]), message["content"])
            else:
                message[key] = value
        if edited:
            message["edited_timestamp"] = now_iso()
        self.message_times[int(message["id"])] = time.monotonic()
        self.emit("MESSAGE_UPDATE", message, int(message["guild_id"]))
        return message

    def delete_message(self, channel_id: int, message_id: int) -> None:
        message = self._messages.get(channel_id, {}).pop(message_id, None)
        if message is None:
            return
        self._forget(message_id)
        self.emit(
            "MESSAGE_DELETE",
            {"id": str(message_id), "channel_id": str(channel_id), "guild_id": message["guild_id"]},
            int(message["guild_id"]),
        )

    def bulk_delete(self, channel: ChannelState, message_ids: list[int]) -> None:
        for message_id in message_ids:
            self._messages.get(channel.id, {}).pop(message_id, None)
            self._forget(message_id)
        self.emit(
            "MESSAGE_DELETE_BULK",
            {
                "ids": [str(m) for m in message_ids],
                "channel_id": str(channel.id),
                "guild_id": str(channel.guild_id),
            },
            channel.guild_id,
        )

    def _forget(self, message_id: int) -> None:
        self._message_channel.pop(message_id, None)
        self._reactions.pop(message_id, None)
        self._votes.pop(message_id, None)
        self.message_times.pop(message_id, None)

    # ---- reactions -------------------------------------------------------------------------
    def reaction_users(self, message_id: int, emoji: str) -> list[int]:
        return list(self._reactions.get(message_id, {}).get(emoji_key(emoji), []))

    def reaction_emojis(self, message_id: int) -> list[str]:
        return list(self._reactions.get(message_id, {}))

    def add_reaction(self, message: JSON, member: MemberState, emoji: str) -> bool:
        """Record a reaction; False if the member had already reacted with that emoji."""
        key = emoji_key(emoji)
        users = self._reactions.setdefault(int(message["id"]), {}).setdefault(key, [])
        if member.id in users:
            return False
        users.append(member.id)
        self._render_reactions(message)
        event = self._reaction_event(message, member, key, add=True)
        self.emit("MESSAGE_REACTION_ADD", event, int(message["guild_id"]))
        return True

    def remove_reaction(self, message: JSON, member: MemberState, emoji: str) -> bool:
        key = emoji_key(emoji)
        per_emoji = self._reactions.get(int(message["id"]), {})
        users = per_emoji.get(key, [])
        if member.id not in users:
            return False
        users.remove(member.id)
        if not users:
            del per_emoji[key]
        self._render_reactions(message)
        event = self._reaction_event(message, member, key, add=False)
        self.emit("MESSAGE_REACTION_REMOVE", event, int(message["guild_id"]))
        return True

    def clear_reactions(self, message: JSON, emoji: str | None = None) -> None:
        """Remove every reaction (REMOVE_ALL) or all of one emoji (REMOVE_EMOJI)."""
        message_id = int(message["id"])
        base = {
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": message["guild_id"],
        }
        if emoji is None:
            self._reactions.pop(message_id, None)
            self._render_reactions(message)
            self.emit("MESSAGE_REACTION_REMOVE_ALL", base, int(message["guild_id"]))
            return
        key = emoji_key(emoji)
        self._reactions.get(message_id, {}).pop(key, None)
        self._render_reactions(message)
        event = base | {"emoji": emoji_payload(key)}
        self.emit("MESSAGE_REACTION_REMOVE_EMOJI", event, int(message["guild_id"]))

    def _render_reactions(self, message: JSON) -> None:
        per_emoji = self._reactions.get(int(message["id"]), {})
        message["reactions"] = [
            {
                "emoji": emoji_payload(key),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": self.bot_user_id in users,
                "me_burst": False,
                "burst_colors": [],
            }
            for key, users in per_emoji.items()
        ]

    def _reaction_event(self, message: JSON, member: MemberState, key: str, *, add: bool) -> JSON:
        # tests/README.md, fact 19: `type` is required since discord.py 2.4; `member` only on ADD.
        event: JSON = {
            "user_id": str(member.id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": message["guild_id"],
            "emoji": emoji_payload(key),
            "type": 0,
            "burst": False,
            "burst_colors": [],
            "message_author_id": message["author"]["id"],
        }
        if add:
            event["member"] = member.member_payload()
        return event

    # ---- polls -----------------------------------------------------------------------------
    def poll_voters(self, message_id: int, answer_id: int) -> list[int]:
        return list(self._votes.get(message_id, {}).get(answer_id, []))

    def vote(self, message: JSON, member: MemberState, answer_id: int, *, add: bool) -> None:
        poll = message.get("poll")
        assert poll is not None, f"message {message['id']} has no poll"
        answers = {a["answer_id"] for a in poll["answers"]}
        assert answer_id in answers, f"poll has no answer {answer_id} (answers: {sorted(answers)})"
        assert not poll["results"]["is_finalized"], "the poll has ended"
        votes = self._votes.setdefault(int(message["id"]), {})
        voters = votes.setdefault(answer_id, [])
        if add:
            if not poll.get("allow_multiselect"):
                assert not any(member.id in v for v in votes.values()), "already voted"
            voters.append(member.id)
        else:
            voters.remove(member.id)
        self._render_poll(message)
        event = "MESSAGE_POLL_VOTE_ADD" if add else "MESSAGE_POLL_VOTE_REMOVE"
        self.emit(
            event,
            {
                "user_id": str(member.id),
                "channel_id": message["channel_id"],
                "message_id": message["id"],
                "guild_id": message["guild_id"],
                "answer_id": answer_id,
            },
            int(message["guild_id"]),
        )

    def expire_poll(self, message: JSON) -> None:
        poll = message["poll"]
        poll["expiry"] = now_iso()
        poll["results"]["is_finalized"] = True
        self._render_poll(message)
        self.update_message(message, {}, edited=False)

    def _render_poll(self, message: JSON) -> None:
        votes = self._votes.get(int(message["id"]), {})
        results = message["poll"]["results"]
        results["answer_counts"] = [
            {"id": answer_id, "count": len(voters), "me_voted": self.bot_user_id in voters}
            for answer_id, voters in sorted(votes.items())
            if voters
        ]

    # ---- threads and channels --------------------------------------------------------------
    def open_thread(
        self,
        parent: ChannelState,
        name: str,
        owner: MemberState,
        *,
        thread_id: int | None = None,
        type: int = PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
        applied_tags: list[int] | None = None,
    ) -> ChannelState:
        """Create a thread and dispatch THREAD_CREATE (tests/README.md, fact 11)."""
        thread = ChannelState(
            thread_id or self.ids.next(),
            parent.guild_id,
            name,
            type=type,
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            applied_tags=list(applied_tags or []),
        )
        self.guild_of(parent).thread_channels[thread.id] = thread
        event = thread.payload() | {"newly_created": True}
        self.emit("THREAD_CREATE", event, parent.guild_id)
        return thread

    def update_channel(self, channel: ChannelState, **changes: Any) -> None:
        """Change attributes of a channel or thread and dispatch the UPDATE event."""
        archived_before = channel.archived
        for key, value in changes.items():
            setattr(channel, key, value)
        if channel.archived != archived_before:
            channel.archive_timestamp = now_iso()
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        self.emit(event, channel.payload(), channel.guild_id)

    def delete_channel(self, channel: ChannelState) -> None:
        guild = self.guild_of(channel)
        for message_id in list(self._messages.pop(channel.id, {})):
            self._forget(message_id)
        if channel.is_thread:
            guild.thread_channels.pop(channel.id, None)
            event = {
                "id": str(channel.id),
                "guild_id": str(guild.id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            self.emit("THREAD_DELETE", event, guild.id)
            return
        guild.channels.pop(channel.id, None)
        self.emit("CHANNEL_DELETE", channel.payload(), guild.id)

    # ---- files -----------------------------------------------------------------------------
    def store_file(
        self, channel_id: int, filename: str, data: bytes, content_type: str
    ) -> StoredFile:
        file_id = self.ids.next()
        url = f"{self.cdn_base}/attachments/{channel_id}/{file_id}/{filename}"
        stored = StoredFile(file_id, channel_id, filename, content_type, data, url)
        self.files[file_id] = stored
        return stored


def _normalise_embed(embed: JSON) -> JSON:
    return {"type": "rich", **embed}


def _normalise_poll(poll: JSON) -> JSON:
    """What Discord stores for a poll request: numbered answers, an expiry and empty results."""
    hours = float(poll.get("duration") or 24)
    return {
        "question": poll["question"],
        "answers": [
            {"answer_id": index, "poll_media": answer["poll_media"]}
            for index, answer in enumerate(poll.get("answers", []), start=1)
        ],
        "expiry": iso_in(hours * 3600),
        "allow_multiselect": bool(poll.get("allow_multiselect", False)),
        "layout_type": poll.get("layout_type", 1),
        "results": {"is_finalized": False, "answer_counts": []},
    }


def message_created_at(message: JSON) -> float:
    return snowflake_time(int(message["id"])).timestamp()
