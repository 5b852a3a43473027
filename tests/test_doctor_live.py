"""``ccmon doctor`` as a user runs it, against a running ``ccmon serve`` on free ports, a closed
port, the wrong protocol on the right port, and a receiver that is not ccmon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from otlp_client import ServeProcess, free_port, report

from ccmon.commands.env import Target, env_object


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    proc = ServeProcess(tmp_path_factory.mktemp("serve") / "ccmon.db")
    yield proc
    proc.stop()


def doctor(tmp_path, env: dict[str, str], grpc_port: int, http_port: int) -> tuple[int, dict]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    run_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CCMON_MANAGED_SETTINGS": str(tmp_path / "managed.json"),
        **env,
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccmon",
            "doctor",
            "--json",
            "--timeout",
            "5",
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env,
        cwd=tmp_path,
    )
    assert out.stderr == ""
    return out.returncode, json.loads(out.stdout)


def codes(doc: dict, severity: str = "error") -> dict[str, dict]:
    return {f["code"]: f for f in doc["findings"] if f["severity"] == severity}


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_doctor_against_a_running_ccmon_serve(tmp_path, serve, protocol):
    env = env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), protocol)
    rc, doc = doctor(tmp_path, env, serve.grpc_port, serve.http_port)
    assert (rc, doc["ok"], codes(doc)) == (0, True, {})
    probe = doc["probe"]
    assert (probe["accepted"], probe["ccmon"], probe["protocol"]) == (True, True, protocol)
    port = serve.grpc_port if protocol == "grpc" else serve.http_port
    assert probe["info"]["grpc_port"] == serve.grpc_port and probe["info"]["http_port"] == serve.http_port
    assert codes(doc, "ok")["probe_ok"]["message"].endswith(f"on {protocol} {doc['endpoint']}")
    assert doc["endpoint"] == (
        f"http://127.0.0.1:{port}" if protocol == "grpc" else f"http://127.0.0.1:{port}/v1/metrics"
    )


def test_the_test_export_is_not_claude_code_usage(tmp_path, serve):
    env = env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), "grpc")
    assert doctor(tmp_path, env, serve.grpc_port, serve.http_port)[0] == 0
    r = report(serve.db)
    assert (r["cost_usd"], r["sessions"], r["tokens"]["input"]) == (0.0, [], 0)


def test_doctor_against_a_closed_port(tmp_path):
    grpc_port, http_port = free_port(), free_port()
    env = env_object(Target("127.0.0.1", grpc_port, http_port), "grpc")
    rc, doc = doctor(tmp_path, env, grpc_port, http_port)
    f = codes(doc)["probe_refused"]
    assert (rc, doc["ok"], doc["probe"]["kind"]) == (1, False, "refused")
    assert f["message"] == f"nothing listens at http://127.0.0.1:{grpc_port}: the test export was refused"
    assert f["fix"].startswith(
        "start ccmon (`ccmon` or `ccmon serve`), or OTEL_EXPORTER_OTLP_PROTOCOL=grpc "
        f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{grpc_port}"
    )


def test_http_on_the_grpc_port(tmp_path, serve):
    env = {
        **env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), "http/protobuf"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{serve.grpc_port}",
    }
    rc, doc = doctor(tmp_path, env, serve.grpc_port, serve.http_port)
    assert (rc, doc["ok"]) == (1, False)
    errors = codes(doc)
    assert errors["http_to_grpc_port"]["fix"] == (
        f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{serve.http_port} (or OTEL_EXPORTER_OTLP_PROTOCOL=grpc)"
    )
    probe = errors["probe_wrong_protocol"]
    assert probe["message"].endswith("does not answer http/protobuf. It speaks gRPC.")
    assert probe["fix"].startswith("OTEL_EXPORTER_OTLP_PROTOCOL=grpc for that port")


def test_grpc_on_the_http_port(tmp_path, serve):
    env = {
        **env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), "grpc"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{serve.http_port}",
    }
    rc, doc = doctor(tmp_path, env, serve.grpc_port, serve.http_port)
    assert rc == 1
    probe = codes(doc)["probe_wrong_protocol"]
    assert probe["message"].endswith("does not answer grpc. It speaks OTLP/HTTP.")
    assert probe["fix"].startswith("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for that port")


def test_signal_path_on_the_endpoint_is_rejected_404(tmp_path, serve):
    env = {
        **env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), "http/protobuf"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{serve.http_port}/v1/metrics",
    }
    rc, doc = doctor(tmp_path, env, serve.grpc_port, serve.http_port)
    errors = codes(doc)
    assert (
        rc == 1
        and errors["signal_path_on_endpoint"]["fix"]
        == f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{serve.http_port}"
    )
    assert errors["probe_rejected"]["message"] == (
        f"the test export to http://127.0.0.1:{serve.http_port}/v1/metrics/v1/metrics was rejected with 404: "
        "no such path: '/v1/metrics/v1/metrics' (OTLP paths are /v1/metrics, /v1/logs, /v1/traces)"
    )


class _AnyCollector(BaseHTTPRequestHandler):
    """Another OTLP/HTTP receiver: accepts every POST, knows nothing of ccmon."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_accepted_by_something_that_is_not_ccmon(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnyCollector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        env = env_object(Target("127.0.0.1", free_port(), port), "http/protobuf")
        rc, doc = doctor(tmp_path, env, free_port(), port)
    finally:
        server.shutdown()
        server.server_close()
    assert (rc, doc["probe"]["accepted"], doc["probe"]["ccmon"]) == (1, True, False)
    assert codes(doc)["probe_not_ccmon"]["message"] == (
        f"the test export to http://127.0.0.1:{port}/v1/metrics was accepted, but not by ccmon "
        "(an OTel Collector or another receiver listens there)"
    )


