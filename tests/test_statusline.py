"""``ccmon statusline``: every status-line JSON the real CLI 2.1.197 and 2.1.330 sent (captured,
tests/data/statusline/) replayed through the command, exact lines for a fixed clock, exit 0
for anything, and the import graph that keeps it fast."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.cli import build_parser, main
from ccmon.commands import statusline as cmd
from ccmon.model.statusline import FIVE_HOUR_S, SEVEN_DAY_S, Window, duration, pace, parse, pct

DATA = Path(__file__).parent / "data" / "statusline"
NOW = 1796125200  # 2026-12-01 11:40:00 UTC, minutes after the captures
EXPECTED = dict(
    line.split("\t", 1) for line in (DATA / "expected-lines.txt").read_text().splitlines() if not line.startswith("#")
)


def calls() -> list[tuple[str, bytes]]:
    """Every captured call: a pretty example file is one call, a .jsonl one call per line."""
    out = []
    for f in sorted(DATA.glob("*.json*")):
        raw = f.read_bytes()
        lines = [raw] if f.suffix == ".json" else [x for x in raw.splitlines() if x.strip()]
        out += [(f"{f.name}:{i}", c) for i, c in enumerate(lines)]
    return out


CALLS = calls()


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Fixed clock, UTC, no database and no receiver (port 1 refuses at once)."""
    monkeypatch.setenv("CCMON_NOW", str(NOW))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "nothing"))
    monkeypatch.delenv("CCMON_DB", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run_inline(monkeypatch, capsys, stdin: bytes, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["statusline", "--http-port", "1", *args])
    return code, capsys.readouterr().out


def test_every_capture_is_replayed():
    assert len(CALLS) == 169
    assert {name.split(":")[0] for name, _ in CALLS} >= {"v197-oauth-rl.jsonl", "v330-oauth-rl.jsonl"}
    assert set(EXPECTED) == {name for name, _ in CALLS}


@pytest.mark.parametrize("name,raw", CALLS, ids=[n for n, _ in CALLS])
def test_captured_call_gives_its_exact_line(env, monkeypatch, capsys, name, raw):
    code, out = run_inline(monkeypatch, capsys, raw, "--no-color")
    assert code == 0
    assert out == EXPECTED[name] + "\n"


def test_lines_read_as_the_captures_say(env, monkeypatch, capsys):
    """The figures on the line are the captured ones (checked by hand against the JSON)."""
    assert EXPECTED["example-2.1.330-oauth-rl-git-vim.json:0"] == (
        "Sonnet 5.5 · $0.06 · $3.57/h · ctx 1% · 5h 46% ▼ ↻1h56m · 7d 21% ▼ ↻2d23h · cache warm 56m"
    )
    # 2.1.197 sends the raw product 0.567891*100 = 56.789100000000005; the line rounds it
    assert EXPECTED["v197-oauth-rl-fractional.jsonl:1"].endswith("5h 12.3% ▼ ↻1h59m · 7d 56.8% ▼ ↻2d23h")
    # the startup call: no prompt_id, nulls in context_window, no rate_limits
    assert EXPECTED["example-2.1.330-first-call.json:0"] == "Opus 5.5 · $0.00 · $0.00/h"
    # 2.1.197 keeps a 5 h window whose reset has passed: its figure is stale, so it is left out
    assert "5h" not in EXPECTED["v197-oauth-rl-minimal-5hpast.jsonl:1"]
    assert EXPECTED["v197-oauth-rl-minimal-5hpast.jsonl:1"].endswith("7d 19% ▼ ↻3d00h")


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b"   \n",
        b"garbage{",
        b"[1, 2]",
        b"null",
        b"\xff\xfe\x00",
        b'{"rate_limits": {"five_hour": {"used_percentage": "x"}}}',
        b"9" * 100_000,
        b"[" * 100_000,
    ],
)
def test_odd_input_prints_a_minimal_line_and_exits_0(env, monkeypatch, capsys, stdin):
    code, out = run_inline(monkeypatch, capsys, stdin)
    assert code == 0
    assert out == "ccmon\n"


def test_two_lines_and_colours(env, monkeypatch, capsys):
    raw = (DATA / "example-2.1.330-oauth-rl-git-vim.json").read_bytes()
    _, out = run_inline(monkeypatch, capsys, raw, "--lines", "2", "--no-color")
    assert out == ("Sonnet 5.5 · $0.06 · $3.57/h · ctx 1%\n5h 46% ▼ ↻1h56m · 7d 21% ▼ ↻2d23h · cache warm 56m\n")
    _, out = run_inline(monkeypatch, capsys, raw)
    assert out == (
        "\x1b[1;36mSonnet 5.5\x1b[0m · \x1b[33m$0.06\x1b[0m · \x1b[33m$3.57/h\x1b[0m · "
        "ctx \x1b[32m1%\x1b[0m · 5h \x1b[32m46%\x1b[0m \x1b[32m▼\x1b[0m ↻1h56m · "
        "7d \x1b[32m21%\x1b[0m \x1b[32m▼\x1b[0m ↻2d23h · cache \x1b[32mwarm\x1b[0m 56m\n"
    )
    monkeypatch.setenv("NO_COLOR", "1")
    _, out = run_inline(monkeypatch, capsys, raw)
    assert "\x1b" not in out


