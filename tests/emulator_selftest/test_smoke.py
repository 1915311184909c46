from __future__ import annotations

from tests.emulator import Emulator
from tests.emulator_selftest.minibot import MiniBot


async def test_login_and_slash(emu: Emulator, bot: MiniBot) -> None:
    g = emu.world.guild
    assert bot.get_guild(g.id) is not None
    itx = await emu.slash(g.member("alice"), "movie add", title="Miracle", year=2013)
    await itx.response()
    assert itx.content == "added Miracle (2013)"
