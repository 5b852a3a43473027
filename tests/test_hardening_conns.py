"""Slow and idle clients: a deadline per request (not per read), a cap on open connections that
closes the longest-idle one first, and accept() failures that back off and log once a minute."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import time

from otlp_client import capture, free_port, http_export, wait_until

METRICS = [e for e in capture("2.1.197", "http_protobuf/text") if e.signal == "metrics"][0].body


def _trickle(port: int, data: bytes, every: float, stop_after: float) -> tuple[float, bytes]:
    """Send ``data`` a byte at a time; return when the server closed, and what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=stop_after + 5) as s:
        t0 = time.monotonic()
        for b in data:
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if time.monotonic() - t0 > stop_after:
                break
            time.sleep(every)
        s.settimeout(max(0.1, stop_after - (time.monotonic() - t0)) + 2)
        answer = b""
        try:
            while chunk := s.recv(4096):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return time.monotonic() - t0, answer


async def _small_sender_latencies(port: int, seconds: float) -> list[float]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        status, _, _ = await asyncio.to_thread(http_export, port, "metrics", METRICS)
        assert status == 200
        out.append(time.monotonic() - t0)
        await asyncio.sleep(0.05)
    return out


async def test_trickled_headers_are_cut_at_the_request_deadline(otlp):
    otlp._http.request_deadline = 1.0
    head = b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n" + b"X-Pad: a\r\n" * 50
    slow = asyncio.create_task(asyncio.to_thread(_trickle, otlp.http_port, head, 0.1, 6.0))
    latencies = await _small_sender_latencies(otlp.http_port, 1.5)  # others are served meanwhile
    took, answer = await slow
    assert 0.9 < took < 2.5  # 10 bytes a second never ends the request: the deadline does
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert max(latencies) < 1.0  # (each is a few ms; generous for a shared CI machine)


async def test_trickled_body_is_cut_at_the_request_deadline(otlp):
    otlp._http.request_deadline = 1.0
    head = (
        b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        + f"Content-Length: {len(METRICS)}\r\n\r\n".encode()
    )

    def send() -> tuple[float, bytes]:
        with socket.create_connection(("127.0.0.1", otlp.http_port), timeout=10) as s:
            s.sendall(head)
            t0 = time.monotonic()
            sent = 0
            try:
                while sent < len(METRICS) and time.monotonic() - t0 < 6:
                    s.sendall(METRICS[sent : sent + 1])
                    sent += 1
                    time.sleep(0.1)
                answer = s.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                answer = b"(reset)"  # the 408 may be lost to the reset of a socket with unread bytes
            return time.monotonic() - t0, answer

    took, answer = await asyncio.to_thread(send)
    assert took < 2.5 and (answer.startswith(b"HTTP/1.1 408 ") or answer == b"(reset)")
    assert otlp.stats.received().get("metrics", 0) == 0


async def test_idle_connections_past_the_cap_close_the_oldest_first(otlp):
    otlp._http.max_connections = 8
    idle = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", otlp.http_port), timeout=5)
        idle.append(s)
        await asyncio.sleep(0.02)  # accepted in this order
    try:
        await asyncio.sleep(0.2)
        status, _, _ = await asyncio.to_thread(http_export, otlp.http_port, "metrics", METRICS)
        assert status == 200
        assert len(otlp._http._conns) <= 8

        def closed(s: socket.socket) -> bool:
            s.settimeout(0.5)
            try:
                return s.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                return not isinstance(sys.exc_info()[1], socket.timeout)

        states = await asyncio.to_thread(lambda: [closed(s) for s in idle])
        # 12 idle + 1 export over a cap of 8: the 5 accepted first were closed, the 7 newest live
        assert states == [True] * 5 + [False] * 7
        assert otlp._http.refused == 5
    finally:
        for s in idle:
            s.close()


def test_out_of_file_descriptors_backs_off_logs_once_and_recovers(tmp_path):
    """`serve` under a 64 open-files limit with the connection cap set above it: accept() fails
    with EMFILE. One log line (not one per attempt), and exports work again once the idle
    connections go."""
    http_port, grpc_port = free_port(), free_port()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccmon",
            "serve",
            "--db",
            str(tmp_path / "c.db"),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            "--max-connections",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    conns = []
    try:
        assert "receiving OTLP" in proc.stdout.readline()
        for _ in range(120):  # more than the process can hold
            conns.append(socket.create_connection(("127.0.0.1", http_port), timeout=5))
        time.sleep(3)  # accept() keeps failing meanwhile
        for s in conns:
            s.close()
        conns.clear()

        def export_ok() -> bool:
            try:
                return http_export(http_port, "metrics", METRICS, timeout=2)[0] == 200
            except OSError:
                return False

        assert wait_until(export_ok, timeout=10)
    finally:
        for s in conns:
            s.close()
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    accept_lines = [line for line in err.splitlines() if "cannot accept" in line]
    assert len(accept_lines) == 1, err[-2000:]
    assert "Too many open files" in accept_lines[0]
    assert "Traceback" not in err
