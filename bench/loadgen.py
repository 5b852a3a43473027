"""The load generator for the ingest figures, run as its own process (``python -m bench.loadgen``).

N concurrent senders, each behaving like one Claude Code CLI: it takes the next round
(see ``workload``), sends that conversation's exports one after another and waits for each
OK before the next, then takes another round. The loop is plain asyncio with no client
library in the way, because the generator has to be faster than the server it measures:

* HTTP: one keep-alive connection per sender, requests written by hand (chunked bodies, as
  the real CLI sends them), responses framed by reading the head and Content-Length.
  (An httpx client tops out near 730 req/s on this machine kind; this reaches tens of
  thousands against a bare server.)
* gRPC: grpc.aio, all senders multiplexed as concurrent calls over a few channels, bytes in
  and bytes out (no protobuf work in the generator).

Timing: ``--warmup`` seconds first (connections, caches, SQLite pages), then a measured
window of ``--seconds`` in which completed exports, the generator's own CPU time and the
server's CPU time are counted. After the window every sender finishes its round, so the
run ends on whole rounds and the store's totals can be checked exactly against what was
acknowledged. ``--rounds-per-second`` paces the senders instead of running flat out (soak).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from .proc import cpu_seconds, emit, pin
from .workload import Workload

SERVICES = {
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
}

Send = Callable[[str, bytes], Awaitable[None]]


class Failed(Exception):
    pass


async def http_sender(port: int) -> tuple[Send, Callable[[], None]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = f"Host: 127.0.0.1:{port}\r\n".encode()

    async def send(signal: str, body: bytes) -> None:
        writer.write(
            b"POST /v1/"
            + signal.encode()
            + b" HTTP/1.1\r\n"
            + host
            + b"Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n"
            b"User-Agent: OTel-OTLP-Exporter-JavaScript/0.208.0\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        i = head.lower().find(b"content-length:")
        n = int(head[i + 15 : head.find(b"\r\n", i)]) if i >= 0 else 0
        body_in = await reader.readexactly(n) if n else b""
        if status != b"200":
            raise Failed(f"HTTP {status.decode()}: {body_in[:200]!r}")

    return send, writer.close


def grpc_senders(port: int, channels: int) -> tuple[list[dict[str, Any]], list[Any]]:
    import grpc

    chans = [
        grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(channels)
    ]
    methods = [{sig: ch.unary_unary(f"/{svc}/Export") for sig, svc in SERVICES.items()} for ch in chans]
    return methods, chans


async def run(args: argparse.Namespace) -> dict[str, Any]:
    wl = Workload(args.tag, args.sessions, time.time_ns() - 120 * 1_000_000_000)
    state = {"next": 0, "ok": 0, "stop": False, "in_window": False}
    rounds: Counter[str] = Counter()
    errors: list[str] = []
    latencies: list[float] = []
    start = time.perf_counter()

    async def sender(send: Send) -> None:
        while not state["stop"]:
            r = state["next"]
            state["next"] += 1
            if args.rounds_per_second:
                delay = start + r / args.rounds_per_second - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if state["stop"]:
                    state["next"] = min(state["next"], r)  # not sent: nothing to account for
                    return
            good = True
            for signal, body in wl.round(r):
                t = time.perf_counter()
                try:
                    await send(signal, body)
                except Exception as exc:  # counted, reported, and the run is marked failed
                    good = False
                    if len(errors) < 20:
                        errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                state["ok"] += 1
                if state["in_window"]:
                    latencies.append(time.perf_counter() - t)
            if good:
                rounds[wl.conversation(r).name] += 1

    closers: list[Callable[[], Any]] = []
    if args.proto == "http":
        sends = []
        for _ in range(args.concurrency):
            s, close = await http_sender(args.port)
            sends.append(s)
            closers.append(close)
    else:
        methods, chans = grpc_senders(args.port, args.channels)
        for ch in chans:
            await ch.channel_ready()

        def make(m: dict[str, Any]) -> Send:
            async def send(signal: str, body: bytes) -> None:
                await m[signal](body, timeout=30)

            return send

        sends = [make(methods[i % len(methods)]) for i in range(args.concurrency)]
        closers = [lambda ch=ch: ch.close() for ch in chans]

    tasks = [asyncio.create_task(sender(s)) for s in sends]
    await asyncio.sleep(args.warmup)
    state["in_window"] = True
    t0, ok0, cpu0 = time.perf_counter(), state["ok"], time.process_time()
    srv0 = cpu_seconds(args.server_pid) if args.server_pid else 0.0
    await asyncio.sleep(args.seconds)
    t1, ok1, cpu1 = time.perf_counter(), state["ok"], time.process_time()
    srv1 = cpu_seconds(args.server_pid) if args.server_pid else 0.0
    state["in_window"] = False
    state["stop"] = True
    await asyncio.gather(*tasks)
    for close in closers:
        r = close()
        if asyncio.iscoroutine(r):
            await r
    window = t1 - t0
    latencies.sort()

    def pct(q: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else None

    return {
        "rate": (ok1 - ok0) / window,
        "window_s": window,
        "exports_in_window": ok1 - ok0,
        "exports_total": state["ok"],
        "rounds": dict(rounds),
        "errors": errors,
        "loadgen_cpu": (cpu1 - cpu0) / window,  # cores busy: 1.0 = one core saturated
        "server_cpu": (srv1 - srv0) / window,
        "latency_p50_ms": pct(0.50),
        "latency_p99_ms": pct(0.99),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--proto", choices=("grpc", "http"), required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--channels", type=int, default=2, help="gRPC channels the senders share")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--tag", default=f"{os.getpid():x}")
    p.add_argument("--server-pid", type=int, default=0)
    p.add_argument("--rounds-per-second", type=float, default=0.0)
    p.add_argument("--cpu", type=int, default=None)
    a = p.parse_args()
    pin(a.cpu)
    emit(asyncio.run(run(a)))
