"""Issue 11's two figures: big exports beside small senders.

Both run the real ``ccmon serve`` (the CLI, as a user starts it: temp database, free loopback
ports) and talk to it over real sockets.

**Small-sender p99 beside a 50 MiB export** (``hardening.small_p99_beside_50mib``): one sender
POSTs a valid logs export of 40,000 Claude Code ``user_prompt`` events (each with its
``event.sequence``, a 1,300-byte prompt): ~50 MiB of protobuf, sent gzip-compressed over
OTLP/HTTP as the CLI sends it. While it is being ingested (from its first byte to its 200),
4 small senders each POST a captured Claude Code metrics export (a fresh session each time)
every 20 ms and time each answer. Figure: p99 of those latencies. Goal ≤ 250 ms. The events
must all be in the database afterwards.

**Peak RSS with 8 concurrent 60 MiB bodies** (``hardening.rss_8x60mib``): 8 senders at once
each POST an uncompressed ~60 MiB logs export (20,000 events with a 3,000-byte prompt). A
503 (the byte budget is full) is retried after its Retry-After, and a connection reset (the
server refused the body unread) after 1 s, as the OTel exporters do, until all 8 are stored.
Figure: the server's peak RSS (``VmHWM``), all 8 stored. Goal ≤ 400 MB.

    python -m bench --only hardening
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .figures import Figure, at_most
from .proc import ROOT, env

MB = 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def logs_export(n: int, pad: int, session: str) -> bytes:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="claude-code")))
    sl = rl.scope_logs.add()
    prompt = AnyValue(string_value="p" * pad)
    t0 = time.time_ns()
    for i in range(n):
        rec = sl.log_records.add()
        rec.time_unix_nano = t0 + i
        rec.body.string_value = "claude_code.user_prompt"
        rec.attributes.extend(
            [
                KeyValue(key="event.name", value=AnyValue(string_value="user_prompt")),
                KeyValue(key="session.id", value=AnyValue(string_value=session)),
                KeyValue(key="event.sequence", value=AnyValue(int_value=i)),
                KeyValue(key="prompt_length", value=AnyValue(string_value=str(pad))),
                KeyValue(key="prompt", value=prompt),
            ]
        )
    return req.SerializeToString()


def _post(port: int, signal: str, body: bytes, *, gz: bool = False, timeout: float = 600) -> tuple[int, dict]:
    head = (
        f"POST /v1/{signal} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n" + ("Content-Encoding: gzip\r\n" if gz else "") + "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        s.sendall(body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split()[1]), headers


class _Serve:
    def __init__(self, db: Path) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(db),
                "--retention-days",
                "0",
                "--grpc-port",
                str(_free_port()),
                "--http-port",
                str(self.port),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        line = self.proc.stdout.readline()
        if "receiving OTLP" not in line:
            raise RuntimeError(f"ccmon serve did not start: {line}{self.proc.stderr.read()}")

    def peak_rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


def _stored_events(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def small_p99(tmp: Path, senders: int = 4) -> Figure:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    big = logs_export(40_000, 1_300, "big-session")
    body = gzip.compress(big, 1)
    template = ROOT / "tests/data/2.1.197/grpc/text"
    small = next(p.read_bytes() for p in sorted(template.iterdir()) if p.name.endswith("_grpc_metrics.pb"))
    db = tmp / "p99.db"
    srv = _Serve(db)
    latencies: list[float] = []
    done = threading.Event()
    errors: list[str] = []

    def sender(k: int) -> None:
        i = 0
        while not done.is_set():
            req = ExportMetricsServiceRequest.FromString(small)
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        for dp in m.sum.data_points:
                            for kv in dp.attributes:
                                if kv.key == "session.id":
                                    kv.value.string_value = f"small-{k}-{i}"
            t = time.monotonic()
            status, _ = _post(srv.port, "metrics", req.SerializeToString(), timeout=30)
            if status != 200:
                errors.append(f"small export answered {status}")
            if not done.is_set():
                latencies.append(time.monotonic() - t)
            i += 1
            time.sleep(0.02)

    try:
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        latencies.clear()  # only what was measured beside the big one counts
        t0 = time.monotonic()
        status, _ = _post(srv.port, "logs", body, gz=True)
        big_s = time.monotonic() - t0
        done.set()
        for t in threads:
            t.join()
        peak = srv.peak_rss()
    finally:
        done.set()
        srv.stop()
    stored = _stored_events(db)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None
    fig = at_most(
        "hardening.small_p99_beside_50mib",
        None if p99 is None else p99 * 1000,
        "ms",
        250.0,
        goal="≤ 250 ms",
        big_status=status,
        big_seconds=round(big_s, 2),
        big_bytes=len(big),
        big_gzip_bytes=len(body),
        big_events_stored=stored,
        small_exports=len(latencies),
        small_p50_ms=round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        small_max_ms=round(latencies[-1] * 1000, 1) if latencies else None,
        server_peak_rss_mb=round(peak / MB),
        errors=errors[:3],
    )
    if status != 200 or stored != 40_000 or errors:
        fig.met = False
    return fig


def rss_8x60(tmp: Path, senders: int = 8) -> Figure:
    body = logs_export(20_000, 3_000, "s")
    bodies = [body.replace(b"\n\x01s", b"\n\x01" + str(k).encode()) for k in range(senders)]
    db = tmp / "rss.db"
    srv = _Serve(db)
    answers: list[list[int]] = [[] for _ in range(senders)]
    samples: list[int] = []

    def sender(k: int) -> None:
        for _ in range(60):
            try:
                status, headers = _post(srv.port, "logs", bodies[k])
            except OSError:  # refused unread and reset before the 503 arrived: retry, as exporters do
                status, headers = 0, {"retry-after": "1"}
            answers[k].append(status)
            if status not in (0, 503):
                return
            time.sleep(float(headers.get("retry-after", "1")))

    try:
        base = srv.rss()
        t0 = time.monotonic()
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            samples.append(srv.rss())
            time.sleep(0.05)
        took = time.monotonic() - t0
        peak = srv.peak_rss()
    finally:
        srv.stop()
    stored = _stored_events(db)
    ok = all(a and a[-1] == 200 for a in answers)
    fig = at_most(
        "hardening.rss_8x60mib",
        peak / MB,
        "MB",
        400.0,
        goal="≤ 400 MB",
        body_mb=round(len(body) / MB, 1),
        senders=senders,
        seconds=round(took, 1),
        rss_before_mb=round(base / MB),
        sampled_max_mb=round(max(samples, default=0) / MB),
        answers=[",".join(map(str, a)) for a in answers],
        events_stored=stored,
        events_expected=20_000 * senders,
    )
    if not ok or stored != 20_000 * senders:
        fig.met = False
    return fig


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="ccmon-bench-hardening-") as d:
        return [small_p99(Path(d)), rss_8x60(Path(d))]


if __name__ == "__main__":  # python -m bench.hardening: just these two, printed
    for f in measure():
        print(f.name, f.value, f.unit, "met" if f.met else "MISSED", f.detail)
