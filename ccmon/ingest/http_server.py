"""OTLP/HTTP: ``POST /v1/{metrics,logs,traces}`` on asyncio, parsed by h11.

Why h11: it is a complete, well-kept HTTP/1.1 state machine (keep-alive, Content-Length *and*
chunked bodies, which the real CLI 2.1.197 sends, pipelining, error states) that already comes
with httpx, so it adds no dependency; unlike http.server it is non-blocking, and unlike an
ASGI stack (uvicorn + framework) it is a few hundred microseconds of overhead we can read.

Answers follow the OTLP/HTTP spec: 200 with an empty Export*ServiceResponse in the request's
content type; 400 with a google.rpc.Status body for bad data; 413 past the size limit; 415 for
other content types; 404 for other paths; 405 for other methods; 401 without the token (when
one is set); 503 when storage fails or too many bytes are being decoded (retryable, so the
client keeps the data). Limits (``limits.py``): a deadline per request, a cap on open
connections, a byte budget for bodies in flight.

Routing: ``HttpServer.routes`` maps a path to an async handler taking a ``Request``; adding an
endpoint is one entry there.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

from ..model.statusline import MAX_BYTES as STATUSLINE_MAX_BYTES
from ..model.types import LOGS, METRICS, TRACES
from . import limits
from .contract import Sink, StorageError
from .limits import MAX_BYTES, Busy, EverySoOften
from .payload import BadPayload, TooLarge, response_body, status_bytes
from .stats import HTTP_JSON, HTTP_PROTOBUF, Via

log = logging.getLogger("ccmon.ingest")
PATHS = {b"/v1/metrics": METRICS, b"/v1/logs": LOGS, b"/v1/traces": TRACES}
INFO_PATH = b"/ccmon/v1/info"  # GET: who is listening, for `ccmon doctor`
# POST: the JSON Claude Code gave `ccmon statusline`, handed on (plan limits, context, cache);
# on this port because it is the one a status-line command can find from the receiver options.
STATUSLINE_PATH = b"/ccmon/v1/statusline"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = {"application/x-protobuf", "application/protobuf"}
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14
_UNAUTHENTICATED = 16
# accept() errors that mean "out of a resource, try again later", not "the socket is broken"
_ACCEPT_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class _Reply(Exception):
    """An error answer: HTTP status, google.rpc.Status code and message."""

    def __init__(
        self,
        status: int,
        message: str,
        grpc_code: int,
        *,
        close: bool = False,
        as_json: bool = False,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.grpc_code, self.close = status, message, grpc_code, close
        self.as_json = as_json  # the Status body goes in the request's content type
        self.headers = headers or []


class _Expired(Exception):
    """The request's deadline passed while reading it."""


@dataclass(eq=False)
class _Conn:
    """One accepted connection: idle (between requests) or serving one."""

    task: asyncio.Task[None] | None = None
    transport: asyncio.Transport | None = None
    idle_since: float | None = field(default_factory=time.monotonic)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # frees the descriptor now, not when the task gets to run
        if self.task is not None:
            self.task.cancel()


@dataclass
class Request:
    """What a route handler gets: the parsed head, and the means to read the body and answer."""

    conn: h11.Connection
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    event: h11.Request
    headers: dict[bytes, bytes]
    path: bytes
    ctype: str
    deadline: float
    via: Via = field(default_factory=lambda: Via(HTTP_PROTOBUF))  # for the receiver's statistics

    @property
    def json_body(self) -> bool:
        return self.ctype == JSON


Route = Callable[[Request], Awaitable[None]]


