"""Building application-command interaction data from the schema the bot synced.

Tests name a command path ("movie add") and pass Python values; this module finds the synced
command, checks the values the way the Discord client would, and produces `data.options` and
`data.resolved` exactly as Discord sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.emulator.entities import ChannelState, GuildState, MemberState, RoleState
from tests.emulator.world import StoredFile, World

JSON = dict[str, Any]

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3


@dataclass
class Resolved:
    """The `resolved` map of an interaction, filled while converting option values."""

    users: JSON = field(default_factory=dict)
    members: JSON = field(default_factory=dict)
    channels: JSON = field(default_factory=dict)
    roles: JSON = field(default_factory=dict)
    attachments: JSON = field(default_factory=dict)
    messages: JSON = field(default_factory=dict)

    def payload(self) -> JSON:
        return {k: v for k, v in vars(self).items() if v}


def find_command(world: World, guild: GuildState, name: str, kind: int) -> tuple[JSON, bool]:
    """The synced command (guild commands first); the flag says whether it is guild-scoped."""
    for scope, scoped in ((guild.id, True), (None, False)):
        for command in world.commands.get(scope, []):
            if command["name"] == name and int(command.get("type", 1)) == kind:
                return command, scoped
    known = sorted(c["name"] for scope in (guild.id, None) for c in world.commands.get(scope, []))
    raise AssertionError(f"no synced command {name!r} of type {kind}; synced: {known}")


def walk_path(command: JSON, path: list[str]) -> tuple[JSON, list[JSON]]:
    """Follow "group sub" through the options; return the leaf and the chain of groups."""
    node = command
    chain: list[JSON] = []
    for part in path:
        subs = [
            o
            for o in node.get("options") or []
            if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) and o["name"] == part
        ]
        assert subs, f"/{command['name']} has no subcommand {part!r} at {node['name']!r}"
        node = subs[0]
        chain.append(node)
    leftover = [
        o for o in node.get("options") or [] if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
    ]
    assert not leftover, f"{node['name']!r} needs a subcommand: {[o['name'] for o in leftover]}"
    return node, chain


def nest_options(chain: list[JSON], leaf_options: list[JSON]) -> list[JSON]:
    """Wrap the leaf's options in {"type": 1/2, "name", "options"} per subcommand level."""
    options = leaf_options
    for level in reversed(chain):
        options = [{"type": level["type"], "name": level["name"], "options": options}]
    return options


