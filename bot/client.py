"""The composition root: the bot class, its intents, its extensions, and how it is run.

This is the one place that wires features together: it builds the services, the card publisher
that several features use (``cogs/ratings/cards.py``, seen by them as ``bot.ui.cards.Cards``),
the card upkeep and reconciliation, the weekly pick's publisher and the pacer that background
work shares; it starts the long-lived workers (the ratings writer, card upkeep, reconciliation)
before the bot connects and stops them, in order, when it closes. It also says which clubs this
process owns (``ClubBot.owns``: the guilds of its shards).
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
from bot.domain.club import Owns
from bot.services import Services, build_services
from bot.storage.connect import open_database
from bot.storage.database import Database
from bot.ui.errors import ClubTree
from bot.ui.pacing import REQUESTS_PER_SECOND, Pacer
from cogs.ratings.cards import CARD_EDIT_INTERVAL, CardPublisher
from cogs.ratings.reconcile import REQUEST_INTERVAL, CardReconciler
from cogs.ratings.sync import CardSync
from cogs.watch.publisher import DiscordPublisher

log = logging.getLogger(__name__)


class ShardSettingsError(Exception):
    """SHARD_IDS does not fit the shard count Discord gave; the text says what to set."""


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


# Discord's gap between two session starts of one identify bucket, plus a margin for the clocks
# of several processes and of Discord not quite agreeing.
IDENTIFY_MARGIN = 0.25


class ClubBot(commands.AutoShardedBot):
    """The bot, on one connection or on the shards ``SHARD_COUNT``/``SHARD_IDS`` give this
    process. Each process owns the guilds of its shards (``owns()``): their card upkeep, their
    weekly runs; Discord sends it only their events."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        services: Services,
        clock: Clock,
        intervals: Intervals | None = None,
        owns: Owns | None = None,
        **options: Any,
    ) -> None:
        """``options`` go to discord.py's ``Client`` as they are (e.g. ``guild_ready_timeout``);
        ``owns``, when given, says which clubs this process looks after instead of its shards
        (tests; see :data:`bot.domain.club.Owns`)."""
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
            **_shard_options(settings),
            **options,
        )
        self.settings = settings
        self.db = db
        self.services = services
        self.clock = clock
        self.intervals = intervals or Intervals()
        self._owns = owns
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
            owns=self.owns,
            pace=Pacer(1.0 / self.intervals.reconcile_request),
            shared=self.background_pacer,
        )
        self.card_sync = CardSync(
            self, self.cards, services.movies, services.ratings, self.reconciler
        )
        self.watch_publisher = DiscordPublisher(self, self.cards, self.background_pacer)
        self._announced_ready = False
        self._closing: asyncio.Task[None] | None = None
        self._max_concurrency: int | None = None

    @property
    def sharded(self) -> bool:
        """Settings split the bot into shards (maybe across processes)."""
        return self.settings.shard_count is not None or self.settings.shard_ids is not None

    def owns(self, guild_id: int) -> bool:
        """This process runs the shard of ``guild_id``: ``(guild_id >> 22) % shard_count``."""
        if self._owns is not None:
            return self._owns(guild_id)
        count: int | None = self.shard_count  # None until resolve_shards() asked Discord
        if count is None or count <= 1:
            return True
        mine = self.shard_ids if self.shard_ids is not None else range(count)
        return (guild_id >> 22) % count in mine

    async def resolve_shards(self) -> None:
        """With SHARD_IDS but no SHARD_COUNT, Discord's recommended count (after login)."""
        if self.settings.shard_count is not None or self.settings.shard_ids is None:
            return
        count, _, _ = await self.http.get_bot_gateway()
        if self.shard_ids is not None and max(self.shard_ids) >= count:
            raise ShardSettingsError(
                f"SHARD_IDS names shard {max(self.shard_ids)}, but Discord recommends {count} "
                f"shard(s), numbered 0 to {count - 1}: set SHARD_COUNT to the total the "
                "processes share."
            )
        self.shard_count = count
        log.info("Discord recommends %d shard(s)", count)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """One connection: like discord.py's (a pause before re-identifying), for the injected
        interval. Shards: every login takes its turn in its ``max_concurrency`` bucket across all
        the processes sharing the database, so that Discord never sees them too fast. A new
        session starts: what members do from here on is live (see reconciliation)."""
        if not self.sharded:
            if not initial:
                await asyncio.sleep(self.intervals.reidentify)
        else:
            if self._max_concurrency is None:
                limits = await self.fetch_session_start_limits()
                self._max_concurrency = limits.max_concurrency
            bucket = (shard_id or 0) % max(1, self._max_concurrency)
            await self.db.identify_turn(bucket, self.intervals.reidentify + IDENTIFY_MARGIN)
            log.info("shard %s logging in (bucket %d)", shard_id, bucket)
        self.services.ratings.session_started()  # what members do from here on is live

    async def setup_hook(self) -> None:
        self.services.ratings.start()
        self.card_sync.start()
        self.reconciler.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        """To the dev guild on every start; globally only when the command list changed, and
        only from the process that runs shard 0 (one writer for the one global list)."""
        if self.settings.shard_ids is not None and 0 not in self.settings.shard_ids:
            log.info("commands are synced by the process running shard 0; not here")
            return
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

    async def on_shard_ready(self, shard_id: int) -> None:
        # A READY after a reconnect that could not resume may follow missed events. At start-up
        # on_ready follows once every shard is ready, and so it does for a process with one
        # shard; a process with several hears only this for one shard's new session.
        if self._announced_ready and len(self.shards) > 1:
            log.info("shard %d has a new session; reconciling", shard_id)
            self.reconciler.reconcile_soon()

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


def _shard_options(settings: Settings) -> dict[str, Any]:
    """One connection unless the settings shard; SHARD_IDS alone waits for Discord's count."""
    if settings.shard_ids is None:
        return {"shard_count": settings.shard_count or 1}
    # discord.py wants a count with explicit ids; resolve_shards() sets the real one after login.
    return {"shard_count": settings.shard_count or 1, "shard_ids": list(settings.shard_ids)}


def create_bot(
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
    *,
    intervals: Intervals | None = None,
    owns: Owns | None = None,
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
    db = await open_database(settings.database_url or settings.database_path)
    try:
        bot = create_bot(settings, db)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # On Windows there are no loop signal handlers; Ctrl+C arrives as KeyboardInterrupt.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, bot.close_soon)
        async with bot:
            try:
                await bot.login(settings.token)
                await bot.resolve_shards()
                await bot.connect()
            finally:
                await bot.close()  # the one closing, whoever began it: ratings are committed
    finally:
        await db.close()
        log.info("stopped; database closed")
