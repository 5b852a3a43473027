"""`ccmon service` (the unit/plist it writes and the command they run), `service status`, and
the warnings that say when exports are being lost (report, quitting the dashboard)."""

from __future__ import annotations

import json
import os
import plistlib
import pty
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from otlp_client import ServeProcess, capture, free_port, replay, report


def _ccmon(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ccmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _body(dry_run_stdout: str) -> str:
    """What a dry run would write: its output without the ``#`` lines."""
    return "".join(line + "\n" for line in dry_run_stdout.splitlines() if not line.startswith("# "))


def _run_serve(argv: list[str], db: Path) -> None:
    """Run what the service would run: it receives, stores, and stops cleanly on SIGTERM."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        banner = proc.stdout.readline()
        assert "receiving OTLP" in banner, proc.stderr.read()
        grpc_port = int(argv[argv.index("--grpc-port") + 1])
        replay(grpc_port, None, capture("2.1.197", "grpc/all"), "grpc")
        assert report(db)["cost_usd"] == 0.2367105
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
        proc.stderr.close()


def _options(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "my data" / "ccmon.db"  # a space: the unit must quote it
    return db, [
        "--db",
        str(db),
        "--grpc-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        "--retention-days",
        "7",
    ]


def test_systemd_unit_is_valid_and_its_command_works(tmp_path):
    db, opts = _options(tmp_path)
    env = {"CCMON_SERVICE_MANAGER": "systemd", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = _ccmon("service", "install", "--dry-run", *opts, env=env)
    assert out.returncode == 0, out.stderr
    unit_path = tmp_path / "cfg" / "systemd" / "user" / "ccmon.service"
    assert f"# would write {unit_path}:" in out.stdout
    assert "# would run: systemctl --user enable --now ccmon.service" in out.stdout
    assert not unit_path.exists()  # a dry run writes nothing
    unit = _body(out.stdout)
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv == [
        sys.executable,
        "-m",
        "ccmon",
        "serve",
        "--db",
        str(db),
        "--bind",
        "127.0.0.1",
        "--grpc-port",
        opts[3],
        "--http-port",
        opts[5],
        "--retention-days",
        "7",
    ]
    for line in ("Restart=on-failure", "RestartPreventExitStatus=2", "WantedBy=default.target"):
        assert line in unit.splitlines()
    f = tmp_path / "ccmon.service"
    f.write_text(unit)
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(f)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        assert "ccmon.service" not in check.stderr  # no warning about our unit either
    elif os.environ.get("CI"):
        pytest.fail("systemd-analyze is needed under CI")
    _run_serve(argv, db)


def test_launchd_plist_round_trips_and_its_command_works(tmp_path):
    db, opts = _options(tmp_path)
    env = {"CCMON_SERVICE_MANAGER": "launchd", "HOME": str(tmp_path / "home")}
    out = _ccmon("service", "install", "--dry-run", *opts, env=env)
    assert out.returncode == 0, out.stderr
    plist_path = tmp_path / "home" / "Library" / "LaunchAgents" / "io.github.ccmon.serve.plist"
    assert f"# would write {plist_path}:" in out.stdout
    assert f"# would run: launchctl bootstrap gui/{os.getuid()} {plist_path}" in out.stdout
    data = plistlib.loads(_body(out.stdout).encode())
    assert plistlib.loads(plistlib.dumps(data)) == data
    assert data["Label"] == "io.github.ccmon.serve" and data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["ProgramArguments"][:4] == [sys.executable, "-m", "ccmon", "serve"]
    _run_serve(data["ProgramArguments"], db)


def test_without_a_service_manager_it_says_so_and_prints_the_command(tmp_path):
    db, opts = _options(tmp_path)
    out = _ccmon(
        "service", "install", *opts, env={"CCMON_SERVICE_MANAGER": "none", "XDG_STATE_HOME": str(tmp_path / "st")}
    )
    assert out.returncode == 1
    assert out.stdout.startswith("cannot install a service: ")
    cmd = out.stdout.strip().splitlines()[-1].strip()
    assert cmd.startswith(f"mkdir -p {tmp_path / 'st' / 'ccmon'} && nohup {sys.executable} -m ccmon serve")
    assert shlex.quote(str(db)) in cmd
    assert f"--retention-days 7 >> {tmp_path / 'st' / 'ccmon' / 'serve.log'} 2>&1 &" in cmd
    out = _ccmon("service", "uninstall", env={"CCMON_SERVICE_MANAGER": "none"})
    assert out.returncode == 1 and "nothing to uninstall" in out.stdout


def test_install_that_the_service_manager_refuses_is_one_line_and_leaves_nothing(tmp_path):
    """Here systemctl exists but has no user manager to talk to (a container): forced to use it
    anyway, install fails on its first command, says which, and removes the unit it wrote."""
    if (
        not shutil.which("systemctl")
        or subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True).returncode == 0
    ):
        pytest.skip("needs systemctl without a user manager (e.g. a container)")
    db, opts = _options(tmp_path)
    out = _ccmon(
        "service", "install", *opts, env={"CCMON_SERVICE_MANAGER": "systemd", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    )
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("ccmon: systemctl --user daemon-reload failed: ")
    assert not (tmp_path / "cfg" / "systemd" / "user" / "ccmon.service").exists()


def test_uninstall_dry_run_says_what_it_would_do(tmp_path):
    env = {"CCMON_SERVICE_MANAGER": "systemd", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = _ccmon("service", "uninstall", "--dry-run", env=env)
    assert out.returncode == 0
    assert out.stdout.splitlines() == [
        "# would run: systemctl --user disable --now ccmon.service",
        f"# would remove {tmp_path / 'cfg' / 'systemd' / 'user' / 'ccmon.service'}",
        "# would run: systemctl --user daemon-reload",
    ]


def test_status_says_who_receives_since_when_and_the_last_export(tmp_path):
    db = tmp_path / "ccmon.db"
    env = {"CCMON_SERVICE_MANAGER": "none", "TZ": "UTC"}
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        replay(srv.grpc_port, None, capture("2.1.197", "grpc/all"), "grpc")
        out = _ccmon("service", "status", "--db", str(db), env=env)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[1].startswith(
            f"receiver: ccmon serve, pid {srv.proc.pid}, :{srv.grpc_port}/:{srv.http_port}, "
            f"running since {time.strftime('%Y-%m-%d', time.gmtime())}"
        )
        # The capture was recorded on 2026-11-23, 02:03-02:06 UTC: its newest point is the last export.
        assert lines[2].startswith("last export: 2026-11-23 02:0") and lines[2].endswith(f"ago) in {db}")
    finally:
        srv.stop()
    out = _ccmon("service", "status", "--db", str(db), env=env)
    assert out.returncode == 3
    assert f"receiver: none is running on {db}: Claude Code's exports are refused and lost" in out.stdout


def test_report_says_when_data_is_old_and_nothing_receives(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        replay(srv.grpc_port, None, capture("2.1.197", "grpc/all"), "grpc")
        running = _ccmon("report", "--json", "--db", str(db))
        assert running.returncode == 0 and running.stderr == ""  # a receiver runs: nothing is lost
    finally:
        srv.stop()
    out = _ccmon("report", "--json", "--db", str(db))
    assert out.returncode == 0
    assert json.loads(out.stdout)["cost_usd"] == 0.2367105  # stdout stays clean JSON
    (line,) = out.stderr.splitlines()
    assert line.startswith("ccmon: note: the newest data is ") and " d old and no ccmon receiver is running on " in line
    assert line.endswith("Keep one running: ccmon service install")


def test_quitting_a_dashboard_that_is_the_receiver_says_exports_are_lost(tmp_path):
    """The real `ccmon` in a terminal (a pty): start, press q, read what it says on the way out."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the dashboard on free ports and a temporary database
        os.execvpe(
            sys.executable,
            [sys.executable, "-m", "ccmon", "--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0"],
            {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48"},
        )
    out = b""

    def read_until(pred, timeout: float) -> None:
        nonlocal out
        end = time.monotonic() + timeout
        while not pred() and time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                out += chunk

    try:
        read_until(lambda: b"grpc 127.0.0.1:" in out, 60)  # listening: the status bar names the ports
        assert b"grpc 127.0.0.1:" in out
        os.write(fd, b"q")
        read_until(lambda: b"service install" in out, 30)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = out.decode("utf-8", "replace")
    assert "ccmon: this dashboard was the receiver: whatever Claude Code exports while no ccmon runs is lost" in text
    assert "To keep capturing all day: ccmon service install (or ccmon serve &)" in text
