"""Alerts: every rule fires once per cooldown from real exports over sockets, reaches `ccmon
serve`'s log and a desktop notification (a fake `notify-send` on PATH records the call); per-rule
off and --no-notify; the engine's rules against a fixed clock."""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_client import ServeProcess, capture, grpc_export
from restamp import moved, set_attr

from ccmon.model.alerts import MINUTE_NS, AlertEngine, AlertRules
from ccmon.notify import command

T0 = 1_800_000_000 * 1_000_000_000  # a fixed clock, on a minute boundary
RULES_TOML = """
[budgets]
daily = 0.05
[alerts]
cooldown_minutes = 0.1
cost_surge_usd_per_hour = 1
tokens_per_minute = 1000
sustained_minutes = 1
window_minutes = 5
error_storm = 1
failing_tools = 2
rejections = 1
"""


def fake_notify_send(tmp_path: Path) -> Path:
    """A `notify-send` that records its arguments, one call per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "notify.log"
    exe = bin_dir / "notify-send"
    # One write per call (calls run concurrently): the arguments joined by "|".
    exe.write_text(f'#!/bin/sh\nIFS="|"; echo "$*|" >> "{log}"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return log


def lines_of(proc) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return q


def collect(q, until, timeout=10.0) -> list[str]:
    out, end = [], time.monotonic() + timeout
    while time.monotonic() < end and not until(out):
        try:
            out.append(q.get(timeout=0.1))
        except queue.Empty:
            pass
    return out


def failed_bash(rec) -> None:
    """grpc/all's Bash calls, marked as failed (the captures have no failing tool call)."""
    names = {kv.key: kv.value.string_value for kv in rec.attributes}
    if names.get("event.name") == "tool_result" and names.get("tool_name") == "Bash":
        set_attr(rec, "success", False)


def send_everything(port: int) -> None:
    """Cost, tokens, two failing Bash calls, an API error, a rejected Write: all as of now."""
    now = time.time_ns()
    for folder, edit in (
        ("grpc/all", failed_bash),
        ("grpc/error400_persistent", None),
        ("grpc/write_denied_headless", None),
    ):
        version = "2.1.197" if folder == "grpc/all" else "2.1.330"
        for signal, body in moved(capture(version, folder), now, edit):
            grpc_export(port, signal, body)


def away_from_a_minute_turn() -> None:
    """The token-rate rule looks at the current minute: do not send in its last seconds."""
    while time.time() % 60 > 50:
        time.sleep(0.5)


def rule_of(line: str) -> str:
    return line.split("[", 1)[1].split("]", 1)[0]


def test_every_rule_fires_once_per_cooldown_in_serve_log_and_notification(tmp_path, monkeypatch):
    log = fake_notify_send(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "cfg" / "ccmon").mkdir(parents=True)
    (tmp_path / "cfg" / "ccmon" / "config.toml").write_text(RULES_TOML)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    away_from_a_minute_turn()
    srv = ServeProcess(tmp_path / "ccmon.db", "--retention-days", "0")
    try:
        q = lines_of(srv.proc)
        send_everything(srv.grpc_port)
        first = collect(q, lambda out: len(out) >= 8)
        first += collect(q, lambda out: False, timeout=1.5)  # and whatever the last commits add
        # Runaway rules: once each. The daily budget: once for everything, then per user (two of
        # the three users spent anything; one passes 50 % then 100 % as its exports arrive).
        assert sorted(rule_of(x) for x in first if "[budget]" not in x) == [
            "cost_surge",
            "error_storm",
            "failing_tools",
            "rejection_hotspot",
            "token_rate",
        ]
        budgets = sorted(x.split("] ", 1)[1] for x in first if "[budget]" in x)
        assert [b for b in budgets if b.startswith("budget daily:")] == [
            "budget daily: $0.24 of $0.05 (473%), over by $0.19"
        ]
        assert budgets[0].startswith("budget daily (user:026403d4") and "$0.24 of $0.05 (473%)" in budgets[0]
        assert budgets[-2].startswith("budget daily (user:4a6c9b49") and "$0.06 of $0.05 (119%)" in budgets[-2]
        assert len(budgets) in (3, 4)
        by_rule = {rule_of(x): x.split("] ", 1)[1] for x in first if "(user:" not in x}
        assert by_rule["cost_surge"] == "cost surge: $1.42/h over the last 10 min (limit $1.00/h)"
        assert by_rule["error_storm"] == "error storm: 1 API errors in 5 min"
        assert by_rule["failing_tools"] == "failing tools: Bash 2 failed calls in 5 min"
        assert by_rule["rejection_hotspot"] == "rejection hotspot: Write 1 rejections in 5 min"
        assert by_rule["token_rate"].startswith("token rate: over 1,000 tokens/min for 1 min")
        assert " alert over [budget] " in [x for x in first if "[budget]" in x][0]
        # the same again within the cooldown (6 s): nothing new
        send_everything(srv.grpc_port)
        assert collect(q, lambda out: False, timeout=2.0) == []
        # after the cooldown the runaway rules fire again; a budget threshold fires once per day
        time.sleep(max(0.0, 6.5 - 2.0))
        away_from_a_minute_turn()
        send_everything(srv.grpc_port)
        second = collect(q, lambda out: len(out) >= 5)
        second += collect(q, lambda out: False, timeout=1.5)
        assert sorted(rule_of(x) for x in second) == [
            "cost_surge",
            "error_storm",
            "failing_tools",
            "rejection_hotspot",
            "token_rate",
        ]
    finally:
        assert srv.stop() == 0
    calls = [c for c in log.read_text().splitlines() if c]
    assert len(calls) == len(first) + len(second)
    assert calls[0].startswith("--app-name=ccmon|ccmon: ")
    assert sum("budget daily: $0.24 of $0.05" in c for c in calls) == 1


