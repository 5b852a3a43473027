"""``POST /ccmon/v1/statusline``: the JSON Claude Code gave ``ccmon statusline``, handed on.

Served on the OTLP/HTTP port (the one port a status-line command can find from the receiver
options it shares). The body is the status-line JSON as Claude Code wrote it; the answer is
200 with an empty body once it is stored, 400 for anything that is not a status-line object.
When the receiver has a token, the request needs ``Authorization: Bearer <token>`` like OTLP.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import h11

from ..model.statusline import MAX_BYTES

if TYPE_CHECKING:
    from .http_server import HttpServer

PATH = b"/ccmon/v1/statusline"


async def handle(server: "HttpServer", conn: h11.Connection, reader, writer, event: h11.Request,
                 headers: dict[bytes, bytes]) -> bool:
    from .http_server import _Reply

    if event.method != b"POST":
        await server._drain(conn, reader)
        raise _Reply(405, "POST the status-line JSON", 12, as_json=True, headers=[(b"allow", b"POST")])
    token = getattr(server.receiver, "token", None)
    if token:
        given = headers.get(b"authorization", b"")
        if not hmac.compare_digest(given, b"Bearer " + str(token).encode()):
            await server._drain(conn, reader)
            raise _Reply(401, "missing or wrong bearer token", 16, as_json=True)
    body = bytearray()
    while True:
        ev = await server._next_event(conn, reader, 10.0)
        if isinstance(ev, h11.Data):
            body += ev.data
            if len(body) > MAX_BYTES:
                raise _Reply(413, f"a status line is under {MAX_BYTES} bytes", 8, close=True, as_json=True)
        elif isinstance(ev, h11.EndOfMessage):
            break
        else:
            return False
    if not await server.receiver.statusline(bytes(body)):
        raise _Reply(400, "not a Claude Code status-line JSON object (with a session_id)", 3, as_json=True)
    writer.write(conn.send(h11.Response(status_code=200, headers=[(b"content-length", b"0")])))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()
    return True
