"""The server side of the ingest figure, run as its own process (``python -m bench.ingest_server``).

Three servers, so that each ratio compares like with like:

* ``persist``: ccmon's real ``Receiver`` on a real ``Store`` with a temporary database
  (decode, group commit to SQLite, acknowledge after commit): the figure.
* ``decode``:  the same ``Receiver`` (same gRPC servicer / h11 HTTP server, same ``decode``),
  but ``accept`` answers OK without persisting: the limit, i.e. what ingest costs before
  storage. ``DecodeOnlyReceiver`` below is the only difference.
* ``bare``:    the cheapest server that still speaks the protocol (a grpc.aio handler that
  returns at once; an asyncio HTTP/1.1 responder that only frames requests). Used to show
  the load generator can go faster than the limit, i.e. it is not what is being measured.

Protocol with the parent (JSON lines): the server prints ``{"port", "pid"}`` once listening,
then answers ``{"cmd": "report"}`` with its totals and ``{"cmd": "stop"}`` by exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .proc import emit, pin, rss_bytes, thread_cpu_seconds

os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def _receiver_classes():
    from ccmon.ingest.receiver import Receiver
    from ccmon.model.types import Batch

    class DecodeOnlyReceiver(Receiver):
        """The limit: everything the real receiver does up to and including ``decode``, then OK.
        Counts what it decoded so the run can still be checked for completeness."""

        points = 0
        events = 0

        async def accept(self, signal: str, batch: Batch, via=None) -> None:
            from ccmon.ingest.stats import GRPC, Via

            self.stats.accepted(signal, via or Via(GRPC), batch)
            self.points += len(batch.points)
            self.events += len(batch.events)

    return Receiver, DecodeOnlyReceiver


class BareHttp(asyncio.Protocol):
    """Frames HTTP/1.1 requests (Content-Length or chunked) and answers 200 with no parsing
    of headers beyond that: the fastest an asyncio HTTP server in Python can answer."""

    count = 0
    _REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            used = self._one(self.buf)
            if not used:
                return
            del self.buf[:used]
            BareHttp.count += 1
            self.transport.write(self._REPLY)  # type: ignore[attr-defined]

    @staticmethod
    def _one(buf: bytearray) -> int:
        """Bytes of the first complete request in ``buf``, or 0 if it is not complete yet."""
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return 0
        head = bytes(buf[:end]).lower()
        pos = end + 4
        if b"transfer-encoding: chunked" in head:
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return 0
                size = int(buf[pos:eol].split(b";")[0], 16)
                pos = eol + 2 + size + 2
                if pos > len(buf):
                    return 0
                if size == 0:
                    return pos
        i = head.find(b"content-length:")
        n = int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
        return pos + n if len(buf) >= pos + n else 0


async def _bare_grpc() -> tuple[Any, int, dict[str, int]]:
    import grpc

    from ccmon.ingest.grpc_server import SERVICES

    calls = {"n": 0}

    async def export(body: bytes, context: Any) -> bytes:
        calls["n"] += 1
        return b""

    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
    for service in SERVICES.values():
        handler = grpc.unary_unary_rpc_method_handler(export)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port, calls


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    receiver = store = None
    bare_grpc = bare_http = calls = None
    tmp = tempfile.TemporaryDirectory(prefix="ccmon-bench-")
    if args.mode == "bare":
        if args.proto == "grpc":
            bare_grpc, port, calls = await _bare_grpc()
        else:
            bare_http = await loop.create_server(BareHttp, "127.0.0.1", 0)
            port = bare_http.sockets[0].getsockname()[1]
    else:
        from ccmon.model.store import Store

        Receiver, DecodeOnly = _receiver_classes()
        store = Store(Path(tmp.name) / "bench.db", retention_days=0)
        cls = Receiver if args.mode == "persist" else DecodeOnly
        receiver = cls(
            store, grpc_port=0 if args.proto == "grpc" else None, http_port=0 if args.proto == "http" else None
        )
        await receiver.start()
        port = receiver.grpc_port if args.proto == "grpc" else receiver.http_port
    emit({"port": port, "pid": os.getpid()})

    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)["cmd"]
        if cmd == "report":
            emit(_report(args.mode, receiver, store, calls))
        elif cmd == "stop":
            break
    if receiver is not None:
        await receiver.stop()
        store.close()
    if bare_grpc is not None:
        await bare_grpc.stop(0)
    if bare_http is not None:
        bare_http.close()
    tmp.cleanup()


def _report(mode: str, receiver: Any, store: Any, calls: dict[str, int] | None) -> dict[str, Any]:
    # CPU per thread over the whole run: where the server's time goes (event loop: sockets,
    # HTTP/gRPC framing, decode, aggregates; ccmon-sqlite: Store.write).
    out: dict[str, Any] = {"rss": rss_bytes(), "thread_cpu_s": thread_cpu_seconds()}
    if mode == "bare":
        out["exports"] = calls["n"] if calls is not None else BareHttp.count
        return out
    out["exports"] = sum(receiver.stats.received().values())
    out["rejected"] = sum(receiver.stats.rejections().values())
    out["last_error"] = receiver.stats.last_error
    if mode == "decode":
        out["points"], out["events"] = receiver.points, receiver.events
        return out
    snap = store.snapshot()
    c = store._read  # the store's own read connection: counts what is on disk
    out["points"] = c.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    out["events"] = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    out["cost"] = snap.cost_total
    out["api_requests"] = snap.api_requests
    out["sessions"] = len(snap.sessions)
    out["commits"] = receiver.committer.commits
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=("persist", "decode", "bare"), required=True)
    p.add_argument("--proto", choices=("grpc", "http"), required=True)
    p.add_argument("--cpu", type=int, default=None)
    a = p.parse_args()
    pin(a.cpu)
    asyncio.run(main(a))
