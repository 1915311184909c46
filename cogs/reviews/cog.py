"""/review write, edit, delete and read; helpful votes (👍) on posted reviews."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import InvalidInput
from bot.domain.links import message_link
from bot.domain.movies import Movie
from bot.domain.review_text import MAX_HEADLINE_CHARS, MAX_MODAL_CHARS, ReviewFileError
from bot.domain.reviews import Review, ReviewDraft, counts_as_helpful
from bot.services.club import ClubService
from bot.services.movies import MovieService
from bot.services.reviews import ReviewPage, ReviewService
from bot.ui.autocomplete import movie_choices
from bot.ui.cards import Cards
from bot.ui.channels import posting_channel
from bot.ui.errors import ClubModal
from bot.ui.paging import PageButton, Side, pager, side_of
from bot.ui.text import plain_cap, safe
from cogs.reviews.embeds import review_page_embed
from cogs.reviews.poster import ReviewHere, ReviewPoster, ReviewTarget

if TYPE_CHECKING:
    from bot.client import ClubBot

log = logging.getLogger(__name__)

MODAL_TIMEOUT = 3 * 60 * 60.0  # seconds: writing 4,000 careful characters can take a while
FORM_PREFIX = "review-form:"  # custom ids of the review form, to recognise one we forgot
Rating = app_commands.Range[int, 1, 10]
# Discord enforces the length, so a headline option always fits the form's Headline field.
Headline = app_commands.Range[str, 1, MAX_HEADLINE_CHARS]


class ReviewPageButton(
    PageButton,
    template=r"reviews:(?P<movie>\d+):(?P<member>\d+):(?P<page>\d+):(?P<side>[pn])",
):
    """Previous/next on a ``/review read`` message."""

    def __init__(
        self, movie_id: int, member_id: int, page: int, side: Side, *, disabled: bool = False
    ) -> None:
        super().__init__(f"reviews:{movie_id}:{member_id}:{page}:{side}", side, disabled=disabled)
        self.movie_id = movie_id
        self.member_id = member_id  # 0 for everyone's reviews
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ReviewPageButton:
        return cls(
            int(match["movie"]), int(match["member"]), int(match["page"]), side_of(match["side"])
        )

    async def render(
        self, interaction: discord.Interaction[Any]
    ) -> tuple[discord.Embed, discord.ui.View]:
        bot: ClubBot = interaction.client
        movie = await bot.services.movies.by_id(self.movie_id)
        if movie is None or movie.guild_id != interaction.guild_id:
            raise InvalidInput("That movie is no longer in the catalog.")
        page = await bot.services.reviews.page(movie, self.member_id or None, self.page)
        return review_page_embed(page), page_view(page)


def page_view(page: ReviewPage) -> discord.ui.View:
    movie_id, member_id = page.movie.id, page.member_id or 0
    return pager(
        ReviewPageButton(movie_id, member_id, max(page.page - 1, 0), "p", disabled=page.page == 0),
        ReviewPageButton(
            movie_id, member_id, page.page + 1, "n", disabled=page.page + 1 >= page.pages
        ),
    )


class ReviewModal(ClubModal):
    """Headline, rating and up to 4,000 characters of review; pre-filled when editing."""

    def __init__(
        self,
        cog: Reviews,
        movie: Movie,
        *,
        spoilers: bool,
        headline: str | None,
        rating: int | None,
        editing: Review | None = None,
    ) -> None:
        verb = "Edit your review" if editing else "Review"
        super().__init__(
            title=plain_cap(f"{verb}: {movie.label}", 45),
            timeout=MODAL_TIMEOUT,
            custom_id=f"{FORM_PREFIX}{secrets.token_hex(8)}",
        )
        self.cog = cog
        self.movie = movie
        self.spoilers = spoilers
        self.editing = editing
        self.headline: discord.ui.TextInput[ReviewModal] = discord.ui.TextInput(
            label="Headline (shown openly: no spoilers)",
            required=False,
            max_length=MAX_HEADLINE_CHARS,
            default=headline,
        )
        self.rating: discord.ui.TextInput[ReviewModal] = discord.ui.TextInput(
            label="Rating, 1–10 (optional)",
            required=False,
            max_length=5,
            placeholder="8",
            default=str(rating) if rating is not None else None,
        )
        self.body: discord.ui.TextInput[ReviewModal] = discord.ui.TextInput(
            label="Review",
            style=discord.TextStyle.paragraph,
            max_length=MAX_MODAL_CHARS,
            placeholder="Longer than 4,000 characters? Use /review write with a .txt or .md file.",
            default=editing.body if editing else None,
        )
        for item in (self.headline, self.rating, self.body):
            self.add_item(item)

    async def on_timeout(self) -> None:
        self.cog.open_forms.discard(self.custom_id)

    async def on_submit(self, interaction: discord.Interaction[ClubBot]) -> None:  # type: ignore[override]
        # Forgotten a minute later, not now: discord.py hands the same submission to the
        # cog's on_interaction after this callback starts, and it must still know the form.
        asyncio.get_running_loop().call_later(60, self.cog.open_forms.discard, self.custom_id)
        draft = self.cog.reviews.draft_from_form(
            self.body.value, self.headline.value, self.rating.value, spoilers=self.spoilers
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.cog.publish(interaction, self.movie, draft, editing=self.editing is not None)


@app_commands.guild_only()
class Reviews(commands.GroupCog, group_name="review", group_description="Reviews of movies"):
    def __init__(
        self,
        bot_id: int,
        *,
        reviews: ReviewService,
        movies: MovieService,
        club: ClubService,
        cards: Cards,
        poster: ReviewPoster,
    ) -> None:
        self.bot_id = bot_id
        self.reviews = reviews
        self.movies = movies
        self.club = club
        self.cards = cards
        self.poster = poster
        self.open_forms: set[str] = set()  # custom ids of review forms this process showed

    # -- /review write -----------------------------------------------------------------------
    @app_commands.command(
        name="write", description="Review a movie: a form, or a .txt/.md file for long essays"
    )
    @app_commands.describe(
        movie="Start typing a title",
        spoilers="Hide the review outside the movie's spoiler thread",
        file="A .txt or .md file with your review (up to 40,000 characters)",
        headline="A one-line headline, shown openly (no spoilers)",
        rating="Your rating, 1 to 10",
    )
    async def write(
        self,
        interaction: discord.Interaction[ClubBot],
        *,
        movie: str,
        spoilers: bool = False,
        file: discord.Attachment | None = None,
        headline: Headline | None = None,
        rating: Rating | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        await self.reviews.check_not_reviewed(found, interaction.user.id)
        await self._reviews_channel(interaction)  # refuse before the member writes anything
        if file is None:
            modal = ReviewModal(self, found, spoilers=spoilers, headline=headline, rating=rating)
            await self._show(interaction, modal)
            return
        draft = await self._draft_from(interaction, file, headline, rating, spoilers=spoilers)
        await self.publish(interaction, found, draft, editing=False)

    async def publish(
        self,
        interaction: discord.Interaction[ClubBot],
        movie: Movie,
        draft: ReviewDraft,
        *,
        editing: bool,
    ) -> None:
        """Post a checked review, or re-post an edited one over its old messages (the service
        keeps nothing that failed), and tell the member where it is."""
        here = ReviewHere(
            self.poster,
            self.cards,
            channel=await self._reviews_channel(interaction),
            author_name=interaction.user.display_name,
        )
        use_case = self.reviews.edit if editing else self.reviews.post
        movie, review = await use_case(movie, interaction.user.id, draft, here)
        verb = "updated" if editing else "posted"
        await interaction.followup.send(_posted_text(movie, review, verb), ephemeral=True)

    # -- /review edit ------------------------------------------------------------------------
    @app_commands.command(name="edit", description="Change your review of a movie")
    @app_commands.describe(
        movie="Start typing a title",
        file="A .txt or .md file with the new text (for reviews over 4,000 characters)",
        spoilers="Change whether the review is hidden outside the spoiler thread",
        headline="A new headline (with a file; the form lets you edit it)",
        rating="A new rating, 1 to 10 (with a file; the form lets you edit it)",
    )
    async def edit(
        self,
        interaction: discord.Interaction[ClubBot],
        *,
        movie: str,
        file: discord.Attachment | None = None,
        spoilers: bool | None = None,
        headline: Headline | None = None,
        rating: Rating | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        review = await self.reviews.mine(found, interaction.user.id)
        hide = review.spoilers if spoilers is None else spoilers
        new_headline = headline if headline is not None else review.headline
        new_rating = rating if rating is not None else review.rating
        if file is None:
            if len(review.body) > MAX_MODAL_CHARS:
                raise InvalidInput(
                    f"Your review is {len(review.body):,} characters, more than the form holds "
                    f"({MAX_MODAL_CHARS:,}). Run `/review edit` again with the new version "
                    "attached as `file` (.txt or .md)."
                )
            modal = ReviewModal(
                self, found, spoilers=hide, headline=new_headline, rating=new_rating, editing=review
            )
            await self._show(interaction, modal)
            return
        draft = await self._draft_from(interaction, file, new_headline, new_rating, spoilers=hide)
        await self.publish(interaction, found, draft, editing=True)

    # -- /review delete ----------------------------------------------------------------------
    @app_commands.command(name="delete", description="Delete your review (moderators: anyone's)")
    @app_commands.describe(
        movie="Start typing a title",
        member="Whose review to delete (needs Manage Messages); yours when left empty",
    )
    async def delete(
        self,
        interaction: discord.Interaction[ClubBot],
        movie: str,
        member: discord.User | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        actor = interaction.user
        review = await self.reviews.find(
            found, member.id if member else actor.id, actor_id=actor.id
        )
        self.reviews.check_may_delete(
            review, actor.id, manages_messages=_manages_messages(interaction, review)
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        review = await self.reviews.delete(
            found, review, actor.id, ReviewHere(self.poster, self.cards)
        )
        whose = "Your review" if review.author_id == actor.id else f"<@{review.author_id}>'s review"
        removed = len(review.parts)
        await interaction.followup.send(
            f"{whose} of **{safe(found.label)}** is deleted ({removed} messages removed).",
            ephemeral=True,
        )

    # -- /review read ------------------------------------------------------------------------
    @app_commands.command(name="read", description="Read the club's reviews of a movie")
    @app_commands.describe(movie="Start typing a title", member="Only this member's review")
    async def read(
        self,
        interaction: discord.Interaction[ClubBot],
        movie: str,
        member: discord.User | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.movies.resolve(interaction.guild_id, movie)
        page = await self.reviews.page(found, member.id if member else None, 0)
        await interaction.response.send_message(embed=review_page_embed(page), view=page_view(page))

    @write.autocomplete("movie")
    @edit.autocomplete("movie")
    @delete.autocomplete("movie")
    @read.autocomplete("movie")
    async def _movie(
        self, interaction: discord.Interaction[ClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await movie_choices(self.movies, interaction, current)

    async def _draft_from(
        self,
        interaction: discord.Interaction[ClubBot],
        file: discord.Attachment,
        headline: str | None,
        rating: int | None,
        *,
        spoilers: bool,
    ) -> ReviewDraft:
        """A review from an attached file: size checked before the download, then deferred
        (downloading and posting can take longer than Discord's three seconds)."""
        self.reviews.check_file_size(file.size)
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await _download(file)
        return self.reviews.draft_from_file(
            data, file.filename, headline, rating, spoilers=spoilers
        )

    # -- forms -------------------------------------------------------------------------------
    async def _show(self, interaction: discord.Interaction[ClubBot], modal: ReviewModal) -> None:
        self.open_forms.add(modal.custom_id)
        await interaction.response.send_modal(modal)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[ClubBot]) -> None:
        """A review form this process never showed (opened before a restart, or kept open past
        the timeout): discord.py drops it silently. Answer, and hand the member's text back."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(FORM_PREFIX) or custom_id in self.open_forms:
            return
        text = _submitted_text(data)
        files = [discord.File(io.BytesIO(text.encode()), "my-review.txt")] if text else []
        await interaction.response.send_message(
            "That form was opened before I restarted (or stayed open for over three hours), so "
            "I can't post it. Your text is attached: run `/review write` again and attach it as "
            "`file`, or paste it into a new form.",
            files=files,
            ephemeral=True,
        )
        log.info("answered a forgotten review form %s", custom_id)

    # -- helpful votes -----------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self._helpful(event, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self._helpful(event, added=False)

    async def _helpful(self, event: discord.RawReactionActionEvent, *, added: bool) -> None:
        # Every reaction in the club (rating storms too) comes through here: the emoji is
        # checked before anything else, so other reactions cost no database work.
        emoji = str(event.emoji)
        if not counts_as_helpful(emoji) or event.guild_id is None or event.user_id == self.bot_id:
            return
        if event.member is not None and event.member.bot:
            return
        if await self.reviews.vote(event.message_id, event.user_id, emoji, added=added):
            log.info(
                "helpful vote %s on message %d", "added" if added else "removed", event.message_id
            )

    # -- helpers -----------------------------------------------------------------------------
    async def _reviews_channel(self, interaction: discord.Interaction[ClubBot]) -> ReviewTarget:
        assert interaction.guild_id is not None
        settings = await self.club.settings(interaction.guild_id)
        channel = posting_channel(interaction, settings.reviews_channel_id, allow_forum=False)
        assert isinstance(channel, discord.TextChannel)  # allow_forum=False
        return channel


async def _download(file: discord.Attachment) -> bytes:
    try:
        return await file.read()
    except discord.HTTPException as exc:
        log.warning("could not download attachment %d: %s", file.id, exc.status)
        raise ReviewFileError(
            "I couldn't download that file from Discord. Try attaching it again."
        ) from exc


def _manages_messages(interaction: discord.Interaction[ClubBot], review: Review) -> bool:
    """Manage Messages where the review is posted (or, failing that, where the command ran)."""
    first = review.first_message
    channel = interaction.client.get_channel(first.channel_id) if first else None
    user = interaction.user
    if (
        isinstance(channel, discord.abc.GuildChannel | discord.Thread)
        and isinstance(user, discord.Member)
        and channel.permissions_for(user).manage_messages
    ):
        return True
    return interaction.permissions.manage_messages


def _posted_text(movie: Movie, review: Review, verb: str) -> str:
    text = f"Your review of **{safe(movie.label)}** is {verb}"
    first = review.copy(in_thread=False)
    if first:
        link = message_link(movie.guild_id, first[0].channel_id, first[0].message_id)
        text += f": [see it here]({link})"
    text += "."
    if review.spoilers and movie.thread_id is not None:
        text += f" It's hidden as a spoiler there; the full text is open in <#{movie.thread_id}>."
    return text


def _submitted_text(data: Mapping[str, Any]) -> str:
    """The longest value typed into a submitted form (the review itself)."""
    values: list[str] = []
    for row in data.get("components") or []:
        for item in row.get("components") or [row.get("component") or {}]:
            if isinstance(item, dict) and isinstance(item.get("value"), str):
                values.append(item["value"])
    return max(values, key=len, default="")
