"""Small process helpers shared by the figures: CPU time and RSS from /proc, CPU pinning,
and running a bench module as a child process that talks JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)


def thread_cpu_seconds(pid: int | None = None) -> dict[str, float]:
    """CPU time per thread name (threads of one name summed), from /proc/PID/task/*/stat.
    For this process, Python threads are named by their ``threading`` name (the OS name of
    every Python thread is just "python"); native threads (gRPC's) keep their OS name."""
    import threading

    py_names = {t.native_id: t.name for t in threading.enumerate()} if pid is None else {}
    out: dict[str, float] = {}
    base = f"/proc/{pid or 'self'}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = py_names.get(int(tid)) or raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / _TICK
    return out


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size now (not the peak): /proc/PID/statm's second field."""
    with open(f"/proc/{pid or 'self'}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def pin(cpu: int | None) -> None:
    """Keep this process on one CPU, so server and load generator each own a core (when the
    machine has two) instead of the scheduler moving them onto the same one."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    if cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def env() -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1", "GRPC_VERBOSITY": "NONE"}
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


class Child:
    """``python -m bench.<module> args`` with JSON lines on stdin/stdout."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"bench.{module}", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"bench child {self.proc.args} ended: {err[-3000:]}")
        return json.loads(line)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def ask(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.send(msg)
        return self.read()

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            for s in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if s:
                    s.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


def emit(msg: dict[str, Any]) -> None:
    """A child's answer to the parent: one JSON line on stdout."""
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()
