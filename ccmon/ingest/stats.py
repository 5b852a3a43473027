"""Receiver statistics: what arrived per signal and protocol, what was answered, who sent it.

Owned by the ``Receiver`` and written on the event loop only (both servers run there), so
there is no lock. Bounded: per-lane one-minute rate buckets (at most 60) and at most
``MAX_SENDERS`` senders. The store knows nothing of this; ``flow()`` and ``status()`` hand out
frozen copies for the dashboard.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..model.flow import Flow, FlowLane, FlowSender
from ..model.snapshot import SourceStatus
from ..model.types import Batch

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
HTTP_JSON = "http/json"
MAX_SENDERS = 32
_S = 1_000_000_000


@dataclass(slots=True)
class Via:
    """How one request came: protocol, body size on the wire, and the client's user agent."""

    protocol: str
    nbytes: int = 0
    user_agent: str = ""

    def ok(self) -> str:
        return "OK" if self.protocol == GRPC else "200"

    def unavailable(self) -> str:
        return "UNAVAILABLE" if self.protocol == GRPC else "503"


@dataclass(slots=True)
class _Lane:
    accepted: int = 0
    rejected: int = 0
    partial: int = 0
    skipped_points: int = 0
    bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0
    last_status: str = ""
    last_reason: str = ""
    partial_reason: str = ""
    statuses: Counter = field(default_factory=Counter)
    seconds: deque = field(default_factory=lambda: deque(maxlen=61))  # [second, payloads, bytes]
    gaps: deque = field(default_factory=lambda: deque(maxlen=8))

    def hit(self, now_ns: int, nbytes: int, status: str) -> None:
        if self.last_ns and self.accepted:
            self.gaps.append(now_ns - self.last_ns)
        self.first_ns = self.first_ns or now_ns
        self.last_ns = now_ns
        self.bytes += nbytes
        self.last_status = status
        self.statuses[status] += 1
        sec = now_ns // _S
        if self.seconds and self.seconds[-1][0] == sec:
            self.seconds[-1][1] += 1
            self.seconds[-1][2] += nbytes
        else:
            self.seconds.append([sec, 1, nbytes])


class ReceiverStats:
    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self.clock = clock
        self.version = 0  # moves on every request, so the dashboard redraws
        self.where = ""
        self.last_error: str | None = None
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._senders: dict[tuple[str, str, str], list[int]] = {}  # -> [payloads, last_ns]

    def _lane(self, signal: str, protocol: str) -> _Lane:
        lane = self._lanes.get((signal, protocol))
        if lane is None:
            lane = self._lanes[(signal, protocol)] = _Lane()
        return lane

    def accepted(self, signal: str, via: Via, batch: Batch) -> None:
        now = self.clock()
        lane = self._lane(signal, via.protocol)
        lane.accepted += 1
        left_out = batch.skipped + batch.rejected  # answered as OTLP partial_success
        if left_out:
            lane.partial += 1
            lane.skipped_points += left_out
            lane.partial_reason = batch.reason or f"{batch.skipped} data point(s) of a kind ccmon does not use"
        lane.hit(now, via.nbytes, via.ok())
        name, version = _service(batch)
        key = (name, version, via.user_agent)
        senders = self._senders
        if senders and next(reversed(senders)) == key:  # the usual case: the same sender again
            seen = senders[key]
        else:  # moved to the end: the dict's order is least recent first
            seen = senders[key] = senders.pop(key, [0, 0])
        seen[0] += 1
        seen[1] = now
        while len(self._senders) > MAX_SENDERS:
            del self._senders[next(iter(self._senders))]
        self.version += 1

    def clear_error(self, prefix: str) -> None:
        """The condition behind the last error is over (e.g. the disk has room again)."""
        if (self.last_error or "").startswith(prefix):
            self.last_error = None
            self.version += 1

    def rejected(self, signal: str, via: Via, status: str, reason: str) -> None:
        lane = self._lane(signal, via.protocol)
        lane.rejected += 1
        lane.last_reason = reason
        lane.hit(self.clock(), via.nbytes, status)
        self.last_error = reason
        self.version += 1

    # -- reading --------------------------------------------------------------------------------

    def received(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (signal, _), lane in self._lanes.items():
            if lane.accepted:
                out[signal] += lane.accepted
        return dict(out)

    def rejections(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (signal, _), lane in self._lanes.items():
            if lane.rejected:
                out[signal] += lane.rejected
        return dict(out)

    def status(self) -> SourceStatus:
        last: dict[str, int] = {}
        for (signal, _), lane in self._lanes.items():
            if lane.accepted:
                last[signal] = max(last.get(signal, 0), lane.last_ns)
        return SourceStatus(
            kind="otlp",
            where=self.where,
            last_payload_ns=last,
            received=self.received(),
            rejected=self.rejections(),
            last_error=self.last_error,
        )

    def flow(self, now_ns: int | None = None) -> Flow:
        now = self.clock() if now_ns is None else now_ns
        since = now // _S - 60
        lanes = []
        for (signal, protocol), la in sorted(self._lanes.items()):
            recent = [s for s in la.seconds if s[0] > since]
            lanes.append(
                FlowLane(
                    signal,
                    protocol,
                    la.accepted,
                    la.rejected,
                    la.partial,
                    la.skipped_points,
                    la.bytes,
                    la.first_ns,
                    la.last_ns,
                    la.last_status,
                    la.last_reason,
                    sum(s[1] for s in recent),
                    sum(s[2] for s in recent),
                    int(statistics.median(la.gaps)) if la.gaps else 0,
                    tuple(sorted(la.statuses.items())),
                    la.partial_reason,
                )
            )
        senders = tuple(
            FlowSender(name, version, ua, n, last) for (name, version, ua), (n, last) in reversed(self._senders.items())
        )
        return Flow(self.where, tuple(lanes), senders, self.last_error)


def _service(batch: Batch) -> tuple[str, str]:
    """service.name and service.version of the request's first resource (Claude Code sends
    one resource per request; looking at one item keeps this O(1) for large exports)."""
    attrs = None
    if batch.events:
        attrs = batch.events[0].resource
    elif batch.points:
        attrs = batch.points[0].attrs
    elif batch.spans:
        attrs = batch.spans[0].resource
    if not attrs:
        return "", ""
    return str(attrs.get("service.name", "")), str(attrs.get("service.version", ""))
