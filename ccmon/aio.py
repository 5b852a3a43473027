"""Stopping a background task for sure.

Python 3.11's ``asyncio.wait_for`` loses a cancellation that lands just as the awaited thing
completes (it returns the result instead of raising), so a loop of ``wait_for(event.wait(), t)``
cancelled once can run on, and an ``await`` of it never returns: a dashboard that does not quit
when a commit arrived at the same moment. ``stop_task`` cancels until the task is done.
"""

from __future__ import annotations

import asyncio


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (again, until it is done) and wait for it; its outcome is dropped."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
    if not task.cancelled():
        task.exception()  # retrieved, so a failure is not reported again at exit
