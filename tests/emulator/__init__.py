"""A loopback Discord (REST v10 + Gateway) for end-to-end tests of an unmodified discord.py bot.

The Discord protocol facts it relies on are the numbered list in tests/README.md; comments here
cite them by number.

In-process::

    emu = Emulator()              # a default World: one guild with general/movies/reviews/picks
    await emu.start()             # and a forum "movie-forum" (tags "Spoilers", "Discussion")
    emu.install()                 # Route.BASE + DiscordWebSocket.DEFAULT_GATEWAY -> loopback
    task = asyncio.create_task(bot.start(emu.token))
    ...
    await bot.close(); emu.uninstall(); await emu.stop()
    assert emu.unknown == [] and emu.internal_errors == []

As a subprocess (the bot has no test hooks; `launch.py` does the redirect)::

    proc = BotProcess(emu, "bot")         # python -m tests.emulator.launch -m bot
    await proc.start()                    # waits for a gateway login (or ready="log marker")
    await proc.restart(); await proc.stop()

Members act through the emulator (`slash`, `autocomplete`, `submit_modal`, `click`,
`message_command`, `user_command`, `post_message`, `react`, `unreact`, `clear_reactions`,
`delete_message`, `delete_channel`, `archive_thread`, `vote_poll`, `unvote_poll`); each returns
once the gateway event is queued. Interaction helpers return an `Interaction` whose
`response()`/`wait_done()` wait for the bot's answer. `emu.calls` records every REST call,
`emu.unknown` the ones no route matched (answered 404), `emu.rate_limited` counts 429s, and
`emu.wait_for(predicate)` waits on anything.

Time is injected (`tests.emulator.clock`): the rate limits run on `Emulator(limit_clock=...)`
(`emu.limits.clock`), the interaction deadlines on `Emulator(deadline_clock=...)`
(`emu.deadline_clock`). `RealTime()` (the default) is Discord's pace; `FastTime(speed)` keeps
every rule and header but makes the waits ``speed`` times shorter, for tests not about timing;
a test jumps any of them (`jump(seconds)`) instead of waiting.

Shards (tests/README.md, facts 26-29): any number of clients or processes may log in, each
IDENTIFY its own session, and a session gets only its own guilds' events::

    emu = Emulator(shards=2, max_concurrency=1)  # what GET /gateway/bot reports and enforces
    a, b = emu.world.add_guilds(2, num_shards=2)  # a on shard 0, b on shard 1
    ...                                           # start BotProcess(emu, "bot", shard_count=2,
                                                  #   shard_ids=[0]) and one with shard_ids=[1]
    await emu.wait_connected(shards=[0, 1])
    assert emu.logins.too_fast() == []            # no IDENTIFY came sooner than Discord allows
    emu.identifies(shard_id=1)                    # every IDENTIFY: time, shard, outcome, ...

The IDENTIFY pacing runs on `Emulator(identify_clock=...)`, by default the rate limits' clock;
`emu.logins.pass_window()` jumps it past the 5 s a second login must wait.

Permissions are Discord's: @everyone has VIEW_CHANNEL and USE_APPLICATION_COMMANDS, the
"Members" role the usual chat rights, the bot's managed role what the bot needs
(`GuildState.set_bot_permissions` replaces it), and `ChannelState.deny/allow` add overwrites.
"""

from tests.emulator.clock import EmuClock, FastTime, ManualTime, RealTime
from tests.emulator.driver import Emulator
from tests.emulator.entities import ChannelState, GuildState, MemberState, RoleState
from tests.emulator.errors import ApiError
from tests.emulator.interactions import Interaction
from tests.emulator.limits import RateLimiter, RateRule
from tests.emulator.logins import Identify, Logins
from tests.emulator.perms import Perm
from tests.emulator.process import BotProcess
from tests.emulator.records import Call
from tests.emulator.world import StoredFile, World

__all__ = [
    "ApiError",
    "BotProcess",
    "Call",
    "ChannelState",
    "EmuClock",
    "Emulator",
    "FastTime",
    "GuildState",
    "Identify",
    "Interaction",
    "Logins",
    "ManualTime",
    "MemberState",
    "Perm",
    "RateLimiter",
    "RateRule",
    "RealTime",
    "RoleState",
    "StoredFile",
    "World",
]
