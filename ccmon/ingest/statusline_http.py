"""``POST /ccmon/v1/statusline``: the JSON Claude Code gave ``ccmon statusline``, handed on.

Served on the OTLP/HTTP port (the one port a status-line command can find from the receiver
options it shares). The body is the status-line JSON as Claude Code wrote it; the answer is
200 with an empty body once it is stored, 400 for anything that is not a status-line object.
The HTTP server has already checked the method (POST) and, when the receiver has a token,
``Authorization: Bearer <token>``, as for OTLP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h11

from ..model.statusline import MAX_BYTES

if TYPE_CHECKING:
    from .http_server import HttpServer, Request

PATH = b"/ccmon/v1/statusline"


async def handle(server: "HttpServer", req: "Request") -> None:
    from .http_server import JSON, _Reply

    body = bytearray()
    while True:
        ev = await server._next_event(req.conn, req.reader, req.deadline)
        if isinstance(ev, h11.Data):
            body += ev.data
            if len(body) > MAX_BYTES:
                await server._drain(req)  # read to its end (bounded), so the answer is not lost to a reset
                raise _Reply(413, f"a status line is under {MAX_BYTES} bytes", 8, as_json=True)
        elif isinstance(ev, h11.EndOfMessage):
            break
        else:
            raise ConnectionError("peer closed mid-body")
    if not await server.receiver.statusline(bytes(body)):
        raise _Reply(400, "not a Claude Code status-line JSON object (with a session_id)", 3, as_json=True)
    await server._respond(req, 200, b"", JSON)
