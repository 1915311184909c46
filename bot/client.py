"""The composition root: the bot class, its intents, its extensions, and how it is run.

This is the one place that wires features together: it builds the services, the card publisher
that several features use (``cogs/ratings/cards.py``, seen by them as ``bot.ui.cards.Cards``),
the card upkeep and reconciliation, the weekly pick's publisher and the pacer that background
work shares; it starts the long-lived workers (the ratings writer, card upkeep, reconciliation)
before the bot connects and stops them, in order, when it closes. It also says which clubs this
process owns (``owns``; every club, until shards across processes arrive).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import signal
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands

from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.club import Owns, every_club
from bot.services import Services, build_services
from bot.storage.database import Database
from bot.ui.errors import ClubTree
from bot.ui.pacing import REQUESTS_PER_SECOND, Pacer
from cogs.ratings.cards import CARD_EDIT_INTERVAL, CardPublisher
from cogs.ratings.reconcile import REQUEST_INTERVAL, CardReconciler
from cogs.ratings.sync import CardSync
from cogs.watch.publisher import DiscordPublisher

log = logging.getLogger(__name__)

# One package per feature; each has a tiny ``setup()`` that hands it what it needs.
EXTENSIONS: tuple[str, ...] = (
    "cogs.club",
    "cogs.movies",
    "cogs.ratings",
    "cogs.reviews",
    "cogs.spoilers",
    "cogs.watch",
    "cogs.help",
)


def club_intents() -> discord.Intents:
    """Only what the features use; no privileged intent (members, presences, message content)."""
    intents = discord.Intents.none()
    intents.guilds = True  # channels, threads and roles in the cache
    intents.guild_messages = True  # card and review deletions
    intents.guild_reactions = True  # rating by reaction, helpful votes
    intents.guild_polls = True  # the weekly poll's votes
    return intents


@dataclass(frozen=True)
class Intervals:
    """The bot's own waits. Production keeps the defaults; tests that are not about timing pass
    shorter ones (the card edit pace is Discord-friendly, not a rule of the club's)."""

    card_edit: float = CARD_EDIT_INTERVAL  # seconds from one edit of a card to the next
    reidentify: float = 5.0  # before a new session after one that could not be resumed
    # Seconds from one reconciliation request to the next (10 a second: its share)...
    reconcile_request: float = REQUEST_INTERVAL
    # ... and from one background request to the next, the weekly run's and reconciliation's
    # together (45 a second, under Discord's global 50).
    background_request: float = 1.0 / REQUESTS_PER_SECOND


class ClubBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        services: Services,
        clock: Clock,
        intervals: Intervals | None = None,
        owns: Owns = every_club,
        **options: Any,
    ) -> None:
        """``options`` go to discord.py's ``Client`` as they are (e.g. ``guild_ready_timeout``);
        ``owns`` says which clubs this process looks after (see :data:`bot.domain.club.Owns`)."""
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=club_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=ClubTree,
            help_command=None,
            # No message cache: every feature works from raw events and ids. With a cache,
            # discord.py scans it linearly on every reaction to find the message.
            max_messages=None,
            # No member cache and no chunking: members arrive with the events and interactions
            # that need them. Per guild the cache keeps the guild, its channels, roles and
            # threads, and the bot's own member.
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            **options,
        )
        self.settings = settings
        self.db = db
        self.services = services
        self.clock = clock
        self.intervals = intervals or Intervals()
        self.owns = owns
        self.background_pacer = Pacer(1.0 / self.intervals.background_request)
        self.cards = CardPublisher(
            self,
            services.movies,
            services.ratings,
            services.club,
            edit_interval=self.intervals.card_edit,
        )
        self.reconciler = CardReconciler(
            self,
            self.cards,
            services.movies,
            services.ratings,
            owns=owns,
            pace=Pacer(1.0 / self.intervals.reconcile_request),
            shared=self.background_pacer,
        )
        self.card_sync = CardSync(
            self, self.cards, services.movies, services.ratings, self.reconciler
        )
        self.watch_publisher = DiscordPublisher(self, self.cards, self.background_pacer)
        self._announced_ready = False
        self._closing: asyncio.Task[None] | None = None

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Like discord.py's (a pause before re-identifying), for the injected interval. A new
        session starts: what members do from here on is live (see reconciliation)."""
        if not initial:
            await asyncio.sleep(self.intervals.reidentify)
        self.services.ratings.session_started()

    async def setup_hook(self) -> None:
        self.services.ratings.start()
        self.card_sync.start()
        self.reconciler.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        """To the dev guild on every start; globally only when the command list changed."""
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), guild.id)
            return
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        signature = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if await self.services.install.command_signature() == signature:
            log.info("global commands unchanged; not syncing")
            return
        synced = await self.tree.sync()
        await self.services.install.remember_command_signature(signature)
        log.info("synced %d global commands", len(synced))

    def close_soon(self) -> None:
        """From a signal handler: start closing once; the task is kept until it is done."""
        if self._closing is None:
            self._closing = asyncio.create_task(self._close_once(), name="close")

    async def close(self) -> None:
        """Bounded, whatever is queued: card edits still owed are dropped (the next start
        catches those cards up after READY), the gateway closes so no event arrives after this,
        and every rating already received is committed. Every caller (the signal handler,
        ``async with bot`` on the way out) waits for the same one closing, so the database is
        closed only after it."""
        self.close_soon()
        assert self._closing is not None
        await asyncio.shield(self._closing)

    async def _close_once(self) -> None:
        await self.cards.close()
        await self.card_sync.close()
        await self.reconciler.close()
        await super().close()
        await self.services.ratings.stop()

    async def on_ready(self) -> None:
        # Each READY (first start, or a reconnect that could not resume) may follow missed events.
        self.reconciler.reconcile_soon()
        if not self._announced_ready:
            self._announced_ready = True
            # Everything built at start-up lives as long as the process: move it out of the
            # collector's sight, so a full collection during a reaction storm is short.
            gc.freeze()
            assert self.user is not None
            log.info(
                "ready as %s (id %d) in %d guilds", self.user.name, self.user.id, len(self.guilds)
            )


def create_bot(
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
    *,
    intervals: Intervals | None = None,
    owns: Owns = every_club,
    **options: Any,
) -> ClubBot:
    clock = clock or SystemClock()
    return ClubBot(
        settings=settings,
        db=db,
        services=build_services(db, clock),
        clock=clock,
        intervals=intervals,
        owns=owns,
        **options,
    )


async def run(settings: Settings) -> None:
    """Open the database, log in, and run until SIGINT/SIGTERM; always close the database."""
    db = await Database.open(settings.database_path)
    try:
        bot = create_bot(settings, db)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # On Windows there are no loop signal handlers; Ctrl+C arrives as KeyboardInterrupt.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, bot.close_soon)
        async with bot:
            try:
                await bot.start(settings.token)
            finally:
                await bot.close()  # the one closing, whoever began it: ratings are committed
    finally:
        await db.close()
        log.info("stopped; database closed")
