"""Claude-Code-shaped exports for the load: the captured CLI requests, rewritten per "round".

A *conversation* is one capture folder's exports in order (metrics and logs of one CLI
session, e.g. ``2.1.197/grpc/all``). A *round* replays one conversation as a fresh session:
every ``session.id`` becomes ``session_id(round % sessions)`` and every timestamp is moved to
``base + round µs + (its offset inside the capture)``. So no two rounds collide on the
store's dedupe keys (series/start/end for points, session/seq/time/name for events) and the
store must keep *everything* that is acknowledged, which ``expected`` lets us check exactly.

Rewriting is done on bytes, not messages, so a load generator can render thousands of
bodies per second without protobuf work: the template is serialised once with sentinels in
place of the session id (same length, so no length prefix changes) and of each fixed64
timestamp (always 8 bytes), and a body is the template's pieces joined with the real values.
"""

from __future__ import annotations

import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# Delta-temporality captures of one session each (the CLI's default shape), both CLI versions.
CONVERSATIONS = tuple(
    f"{v}/grpc/{name}"
    for v in ("2.1.197", "2.1.330")
    for name in ("all", "interactive", "commit_default_intervals", "write_hold_delta")
)
SESSION_LEN = 36  # a UUID's length: the captured ids are UUIDs, so sentinel and value match
_SESSION_SENTINEL = b"S" * SESSION_LEN
_TS_BASE = 0x7A5E5E5E00000000  # sentinel timestamps: _TS_BASE + index, unlikely anywhere else
_US = 1000


def session_id(tag: str, index: int) -> str:
    """A 36-character session id, distinct per (run tag, index)."""
    prefix = f"bench-{tag}-"
    return f"{prefix}{index:0{SESSION_LEN - len(prefix)}d}"


@dataclass(frozen=True)
class Template:
    signal: str
    pieces: tuple[bytes, ...]  # literal bytes between the holes
    holes: tuple[int, ...]  # per hole: -1 = session id, else the timestamp's offset from t0 (ns)

    def render(self, session: bytes, t0_ns: int) -> bytes:
        out = [self.pieces[0]]
        for hole, piece in zip(self.holes, self.pieces[1:], strict=True):
            out.append(session if hole < 0 else struct.pack("<Q", t0_ns + hole))
            out.append(piece)
        return b"".join(out)


@dataclass(frozen=True)
class Conversation:
    name: str
    exports: tuple[Template, ...]
    span_ns: int  # from the first to the last timestamp in the capture


def _request_class(signal: str) -> Any:
    from ccmon.ingest.payload import REQUESTS

    return REQUESTS[signal]


def _capture_files(folder: str) -> list[tuple[str, bytes]]:
    import re

    out = []
    for f in sorted((DATA / folder).iterdir()):
        m = re.match(r"^\d{4}_grpc_(metrics|logs|traces)\.pb$", f.name)
        if m:
            out.append((m.group(1), f.read_bytes()))
    return out


def _stamp_points(msg: Any) -> list[tuple[Any, str]]:
    """(message, field) for every timestamp in an export request."""
    found: list[tuple[Any, str]] = []
    for rm in getattr(msg, "resource_metrics", ()):
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                for dp in getattr(getattr(m, kind), "data_points", ()) if kind else ():
                    found += [(dp, "start_time_unix_nano"), (dp, "time_unix_nano")]
    for rl in getattr(msg, "resource_logs", ()):
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                found += [(rec, "time_unix_nano"), (rec, "observed_time_unix_nano")]
    return found


