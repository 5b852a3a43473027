"""`ccmon serve` and `ccmon report` as processes, as a user runs them: restart, kill -9,
port conflicts, bad arguments."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from otlp_client import ServeProcess, capture, free_port, grpc_export, metrics_for_session, replay, report


def test_serve_then_report_then_restart_gives_the_same_report(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    assert f"grpc 127.0.0.1:{srv.grpc_port}" in srv.banner and f"http 127.0.0.1:{srv.http_port}" in srv.banner
    replay(srv.grpc_port, srv.http_port, capture("2.1.197", "grpc/all"), "grpc")
    replay(srv.grpc_port, srv.http_port, capture("2.1.330", "http_json/all"), "http")
    first = report(db)
    assert first["cost_usd"] == round(0.2367105 + 0.1786872, 10)
    assert first["cost_by_model"] == {"claude-opus-4-8": 0.2367105, "claude-opus-5-5": 0.1786872}
    assert first["events"]["api_request"] == 12 and first["events"]["plugin_loaded"] == 3
    assert srv.stop() == 0  # SIGTERM: clean exit
    srv2 = ServeProcess(db, "--retention-days", "0")
    assert report(db) == first
    replay(srv2.grpc_port, srv2.http_port, capture("2.1.197", "grpc/all"), "grpc")  # the same export again
    again = report(db)
    assert again["cost_usd"] == first["cost_usd"]  # retried deltas (same series/start/end) count once
    assert srv2.stop(signal.SIGINT) == 0


def test_kill_9_loses_no_acknowledged_export(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    (m,) = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"]
    acked: list[str] = []
    stop = threading.Event()

    def sender(k: int) -> None:
        i = 0
        while not stop.is_set():
            sid = f"kill9-{k}-{i}"
            try:
                grpc_export(srv.grpc_port, "metrics", metrics_for_session(m.body, sid), timeout=5)
            except grpc.RpcError:
                return
            acked.append(sid)
            i += 1

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 60:
        time.sleep(0.01)
    srv.proc.kill()  # SIGKILL mid-stream
    srv.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    for s in (srv.proc.stdout, srv.proc.stderr):
        s.close()
    r = report(db)
    stored = {s["session_id"]: s["cost_usd"] for s in r["sessions"]}
    missing = [sid for sid in acked if sid not in stored]
    assert missing == []
    assert all(stored[sid] == 0.03945175 for sid in acked)
    assert len(stored) - len(acked) <= 4  # at most the in-flight export of each sender, unanswered


def test_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(tmp_path / "x.db"),
                "--grpc-port",
                str(free_port()),
                "--http-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccmon: ") and f"127.0.0.1:{port}" in lines[0]


def test_grpc_port_in_use_is_one_clear_line(tmp_path):
    srv = ServeProcess(tmp_path / "a.db")
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(tmp_path / "b.db"),
                "--grpc-port",
                str(srv.grpc_port),
                "--http-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        srv.stop()
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and f"127.0.0.1:{srv.grpc_port}" in out.stderr
    assert "--grpc-port" in out.stderr and "--http-port" not in out.stderr


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmon", *args], capture_output=True, text=True, timeout=30)


def test_report_errors_are_one_line(tmp_path):
    out = _run("report", "--db", str(tmp_path / "missing.db"))
    assert out.returncode == 1 and out.stderr.startswith("ccmon: no ccmon database at") and out.stderr.count("\n") == 1
    out = _run("report", "--db", str(tmp_path / "missing.db"), "--since", "yesterday")
    assert out.returncode == 2 and "not a duration" in out.stderr
    out = _run("serve", "--grpc-port", "99999")
    assert out.returncode == 2 and "port out of range" in out.stderr
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    out = _run("report", "--db", str(tmp_path / "junk.db"))
    assert out.returncode == 1 and "cannot read" in out.stderr and out.stderr.count("\n") == 1


def test_report_since_and_text_output(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        replay(srv.grpc_port, None, capture("2.1.197", "grpc/text"), "grpc")  # captured in the past
        now = time.time_ns()
        (m,) = [e for e in capture("2.1.197", "grpc/all") if e.signal == "metrics"]
        req = ExportMetricsServiceRequest.FromString(m.body)
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for dp in metric.sum.data_points:
                        dp.start_time_unix_nano, dp.time_unix_nano = now - 10**9, now
        grpc_export(srv.grpc_port, "metrics", req.SerializeToString())
    finally:
        srv.stop()
    assert report(db)["cost_usd"] == round(0.03945175 + 0.2367105, 10)
    recent = report(db, "--since", "1h")
    assert recent["cost_usd"] == 0.2367105 and recent["since"] is not None
    text = _run("report", "--db", str(db))
    assert text.returncode == 0
    assert "$0.2762" in text.stdout and "claude-opus-4-8" in text.stdout and "cache hit rate  71.3%" in text.stdout


def test_options_before_or_after_the_subcommand(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db)
    replay(srv.grpc_port, None, capture("2.1.197", "grpc/text"), "grpc")
    srv.stop()
    a = _run("--db", str(db), "report", "--json")
    b = _run("report", "--json", "--db", str(db))
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and '"cost_usd": 0.03945175' in a.stdout


@pytest.mark.parametrize("env_key", ["XDG_DATA_HOME"])
def test_default_db_follows_xdg_data_home(tmp_path, env_key):
    import os

    env = {**os.environ, env_key: str(tmp_path / "xdg")}
    env.pop("CCMON_DB", None)
    p = subprocess.Popen(
        [sys.executable, "-m", "ccmon", "serve", "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    banner = p.stdout.readline()
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    p.stdout.close()
    p.stderr.close()
    assert str(tmp_path / "xdg" / "ccmon" / "ccmon.db") in banner
    assert (tmp_path / "xdg" / "ccmon" / "ccmon.db").exists()