def test_format_template(env, monkeypatch, capsys):
    raw = (DATA / "example-2.1.330-oauth-rl-git-vim.json").read_bytes()
    _, out = run_inline(
        monkeypatch,
        capsys,
        raw,
        "--no-color",
        "--format",
        "{dir} {repo} {model_id} {five_hour_pct}/{five_hour_reset} {seven_day_pct} "
        "{context_pct} {cache_left} {lines} [{nonexistent}] {effort}",
    )
    assert out == "work example-org/example-repo claude-sonnet-5-5 46%/1h56m 21% 1% 56m +6 -0 [] medium\n"
    _, out = run_inline(monkeypatch, capsys, raw, "--format", "{0} {")
    assert out.startswith("ccmon: bad --format")


def test_untrusted_text_cannot_reach_the_terminal(env, monkeypatch, capsys):
    d = json.loads((DATA / "example-2.1.330-oauth-rl-git-vim.json").read_text())
    d["model"]["display_name"] = "\x1b]0;pwned\x07\x1b[2J"
    _, out = run_inline(monkeypatch, capsys, json.dumps(d).encode(), "--no-color")
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("␛]0;pwned␇␛[2J · ")


def test_today_cost_from_the_store(env, monkeypatch, capsys, tmp_path):
    """Today's spend comes from the ccmon database (read-only), by local day."""
    sys.path.insert(0, str(Path(__file__).parent))
    from app_support import ingest_capture

    from ccmon.model.store import Store

    db = tmp_path / "ccmon.db"
    store = Store(db, retention_days=0)
    ingest_capture(store, "2.1.197", "grpc/all")  # $0.2367, on 2026-11-23 (UTC)
    store.close()
    raw = (DATA / "example-2.1.330-first-call.json").read_bytes()
    monkeypatch.setenv("CCMON_NOW", "1795463910")  # 2026-11-23 19:58:30 UTC: that day
    _, out = run_inline(monkeypatch, capsys, raw, "--no-color", "--db", str(db))
    assert out == "Opus 5.5 · $0.00 · today $0.24 · $0.00/h\n"
    assert cmd.today_cost(str(db), 1795463910) == pytest.approx(0.2367105, abs=1e-9)
    assert cmd.today_cost(str(db), 1795463910 + 86400) == 0.0  # the next day
    assert cmd.today_cost(str(tmp_path / "absent.db"), 1795463910) is None


def test_quick_args_agree_with_argparse():
    for argv in (
        ["statusline"],
        [
            "statusline",
            "--bind",
            "::1",
            "--http-port=4999",
            "--token",
            "t",
            "--db",
            "x",
            "--format",
            "{model}",
            "--lines",
            "2",
            "--no-color",
        ],
    ):
        quick = vars(cmd.quick_args(argv))
        full = vars(build_parser().parse_args(argv))
        assert {k: full.get(k) for k in quick if k != "db"} == {k: v for k, v in quick.items() if k != "db"}
    for argv in (
        ["statusline", "--help"],
        ["statusline", "--lines", "3"],
        ["statusline", "--http-port", "x"],
        ["statusline", "--bogus"],
        ["--bind", "x", "statusline"],
        ["statusline", "--db"],
    ):
        assert cmd.quick_args(argv) is None


def test_default_db_is_the_stores(monkeypatch, tmp_path):
    from ccmon.model.db import default_path

    for xdg in (str(tmp_path), None):
        if xdg:
            monkeypatch.setenv("XDG_DATA_HOME", xdg)
        else:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        assert cmd.default_db() == str(default_path())


def test_real_process_imports_nothing_heavy(tmp_path):
    """The command as Claude Code runs it: a process, stdin, exit 0, and a tiny import graph."""
    code = (
        "import sys, json\nfrom ccmon.cli import main\nrc = main(['statusline', '--http-port', '1'])\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'grpc', 'google', 'httpx', 'h11', 'http', 'email', 'typing', 'dataclasses', "
        "'asyncio', 'ccmon'))]), file=sys.stderr)"
    )
    raw = (DATA / "example-2.1.330-oauth-rl-git-vim.json").read_bytes()
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=raw,
        capture_output=True,
        timeout=30,
        env={**os.environ, "CCMON_NOW": str(NOW), "XDG_DATA_HOME": str(tmp_path)},
    )
    rc, mods = json.loads(out.stderr.decode().strip().splitlines()[-1])
    assert rc == 0
    assert out.stdout.decode().count("\n") == 1
    assert mods == [
        "ccmon",
        "ccmon.cli",
        "ccmon.commands",
        "ccmon.commands.statusline",
        "ccmon.defaults",
        "ccmon.errors",
        "ccmon.model",
        "ccmon.model.statusline",
        "ccmon.model.text",
        "ccmon.quickargs",
    ]


