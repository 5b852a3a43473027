"""Budgets with pace (fixed clock), the config file, and `ccmon check` as a process: exit codes,
JSON, and the Claude Code hook from the README run with the JSON Claude Code passes to hooks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_client import capture, grpc_export
from restamp import moved

from ccmon.errors import CcmonError
from ccmon.model import config
from ccmon.model.budgets import DEFAULT_THRESHOLDS, Budgets, Spend, evaluate, level_of, period_bounds, projection, worst

UTC = dt.UTC
HOUR = 3_600_000_000_000
ROOT = Path(__file__).parent.parent
HOOK_INPUT = Path(__file__).parent / "data" / "hooks" / "user_prompt_submit.json"
ALL_197_COST = 0.2367105
SESSION_197 = "723db479-cad8-4057-a422-b4b46c49d6d1"


def ns(*a) -> int:
    return int(dt.datetime(*a, tzinfo=UTC).timestamp()) * 1_000_000_000


# -- pure: periods, levels, pace ------------------------------------------------------------


def test_periods_are_calendar_periods_in_local_time():
    now = ns(2026, 12, 2, 15, 30)  # a Wednesday
    assert period_bounds("daily", now, UTC) == (ns(2026, 12, 2), ns(2026, 12, 3))
    assert period_bounds("weekly", now, UTC) == (ns(2026, 11, 30), ns(2026, 12, 7))
    assert period_bounds("monthly", now, UTC) == (ns(2026, 12, 1), ns(2027, 1, 1))
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert period_bounds("daily", now, tokyo) == (ns(2026, 12, 2, 15), ns(2026, 12, 3, 15))


def test_pace_says_on_pace_or_what_the_day_will_cost():
    now = ns(2026, 12, 2, 12)  # half the day gone
    b = Budgets(daily=10.0)
    (s,) = evaluate(b, Spend(total={"daily": 4.0}, by_user={"u": {"daily": 4.0}}), now, UTC)
    assert (s.level, s.threshold, s.projected, s.over_by) == ("ok", None, 8.0, None)
    assert s.line() == "daily: $4.00 of $10.00 (40%), on pace"
    (s,) = evaluate(b, Spend(total={"daily": 6.0}, by_user={"u": {"daily": 6.0}}), now, UTC)
    assert (s.level, s.threshold) == ("warning", 0.5)
    assert s.line() == "daily: $6.00 of $10.00 (60%), at this rate $12.00 by the end of the day, over by $2.00"
    (s,) = evaluate(b, Spend(total={"daily": 10.5}, by_user={"u": {"daily": 10.5}}), now, UTC)
    assert (s.level, s.threshold) == ("over", 1.0)
    assert s.line() == "daily: $10.50 of $10.00 (105%), over by $0.50"


def test_pace_in_the_first_minutes_projects_at_least_an_hour():
    start, end = ns(2026, 12, 2), ns(2026, 12, 3)
    assert projection(1.0, start, end, start + 60_000_000_000) == pytest.approx(1.0 + 1.0 / HOUR * (end - start - 60e9))
    assert projection(1.0, start, end, start + 6 * HOUR) == pytest.approx(4.0)


def test_per_user_and_per_session_worst_first():
    now = ns(2026, 12, 2, 12)
    spend = Spend(
        total={"daily": 5.0, "weekly": 5.0, "monthly": 5.0},
        by_user={"ann": {"daily": 4.5}, "bob": {"daily": 0.5}},
        sessions={"s1": ("ann", 3.5), "s2": ("bob", 0.5)},
    )
    states = evaluate(Budgets(daily=4.0, session=3.0), spend, now, UTC)
    assert [(s.kind, s.scope, s.level) for s in states] == [
        ("daily", "all", "over"),
        ("session", "session:s1", "over"),
        ("daily", "user:ann", "over"),
        ("session", "session:s2", "ok"),
        ("daily", "user:bob", "ok"),
    ]  # by fraction: 125, 117, 113, 17, 13 %
    assert worst(states) == "over" and worst(states[3:]) == "ok" and worst([]) == "ok"


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 3, allow_nan=False), st.lists(st.floats(0.01, 2), min_size=1, max_size=4, unique=True))
def test_level_against_a_reference(fraction, thresholds):
    ts = tuple(sorted(thresholds))
    reached = [t for t in ts if t <= fraction]
    expected = "ok" if not reached else ("over" if reached[-1] == ts[-1] else "warning")
    assert level_of(fraction, ts) == (expected, reached[-1] if reached else None)


# -- the config file --------------------------------------------------------------------------


def test_config_file_and_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.load() == config.Config()  # no file: defaults
    (tmp_path / "ccmon").mkdir()
    (tmp_path / "ccmon" / "config.toml").write_text(
        "[budgets]\ndaily = 10\nsession = 2.5\nthresholds = [80, 50, 100]\n"
        "[alerts]\ncooldown_minutes = 5\noff = ['rejection_hotspot']\nnotify = false\n[plans]\npro = 17\n"
    )
    cfg = config.load()
    assert cfg.budgets == Budgets(daily=10.0, session=2.5, thresholds=(0.5, 0.8, 1.0))
    assert cfg.rules.cooldown_minutes == 5.0 and cfg.rules.off == {"rejection_hotspot"} and cfg.notify is False
    assert cfg.plans == {"pro": 17.0, "max_5x": 100.0, "max_20x": 200.0}

    class Args:
        daily = 3.0
        weekly = None
        no_notify = False

    assert config.with_flags(cfg, Args()).budgets.daily == 3.0
    (tmp_path / "ccmon" / "config.toml").write_text("[budgets]\ndaily = 'ten'\n")
    with pytest.raises(CcmonError, match=r"\[budgets\] daily must be a number of USD"):
        config.load()
    (tmp_path / "ccmon" / "config.toml").write_text("[budgets\n")
    with pytest.raises(CcmonError, match="config: "):
        config.load()
    assert DEFAULT_THRESHOLDS == (0.5, 0.8, 1.0)


# -- ccmon check, a process over a store filled through the receiver ---------------------------


def run_check(db: Path, *extra: str, stdin: str | None = None, env: dict | None = None, cfg_home: Path | None = None):
    e = {**os.environ, **(env or {})}
    e["XDG_CONFIG_HOME"] = str(cfg_home or db.parent / "no-config")
    e["XDG_CACHE_HOME"] = str(db.parent / "cache")
    return subprocess.run(
        [sys.executable, "-m", "ccmon", "check", "--db", str(db), *extra],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=e,
    )


async def fill_now(rx) -> None:
    """grpc/all (2.1.197) moved to a second ago, sent over gRPC: $0.2367105 spent today."""
    bodies = moved(capture("2.1.197", "grpc/all"), time.time_ns() - 1_000_000_000)
    for signal, body in bodies:
        await asyncio.to_thread(grpc_export, rx.grpc_port, signal, body)


async def test_check_exit_codes_and_json(otlp, tmp_path):
    await fill_now(otlp)
    db = Path(otlp.store.path)
    ok = run_check(db, "--daily", "1")
    assert ok.returncode == 0, ok.stderr
    head, line = ok.stdout.splitlines()[:2]
    assert head == "ccmon check: ok" and line.startswith("  daily: $0.24 of $1.00 (24%), ")  # pace: time of day
    warn = run_check(db, "--daily", "0.4", "--json")
    assert warn.returncode == 1
    data = json.loads(warn.stdout)
    assert data["status"] == "warning" and data["alerts"] == []
    (b,) = data["budgets"]
    assert (b["kind"], b["scope"], b["spent_usd"], b["level"], b["threshold"]) == (
        "daily",
        "all",
        ALL_197_COST,
        "warning",
        0.5,
    )
    over = run_check(db, "--monthly", "0.2", "--weekly", "100")
    assert over.returncode == 2 and "monthly: $0.24 of $0.20 (118%), over by $0.04" in over.stdout
    sess = json.loads(run_check(db, "--session", "0.2", "--json").stdout)
    assert [(b["scope"], b["level"]) for b in sess["budgets"]] == [(f"session:{SESSION_197}", "over")]
    other = run_check(db, "--session", "0.2", "--session-id", "another")
    assert other.returncode == 0 and "session (session:another): $0.00 of $0.20 (0%)" in other.stdout
    none = run_check(db)
    assert none.returncode == 0 and "no budget set" in none.stdout


async def test_check_reads_the_config_file(otlp, tmp_path):
    await fill_now(otlp)
    db = Path(otlp.store.path)
    home = tmp_path / "cfg"
    (home / "ccmon").mkdir(parents=True)
    (home / "ccmon" / "config.toml").write_text("[budgets]\ndaily = 0.3\nthresholds = [90, 100]\n")
    assert run_check(db, cfg_home=home).returncode == 0  # 79 %: under the first threshold (90)
    assert run_check(db, "--daily", "0.25", cfg_home=home).returncode == 1  # the flag wins: 95 %
    (home / "ccmon" / "config.toml").write_text("[budgets]\ndaily = -1\n")
    bad = run_check(db, cfg_home=home)
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "ccmon: config: [budgets] daily must be a number of USD >= 0, not -1"
    )


def readme_hook_command() -> str:
    """The hook command exactly as the README shows it in its settings.json block."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- hook -->\s*```json\n(.*?)```", text, re.S).group(1)
    (entry,) = json.loads(block)["hooks"]["UserPromptSubmit"]
    (hook,) = entry["hooks"]
    assert hook["type"] == "command"
    return hook["command"]


