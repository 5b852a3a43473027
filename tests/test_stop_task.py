"""Quitting never hangs on a background loop (``ccmon.aio.stop_task``).

Python 3.11's ``asyncio.wait_for`` returns the result instead of raising when a cancellation
lands just as the awaited event is set: a loop of ``wait_for(event.wait(), t)`` cancelled once
runs on. The budget watcher and the viewer's follower are such loops; a commit at the moment the
dashboard quits made ``await task`` wait forever (seen once in CI as a test that never ended).
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from ccmon.aio import stop_task


async def _loop(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        try:
            await asyncio.wait_for(event.wait(), 30)
        except TimeoutError:
            pass
        event.clear()
        rounds.append(1)


async def _cancel_as_the_event_is_set(event: asyncio.Event, task: asyncio.Task) -> None:
    event.set()
    await asyncio.sleep(0)  # the inner wait completes; wait_for has not seen it yet
    task.cancel()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12's wait_for keeps the cancellation")
async def test_a_single_cancel_can_be_lost():
    event, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(event, rounds))
    await asyncio.sleep(0.01)
    await _cancel_as_the_event_is_set(event, task)
    await asyncio.sleep(0.05)
    assert not task.done() and rounds == [1]  # the cancel was lost: the loop went round again
    await stop_task(task)


async def test_stop_task_stops_it_anyway():
    event, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(event, rounds))
    await asyncio.sleep(0.01)
    await _cancel_as_the_event_is_set(event, task)
    await asyncio.wait_for(stop_task(task), 5)
    assert task.done()


async def test_the_watcher_stops_when_a_commit_lands_at_the_same_moment(tmp_path):
    from ccmon.alerting import Watcher
    from ccmon.model.config import Config

    w = Watcher(Config(), tmp_path / "none.db", idle_s=30.0)
    w.start()
    await asyncio.sleep(0.05)  # past its first evaluation, waiting for a change
    task = w._task
    assert task is not None
    w._dirty.set()
    await asyncio.sleep(0)
    stopping = asyncio.ensure_future(w.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)  # not cancelled by the wait: a hang stays one
    if not done:
        task.cancel()  # clean up what the broken stop left running
        await asyncio.wait({stopping}, timeout=5)
    assert done and task.done() and w._task is None
