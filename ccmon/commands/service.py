"""``ccmon service install|status|uninstall``: ``ccmon serve`` as a login service.

Claude Code sends deltas: whatever it exports while nothing listens is gone. The service keeps
a receiver running whether or not a dashboard is open (dashboards then attach to it):

* Linux: a systemd **user** unit, ``~/.config/systemd/user/ccmon.service``, enabled and
  started with ``systemctl --user``; restarted on failure, but not after exit 2 (another
  receiver already owns the database: retrying would not help).
* macOS: a launchd agent, ``~/Library/LaunchAgents/io.github.ccmon.serve.plist``, loaded with
  ``launchctl bootstrap gui/UID``; ``RunAtLoad`` and ``KeepAlive`` on failure.
* Neither (a container without a user systemd, WSL without systemd): say so and print the
  command to start instead.

The unit runs this very interpreter (``python -m ccmon serve``) with the options given here
(``--db``, ports, ``--bind``, ``--retention-days``), so it works from a virtualenv too.
``--dry-run`` prints what would be written and run, and changes nothing.
``CCMON_SERVICE_MANAGER=systemd|launchd|none`` overrides the detection.
"""

from __future__ import annotations

import argparse
import os
import plistlib
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ..errors import CcmonError

UNIT = "ccmon.service"
LABEL = "io.github.ccmon.serve"
NOT_RUNNING = 3  # ``service status`` exit code when nothing receives (as systemctl status)


# -- what to run ---------------------------------------------------------------------------


def serve_argv(args: argparse.Namespace) -> list[str]:
    days = args.retention_days
    return [
        sys.executable,
        "-m",
        "ccmon",
        "serve",
        "--db",
        os.path.abspath(args.db),
        "--bind",
        args.bind,
        "--grpc-port",
        str(args.grpc_port),
        "--http-port",
        str(args.http_port),
        "--retention-days",
        str(int(days)) if float(days).is_integer() else str(days),
    ]


def _systemd_quote(arg: str) -> str:
    """One ExecStart word: specifiers (%) and variables ($) taken literally, quoted if needed."""
    s = arg.replace("%", "%%").replace("$", "$$")
    if s and not any(c in s for c in " \t\"'\\;"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(args: argparse.Namespace) -> str:
    exec_start = " ".join(_systemd_quote(a) for a in serve_argv(args))
    return f"""[Unit]
Description=ccmon: receive and keep Claude Code's OpenTelemetry export (ccmon serve)

[Service]
Type=simple
ExecStart={exec_start}
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=5
# Exit 2: another ccmon already receives into this database; restarting would not help.
RestartPreventExitStatus=2

[Install]
WantedBy=default.target
"""


def launchd_plist(args: argparse.Namespace) -> bytes:
    log = str(Path.home() / "Library" / "Logs" / "ccmon.log")
    return plistlib.dumps(
        {
            "Label": LABEL,
            "ProgramArguments": serve_argv(args),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},  # restart when it fails, not when stopped
            "ThrottleInterval": 10,
            "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
            "StandardOutPath": log,
            "StandardErrorPath": log,
        }
    )


# -- where it goes and who runs it ------------------------------------------------------------


def unit_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user" / UNIT


def plist_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CcmonError(f"{shlex.join(argv)} failed: {exc}") from None
    if check and out.returncode != 0:
        why = (out.stderr or out.stdout).strip().splitlines()
        raise CcmonError(f"{shlex.join(argv)} failed: {why[-1] if why else f'exit {out.returncode}'}")
    return out


def manager() -> str:
    """``systemd``, ``launchd`` or ``none``: what can run a user service here."""
    forced = os.environ.get("CCMON_SERVICE_MANAGER")
    if forced:
        return forced
    if sys.platform == "darwin":
        return "launchd" if shutil.which("launchctl") else "none"
    if shutil.which("systemctl"):
        try:
            ok = (
                subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True, timeout=10).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return "systemd"
    return "none"


def _platform_manager() -> str:
    """The manager to write for in a dry run, even where it is not running."""
    m = manager()
    if m != "none" or os.environ.get("CCMON_SERVICE_MANAGER"):
        return m
    return "launchd" if sys.platform == "darwin" else "systemd"


def _instead(args: argparse.Namespace) -> str:
    log = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "ccmon" / "serve.log"
    return (
        f"mkdir -p {shlex.quote(str(log.parent))} && nohup {shlex.join(serve_argv(args))} "
        f">> {shlex.quote(str(log))} 2>&1 &"
    )


def _no_manager(args: argparse.Namespace) -> str:
    where = (
        "WSL without systemd"
        if "microsoft" in os.uname().release.lower()
        else "no user systemd (systemctl --user) and no launchd here, e.g. a container"
    )
    return (
        f"cannot install a service: {where}. Start the receiver yourself instead "
        f"(e.g. from your shell profile), so that Claude Code's exports are kept while no dashboard is open:\n"
        f"  {_instead(args)}"
    )


# -- the subcommands -------------------------------------------------------------------------


def service(args: argparse.Namespace) -> int:
    return {"install": install, "status": status, "uninstall": uninstall}[args.action](args)


