"""Fill a store in-process through the real path: workload bodies -> ``decode`` ->
``Store.write`` (``batch`` exports per transaction, as the group committer batches them under
load) -> ``Store.apply``. Used where the figure is about the state, not about the sockets."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .workload import Workload


def feed(store: Any, wl: Workload, events: int, *, first_round: int = 0, batch: int = 32) -> tuple[Counter[str], int]:
    """Send whole rounds until at least ``events`` events went in; returns (rounds per
    conversation, the next round number)."""
    from ccmon.ingest.payload import decode

    rounds: Counter[str] = Counter()
    sent = 0
    r = first_round
    pending = []
    while sent < events:
        for signal, body in wl.round(r):
            b = decode(signal, body)
            sent += len(b.events)
            pending.append(b)
            if len(pending) >= batch:
                store.apply(store.write(pending))
                pending = []
        rounds[wl.conversation(r).name] += 1
        r += 1
    if pending:
        store.apply(store.write(pending))
    return rounds, r
