"""The hot paths of issue 16's guardrails: `ccmon check` (a Claude Code hook, run before every
prompt) parses its usual command lines without building argparse's parser, exactly as argparse
would; `ccmon check` and `ccmon report --by day` import only what they use (real processes)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon import cli

ROOT = Path(__file__).parent.parent
SESSION_197 = "723db479-cad8-4057-a422-b4b46c49d6d1"  # in tests/data/schema2: $0.2367105


def _argparse_check(argv: list[str]) -> argparse.Namespace | str:
    """The reference: the real parser (what `ccmon check` used before the quick path)."""
    p = argparse.ArgumentParser(prog="ccmon check", description=cli.CHECK_DESCRIPTION)
    cli._add_check_args(p)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            return p.parse_args(argv)
    except SystemExit:
        return "error: " + err.getvalue()


def _same(ref: argparse.Namespace | str, quick: argparse.Namespace) -> bool:
    """Equal namespaces (by repr, so that a `nan` budget equals itself)."""
    return isinstance(ref, argparse.Namespace) and repr(sorted(vars(ref).items())) == repr(sorted(vars(quick).items()))


TOKENS = [
    "--db",
    "--db=x.db",
    "--db=",
    "--db=-x",
    "--json",
    "--json=1",
    "--hook",
    "--session-id",
    "--session-id=s-1",
    "--daily",
    "--weekly",
    "--monthly",
    "--session",
    "--daily=3",
    "--daily=-3",
    "--session=nan",
    "--da",
    "--sess",
    "--",
    "-",
    "-1",
    "-x",
    "5",
    "0.25",
    "1e3",
    "abc",
    "a b",
    "",
    "x.db",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=7))
def test_quick_check_args_agree_with_argparse(argv):
    quick = cli._quick_check_args(argv)
    if quick is None:
        return  # the real parser reads it (or rejects it with its message)
    assert _same(_argparse_check(argv), quick)


def test_usual_check_command_lines_take_the_quick_path():
    for argv, expected in (
        ([], {}),
        (["--hook"], {"hook": True}),
        (["--hook", "--db", "/d/c.db"], {"hook": True, "db": "/d/c.db"}),
        (["--json", "--session-id", "abc", "--session=2.5"], {"json": True, "session_id": "abc", "session": 2.5}),
        (
            ["--db", "m.db", "--daily", "100000", "--weekly", "100000", "--monthly", "100000", "--session", "1000"],
            {"db": "m.db", "daily": 100000.0, "weekly": 100000.0, "monthly": 100000.0, "session": 1000.0},
        ),
    ):
        quick = cli._quick_check_args(argv)
        assert quick is not None, argv
        assert _same(_argparse_check(argv), quick)
        defaults = dict.fromkeys(("db", "session_id", "daily", "weekly", "monthly", "session"), None)
        assert vars(quick) == {**defaults, "json": False, "hook": False, **expected}
    args = cli._check_args(["--daily", "5"])
    assert (args.command, args.daily) == ("check", 5.0)


def test_check_rejects_what_argparse_rejects(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "check", "--db", str(tmp_path / "x.db"), "--daily", "-3"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == "ccmon check: error: argument --daily: a budget cannot be negative"


def _ccmon_modules(tmp_path: Path, argv: list[str]) -> tuple[int, list[str]]:
    code = (
        "import sys, json\nfrom ccmon.cli import main\n"
        f"rc = main({argv!r})\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.split('.')[0] == 'ccmon')]), file=sys.stderr)"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", code], input="{}", capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )
    rc, mods = json.loads(out.stderr.strip().splitlines()[-1])
    return rc, mods


def test_check_and_report_import_only_what_they_use(tmp_path):
    from ccmon.model import db

    path = tmp_path / "ccmon.db"
    db.connect(path).close()
    common = [
        "ccmon",
        "ccmon.cli",
        "ccmon.commands",
        "ccmon.defaults",
        "ccmon.errors",
        "ccmon.model",
        "ccmon.model.alerts",
        "ccmon.model.budgets",
        "ccmon.model.config",
    ]
    # Not model.db (pathlib; hashlib through model.counting and model.names).
    rc, mods = _ccmon_modules(tmp_path, ["check", "--db", str(path), "--hook", "--daily", "5"])
    assert rc == 0
    assert mods == sorted([*common, "ccmon.commands.check", "ccmon.model.spend", "ccmon.quickargs"])
    common += ["ccmon.model.counting", "ccmon.model.db", "ccmon.model.names", "ccmon.model.values"]
    rc, mods = _ccmon_modules(tmp_path, ["report", "--db", str(path), "--by", "day", "--format", "json"])
    assert rc == 0
    # Not commands.insight_report (model.attribution) nor model.snapshot: ~30 ms of every report.
    assert mods == sorted(
        [
            *common,
            "ccmon.commands.report",
            "ccmon.commands.report_over_time",
            "ccmon.model.over_time",
            "ccmon.model.periods",
            "ccmon.model.text",
        ]
    )


def test_check_spells_model_db_out_right(monkeypatch, tmp_path):
    from ccmon.commands import check
    from ccmon.model import db

    assert check.SCHEMA_VERSION == db.SCHEMA_VERSION
    for xdg in (str(tmp_path), None):
        if xdg:
            monkeypatch.setenv("XDG_DATA_HOME", xdg)
        else:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        assert check.default_db() == str(db.default_path())


def test_check_default_db_and_an_older_schema(tmp_path):
    """No --db: the default store under $XDG_DATA_HOME. A schema-2 store (written by that
    release) is migrated once by check's read-only open, as model.db.connect does, then read."""
    import shutil

    from ccmon.model import db

    data = tmp_path / "data"
    (data / "ccmon").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "schema2" / "ccmon.db", data / "ccmon" / "ccmon.db")
    env = {
        **{k: v for k, v in os.environ.items() if k != "CCMON_DB"},
        "XDG_DATA_HOME": str(data),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def run() -> dict:
        out = subprocess.run(
            [sys.executable, "-m", "ccmon", "check", "--json", "--session", "1", "--session-id", SESSION_197],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    first = run()
    conn = db.connect(data / "ccmon" / "ccmon.db", readonly=True)
    assert db._schema(conn) == db.SCHEMA_VERSION
    conn.close()
    again = run()  # now through check's own open
    for result in (first, again):
        (budget,) = result["budgets"]
        assert (budget["kind"], budget["spent_usd"], budget["level"]) == ("session", 0.2367105, "ok")