def install(args: argparse.Namespace) -> int:
    m = _platform_manager() if args.dry_run else manager()
    if m == "none":
        print(_no_manager(args))
        return 1
    if m == "systemd":
        path, content = unit_path(), systemd_unit(args)
        commands = [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", UNIT]]
    else:
        path, content = plist_path(), launchd_plist(args).decode()
        target = f"gui/{os.getuid()}"
        commands = [["launchctl", "bootout", f"{target}/{LABEL}"], ["launchctl", "bootstrap", target, str(path)]]
    if args.dry_run:
        print(f"# would write {path}:")
        print(content, end="" if content.endswith("\n") else "\n")
        for c in commands:
            print(f"# would run: {shlex.join(c)}")
        return 0
    from ..ingest import owner

    running = owner.probe(args.db)
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    try:
        for i, c in enumerate(commands):
            _run(c, check=not (m == "launchd" and i == 0))  # bootout fails when it was not loaded: fine
    except CcmonError:
        if not existed:
            path.unlink()  # not installed: leave nothing half-done behind
        raise
    print(f"installed {path}; ccmon serve now starts at login and restarts on failure")
    if running is not None and running.kind != "serve":
        again = "systemctl --user restart " + UNIT if m == "systemd" else "launchctl kickstart " + target + "/" + LABEL
        print(
            f"note: {running.describe()} receives into {args.db} now; the service takes over once it stops "
            f"(start it again with: {again})"
        )
    print(f"dashboards attach to it: just run `ccmon`{'' if _default_db(args) else ' --db ' + shlex.quote(args.db)}")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    m = _platform_manager() if args.dry_run else manager()
    if m == "none":
        print(_no_manager(args).split(". ", 1)[0] + ": nothing to uninstall")
        return 1
    if m == "systemd":
        path = unit_path()
        commands = [["systemctl", "--user", "disable", "--now", UNIT], ["systemctl", "--user", "daemon-reload"]]
    else:
        path = plist_path()
        commands = [["launchctl", "bootout", f"gui/{os.getuid()}/{LABEL}"]]
    if args.dry_run:
        for c in commands[:1]:
            print(f"# would run: {shlex.join(c)}")
        print(f"# would remove {path}")
        for c in commands[1:]:
            print(f"# would run: {shlex.join(c)}")
        return 0
    if not path.exists():
        print(f"no ccmon service installed ({path} does not exist)")
        return 0
    _run(commands[0], check=False)  # already stopped or never loaded: fine
    path.unlink()
    for c in commands[1:]:
        _run(c)
    print(f"removed {path}; ccmon serve no longer starts at login")
    return 0


def _default_db(args: argparse.Namespace) -> bool:
    from ..model.db import default_path

    return os.path.abspath(args.db) == os.path.abspath(default_path())


def _ago(ns: int, now_ns: int) -> str:
    s = max(0, (now_ns - ns) // 1_000_000_000)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= n:
            return f"{when} ({s // n} {unit} ago)"
    return f"{when} ({s} s ago)"


def _manager_state(m: str) -> str:
    if m == "systemd":
        if not unit_path().exists():
            return f"systemd user unit: not installed ({unit_path()})"
        out = _run(
            ["systemctl", "--user", "show", UNIT, "--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp"],
            check=False,
        )
        props = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        since = f" since {props['ActiveEnterTimestamp']}" if props.get("ActiveEnterTimestamp") else ""
        return (
            f"systemd user unit {unit_path()}: {props.get('ActiveState', '?')} ({props.get('SubState', '?')})"
            f"{since}, pid {props.get('MainPID', '?')}"
        )
    if m == "launchd":
        if not plist_path().exists():
            return f"launchd agent: not installed ({plist_path()})"
        out = _run(["launchctl", "print", f"gui/{os.getuid()}/{LABEL}"], check=False)
        state = next(
            (ln.split("=", 1)[1].strip() for ln in out.stdout.splitlines() if ln.strip().startswith("state =")),
            "not loaded",
        )
        return f"launchd agent {plist_path()}: {state}"
    return "service: none can be installed here (no user systemd, no launchd)"


def status(args: argparse.Namespace) -> int:
    from ..ingest import owner
    from ..model import db
    from ..model.follow import newest_ns

    m = manager()
    print(_manager_state(m))
    now = time.time_ns()
    running = owner.probe(args.db)
    if running is not None:
        since = f", running since {_ago(running.started_ns, now)}" if running.started_ns else ""
        print(f"receiver: {running.describe()}{since}")
    else:
        print(
            f"receiver: none is running on {args.db}: Claude Code's exports are refused and lost "
            f"until one runs ({'ccmon service install' if m != 'none' else _instead(args)})"
        )
    try:
        conn = db.connect(args.db, readonly=True)
        try:
            newest = max(newest_ns(conn))
        finally:
            conn.close()
        print(f"last export: {_ago(newest, now) if newest else 'none yet'} in {args.db}")
    except (OSError, sqlite3.Error) as exc:  # a status line, not a failure
        print(f"last export: unknown ({exc})")
    return 0 if running is not None else NOT_RUNNING
