"""OTLP/HTTP: ``POST /v1/{metrics,logs,traces}`` on asyncio, parsed by h11.

Why h11: it is a complete, well-kept HTTP/1.1 state machine (keep-alive, Content-Length *and*
chunked bodies, which the real CLI 2.1.197 sends, pipelining, error states) that already comes
with httpx, so it adds no dependency; unlike http.server it is non-blocking, and unlike an
ASGI stack (uvicorn + framework) it is a few hundred microseconds of overhead we can read.

Answers follow the OTLP/HTTP spec: 200 with an empty Export*ServiceResponse in the request's
content type; 400 with a google.rpc.Status body for bad data; 413 past the size limit; 415 for
other content types; 404 for other paths; 405 for other methods; 503 when storage fails
(retryable, so the client keeps the data).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import h11

from ..model.types import LOGS, METRICS, TRACES
from . import statusline_http
from .payload import MAX_BYTES, BadPayload, TooLarge, decode, gunzip, response_body, status_bytes
from .stats import HTTP_JSON, HTTP_PROTOBUF, Via

if TYPE_CHECKING:
    from .receiver import Receiver

PATHS = {b"/v1/metrics": METRICS, b"/v1/logs": LOGS, b"/v1/traces": TRACES}
INFO_PATH = b"/ccmon/v1/info"  # who is listening, for `ccmon doctor`
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = {"application/x-protobuf", "application/protobuf"}
IDLE_TIMEOUT_S = 120.0  # an idle keep-alive connection is closed after this
READ_TIMEOUT_S = 60.0  # a request must arrive completely within this
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14


class _Reply(Exception):
    """An error answer: HTTP status, google.rpc.Status code and message."""

    def __init__(self, status: int, message: str, grpc_code: int, *, close: bool = False,
                 as_json: bool = False, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.grpc_code, self.close = status, message, grpc_code, close
        self.as_json = as_json  # the Status body goes in the request's content type
        self.headers = headers or []


class HttpServer:
    def __init__(self, receiver: "Receiver") -> None:
        self.receiver = receiver
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self, bind: str, port: int) -> int:
        try:
            self._server = await asyncio.start_server(self._serve, bind, port, reuse_address=True,
                                                      limit=1 << 20)
        except OSError as exc:
            host = f"[{bind}]" if ":" in bind else bind
            raise OSError(exc.errno, f"cannot listen for OTLP/HTTP on {host}:{port}: {exc.strerror}") from None
        return self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_closed_soon(self, grace: float) -> None:
        """Give in-flight requests ``grace`` seconds, then drop idle keep-alive connections."""
        if self._conns:
            await asyncio.wait(self._conns, timeout=grace)
        for t in list(self._conns):
            t.cancel()
        if self._conns:
            await asyncio.wait(self._conns, timeout=1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                try:
                    reply = await self._one_request(conn, reader, writer)
                except _Reply as r:
                    reply = r
                except h11.RemoteProtocolError as exc:
                    reply = _Reply(exc.error_status_hint, f"bad HTTP request: {exc}", _INVALID_ARGUMENT, close=True)
                except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                    return
                if reply is False:  # the peer closed the connection
                    return
                if isinstance(reply, _Reply):
                    await self._send_error(conn, writer, reply)
                    if reply.close or conn.our_state is not h11.DONE:
                        return
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader, timeout: float):
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(reader.read(65536), timeout)
            conn.receive_data(data)  # b"" tells h11 the peer closed

    async def _one_request(self, conn: h11.Connection, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        """Serve one request. False when the peer closed; raises _Reply to answer an error."""
        event = await self._next_event(conn, reader, IDLE_TIMEOUT_S)
        if not isinstance(event, h11.Request):
            return False
        headers = {k.lower(): v for k, v in event.headers}
        ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        json_body = ctype == JSON
        path = event.target.split(b"?", 1)[0]
        if path == statusline_http.PATH:  # not OTLP: `ccmon statusline` feeding plan limits
            return await statusline_http.handle(self, conn, reader, writer, event, headers)
        signal = PATHS.get(path)
        via = Via(HTTP_JSON if json_body else HTTP_PROTOBUF, 0, headers.get(b"user-agent", b"").decode("latin-1")[:200])
        if path == INFO_PATH and event.method == b"GET":
            await self._drain(conn, reader)
            return await self._send_json(conn, writer, self.receiver.info())
        if signal is None:
            await self._drain(conn, reader)
            # e.g. /v1/metrics appended to OTEL_EXPORTER_OTLP_ENDPOINT: the Flow view shows it
            self.receiver.reject(_signal_in(path), f"no such path {path.decode('latin-1')[:100]!r}", via, "404")
            raise _Reply(404, f"no such path: {path.decode('latin-1')[:100]!r} (OTLP paths are /v1/metrics, "
                         "/v1/logs, /v1/traces)", 5, as_json=json_body)
        if event.method != b"POST":
            await self._drain(conn, reader)
            self.receiver.reject(signal, f"{event.method.decode('latin-1')} instead of POST", via, "405")
            raise _Reply(405, f"{event.method.decode('latin-1')} is not allowed; OTLP exports are POSTed",
                         12, as_json=json_body, headers=[(b"allow", b"POST")])
        if not json_body and ctype not in _PROTOBUF_TYPES:
            self.receiver.reject(signal, f"unsupported content type {ctype!r}", via, "415")
            await self._drain(conn, reader)
            raise _Reply(415, f"unsupported content type {ctype or '(none)'!r}; send {PROTOBUF} or {JSON}",
                         _INVALID_ARGUMENT)
        reply_type = JSON if json_body else PROTOBUF
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BYTES:
            self.receiver.reject(signal, f"body of {int(length)} bytes is over the {MAX_BYTES} byte limit", via, "413")
            raise _Reply(413, f"body over {MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, close=True, as_json=json_body)
        if conn.they_are_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        while True:
            ev = await self._next_event(conn, reader, READ_TIMEOUT_S)
            if isinstance(ev, h11.Data):
                body += ev.data
                if len(body) > MAX_BYTES:
                    self.receiver.reject(signal, f"body over the {MAX_BYTES} byte limit", via, "413")
                    raise _Reply(413, f"body over {MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, close=True,
                                 as_json=json_body)
            elif isinstance(ev, h11.EndOfMessage):
                break
            else:
                return False
        via.nbytes = len(body)
        encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        try:
            if encoding == "gzip":
                raw = gunzip(bytes(body))
            elif encoding in ("identity", ""):
                raw = bytes(body)
            else:
                raise BadPayload(f"unsupported content encoding {encoding!r} (use gzip or none)")
            batch = decode(signal, raw, json_body=json_body)
        except TooLarge as exc:
            self.receiver.reject(signal, str(exc), via, "413")
            raise _Reply(413, str(exc), _RESOURCE_EXHAUSTED, as_json=json_body) from None
        except BadPayload as exc:
            self.receiver.reject(signal, str(exc), via, "400")
            raise _Reply(400, str(exc), _INVALID_ARGUMENT, as_json=json_body) from None
        try:
            await self.receiver.accept(signal, batch, via)
        except Exception as exc:
            raise _Reply(503, f"ccmon could not store the export: {exc}", _UNAVAILABLE, as_json=json_body,
                         headers=[(b"retry-after", b"1")]) from None
        payload = response_body(signal, batch, json_body=json_body)
        writer.write(conn.send(h11.Response(status_code=200, headers=[
            (b"content-type", reply_type.encode()), (b"content-length", str(len(payload)).encode())])))
        writer.write(conn.send(h11.Data(data=payload)) if payload else b"")
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return True

    async def _send_json(self, conn: h11.Connection, writer: asyncio.StreamWriter, doc: dict) -> bool:
        payload = json.dumps(doc).encode()
        writer.write(conn.send(h11.Response(status_code=200, headers=[
            (b"content-type", JSON.encode()), (b"content-length", str(len(payload)).encode())])))
        writer.write(conn.send(h11.Data(data=payload)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return True

    async def _drain(self, conn: h11.Connection, reader: asyncio.StreamReader) -> None:
        """Read and discard a body we refuse, so the connection can be reused (bounded)."""
        seen = 0
        while conn.their_state is h11.SEND_BODY:
            ev = await self._next_event(conn, reader, READ_TIMEOUT_S)
            if isinstance(ev, h11.Data):
                seen += len(ev.data)
                if seen > MAX_BYTES:
                    raise _Reply(413, f"body over {MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, close=True)
            elif not isinstance(ev, h11.EndOfMessage):
                return

    async def _send_error(self, conn: h11.Connection, writer: asyncio.StreamWriter, r: _Reply) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body, ctype = _status_body(r.grpc_code, r.message, r.as_json)
        headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())] + r.headers
        if r.close:
            headers.append((b"connection", b"close"))
        try:
            writer.write(conn.send(h11.Response(status_code=r.status, headers=headers)))
            writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
        except h11.LocalProtocolError:
            pass


def _signal_in(path: bytes) -> str:
    """The signal a wrong path was meant for (``/v1/metrics/v1/metrics`` -> metrics)."""
    for known, signal in PATHS.items():
        if path.endswith(known):
            return signal
    return "unknown path"


def _status_body(code: int, message: str, as_json: bool) -> tuple[bytes, bytes]:
    if as_json:
        return json.dumps({"code": code, "message": message}).encode(), JSON.encode()
    return status_bytes(code, message), PROTOBUF.encode()


async def start_http(receiver: "Receiver", bind: str, port: int) -> tuple[HttpServer, int]:
    server = HttpServer(receiver)
    bound = await server.start(bind, port)
    return server, bound
