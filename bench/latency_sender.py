"""Sender for the export-to-screen figure (``python -m bench.latency_sender``), its own process.

Sends ``--n`` log exports over gRPC, one at a time, each carrying a brand-new session (the
2.1.197 ``all`` capture's logs export: 18 events), at random intervals so the OKs fall at
random phases of the dashboard's refresh tick. Prints ``[[session, t_ok], ...]`` where
``t_ok`` is ``time.monotonic()`` right after the OK arrived (CLOCK_MONOTONIC is shared by
all processes on Linux, so the app process can compare its own stamps with it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

from .workload import Workload, session_id  # noqa: E402

LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--min-gap", type=float, default=0.05)
    p.add_argument("--max-gap", type=float, default=0.35)
    p.add_argument("--tag", default="lat")
    a = p.parse_args()
    wl = Workload(a.tag, a.n, time.time_ns() - 30 * 1_000_000_000, ("2.1.197/grpc/all",))
    rng = random.Random(6)
    out = []
    with grpc.insecure_channel(f"127.0.0.1:{a.port}") as ch:
        export = ch.unary_unary(LOGS)
        grpc.channel_ready_future(ch).result(timeout=10)
        for i in range(a.n):
            time.sleep(rng.uniform(a.min_gap, a.max_gap))
            body = next(b for s, b in wl.round(i) if s == "logs")
            export(body, timeout=10)
            out.append([session_id(a.tag, i), time.monotonic()])
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
