"""Previous/next buttons for paginated messages, shared by every feature that pages.

They are ``DynamicItem``s: the page to show is in the ``custom_id``, so a button keeps working for
anyone, and after restarts. A subclass gives its own ``template`` and says how to render a page;
the label, the edit and the error reporting are here once.
"""

from __future__ import annotations

from typing import Any, Literal

import discord

from bot.ui.errors import report

Side = Literal["p", "n"]


def side_of(text: str) -> Side:
    return "p" if text == "p" else "n"


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """Base only (its template matches nothing); subclasses are registered, not this."""

    def __init__(self, custom_id: str, side: Side, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="◀ Previous" if side == "p" else "Next ▶",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                disabled=disabled,
            )
        )

    async def render(
        self, interaction: discord.Interaction[Any]
    ) -> tuple[discord.Embed, discord.ui.View]:
        """The embed and buttons of the page this button leads to."""
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            embed, view = await self.render(interaction)
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as exc:  # dynamic items have no on_error of their own
            await report(interaction, exc)


def pager(previous: PageButton, following: PageButton) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(previous)
    view.add_item(following)
    return view
