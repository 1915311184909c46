"""Guilds, roles, members and channels of the emulated world, with their Discord payloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.emulator.ids import now_iso
from tests.emulator.perms import (
    BOT_DEFAULT,
    EVERYONE_DEFAULT,
    MEMBER_DEFAULT,
    Overwrite,
    Perm,
    apply_overwrites,
    base_permissions,
)

if TYPE_CHECKING:
    from tests.emulator.world import World

JSON = dict[str, Any]

TEXT = 0
DM = 1
CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM = 15
THREAD_TYPES = frozenset({10, PUBLIC_THREAD, PRIVATE_THREAD})


@dataclass
class RoleState:
    id: int
    name: str
    permissions: Perm
    position: int = 0
    managed: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(int(self.permissions)),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class MemberState:
    """A guild member. The same name means the same user across guilds."""

    id: int
    name: str
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    bot: bool = False
    joined_at: str = field(default_factory=now_iso)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def user_payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": None if self.bot else self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member_payload(self, *, with_user: bool = True) -> JSON:
        # discord.py reads `flags`, `roles` and `user` unconditionally (tests/README.md, fact 17).
        payload: JSON = {
            "roles": [str(r) for r in self.role_ids],
            "nick": None,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user_payload()
        return payload


@dataclass
class ChannelState:
    """A guild channel, forum or thread."""

    id: int
    guild_id: int
    name: str
    type: int = TEXT
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    available_tags: list[JSON] = field(default_factory=list)
    # thread-only state
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: str = field(default_factory=now_iso)
    applied_tags: list[int] = field(default_factory=list)
    message_count: int = 0
    member_count: int = 1
    rate_limit_per_user: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def deny(self, target: MemberState | RoleState | int, perms: Perm) -> None:
        """Add a deny overwrite (for a member, a role, or a role id) in this channel."""
        overwrite = self._overwrite_for(target)
        overwrite.deny |= perms
        overwrite.allow &= ~perms

    def allow(self, target: MemberState | RoleState | int, perms: Perm) -> None:
        overwrite = self._overwrite_for(target)
        overwrite.allow |= perms
        overwrite.deny &= ~perms

    def clear_overwrites(self) -> None:
        self.overwrites.clear()

    def _overwrite_for(self, target: MemberState | RoleState | int) -> Overwrite:
        if isinstance(target, MemberState):
            target_id, kind = target.id, 1
        elif isinstance(target, RoleState):
            target_id, kind = target.id, 0
        else:
            target_id, kind = target, 0
        return self.overwrites.setdefault(target_id, Overwrite(target_id, kind))

    def tag_id(self, name: str) -> int:
        for tag in self.available_tags:
            if tag["name"] == name:
                return int(tag["id"])
        raise AssertionError(f"forum {self.name!r} has no tag named {name!r}")

    def payload(self) -> JSON:
        payload: JSON = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "name": self.name,
            "type": self.type,
            "position": self.position,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "permission_overwrites": [o.payload() for o in self.overwrites.values()],
            "nsfw": False,
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": 0,
            "last_message_id": None,
        }
        if self.is_thread:
            payload.pop("permission_overwrites")
            payload.pop("position")
            payload.update(self._thread_fields())
        else:
            payload["topic"] = self.topic
        if self.type == FORUM:
            payload["available_tags"] = self.available_tags
            payload["default_reaction_emoji"] = None
            payload["default_sort_order"] = None
            payload["default_forum_layout"] = 0
        return payload

    def _thread_fields(self) -> JSON:
        # tests/README.md, fact 11: discord.py needs all of these to build a Thread.
        return {
            "owner_id": str(self.owner_id),
            "message_count": self.message_count,
            "total_message_sent": self.message_count,
            "member_count": self.member_count,
            "applied_tags": [str(t) for t in self.applied_tags],
            "thread_metadata": {
                "archived": self.archived,
                "locked": self.locked,
                "invitable": self.invitable,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.archive_timestamp,
                "create_timestamp": self.archive_timestamp,
            },
            # Convenience mirror for tests; Discord only has it inside thread_metadata.
            "archived": self.archived,
        }


class GuildState:
    """One guild: roles, channels, threads and members, plus permission computation."""

    def __init__(self, world: World, guild_id: int, name: str) -> None:
        self.world = world
        self.id = guild_id
        self.name = name
        self.roles: dict[int, RoleState] = {}
        self.channels: dict[int, ChannelState] = {}
        self.thread_channels: dict[int, ChannelState] = {}
        self.members: dict[int, MemberState] = {}
        self.scheduled_events: dict[int, JSON] = {}
        # @everyone's id is the guild id (tests/README.md, fact 15).
        self.everyone = self._add_role("@everyone", EVERYONE_DEFAULT, position=0, role_id=guild_id)
        self.member_role = self._add_role("Members", MEMBER_DEFAULT, position=1)
        self.bot_role = self._add_role(world.bot_name, BOT_DEFAULT, position=3, managed=True)
        self.me = self._add(world.bot_name, [self.bot_role.id], bot=True, user_id=world.bot_user_id)
        admin_role = self._add_role("Admin", Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES, position=2)
        mod_role = self._add_role("Mod", Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS, position=2)
        self.admin = self._add("admin", [self.member_role.id, admin_role.id])
        self.mod = self._add("mod", [self.member_role.id, mod_role.id])
        self.owner_id = self.admin.id

    # ---- building -------------------------------------------------------------------------
    def _add_role(
        self,
        name: str,
        perms: Perm,
        *,
        position: int,
        managed: bool = False,
        role_id: int | None = None,
    ) -> RoleState:
        role = RoleState(role_id or self.world.ids.next(), name, perms, position, managed)
        self.roles[role.id] = role
        return role

    def _add(
        self, name: str, role_ids: list[int], *, bot: bool = False, user_id: int | None = None
    ) -> MemberState:
        uid = user_id if user_id is not None else self.world.user_id_for(name)
        member = MemberState(uid, name, self.id, role_ids, bot=bot)
        self.members[uid] = member
        return member

    def add_role(self, name: str, perms: Perm) -> RoleState:
        role = self._add_role(name, perms, position=len(self.roles))
        self.world.emit(
            "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()}, self.id
        )
        return role

    def add_member(self, name: str, perms: Perm | None = None) -> MemberState:
        """Add a plain member (with the Members role); `perms` adds a personal role on top."""
        role_ids = [self.member_role.id]
        if perms is not None:
            role_ids.append(self.add_role(f"{name}-role", perms).id)
        member = self._add(name, role_ids)
        payload = member.member_payload() | {"guild_id": str(self.id)}
        self.world.emit("GUILD_MEMBER_ADD", payload, self.id)
        return member

    def add_channel(
        self, name: str, *, type: int = TEXT, tags: list[str] | None = None
    ) -> ChannelState:
        channel = ChannelState(
            self.world.ids.next(), self.id, name, type=type, position=len(self.channels)
        )
        for tag in tags or []:
            channel.available_tags.append(
                {
                    "id": str(self.world.ids.next()),
                    "name": tag,
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": None,
                }
            )
        self.channels[channel.id] = channel
        self.world.emit("CHANNEL_CREATE", channel.payload(), self.id)
        return channel

    # ---- lookups ---------------------------------------------------------------------------
    def channel(self, name_or_id: str | int) -> ChannelState:
        """A channel or thread by name or id."""
        for pool in (self.channels, self.thread_channels):
            for channel in pool.values():
                if name_or_id in (channel.name, channel.id):
                    return channel
        raise AssertionError(f"guild {self.name!r} has no channel {name_or_id!r}")

    def thread(self, name_or_id: str | int) -> ChannelState:
        for channel in self.thread_channels.values():
            if name_or_id in (channel.name, channel.id):
                return channel
        raise AssertionError(f"guild {self.name!r} has no thread {name_or_id!r}")

    def member(self, name: str) -> MemberState:
        """The member with that name, created (as a plain member) on first use."""
        for member in self.members.values():
            if member.name == name:
                return member
        return self.add_member(name)

    def role(self, name: str) -> RoleState:
        for role in self.roles.values():
            if role.name == name:
                return role
        raise AssertionError(f"guild {self.name!r} has no role {name!r}")

    @property
    def threads(self) -> list[JSON]:
        """Snapshots of the guild's threads as Discord payloads."""
        return [t.payload() for t in self.thread_channels.values()]

    def all_channels(self) -> list[ChannelState]:
        return [*self.channels.values(), *self.thread_channels.values()]

    # ---- permissions -----------------------------------------------------------------------
    def set_bot_permissions(self, perms: Perm) -> None:
        """Set the bot role's permissions (the bot still gets what @everyone has)."""
        self.bot_role.permissions = perms
        self.world.emit(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(self.id), "role": self.bot_role.payload()},
            self.id,
        )

    def base_permissions(self, member: MemberState) -> Perm:
        roles = [self.roles[r].permissions for r in member.role_ids if r in self.roles]
        return base_permissions(
            self.everyone.permissions, roles, is_owner=member.id == self.owner_id
        )

    def permissions_for(self, member: MemberState, channel: ChannelState) -> Perm:
        """Discord's algorithm; threads take their parent's overwrites."""
        target = channel
        if channel.is_thread and channel.parent_id is not None:
            target = self.channels.get(channel.parent_id, channel)
        return apply_overwrites(
            self.base_permissions(member),
            target.overwrites,
            guild_id=self.id,
            role_ids=member.role_ids,
            member_id=member.id,
        )

    # ---- payloads --------------------------------------------------------------------------
    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }

    def create_payload(self) -> JSON:
        """GUILD_CREATE: member_count must equal len(members) or discord.py chunks.

        See tests/README.md, fact 15.
        """
        members = [m.member_payload() for m in self.members.values()]
        return self.payload() | {
            "unavailable": False,
            "large": False,
            "joined_at": self.me.joined_at,
            "member_count": len(members),
            "members": members,
            "channels": [c.payload() for c in self.channels.values()],
            "threads": [t.payload() for t in self.thread_channels.values()],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": list(self.scheduled_events.values()),
            "soundboard_sounds": [],
        }