async def test_readme_hook_refuses_prompts_once_the_budget_is_spent(otlp, tmp_path):
    await fill_now(otlp)
    db = Path(otlp.store.path)
    home = tmp_path / "cfg"
    (home / "ccmon").mkdir(parents=True)
    cfg = home / "ccmon" / "config.toml"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CCMON_DB": str(db),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    hook_json = HOOK_INPUT.read_text()
    assert json.loads(hook_json)["hook_event_name"] == "UserPromptSubmit"
    command = readme_hook_command()

    def hook():
        return subprocess.run(
            ["sh", "-c", command], input=hook_json, capture_output=True, text=True, env=env, timeout=60
        )

    cfg.write_text("[budgets]\ndaily = 5\n")
    r = hook()
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r.stderr  # 5 %: the prompt goes on, nothing said
    cfg.write_text("[budgets]\ndaily = 0.4\n")
    r = hook()
    assert r.returncode == 0 and json.loads(r.stdout)["systemMessage"].startswith("ccmon: daily: $0.24 of $0.40 (59%)")
    cfg.write_text("[budgets]\ndaily = 0.2\n")
    r = hook()
    assert r.returncode == 2  # Claude Code's protocol: exit 2 blocks the prompt, stderr says why
    assert r.stderr.startswith("ccmon: budget spent: daily: $0.24 of $0.20 (118%), over by $0.04")
    # the hook's session is the one checked against the session budget
    cfg.write_text("[budgets]\nsession = 0.1\n")
    assert hook().returncode == 0  # the hook JSON's session has spent nothing
    payload = json.loads(hook_json)
    payload["session_id"] = SESSION_197
    r = subprocess.run(
        ["sh", "-c", command], input=json.dumps(payload), capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode == 2 and f"session (session:{SESSION_197}): $0.24 of $0.10" in r.stderr


def test_series_index_reads_only_new_rows_and_notices_another_database(tmp_path):
    """`ccmon check` keeps the cost series ids and owners in a cache file; a refresh scans only the
    series added since, and a different database under the same path starts it over."""
    from ccmon.ingest.payload import decode
    from ccmon.model import db as dbmod
    from ccmon.model.spend import SeriesIndex
    from ccmon.model.store import Store

    path = tmp_path / "s.db"
    cache = str(tmp_path / "series.json")

    def fill(folder):
        store = Store(path, retention_days=0)
        for e in capture("2.1.330", folder):
            store.ingest(decode(e.signal, e.body, json_body=e.json))
        store.close()

    fill("grpc/all")
    conn = dbmod.connect(path, readonly=True)
    first = SeriesIndex(cache).refresh(conn)
    assert len(first.ids["claude_code.cost.usage"]) == 1 and len(set(first.owner.values())) == 1
    conn.close()
    fill("grpc/write_denied_headless")  # one more session: its series get higher ids
    conn = dbmod.connect(path, readonly=True)
    again = SeriesIndex(cache)
    assert again.max_id == first.max_id  # from the file
    again.refresh(conn)
    assert len(again.ids["claude_code.cost.usage"]) == 2
    assert {session for _, session in again.owner.values()} == {
        "99fc81a6-b7d4-432b-865e-b6c1b520f191",
        "84296a7e-e92e-4855-843d-dc2a7218c363",
    }
    conn.close()
    for f in tmp_path.glob("s.db*"):
        f.unlink()
    fill("grpc/write_denied_headless")  # another database, same path, fewer series
    conn = dbmod.connect(path, readonly=True)
    fresh = SeriesIndex(cache).refresh(conn)
    assert [session for _, session in fresh.owner.values()] == ["84296a7e-e92e-4855-843d-dc2a7218c363"]
    conn.close()


def test_alerts_spell_the_metric_names_like_names_py():
    from ccmon.model import alerts, names

    assert (alerts.COST, alerts.TOKENS) == (names.COST, names.TOKENS)