def _session_attrs(msg: Any) -> list[Any]:
    """Every ``session.id`` attribute value message in an export request."""
    values = []

    def scan(attrs: Any) -> None:
        for kv in attrs:
            if kv.key == "session.id":
                values.append(kv.value)

    for rm in getattr(msg, "resource_metrics", ()):
        scan(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                for dp in getattr(getattr(m, kind), "data_points", ()) if kind else ():
                    scan(dp.attributes)
    for rl in getattr(msg, "resource_logs", ()):
        scan(rl.resource.attributes)
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                scan(rec.attributes)
    return values


def load_conversation(folder: str) -> Conversation:
    parsed = [(sig, _request_class(sig).FromString(body)) for sig, body in _capture_files(folder)]
    stamps = sorted({getattr(m, f) for _, msg in parsed for m, f in _stamp_points(msg)} - {0})
    t0 = stamps[0]
    index = {v: i for i, v in enumerate(stamps)}
    templates = []
    for signal, msg in parsed:
        for m, f in _stamp_points(msg):
            v = getattr(m, f)
            if v:
                setattr(m, f, _TS_BASE + index[v])
        for value in _session_attrs(msg):
            value.string_value = _SESSION_SENTINEL.decode()
        templates.append(_split(signal, msg.SerializeToString(), stamps, t0))
    return Conversation(folder, tuple(templates), stamps[-1] - t0)


def _split(signal: str, body: bytes, stamps: list[int], t0: int) -> Template:
    holes: list[tuple[int, int, int]] = []  # (position, length, hole)
    pos = body.find(_SESSION_SENTINEL)
    while pos >= 0:
        holes.append((pos, SESSION_LEN, -1))
        pos = body.find(_SESSION_SENTINEL, pos + SESSION_LEN)
    for i, v in enumerate(stamps):
        pat = struct.pack("<Q", _TS_BASE + i)
        pos = body.find(pat)
        while pos >= 0:
            holes.append((pos, 8, v - t0))
            pos = body.find(pat, pos + 8)
    holes.sort()
    pieces, last = [], 0
    for pos, length, _ in holes:
        pieces.append(body[last:pos])
        last = pos + length
    pieces.append(body[last:])
    return Template(signal, tuple(pieces), tuple(h for _, _, h in holes))


class Workload:
    """Round ``r`` -> the list of (signal, body) one CLI session would send."""

    def __init__(self, tag: str, sessions: int, base_ns: int, conversations: tuple[str, ...] = CONVERSATIONS) -> None:
        self.tag = tag
        self.sessions = sessions
        self.base_ns = base_ns
        self.conversations = [load_conversation(c) for c in conversations]
        self._ids = [session_id(tag, i).encode() for i in range(sessions)]

    def conversation(self, r: int) -> Conversation:
        return self.conversations[r % len(self.conversations)]

    def round(self, r: int) -> list[tuple[str, bytes]]:
        conv = self.conversation(r)
        sid = self._ids[r % self.sessions]
        t0 = self.base_ns + r * _US  # one µs per round keeps every round's keys distinct
        return [(t.signal, t.render(sid, t0)) for t in conv.exports]


@dataclass(frozen=True)
class Expected:
    """What one round of a conversation must add to the store."""

    exports: int
    points: int
    events: int
    cost: float
    api_requests: int


def expected_per_conversation(conversations: tuple[str, ...] = CONVERSATIONS) -> dict[str, Expected]:
    """Ingest one rendered round of each conversation into a scratch store (the real decode
    and store path) and count what it kept: the reference for verifying a benchmark run."""
    from ccmon.ingest.payload import decode
    from ccmon.model.store import Store

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(conversations):
            wl = Workload("ref", 1, 1_700_000_000_000_000_000, (name,))
            store = Store(Path(tmp) / f"{i}.db", retention_days=0)
            exports = wl.round(0)
            for signal, body in exports:
                store.ingest(decode(signal, body))
            snap = store.snapshot()
            points = store._conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            events = store._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            out[name] = Expected(len(exports), points, events, snap.cost_total, snap.api_requests)
            store.close()
    return out


def expected_totals(rounds_by_conversation: dict[str, int]) -> dict[str, float]:
    """Totals the store must hold after the given number of complete rounds per conversation."""
    per = expected_per_conversation(tuple(rounds_by_conversation))
    tot = {"exports": 0.0, "points": 0.0, "events": 0.0, "cost": 0.0, "api_requests": 0.0}
    for name, n in rounds_by_conversation.items():
        e = per[name]
        tot["exports"] += n * e.exports
        tot["points"] += n * e.points
        tot["events"] += n * e.events
        tot["cost"] += n * e.cost
        tot["api_requests"] += n * e.api_requests
    return tot