def test_logs_sent_elsewhere_are_probed_too(tmp_path, serve):
    good = env_object(Target("127.0.0.1", serve.grpc_port, serve.http_port), "grpc")
    closed = free_port()
    rc, doc = doctor(
        tmp_path,
        {**good, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"http://127.0.0.1:{closed}"},
        serve.grpc_port,
        serve.http_port,
    )
    assert rc == 1 and [(p["signal"], p["ccmon"]) for p in doc["probes"]] == [("metrics", True), ("logs", False)]
    assert (
        codes(doc)["probe_refused"]["message"]
        == f"logs: nothing listens at http://127.0.0.1:{closed}: the test export was refused"
    )

    logs_http = {
        **good,
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"http://127.0.0.1:{serve.http_port}/v1/logs",
    }
    rc, doc = doctor(tmp_path, logs_http, serve.grpc_port, serve.http_port)
    assert (rc, [(p["signal"], p["protocol"], p["ccmon"]) for p in doc["probes"]]) == (
        0,
        [("metrics", "grpc", True), ("logs", "http/json", True)],
    )


def test_doctor_says_whether_status_lines_arrive(tmp_path):
    """With the ccmon status line installed, doctor asks the running ccmon whether any arrived."""
    proc = ServeProcess(tmp_path / "sl.db")
    try:
        home = tmp_path / "home"
        (home / ".claude").mkdir(parents=True)
        (home / ".claude" / "settings.json").write_text(
            json.dumps({"statusLine": {"type": "command", "command": "ccmon statusline"}})
        )
        env = env_object(Target("127.0.0.1", proc.grpc_port, proc.http_port), "grpc")
        rc, doc = doctor(tmp_path, env, proc.grpc_port, proc.http_port)
        assert rc == 0
        assert codes(doc, "info")["statusline_calls"]["message"] == (
            "the ccmon status line is installed but this ccmon has received none yet"
        )
        line = json.dumps({"session_id": "s-1", "model": {"display_name": "Opus"}})
        out = subprocess.run(
            [sys.executable, "-m", "ccmon", "statusline", "--http-port", str(proc.http_port)],
            input=line,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0
        for _ in range(50):  # the status line hands its JSON over without waiting for the answer
            rc, doc = doctor(tmp_path, env, proc.grpc_port, proc.http_port)
            if "statusline_calls" in codes(doc, "ok"):
                break
        assert codes(doc, "ok")["statusline_calls"]["message"] == (
            "this ccmon has received 1 status line(s) (plan limits, context)"
        )
    finally:
        proc.stop()