def test_no_notify_and_rules_switched_off(tmp_path, monkeypatch):
    log = fake_notify_send(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "cfg" / "ccmon").mkdir(parents=True)
    (tmp_path / "cfg" / "ccmon" / "config.toml").write_text(
        RULES_TOML + 'off = ["cost_surge", "token_rate", "error_storm", "failing_tools", "rejection_hotspot"]\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    srv = ServeProcess(tmp_path / "ccmon.db", "--retention-days", "0", "--no-notify", "--daily", "0.2")
    try:
        q = lines_of(srv.proc)
        send_everything(srv.grpc_port)
        got = collect(q, lambda out: len(out) >= 2)
        assert [rule_of(x) for x in got] == ["budget"] * 2  # everything, one user (the other: 30 %)
        assert "budget daily: $0.24 of $0.20 (118%)" in got[0]  # the flag over the file's 0.1
        assert collect(q, lambda out: False, timeout=2.0) == []
    finally:
        assert srv.stop() == 0
    assert not log.exists()


# -- the engine, pure ---------------------------------------------------------------------------


def test_engine_windows_and_cooldown_with_a_fixed_clock():
    e = AlertEngine(AlertRules(cooldown_minutes=10, error_storm=3, window_minutes=5))
    for k in range(3):
        e.add_event(T0 + k * MINUTE_NS, "api_error", {})
    assert [a.reason for a in e.due(T0 + 2 * MINUTE_NS)] == ["error storm: 3 API errors in 5 min"]
    assert e.due(T0 + 3 * MINUTE_NS) == []  # cooling down
    assert e.active(T0 + 6 * MINUTE_NS) == []  # the first error left the window
    for _ in range(3):
        e.add_event(T0 + 12 * MINUTE_NS, "api_error", {})
    assert len(e.due(T0 + 12 * MINUTE_NS)) == 1  # cooldown over: fires again
    e.add_event(T0, "tool_result", {"tool_name": "Bash", "success": "false"})
    e.add_event(T0, "tool_result", {"tool_name": "Bash", "success": True})
    assert e.tool_failures["Bash"] == type(e.tool_failures["Bash"])([T0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.floats(0, 5)), max_size=40),
    st.integers(1, 10),
    st.floats(0.5, 30),
    st.integers(0, 40),
)
def test_cost_surge_against_a_reference(points, window, limit, now_min):
    e = AlertEngine(AlertRules(cost_surge_usd_per_hour=limit, surge_window_minutes=window))
    for minute, usd in points:
        e.add_point("claude_code.cost.usage", T0 + minute * MINUTE_NS + 5, usd)
    now = T0 + now_min * MINUTE_NS + 30
    usd = 0.0
    for m in range(now_min - window + 1, now_min + 1):  # the same order as the engine: a float sum
        usd += sum(u for minute, u in points if minute == m) if any(minute == m for minute, _ in points) else 0.0
    fired = [a.rule for a in e.active(now)]
    assert ("cost_surge" in fired) == (usd * 60 / window > limit)


def test_notification_commands_escape_what_the_notifier_interprets(tmp_path, monkeypatch):
    fake_notify_send(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    argv = command("ccmon: warning", "failing tools: <b>x</b> & \x1b[2J", platform="linux")
    assert argv[1:] == ["--app-name=ccmon", "ccmon: warning", "failing tools: &lt;b&gt;x&lt;/b&gt; &amp; ␛[2J"]
    osa = tmp_path / "bin" / "osascript"
    osa.write_text("#!/bin/sh\n")
    osa.chmod(0o755)
    argv = command("t", 'say "hi" \\ now', platform="darwin")
    assert argv[1:] == ["-e", 'display notification "say \\"hi\\" \\\\ now" with title "t"']
