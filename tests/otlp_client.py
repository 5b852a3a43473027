"""Test helpers: the captured Claude Code exports, and raw clients that replay them.

The captures in tests/data/ are the real CLI's requests (2.1.197 and 2.1.330), copied from
the project's shared telemetry captures so a fresh clone is self-contained.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

DATA = Path(__file__).parent / "data"
VERSIONS = ("2.1.197", "2.1.330")
SERVICES = {
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
}
_NAME_RE = re.compile(r"^(\d{4})_(grpc|http)_(metrics|logs|traces)\.(pb|json)$")


@dataclass(frozen=True)
class Export:
    n: int
    signal: str
    body: bytes
    json: bool  # an OTLP/JSON body (http_json captures)
    gzip: bool  # the CLI sent it gzip-compressed (the stored body is already inflated)


def capture(version: str, folder: str) -> list[Export]:
    """One capture folder's requests in arrival order."""
    root = DATA / version / folder
    meta = {}
    index = root / "index.jsonl"
    if index.exists():
        for line in index.read_text().splitlines():
            row = json.loads(line)
            meta[row["n"]] = row
    out = []
    for f in sorted(root.iterdir()):
        m = _NAME_RE.match(f.name)
        if not m:
            continue
        n = int(m.group(1))
        out.append(
            Export(
                n, m.group(3), f.read_bytes(), m.group(4) == "json", meta.get(n, {}).get("content_encoding") == "gzip"
            )
        )
    if not out:
        raise FileNotFoundError(f"no capture at {root}")
    return out


def metrics_for_session(template: bytes, sid: str) -> bytes:
    """A captured metrics export with every ``session.id`` replaced: a new session's export."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    req = ExportMetricsServiceRequest.FromString(template)
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for dp in metric.sum.data_points:
                    for kv in dp.attributes:
                        if kv.key == "session.id":
                            kv.value.string_value = sid
    return req.SerializeToString()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grpc_export(
    port: int, signal: str, body: bytes, *, compression: grpc.Compression | None = None, timeout: float = 10.0
) -> bytes:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        call = ch.unary_unary(f"/{SERVICES[signal]}/Export")
        return call(body, timeout=timeout, compression=compression)


def http_export(
    port: int,
    signal: str,
    body: bytes,
    *,
    json_body: bool = False,
    gzip_body: bool = False,
    chunked: bool = False,
    timeout: float = 10.0,
    content_type: str | None = None,
) -> tuple[int, dict, bytes]:
    """POST one export over a raw socket, framed exactly as asked (Content-Length or chunked)."""
    payload = gzip.compress(body) if gzip_body else body
    ctype = content_type or ("application/json" if json_body else "application/x-protobuf")
    head = [
        f"POST /v1/{signal} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: {ctype}",
        "User-Agent: OTel-OTLP-Exporter-JavaScript/0.208.0",
    ]
    if gzip_body:
        head.append("Content-Encoding: gzip")
    if chunked:
        head.append("Transfer-Encoding: chunked")
        framed = b""
        for i in range(0, len(payload), 1000):  # several chunks, as a streaming client sends
            part = payload[i : i + 1000]
            framed += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        framed += b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(payload)}")
        framed = payload
    head.append("Connection: close")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + framed
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    return parse_response(resp)


def parse_response(resp: bytes) -> tuple[int, dict, bytes]:
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def replay(port_grpc: int | None, port_http: int | None, exports: list[Export], how: str) -> None:
    """Send a capture's exports: how = grpc | http (as captured) | http-chunked | http-gzip."""
    for e in exports:
        if how == "grpc":
            grpc_export(port_grpc, e.signal, e.body)
            continue
        assert port_http is not None
        status, _, body = http_export(
            port_http,
            e.signal,
            e.body,
            json_body=e.json,
            gzip_body=e.gzip or how == "http-gzip",
            chunked=how == "http-chunked",
        )
        assert status == 200, (status, body)


class ServeProcess:
    """`ccmon serve` as a subprocess on free ports, as a user runs it."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.db = db
        # A port free_port() found can be taken before serve binds it (another test's outgoing
        # connection gets it as its ephemeral port): then try other ports, as a user would.
        for attempt in range(3):
            self._start(extra)
            self.banner = self.proc.stdout.readline()
            if "receiving OTLP" in self.banner:
                return
            self.proc.kill()
            err = self.proc.stderr.read()
            self.proc.wait(10)
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()
            if "Address already in use" not in err or attempt == 2:
                raise RuntimeError(f"ccmon serve did not start: {self.banner}{err}")

    def _start(self, extra: tuple[str, ...]) -> None:
        self.grpc_port = free_port()
        self.http_port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(self.db),
                "--grpc-port",
                str(self.grpc_port),
                "--http-port",
                str(self.http_port),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def stop(self, sig: int | None = None) -> int:
        import signal as _signal

        self.proc.send_signal(sig if sig is not None else _signal.SIGTERM)
        try:
            return self.proc.wait(10)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()


def report(db: Path, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--json", "--db", str(db), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_until(pred, timeout: float = 5.0, step: float = 0.02):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)
