"""The reconcile queue: one entry per key, never two workers on a key, re-run after a late add,
delayed retries with exponential backoff."""

from __future__ import annotations

import asyncio

import pytest

from fks_operator.workqueue import QueueClosed, WorkQueue, backoff


async def test_a_waiting_key_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a", "c", "b"):
        queue.add(key)
    assert len(queue) == 3
    assert [await queue.get() for _ in range(3)] == ["a", "b", "c"]


async def test_a_key_added_while_active_runs_once_more_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0, "handed to a second worker while the first still works on it"
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 0


async def test_add_after_runs_later_and_the_earliest_wins() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.2)
    queue.add_after("a", 5.0)  # later: ignored
    queue.add_after("b", 0.05)
    assert (len(queue), queue.delayed) == (0, 2)
    assert await asyncio.wait_for(queue.get(), 1) == "b"
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    assert queue.delayed == 0


async def test_an_immediate_add_cancels_the_delayed_one() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    queue.add("a")
    assert await queue.get() == "a"
    queue.done("a")
    await asyncio.sleep(0.1)
    assert len(queue) == 0


async def test_forget_drops_a_pending_retry() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    queue.forget("a")
    await asyncio.sleep(0.1)
    assert len(queue) == 0


async def test_close_releases_waiting_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.close(waiters=1)
    with pytest.raises(QueueClosed):
        await asyncio.wait_for(waiter, 1)
    queue.add("a")
    assert len(queue) == 0


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n) for n in range(5)] == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert backoff(30) == 300.0
    assert backoff(10_000) == 300.0


async def test_urgent_keys_go_first_and_a_waiting_key_can_become_urgent() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("progress-1", "progress-2", "progress-3"):
        queue.add(key)  # e.g. a Deployment's status moved
    queue.add("new", urgent=True)  # seen for the first time
    queue.add("progress-3", urgent=True)  # then its spec changed
    queue.add("new")  # a later non-urgent event does not demote it
    assert len(queue) == 4
    got = [await queue.get() for _ in range(4)]
    assert got == ["new", "progress-3", "progress-1", "progress-2"]
    assert len(queue) == 0
    for key in got:
        queue.done(key)
    queue.add("y")
    assert await queue.get() == "y", "the stale normal entry of progress-3 is skipped"
    assert len(queue) == 0
