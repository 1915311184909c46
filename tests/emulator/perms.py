"""Discord permission bits and the per-channel permission algorithm."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Perm(enum.IntFlag):
    """Permission bits exactly as Discord numbers them."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40
    CREATE_EVENTS = 1 << 44
    SEND_POLLS = 1 << 49


NO_PERMISSIONS = Perm(0)
ALL_PERMISSIONS = Perm(0)
for _bit in Perm:
    ALL_PERMISSIONS |= _bit

# What @everyone may do in the default world. Chatting rights come from the "Members" role
# instead, so `GuildState.set_bot_permissions` can take them away from the bot.
EVERYONE_DEFAULT = Perm.VIEW_CHANNEL | Perm.USE_APPLICATION_COMMANDS

MEMBER_DEFAULT = (
    Perm.SEND_MESSAGES
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.SEND_POLLS
)

# "The bot has all it needs" by default.
BOT_DEFAULT = (
    MEMBER_DEFAULT
    | Perm.MANAGE_MESSAGES
    | Perm.MANAGE_THREADS
    | Perm.CREATE_PRIVATE_THREADS
    | Perm.MANAGE_EVENTS
    | Perm.CREATE_EVENTS
)

# Without SEND_MESSAGES Discord also drops these (they only make sense when sending).
_NEED_SEND = Perm.SEND_TTS_MESSAGES | Perm.MENTION_EVERYONE | Perm.ATTACH_FILES | Perm.EMBED_LINKS


@dataclass
class Overwrite:
    """A channel permission overwrite; `kind` is 0 for a role, 1 for a member."""

    target_id: int
    kind: int
    allow: Perm = NO_PERMISSIONS
    deny: Perm = NO_PERMISSIONS

    def payload(self) -> dict[str, object]:
        return {
            "id": str(self.target_id),
            "type": self.kind,
            "allow": str(int(self.allow)),
            "deny": str(int(self.deny)),
        }


def base_permissions(everyone: Perm, role_perms: Iterable[Perm], *, is_owner: bool) -> Perm:
    """Guild-level permissions: @everyone OR'd with the member's roles."""
    if is_owner:
        return ALL_PERMISSIONS
    perms = everyone
    for role in role_perms:
        perms |= role
    if perms & Perm.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    base: Perm,
    overwrites: dict[int, Overwrite],
    *,
    guild_id: int,
    role_ids: Iterable[int],
    member_id: int,
) -> Perm:
    """Discord's order: @everyone overwrite, then all role overwrites at once, then the member."""
    if base & Perm.ADMINISTRATOR or base == ALL_PERMISSIONS:
        return base
    perms = base
    everyone = overwrites.get(guild_id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = Perm(0)
    for role_id in role_ids:
        role_ow = overwrites.get(role_id)
        if role_ow is not None and role_ow.kind == 0:
            allow |= role_ow.allow
            deny |= role_ow.deny
    perms = (perms & ~deny) | allow
    member_ow = overwrites.get(member_id)
    if member_ow is not None and member_ow.kind == 1:
        perms = (perms & ~member_ow.deny) | member_ow.allow
    if not perms & Perm.VIEW_CHANNEL:
        return Perm(0)
    if not perms & Perm.SEND_MESSAGES:
        perms &= ~_NEED_SEND
    return perms