class HttpServer:
    def __init__(self, receiver: Sink) -> None:
        self.receiver = receiver
        self._sock: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        self._ssl: ssl.SSLContext | None = None
        self._conns: dict[asyncio.Task[None], _Conn] = {}
        self.max_connections = receiver.max_connections
        self.request_deadline = limits.REQUEST_DEADLINE_S
        self.idle_timeout = limits.IDLE_TIMEOUT_S
        self.refused = 0  # connections closed to stay under max_connections
        self._accept_log = EverySoOften()
        # path -> handler. Each handler answers (``_respond``) or raises _Reply.
        self.routes: dict[bytes, Route] = {path: self._otlp for path in PATHS}
        self.routes[STATUSLINE_PATH] = self._statusline

    async def start(self, bind: str, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        host = f"[{bind}]" if ":" in bind else bind
        try:
            infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, _, _, _, addr = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(addr)
                sock.listen(512)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
        except socket.gaierror as exc:
            raise OSError(
                errno.EADDRNOTAVAIL, f"cannot listen for OTLP/HTTP on {host}:{port}: not an address: {exc.strerror}"
            ) from None
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen for OTLP/HTTP on {host}:{port}: {exc.strerror}") from None
        self._sock, self._ssl = sock, ssl_context
        self._acceptor = asyncio.get_running_loop().create_task(self._accept_loop())
        return sock.getsockname()[1]

    def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.cancel()
            self._acceptor = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def wait_closed_soon(self, grace: float) -> None:
        """Give in-flight requests ``grace`` seconds, then drop idle keep-alive connections."""
        busy = [t for t, c in self._conns.items() if c.idle_since is None]
        if busy:
            await asyncio.wait(busy, timeout=grace)
        for c in list(self._conns.values()):
            c.close()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=1.0)

    # -- connections ------------------------------------------------------------------------------

    async def _accept_loop(self) -> None:
        """Our own accept loop (not asyncio's server) so that running out of descriptors backs
        off and says so once a minute, and the connection count stays under the cap."""
        loop = asyncio.get_running_loop()
        backoff = limits.ACCEPT_BACKOFF_S[0]
        assert self._sock is not None
        while True:
            try:
                sock, _ = await loop.sock_accept(self._sock)
            except OSError as exc:
                if self._sock is None:  # closed: shutting down
                    return
                if exc.errno not in _ACCEPT_RESOURCE_ERRORS:
                    await asyncio.sleep(0.01)  # e.g. ECONNABORTED: that client gave up before we accepted it
                    continue
                if self._accept_log():
                    log.warning(
                        "cannot accept OTLP/HTTP connections: %s (%d open, %d such failures not logged); retrying",
                        exc.strerror,
                        len(self._conns),
                        self._accept_log.suppressed,
                    )
                    self._accept_log.suppressed = 0
                self._close_oldest_idle()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, limits.ACCEPT_BACKOFF_S[1])
                continue
            backoff = limits.ACCEPT_BACKOFF_S[0]
            if len(self._conns) >= self.max_connections and not self._close_oldest_idle():
                self.refused += 1  # every one is mid-request: the new one waits for its client's retry
                sock.close()
                continue
            c = _Conn()
            c.task = loop.create_task(self._connection(sock, c))
            self._conns[c.task] = c

    def _close_oldest_idle(self) -> bool:
        idle = [c for c in self._conns.values() if c.idle_since is not None]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.idle_since or 0.0)
        if oldest.task is not None:  # always set once accepted
            self._conns.pop(oldest.task, None)
        self.refused += 1
        oldest.close()
        return True

    async def _connection(self, sock: socket.socket, c: _Conn) -> None:
        loop = asyncio.get_running_loop()
        try:
            reader = asyncio.StreamReader(limit=1 << 20)
            protocol = asyncio.StreamReaderProtocol(reader)
            try:
                transport, _ = await loop.connect_accepted_socket(
                    lambda: protocol,
                    sock,
                    ssl=self._ssl,
                    ssl_handshake_timeout=self.request_deadline if self._ssl else None,
                )
            except (TimeoutError, OSError, ssl.SSLError):
                sock.close()
                return
            c.transport = transport
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            await self._serve(reader, writer, c)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a bug: one line for this connection, never a traceback per request
            log.warning("OTLP/HTTP connection dropped: %s: %s", type(exc).__name__, exc)
        finally:
            task = asyncio.current_task()
            if task is not None:  # always: this runs as the connection's task
                self._conns.pop(task, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, c: _Conn) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                c.idle_since = time.monotonic()
                reply: bool | _Reply
                try:
                    reply = await self._one_request(conn, reader, writer, c)
                except _Reply as r:
                    reply = r
                except h11.RemoteProtocolError as exc:
                    reply = _Reply(exc.error_status_hint, f"bad HTTP request: {exc}", _INVALID_ARGUMENT, close=True)
                except _Expired:
                    reply = _Reply(
                        408, f"request not received within {self.request_deadline:g} s", _INVALID_ARGUMENT, close=True
                    )
                except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                    return
                if reply is False:  # the peer closed the connection
                    return
                if isinstance(reply, _Reply):
                    await self._send_error(conn, writer, reply)
                    if reply.close and conn.their_state is h11.SEND_BODY and reply.status != 408:
                        await _discard(conn, reader)
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
            writer.close()

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader, deadline: float):
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Expired()
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                raise _Expired() from None
            conn.receive_data(data)  # b"" tells h11 the peer closed

    async def _read_head(self, conn: h11.Connection, reader: asyncio.StreamReader, c: _Conn) -> tuple[object, float]:
        """The next request's head. Idle until its first byte (``idle_timeout``); from then on
        the whole request has ``request_deadline``, however slowly it trickles in."""
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
            except TimeoutError:
                return False, 0.0
            conn.receive_data(data)
        c.idle_since = None
        deadline = time.monotonic() + self.request_deadline
        if event is h11.NEED_DATA:
            event = await self._next_event(conn, reader, deadline)
        return event, deadline

    async def _one_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, c: _Conn
    ) -> bool:
        """Serve one request. False when the peer closed; raises _Reply to answer an error."""
        event, deadline = await self._read_head(conn, reader, c)
        if not isinstance(event, h11.Request):
            return False
        req = _request(conn, reader, writer, event, deadline)
        if req.path == INFO_PATH and event.method == b"GET":
            await self._drain(req)
            await self._respond(req, 200, json.dumps(self.receiver.info()).encode(), JSON)
            return True
        route = await self._admit(req)
        await route(req)
        return True

    async def _admit(self, req: Request) -> Route:
        """The route for ``req`` once its path, method and token are right; else a _Reply (and
        a rejection the Flow view shows, when the path names a signal)."""
        signal = PATHS.get(req.path)
        method = req.event.method.decode("latin-1")
        route = self.routes.get(req.path)
        if route is None:
            await self._drain(req)
            # e.g. /v1/metrics appended to OTEL_EXPORTER_OTLP_ENDPOINT: the Flow view shows it
            path = req.path.decode("latin-1")[:100]
            self.receiver.reject(_signal_in(req.path), f"no such path {path!r}", req.via, "404")
            raise _Reply(
                404,
                f"no such path: {path!r} (OTLP paths are /v1/metrics, /v1/logs, /v1/traces)",
                5,
                as_json=req.json_body,
            )
        if method != "POST":
            await self._drain(req)
            if signal is not None:
                self.receiver.reject(signal, f"{method} instead of POST", req.via, "405")
            raise _Reply(
                405,
                f"{method} is not allowed; OTLP exports are POSTed",
                12,
                as_json=req.json_body,
                headers=[(b"allow", b"POST")],
            )
        if not self.receiver.security.authorized(req.headers.get(b"authorization")):
            # Never read an unauthenticated body, and never echo what was sent.
            if signal is not None:
                self.receiver.reject(signal, "no valid token (401)", req.via, "401")
            raise _Reply(
                401,
                "missing or wrong token: send the header Authorization: Bearer <token>",
                _UNAUTHENTICATED,
                close=True,
                as_json=req.json_body,
                headers=[(b"www-authenticate", b'Bearer realm="ccmon"')],
            )
        return route

    # -- OTLP ------------------------------------------------------------------------------------

    async def _otlp(self, req: Request) -> None:
        signal = PATHS[req.path]
        json_body = req.json_body
        if not json_body and req.ctype not in _PROTOBUF_TYPES:
            self.receiver.reject(signal, f"unsupported content type {req.ctype!r}", req.via, "415")
            await self._drain(req)
            raise _Reply(
                415, f"unsupported content type {req.ctype or '(none)'!r}; send {PROTOBUF} or {JSON}", _INVALID_ARGUMENT
            )
        reply_type = JSON if json_body else PROTOBUF
        encoding = req.headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if encoding not in ("gzip", "identity", ""):
            self.receiver.reject(signal, f"unsupported content encoding {encoding!r}", req.via, "400")
            await self._drain(req)
            raise _Reply(
                400,
                f"unsupported content encoding {encoding[:40]!r} (use gzip or none)",
                _INVALID_ARGUMENT,
                as_json=json_body,
            )
        gzipped = encoding == "gzip"
        length = req.headers.get(b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > MAX_BYTES:
            self.receiver.reject(signal, f"body of {declared} bytes is over the {MAX_BYTES} byte limit", req.via, "413")
            raise _Reply(413, f"body over {MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, close=True, as_json=json_body)
        budget = self.receiver.budget
        try:
            # Room for the body is reserved before it is read: past the budget, a sender waits
            # (TCP holds its bytes, not ccmon's memory), then hears 503 and retries.
            async with budget.hold(declared or 0) as held:
                req.deadline = max(req.deadline, time.monotonic() + self.request_deadline)
                body = await self._read_body(req, signal, held, chunked=declared is None)
                req.via.nbytes = len(body)
                if gzipped:
                    await held.grow(self.receiver.inflated_size(body, True) - held.n)
                try:
                    batch = await self.receiver.decode(signal, body, json_body=json_body, gzipped=gzipped)
                except TooLarge as exc:
                    self.receiver.reject(signal, str(exc), req.via, "413")
                    raise _Reply(413, str(exc), _RESOURCE_EXHAUSTED, as_json=json_body) from None
                except BadPayload as exc:
                    self.receiver.reject(signal, str(exc), req.via, "400")
                    raise _Reply(400, str(exc), _INVALID_ARGUMENT, as_json=json_body) from None
                del body
                await self._store(signal, batch, req)
        except Busy as exc:
            self.receiver.reject(signal, str(exc), req.via, "503")
            raise _Reply(
                503, str(exc), _UNAVAILABLE, as_json=json_body, close=conn_open(req), headers=[(b"retry-after", b"5")]
            ) from None
        await self._respond(req, 200, response_body(signal, batch, json_body=json_body), reply_type)

    async def _store(self, signal: str, batch, req: Request) -> None:
        try:
            await self.receiver.accept(signal, batch, req.via)
        except StorageError as exc:
            raise _Reply(
                503,
                f"ccmon could not store the export: {exc}",
                _UNAVAILABLE,
                as_json=req.json_body,
                headers=[(b"retry-after", b"5")],
            ) from None

    # -- status lines ----------------------------------------------------------------------------

    async def _statusline(self, req: Request) -> None:
        """Store one status-line JSON: 200 once stored, 400 for anything that is not one."""
        body = bytearray()
        while True:
            ev = await self._next_event(req.conn, req.reader, req.deadline)
            if isinstance(ev, h11.Data):
                body += ev.data
                if len(body) > STATUSLINE_MAX_BYTES:
                    await self._drain(req)  # read to its end (bounded), so the answer is not lost to a reset
                    raise _Reply(
                        413, f"a status line is under {STATUSLINE_MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, as_json=True
                    )
            elif isinstance(ev, h11.EndOfMessage):
                break
            else:
                raise ConnectionError("peer closed mid-body")
        if not await self.receiver.statusline(bytes(body)):
            raise _Reply(
                400, "not a Claude Code status-line JSON object (with a session_id)", _INVALID_ARGUMENT, as_json=True
            )
        await self._respond(req, 200, b"", JSON)

    async def _read_body(self, req: Request, signal: str, held, *, chunked: bool) -> bytes:
        if req.conn.they_are_waiting_for_100_continue:  # only now, with room for the body, invite it
            req.writer.write(req.conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        while True:
            ev = await self._next_event(req.conn, req.reader, req.deadline)
            if isinstance(ev, h11.Data):
                body += ev.data
                if len(body) > MAX_BYTES:
                    self.receiver.reject(signal, f"body over the {MAX_BYTES} byte limit", req.via, "413")
                    raise _Reply(
                        413, f"body over {MAX_BYTES} bytes", _RESOURCE_EXHAUSTED, close=True, as_json=req.json_body
                    )
                if chunked and len(body) > held.n:
                    await held.grow(max(len(body) - held.n, 1 << 20))
            elif isinstance(ev, h11.EndOfMessage):
                return bytes(body)
            else:
                raise ConnectionError("peer closed mid-body")

    async def _respond(self, req: Request, status: int, payload: bytes, ctype: str) -> None:
        w, conn = req.writer, req.conn
        w.write(
            conn.send(
                h11.Response(
                    status_code=status,
                    headers=[(b"content-type", ctype.encode()), (b"content-length", str(len(payload)).encode())],
                )
            )
        )
        w.write(conn.send(h11.Data(data=payload)) if payload else b"")
        w.write(conn.send(h11.EndOfMessage()))
        await w.drain()

    async def _drain(self, req: Request) -> None:
        """Read and discard a body we refuse, so the connection can be reused (bounded)."""
        seen = 0
        while req.conn.their_state is h11.SEND_BODY:
            ev = await self._next_event(req.conn, req.reader, req.deadline)
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
            await asyncio.wait_for(writer.drain(), 5.0)  # a peer that does not read is not waited for
        except (TimeoutError, h11.LocalProtocolError):
            pass


async def _discard(conn: h11.Connection, reader: asyncio.StreamReader, seconds: float = 5.0) -> None:
    """After refusing a body unread (401, 413, 503), swallow what the client is still sending,
    up to the end of its body or for a few seconds, before closing: closing on unread bytes
    resets the connection, and the client would lose the answer (and its Retry-After) with
    it. Nothing is kept."""
    end = time.monotonic() + seconds
    seen = 0
    try:
        while seen <= MAX_BYTES and (left := end - time.monotonic()) > 0:
            if conn.their_state is not h11.SEND_BODY:
                return  # the whole body is in: nothing more will come
            ev = conn.next_event()
            if isinstance(ev, h11.EndOfMessage) or isinstance(ev, h11.ConnectionClosed):
                return
            if ev is h11.NEED_DATA:
                chunk = await asyncio.wait_for(reader.read(1 << 20), left)
                if not chunk:
                    return
                seen += len(chunk)
                conn.receive_data(chunk)
    except (TimeoutError, ConnectionError, ssl.SSLError, h11.RemoteProtocolError):
        pass


def _request(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    event: h11.Request,
    deadline: float,
) -> Request:
    """The parsed head: headers by lower-case name, path without its query, content type."""
    headers = {k.lower(): v for k, v in event.headers}
    ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    req = Request(conn, reader, writer, event, headers, event.target.split(b"?", 1)[0], ctype, deadline)
    agent = headers.get(b"user-agent", b"").decode("latin-1")[:200]
    req.via = Via(HTTP_JSON if req.json_body else HTTP_PROTOBUF, 0, agent)
    return req


def _signal_in(path: bytes) -> str:
    """The signal a wrong path was meant for (``/v1/metrics/v1/metrics`` -> metrics)."""
    for known, signal in PATHS.items():
        if path.endswith(known):
            return signal
    return "unknown path"


def conn_open(req: Request) -> bool:
    """True when the body was not read: the connection must close after the answer."""
    return req.conn.their_state is h11.SEND_BODY


def _status_body(code: int, message: str, as_json: bool) -> tuple[bytes, bytes]:
    if as_json:
        return json.dumps({"code": code, "message": message}).encode(), JSON.encode()
    return status_bytes(code, message), PROTOBUF.encode()


async def start_http(receiver: Sink, bind: str, port: int) -> tuple[HttpServer, int]:
    server = HttpServer(receiver)
    bound = await server.start(bind, port, receiver.security.server_context())
    return server, bound
