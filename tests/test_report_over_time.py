"""`ccmon report --by ... --format ...` as a process over a store filled through the receivers
(captured exports over gRPC): exact figures for every --by and --format; CSV parses, JSON is
strict, the Markdown ROI report has its sections."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from otlp_client import capture, grpc_export
from restamp import moved

# The captures are replayed as of yesterday noon (UTC): model/counting.py places time stamps
# older than the store's horizon (30 days) at their arrival, so fixed 2026-11 dates would age out.
_DAY = 86_400_000_000_000
NOON = (time.time_ns() // _DAY - 1) * _DAY + _DAY // 2
DAY_KEY = dt.datetime.fromtimestamp(NOON / 1e9, dt.UTC).date()
WEEK_KEY = DAY_KEY - dt.timedelta(days=DAY_KEY.weekday())
WINDOW = (
    "--since",
    (DAY_KEY - dt.timedelta(days=20)).isoformat(),
    "--until",
    (DAY_KEY + dt.timedelta(days=1)).isoformat(),
)
CAPTURES = (
    ("2.1.197", "grpc/all"),
    ("2.1.330", "grpc/all"),
    ("2.1.330", "grpc/error400_persistent"),
    ("2.1.330", "grpc/write_denied_headless"),
)
COST = {"claude-opus-4-8": 0.2367105, "claude-opus-5-5": 0.1786872 + 0.0595624}  # all 2.1.197 / 2.1.330 + denied
TOTAL_COST = round(0.2367105 + 0.1786872 + 0.0595624, 10)
TOKENS = {
    "input": 7404 * 2 + 2468,
    "output": 3402 * 2 + 1134,
    "cacheRead": 53406 * 2 + 17802,
    "cacheCreation": 14070 * 2 + 4690,
}
S197, S330, SDENIED = (
    "723db479-cad8-4057-a422-b4b46c49d6d1",
    "99fc81a6-b7d4-432b-865e-b6c1b520f191",
    "84296a7e-e92e-4855-843d-dc2a7218c363",
)


@pytest.fixture
async def db(otlp):
    for version, folder in CAPTURES:
        for signal, body in moved(capture(version, folder), NOON):
            await asyncio.to_thread(grpc_export, otlp.grpc_port, signal, body)
    return Path(otlp.store.path)


def report(db: Path, *extra: str) -> str:
    env = {**os.environ, "TZ": "UTC", "XDG_CONFIG_HOME": str(db.parent / "no-config")}
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", str(db), *WINDOW, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def strict(text: str) -> dict:
    def no_constant(c):
        raise ValueError(f"not strict JSON: {c}")

    return json.loads(text, parse_constant=no_constant)


async def test_by_day_and_week_json(db):
    for by, key in (("day", DAY_KEY), ("week", WEEK_KEY)):
        data = strict(report(db, "--by", by, "--format", "json"))
        (row,) = data["rows"]
        assert row["key"] == key.isoformat()
        assert row["cost_usd"] == TOTAL_COST and row["tokens"] == TOKENS
        assert (row["sessions"], row["commits"], row["pull_requests"], row["requests"], row["errors"]) == (
            4,
            2,
            2,
            14,
            1,
        )
        assert (row["lines_added"], row["lines_removed"]) == (12, 2)
        assert row["cache_hit"] == round(124614 / (17276 + 124614 + 32830), 6)
    s = data["summary"]
    assert s["cost_usd"] == TOTAL_COST and s["cost_per_commit"] == round(TOTAL_COST / 2, 6)
    assert s["acceptance"] == {
        "human": {"accepted": 0, "decided": 0, "rate": None},
        "automatic": {"accepted": 4, "decided": 5, "rate": 0.8},
    }
    assert data["session_lengths"] == {"< 5 min": 4, "5-30 min": 0, "> 30 min": 0}
    assert data["stuck"]["rejections_by_tool"] == {"Write": 1}
    assert data["stuck"]["api_errors_by_model"] == {"claude-opus-5-5": 1}
    assert [x["session"] for x in data["top_sessions"][:3]] == [S197, S330, SDENIED]


async def test_by_model_csv_parses(db):
    rows = list(csv.DictReader(io.StringIO(report(db, "--by", "model", "--format", "csv"))))
    assert [r["key"] for r in rows] == ["claude-opus-5-5", "claude-opus-4-8", "unknown"]
    assert {r["key"]: float(r["cost_usd"]) for r in rows} == {
        **{k: round(v, 10) for k, v in COST.items()},
        "unknown": 0.0,
    }
    assert rows[1]["input"] == "7404" and rows[1]["cacheRead"] == "53406" and rows[1]["requests"] == "6"
    assert rows[0]["errors"] == "1" and rows[0]["input"] == str(7404 + 2468)


@pytest.mark.parametrize(
    "by,keys",
    [
        ("session", [S197, S330, SDENIED, "32334420-a100-4f5f-910e-ee1796c10c33"]),
        (
            "user",
            [
                "026403d436dd326061f9f96f9c651c73c8d4e98f926a8733fe77343e17001936",
                "37470a9a5b602dd5fd1d8d19993a5dad8f521d0cc728340877fb4fcd81ec89ef",
                "4a6c9b494df1fb97a4e53f55bf9bfc064baad74597a93b466c6a1a06e5457e5b",
                "e156136ca6c658f54359c4e16cc0e244dda6be0b8dbdc8e2eaaf8e553cf87984",
            ],
        ),
        ("terminal", ["xterm"]),
        ("repo", ["(unknown)"]),  # these captures carry no vcs.* attributes
    ],
)
async def test_by_session_user_terminal_repo(db, by, keys):
    data = strict(report(db, "--by", by, "--json"))
    assert [r["key"] for r in data["rows"]] == keys
    assert round(sum(r["cost_usd"] for r in data["rows"]), 10) == TOTAL_COST
    if by == "session":
        assert [r["cost_usd"] for r in data["rows"]] == [0.2367105, 0.1786872, 0.0595624, 0.0]


async def test_md_is_a_roi_report(db):
    md = report(db, "--by", "day", "--format", "md")
    title = f"# Claude Code report: {WINDOW[1]} 00:00 to {WINDOW[3]} 00:00"
    for heading in (
        title,
        "## Summary",
        "## By day",
        "## Session length",
        "## Where it gets stuck",
        "### Long sessions (> 30 min) without a commit",
        "### Rejections by tool",
        "### API errors by model",
        "## Top sessions by cost",
        "## Subscription comparison (an estimate)",
    ):
        assert f"\n{heading}\n" in f"\n{md}", heading
    assert "| Cost | $0.4750 |" in md
    assert "| Cost per pull request | $0.2375 |" in md
    assert "| Edit acceptance, automatic (config / mode) | 80.0% (4 of 5) |" in md
    assert f"| {DAY_KEY} | $0.4750 | 182,658 | 71.3% | 4 |" in md
    assert "- Write: 1\n" in md and "- claude-opus-5-5: 1\n" in md
    assert "| pro | $20.0000 |" in md and "| max_20x | $200.0000 |" in md


async def test_table_is_readable_when_piped_and_the_window_excludes(db):
    text = report(db, "--by", "day")
    assert "\x1b" not in text
    assert f"| {DAY_KEY} | $0.4750 | 17,276 |  7,938 |    124,614 |     71.3% |        4 |" in text
    assert "| total      | $0.4750 |" in text
    empty = strict(
        report(
            db,
            "--by",
            "day",
            "--json",
            "--since",
            (DAY_KEY + dt.timedelta(days=1)).isoformat(),
            "--until",
            (DAY_KEY + dt.timedelta(days=2)).isoformat(),
        )
    )
    assert empty["rows"] == [] and empty["summary"]["cost_usd"] == 0.0


def test_bad_window_is_one_line(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccmon",
            "report",
            "--db",
            str(tmp_path / "x.db"),
            "--by",
            "day",
            "--since",
            "yesterday",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr == "ccmon: not a duration (30m, 24h, 7d, 2w) or a date (2026-11-01): 'yesterday'\n"


# -- property: --by day / week against a reference, in a zone with a half-hour offset -----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ccmon.model import over_time  # noqa: E402
from ccmon.model.store import Store  # noqa: E402
from ccmon.model.types import Batch, Point  # noqa: E402

# A UTC midnight 22 days ago: every point is in the past and within the store's horizon
# (model/counting.py places a time stamp from the future or older than that at its arrival).
DAY0 = (time.time_ns() // 86_400_000_000_000 - 22) * 86_400_000_000_000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(0, 20 * 86_400), st.integers(1, 500), st.integers(0, 3)),
        min_size=1,
        max_size=40,
        unique_by=lambda x: x[0],
    ),
    st.sampled_from(["Asia/Kolkata", "America/St_Johns", "UTC", "Europe/Berlin"]),
)
def test_day_and_week_totals_against_a_reference(tmp_path_factory, points, zone):
    import datetime as dt
    import time as _time

    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    _time.tzset()
    try:
        store = Store(tmp_path_factory.mktemp("p") / "p.db", retention_days=0)
        batch = Batch("metrics")
        ref_day: dict[str, float] = {}
        ref_week: dict[str, float] = {}
        for sec, cents, session in points:
            t = DAY0 + sec * 1_000_000_000
            attrs = {"session.id": f"s{session}", "model": "m", "user.id": "u"}
            batch.points.append(
                Point("claude_code.cost.usage", f"cost|s{session}", attrs, t - 1, t, cents / 100, False)
            )
            d = dt.datetime.fromtimestamp(t / 1e9).date()
            ref_day[d.isoformat()] = ref_day.get(d.isoformat(), 0.0) + cents / 100
            w = (d - dt.timedelta(days=d.weekday())).isoformat()
            ref_week[w] = ref_week.get(w, 0.0) + cents / 100
        store.ingest(batch)
        for by, ref in (("day", ref_day), ("week", ref_week)):
            data = over_time.build(store._read, DAY0 - 86_400_000_000_000, DAY0 + 22 * 86_400_000_000_000, by)
            got = {r["key"]: r["cost_usd"] for r in data["rows"]}
            assert set(got) == set(ref)
            for k in ref:
                assert got[k] == pytest.approx(ref[k], abs=1e-9)
        store.close()
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        _time.tzset()