class OptionBuilder:
    """Converts test values into option payloads for one command invocation."""

    def __init__(self, world: World, guild: GuildState, channel: ChannelState) -> None:
        self.world = world
        self.guild = guild
        self.channel = channel
        self.resolved = Resolved()

    def build(
        self, schema: list[JSON], values: dict[str, Any], *, focused: str | None = None
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in schema}
        unknown = set(values) - set(by_name)
        assert not unknown, f"unknown options {sorted(unknown)}; the command has {sorted(by_name)}"
        if focused is None:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
            assert not missing, f"required options missing: {missing}"
        built: list[JSON] = []
        for name, value in values.items():
            option = by_name[name]
            if name == focused:
                assert option.get("autocomplete"), f"option {name!r} has no autocomplete"
                built.append(
                    {"name": name, "type": option["type"], "value": str(value), "focused": True}
                )
            else:
                built.append(
                    {"name": name, "type": option["type"], "value": self.convert(option, value)}
                )
        return built

    def convert(self, option: JSON, value: Any) -> Any:
        kind = option["type"]
        name = option["name"]
        if kind == STRING:
            return self._string(option, value)
        if kind in (INTEGER, NUMBER):
            return self._number(option, value)
        if kind == BOOLEAN:
            assert isinstance(value, bool), f"option {name!r} wants a bool, got {value!r}"
            return value
        if kind in (USER, MENTIONABLE) and isinstance(value, MemberState):
            return self._member(value)
        if kind in (ROLE, MENTIONABLE) and isinstance(value, RoleState):
            self.resolved.roles[str(value.id)] = value.payload()
            return str(value.id)
        if kind == CHANNEL:
            return self._channel(option, value)
        if kind == ATTACHMENT:
            assert isinstance(value, StoredFile), f"option {name!r} wants emu.attachment(...)"
            self.resolved.attachments[str(value.id)] = value.payload()
            return str(value.id)
        raise AssertionError(f"option {name!r} (type {kind}) cannot take {value!r}")

    def _string(self, option: JSON, value: Any) -> str:
        assert isinstance(value, str), f"option {option['name']!r} wants a str, got {value!r}"
        choices = [c["value"] for c in option.get("choices") or []]
        assert not choices or value in choices, f"{value!r} is not one of {choices}"
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        assert low <= len(value) <= high, f"{option['name']!r} length must be {low}-{high}"
        return value

    def _number(self, option: JSON, value: Any) -> int | float:
        name = option["name"]
        if option["type"] == INTEGER:
            assert isinstance(value, int) and not isinstance(value, bool), f"{name!r} wants an int"
        else:
            assert isinstance(value, int | float), f"{name!r} wants a number"
        choices = [c["value"] for c in option.get("choices") or []]
        assert not choices or value in choices, f"{value!r} is not one of {choices}"
        low, high = option.get("min_value"), option.get("max_value")
        assert low is None or value >= low, f"{name!r} must be >= {low}"
        assert high is None or value <= high, f"{name!r} must be <= {high}"
        number: int | float = value
        return number

    def _member(self, member: MemberState) -> str:
        self.resolved.users[str(member.id)] = member.user_payload()
        member_payload = member.member_payload(with_user=False)
        perms = self.guild.permissions_for(member, self.channel)
        self.resolved.members[str(member.id)] = member_payload | {"permissions": str(int(perms))}
        return str(member.id)

    def _channel(self, option: JSON, value: Any) -> str:
        assert isinstance(value, ChannelState), f"option {option['name']!r} wants a channel"
        allowed = option.get("channel_types")
        assert not allowed or value.type in allowed, f"channel type {value.type} not in {allowed}"
        payload = value.payload()
        perms = self.guild.permissions_for(self.guild.me, value)
        self.resolved.channels[str(value.id)] = payload | {"permissions": str(int(perms))}
        return str(value.id)


def modal_answers(modal: JSON, values: dict[str, str]) -> list[JSON]:
    """Mirror the modal's layout with values, keyed by TextInput label or custom_id.

    How the answer must be shaped: tests/README.md, fact 18.
    """
    used: set[str] = set()
    rows: list[JSON] = []
    for row in modal.get("components") or []:
        if row.get("type") == 18:  # Label wrapper (discord.py 2.6+)
            answer = _answer(row.get("component") or {}, row.get("label"), values, used)
            rows.append({"type": 18, "component": answer})
        else:
            children = [
                _answer(c, c.get("label"), values, used) for c in row.get("components") or []
            ]
            rows.append({"type": row.get("type", 1), "components": children})
    unused = set(values) - used
    assert not unused, f"the modal has no inputs named {sorted(unused)}"
    return rows


def _answer(component: JSON, label: str | None, values: dict[str, str], used: set[str]) -> JSON:
    custom_id = str(component.get("custom_id"))
    key = label if label in values else custom_id
    value = values.get(key or "", "")
    if key in values:
        used.add(str(key))
    name = label or custom_id
    if component.get("required", True):
        assert value, f"modal input {name!r} is required"
    max_length = component.get("max_length")
    assert max_length is None or len(value) <= max_length, f"{name!r} allows {max_length} chars"
    min_length = component.get("min_length")
    assert not value or min_length is None or len(value) >= min_length, f"{name!r} too short"
    return {"type": component.get("type", 4), "custom_id": custom_id, "value": value}


def find_component(message: JSON, custom_id: str) -> JSON:
    """Search rows (and Components v2 containers) for the component with that custom_id."""
    stack = list(message.get("components") or [])
    while stack:
        component = stack.pop(0)
        if component.get("custom_id") == custom_id:
            return dict(component)
        stack.extend(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            stack.append(component["accessory"])
    ids = _all_custom_ids(message)
    raise AssertionError(f"message {message['id']} has no component {custom_id!r}; has {ids}")


def _all_custom_ids(message: JSON) -> list[str]:
    found: list[str] = []
    stack = list(message.get("components") or [])
    while stack:
        component = stack.pop(0)
        if component.get("custom_id"):
            found.append(str(component["custom_id"]))
        stack.extend(component.get("components") or [])
    return found
