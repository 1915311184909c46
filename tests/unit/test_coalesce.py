"""The Coalescer: many marks, few runs, and always a last run after the last mark."""

from __future__ import annotations

import asyncio

from cogs.ratings.coalesce import Coalescer


async def test_a_burst_of_marks_runs_once_now_and_once_after_the_interval() -> None:
    runs: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()

    async def action(key: int) -> None:
        runs.append((key, loop.time()))

    coalescer: Coalescer[int] = Coalescer(action, 0.2, monotonic=loop.time)
    for _ in range(50):
        coalescer.mark(1)
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    coalescer.mark(1)  # after the first run started: one more run, not fifty
    coalescer.mark(2)
    await coalescer.settle()
    assert [k for k, _ in runs] == [1, 2, 1]
    first, last = runs[0][1], runs[2][1]
    assert last - first >= 0.2


async def test_a_failing_action_does_not_stop_later_runs() -> None:
    calls = 0

    async def action(key: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("discord hiccup")

    coalescer: Coalescer[int] = Coalescer(action, 0.01)
    coalescer.mark(1)
    await coalescer.settle()
    coalescer.mark(1)
    await coalescer.settle()
    assert calls == 2


async def test_close_drops_what_is_owed_at_once_and_ignores_later_marks() -> None:
    runs: list[int] = []
    started = asyncio.Event()

    async def action(key: int) -> None:
        runs.append(key)
        started.set()
        await asyncio.sleep(60)  # an edit stuck behind Discord's rate limit

    coalescer: Coalescer[int] = Coalescer(action, 2.0)
    coalescer.mark(1)
    coalescer.mark(2)
    await started.wait()
    await asyncio.wait_for(coalescer.close(), 1.0)  # does not wait for the stuck edits
    assert not coalescer.busy
    coalescer.mark(3)  # a commit that lands during shutdown
    await asyncio.sleep(0.01)
    assert not coalescer.busy
    assert 3 not in runs


async def test_close_leaves_behind_an_action_that_does_not_stop_when_cancelled() -> None:
    """An action that swallows its cancellation (a request stuck in the network, say) must not
    hold up the shutdown: close() gives it ``within`` seconds, then goes on without it."""
    started, never = asyncio.Event(), asyncio.Event()

    async def stubborn(key: int) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await never.wait()  # does not stop

    coalescer: Coalescer[int] = Coalescer(stubborn, 2.0)
    coalescer.mark(1)
    await started.wait()
    await asyncio.wait_for(coalescer.close(within=0.05), 1.0)
    assert not coalescer.busy
    leftover = [t for t in asyncio.all_tasks() if t.get_name() == "coalesce-1"]
    assert leftover and not leftover[0].done()  # left behind, still running
    never.set()
    await asyncio.wait_for(leftover[0], 1.0)
