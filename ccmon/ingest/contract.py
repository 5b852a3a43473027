"""What the gRPC and HTTP servers need from the receiver, and nothing more.

The servers depend on this protocol, not on ``receiver.Receiver``: the receiver imports the
servers (to start them), so the servers importing the receiver back would make a cycle.
"""

from __future__ import annotations

import errno
import hmac
import sqlite3
import ssl
from dataclasses import dataclass
from typing import Any, Protocol

from ..model.types import Batch
from .limits import ByteBudget
from .stats import Via


class StorageError(Exception):
    """An export could not be committed; ``str`` is the real cause, in words."""


@dataclass(frozen=True)
class Security:
    """Who may send (a bearer token) and how (TLS). Both optional; loopback needs neither."""

    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def authorized(self, header: str | bytes | None) -> bool:
        """``Authorization: Bearer <token>``, compared in constant time."""
        if self.token is None:
            return True
        if header is None:
            return False
        if isinstance(header, str):
            header = header.encode("latin-1", "replace")
        scheme, _, given = header.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token.encode())

    def server_context(self) -> ssl.SSLContext | None:
        if not self.tls_cert:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        return ctx


def storage_cause(exc: BaseException) -> str:
    """The real reason a commit failed. A full disk makes SQLite roll back by itself, so the
    store's own ROLLBACK then fails with "no transaction is active" and hides the cause: look
    through the exception chain for the first error."""
    seen = exc
    while seen.__context__ is not None and isinstance(seen.__context__, (sqlite3.Error, OSError)):
        seen = seen.__context__
    code = getattr(seen, "sqlite_errorcode", None)
    if code == 13 or isinstance(seen, OSError) and seen.errno == errno.ENOSPC or "disk is full" in str(seen):
        return "disk full"
    if code == 8 or "readonly" in str(seen):
        return "database is read-only"
    return str(seen) or type(seen).__name__


class Sink(Protocol):
    """The receiver as the servers see it."""

    security: Security
    budget: ByteBudget
    max_connections: int

    async def decode(self, signal: str, body: bytes, *, json_body: bool = False, gzipped: bool = False) -> Batch: ...

    def inflated_size(self, body: bytes, gzipped: bool) -> int: ...

    async def accept(self, signal: str, batch: Batch, via: Via | None = None) -> None:
        """Return once ``batch`` is committed; raise ``StorageError`` if it cannot be."""

    def reject(self, signal: str, why: str, via: Via | None = None, status: str = "") -> None: ...

    async def statusline(self, body: bytes) -> bool: ...

    def info(self) -> dict[str, Any]: ...
