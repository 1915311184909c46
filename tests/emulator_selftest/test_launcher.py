"""The subprocess launcher: an unmodified bot process reaches the emulator."""

from __future__ import annotations

from tests.emulator import Emulator
from tests.emulator.process import BotProcess


async def test_launched_module_logs_in_and_answers(emu: Emulator) -> None:
    proc = BotProcess(emu, "tests.emulator_selftest.launched_bot", "--flag")
    await proc.start(ready="READY")
    try:
        line = await proc.wait_for_line("READY")
        assert f"READY {emu.world.bot_user_id} guilds=1 args=['--flag']" in line
        assert emu.connected
        g = emu.world.guild
        await emu.post_message(
            g.member("alice"), g.channel("general"), f"<@{emu.world.bot_user_id}> ping"
        )
        await emu.wait_for(
            lambda: any(m["content"] == "pong" for m in emu.world.messages(g.channel("general"))),
            timeout=10,
            what="the subprocess bot to answer",
        )
    finally:
        code = await proc.stop()
    assert code == 0, proc.output
    assert emu.gateway.live_sessions == []  # SIGINT made discord.py close with 1000
    assert emu.unknown == []
