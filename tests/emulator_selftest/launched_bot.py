"""A minimal bot for the launcher test: it must not know about the emulator at all."""

from __future__ import annotations

import os
import sys

import discord


class EchoClient(discord.Client):
    async def on_ready(self) -> None:
        assert self.user is not None
        # The test waits for this line on stdout.
        ready = f"READY {self.user.id} guilds={len(self.guilds)} args={sys.argv[1:]}"
        print(ready, flush=True)  # noqa: T201

    async def on_message(self, message: discord.Message) -> None:
        if (
            self.user is not None
            and self.user.mentioned_in(message)
            and message.author != self.user
        ):
            await message.channel.send("pong")


def main() -> None:
    client = EchoClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)


if __name__ == "__main__":
    main()
