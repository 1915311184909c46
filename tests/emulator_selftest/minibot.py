"""A small discord.py bot that exercises what the emulator must support (not the project's bot)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
MOVIES = ["Miracle in Cell No. 7 (2013)", "Miracle in Cell No. 7 (2019)", "Parasite (2019)"]


class VoteView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.clicked_by: list[int] = []

    @discord.ui.button(label="Vote", custom_id="vote:yes", style=discord.ButtonStyle.primary)
    async def vote(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        self.clicked_by.append(interaction.user.id)
        await interaction.response.edit_message(content=f"votes: {len(self.clicked_by)}")


class LikeButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"like:(?P<movie>\d+)"
):
    """Persistent button: survives restarts because the state is in the custom_id."""

    def __init__(self, movie: int) -> None:
        super().__init__(discord.ui.Button(label="Like", custom_id=f"like:{movie}"))
        self.movie = movie

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[discord.ui.View],
        match: re.Match[str],
    ) -> LikeButton:
        return cls(int(match["movie"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"liked movie {self.movie}", ephemeral=True)


class ReviewModal(discord.ui.Modal, title="Write a review"):
    headline: discord.ui.TextInput[ReviewModal] = discord.ui.TextInput(
        label="Headline", max_length=100
    )
    body: discord.ui.TextInput[ReviewModal] = discord.ui.TextInput(
        label="Review", style=discord.TextStyle.paragraph, max_length=4000
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"review saved: {self.headline.value} / {len(self.body.value)} chars"
        )


movie = app_commands.Group(name="movie", description="Movies")


@movie.command(name="add", description="Add a movie")
async def movie_add(interaction: discord.Interaction, title: str, year: int | None = None) -> None:
    await interaction.response.send_message(f"added {title} ({year})")


@movie.command(name="info", description="Show a movie")
async def movie_info(interaction: discord.Interaction, movie: str) -> None:
    await interaction.response.send_message(f"info: {movie}", ephemeral=True)


@movie_info.autocomplete("movie")
async def movie_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=m, value=m) for m in MOVIES if current.lower() in m.lower()]


admin = app_commands.Group(name="admin", description="Admin tools")
tools = app_commands.Group(name="tools", description="Nested tools", parent=admin)


@tools.command(name="ping", description="Nested subcommand")
async def tools_ping(
    interaction: discord.Interaction, target: discord.Member, where: discord.TextChannel
) -> None:
    await interaction.response.send_message(f"pong {target.id} in {where.id}")


@app_commands.command(name="slow", description="Defers, then follows up")
async def slow(interaction: discord.Interaction, hidden: bool = False) -> None:
    await interaction.response.defer(ephemeral=hidden, thinking=True)
    await interaction.followup.send("done thinking")
    await interaction.followup.send("second followup")


@app_commands.command(name="late", description="Answers when the test lets it")
async def late(interaction: discord.Interaction) -> None:
    # Meanwhile the test moves the emulator's deadline clock (instead of sleeping through it).
    await interaction.client.answer_late.wait()  # type: ignore[attr-defined]
    try:
        await interaction.response.send_message("answered")
    except discord.HTTPException as error:
        interaction.client.errors.append(error)  # type: ignore[attr-defined]


@app_commands.command(name="twice", description="Answers twice")
async def twice(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("first")
    route = discord.http.Route(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        interaction_id=interaction.id,
        token=interaction.token,
    )
    try:
        await interaction.client.http.request(route, json={"type": 4, "data": {"content": "again"}})
    except discord.HTTPException as error:
        interaction.client.errors.append(error)  # type: ignore[attr-defined]


@app_commands.command(name="review", description="Opens a modal")
async def review(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(ReviewModal())


@app_commands.command(name="buttons", description="Posts buttons")
async def buttons(interaction: discord.Interaction) -> None:
    view = VoteView()
    view.add_item(LikeButton(42))
    interaction.client.views.append(view)  # type: ignore[attr-defined]
    await interaction.response.send_message("votes: 0", view=view)


@app_commands.command(name="upload", description="Reads an attachment")
async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
    data = await file.read()
    await interaction.response.send_message(f"{file.filename}: {data.decode()}")


@app_commands.context_menu(name="Hide as spoiler")
async def hide_spoiler(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message(f"||{message.content}||")


class MiniBot(commands.Bot):
    def __init__(
        self, guild_id: int, *, extra: list[app_commands.Command[Any, ..., Any]] | None = None
    ) -> None:
        intents = discord.Intents.default()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.guild_id = guild_id
        self.extra = extra or []
        self.raw_reactions: list[tuple[str, discord.RawReactionActionEvent]] = []
        self.errors: list[discord.HTTPException] = []
        self.views: list[discord.ui.View] = []
        self.events: list[str] = []
        self.answer_late = asyncio.Event()  # releases the `late` command

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        builtin: list[AppCommand] = [movie, admin, slow, late, twice, review, buttons, upload]
        for command in [*builtin, hide_spoiler, *self.extra]:
            self.tree.add_command(command, guild=guild)
        self.add_dynamic_items(LikeButton)
        await self.tree.sync(guild=guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every re-IDENTIFY by default. The emulator refuses an
        IDENTIFY sooner than that, as Discord does, so a test that logs in again moves the
        emulator's clock on (`emu.logins.pass_window()`) instead of sleeping."""

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(("add", event))

    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(("remove", event))

    async def on_message(self, message: discord.Message) -> None:
        self.events.append(f"message:{message.id}")
