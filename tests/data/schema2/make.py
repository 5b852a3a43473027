"""Writes ccmon.db here with the release that had database schema 2 (commit fcfa525), as a
user of that release would have it: real captured exports, plus the inputs that release
stored but could not count (an infinite token delta, an event attribute "1e400" that became
JSON Infinity) and a retention sweep that cut a day in two. expected.json holds what that
release reported for the finite part, before the bad inputs.

    PYTHONPATH=<checkout of fcfa525> python tests/data/schema2/make.py

tests/test_counting_migration.py opens the result with the current ccmon.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/: otlp_client

from otlp_client import capture  # noqa: E402

from ccmon.ingest.payload import decode  # noqa: E402  (the old release's)
from ccmon.model import names  # noqa: E402
from ccmon.model.names import canonical  # noqa: E402
from ccmon.model.store import Store  # noqa: E402
from ccmon.model.summary import report_dict  # noqa: E402
from ccmon.model.types import Batch, Event, Point  # noqa: E402

S = 1_000_000_000
NOW = 1_795_463_910 * S  # 2026-11-23 19:58:30 UTC, just after the captures
DAY = 86_400 * S
CUT_DAY = (NOW - 30 * DAY) // DAY  # the day the 30-day retention cutoff falls in


def event(t, seq, **attrs):
    a = {"session.id": "old", "user.id": "u1", "event.name": "api_request", "event.sequence": seq, **attrs}
    return Event("api_request", t, a, "claude_code.api_request", {"service.name": "claude-code"})


def main() -> None:
    db = HERE / "ccmon.db"
    for f in HERE.glob("ccmon.db*"):
        f.unlink()
    st = Store(db, retention_days=30, clock=lambda: NOW, load=False)
    st.load()
    for version, folder in (("2.1.197", "grpc/all"), ("2.1.330", "grpc/write_hold_cumulative")):
        for e in capture(version, folder):
            st.ingest(decode(e.signal, e.body))
    # A day the sweep will cut in two: one event before the cutoff, one after.
    st.ingest(
        Batch(
            "logs",
            events=[
                event(CUT_DAY * DAY + 3600 * S, 1, duration_ms=10),
                event(CUT_DAY * DAY + 22 * 3600 * S, 2, duration_ms=20),
            ],
        )
    )
    st.sweep()
    expected = report_dict(st.snapshot(NOW))
    # What the old release stored and then choked on.
    attrs = {"session.id": "bad", "user.id": "u1", "model": "claude-opus-4-8", "type": "input"}
    st.ingest(
        Batch(
            "metrics",
            [
                Point(
                    names.TOKENS,
                    f"{names.TOKENS}\x1f{{}}\x1f{canonical(attrs)}",
                    attrs,
                    NOW - 60 * S,
                    NOW - 30 * S,
                    float("inf"),
                    False,
                    "tokens",
                )
            ],
        )
    )
    st.ingest(Batch("logs", events=[event(NOW - 10 * S, 3, duration_ms=float("inf"))]))
    st.close()
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