@pytest.mark.parametrize("stdin", [b"", b"garbage", (DATA / "example-2.1.197-first-call.json").read_bytes()])
def test_entry_point_exit_0_without_ccmon_running(stdin, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "statusline", "--http-port", "1"],
        input=stdin,
        capture_output=True,
        timeout=30,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    assert out.returncode == 0
    assert out.stderr == b""
    assert out.stdout.strip()


# -- pure parts ----------------------------------------------------------------------------------


def test_parse_types():
    sl = parse((DATA / "example-2.1.330-oauth-rl-git-vim.json").read_bytes())
    assert sl.session == "10b09e01-91ce-416c-adc4-7cbe201a7932"
    assert sl.five_hour == Window(46.0, 1796132181) and sl.seven_day == Window(21.0, 1796384181)
    assert (sl.context_pct, sl.context_size, sl.repo, sl.cwd) == (
        1.0,
        1000000,
        "example-org/example-repo",
        "/home/user/work",
    )
    assert (sl.cache_warm, sl.cache_expires_at, sl.cache_ttl) == (True, 1796128612, "1h")
    first = parse((DATA / "example-2.1.197-first-call.json").read_bytes())
    assert (first.prompt_id, first.context_pct, first.five_hour, first.cache_warm) == ("", None, None, None)
    assert parse(b'{"cost": {"total_cost_usd": true}, "context_window": {"used_percentage": NaN}}').cost_usd is None
    assert parse(b'{"context_window": {"used_percentage": NaN}}').context_pct is None


def test_pct_and_duration():
    assert [pct(x) for x in (46, 56.789100000000005, 12.3456, 0, 100, 99.96)] == [
        "46%",
        "56.8%",
        "12.3%",
        "0%",
        "100%",
        "100%",
    ]
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 4800, 86399, 86400, 270000, -5)] == [
        "0s",
        "59s",
        "1m",
        "59m",
        "1h00m",
        "1h20m",
        "23h59m",
        "1d00h",
        "3d03h",
        "0s",
    ]


def test_pace_example():
    """46% after 3 h of a 5 h window: 76.7% at the reset, no 100% before it; 80% after 3 h:
    100% at 3 h 45 m into the window, 1 h 15 m before the reset."""
    now = 1_800_000_000
    p = pace(Window(46, now + 2 * 3600), FIVE_HOUR_S, now)
    assert p.projected_pct == pytest.approx(46 / 0.6) and p.hit_at is None and not p.over
    p = pace(Window(80, now + 2 * 3600), FIVE_HOUR_S, now)
    assert p.over and p.hit_at == pytest.approx(now + 45 * 60)
    assert pace(Window(80, now - 1), FIVE_HOUR_S, now) is None  # reset already
    assert pace(Window(5, now + FIVE_HOUR_S - 60), FIVE_HOUR_S, now) is None  # 1 minute in: too early


@settings(max_examples=300, deadline=None)
@given(
    used=st.one_of(st.just(0.0), st.floats(0.001, 150)), left=st.integers(-100, SEVEN_DAY_S + 100), week=st.booleans()
)
def test_pace_against_a_reference(used, left, week):
    """Reference: the rate is used / elapsed; at that rate the window ends at rate * length,
    and 100% comes (100 - used) / rate after now when that is before the reset."""
    length = SEVEN_DAY_S if week else FIVE_HOUR_S
    now = 1_800_000_000
    p = pace(Window(used, now + left), length, now)
    elapsed = length - left
    if left <= 0 or elapsed < 0.02 * length:
        assert p is None
        return
    rate = used / elapsed
    assert p.projected_pct == pytest.approx(rate * length, rel=1e-9, abs=1e-9)
    if used >= 100:
        assert p.hit_at == now
    elif used > 0 and now + (100 - used) / rate < now + left - 1e-6:
        assert p.hit_at == pytest.approx(now + (100 - used) / rate, abs=1e-3)
        assert p.over
    elif used > 0 and now + (100 - used) / rate > now + left + 1e-6:
        assert p.hit_at is None
        assert not p.over or p.projected_pct == pytest.approx(100)


def test_help_is_argparse_and_light():
    code = (
        "import sys, json\nfrom ccmon.cli import main\n"
        "try:\n    main(['statusline', '--help'])\nexcept SystemExit as e:\n    rc = e.code\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'grpc', 'httpx', 'google', 'rich', 'sqlite3', 'h11'))]), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == [0, []]
    assert "--format TEMPLATE" in out.stdout and "five_hour_pct" in out.stdout
