"""Commit notices from a receiver to the dashboards attached to its database.

Each viewer binds a unix datagram socket in a directory of its database's own
(``$XDG_RUNTIME_DIR/ccmon/v/<digest of the DB path>/``: short, as a socket path must be) and sleeps until a datagram
arrives. The receiver, after a commit, sends one byte to every socket there (at most one
round per ``COALESCE_S``, so a flood of exports is a trickle of notices). Nobody polls while
nothing arrives: waking a sleeping process twenty times a second to ask SQLite costs more
than everything else an idle dashboard does.

A notice is only a hint, never data: the viewer then asks SQLite what changed. Lost notices
(a full socket buffer, a viewer that started a moment ago) are caught by the viewer's slow
fallback check. Sockets of viewers that died are removed by the next receiver that finds them.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import socket
from collections.abc import Callable
from pathlib import Path

from .owner import runtime_dir

COALESCE_S = 0.005
_seq = itertools.count()


def viewers_dir(db: str | os.PathLike[str]) -> Path:
    digest = hashlib.sha256(os.path.abspath(os.fspath(db)).encode()).hexdigest()[:12]
    return runtime_dir() / "v" / digest


class Notifier:
    """The receiver's side: ``changed()`` (a ``Receiver`` listener, on the loop) sends the notices."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.dir = viewers_dir(db)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._pending = False
        self._listed: tuple[int, list[str]] | None = None  # (directory mtime, socket paths)

    def changed(self) -> None:
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_later(COALESCE_S, self._send)

    def _targets(self) -> list[str]:
        try:
            mtime = os.stat(self.dir).st_mtime_ns
        except OSError:
            return []
        if self._listed is None or self._listed[0] != mtime:  # a viewer came or went
            self._listed = (mtime, [e.path for e in os.scandir(self.dir) if e.name.endswith(".sock")])
        return self._listed[1]

    def _send(self) -> None:
        self._pending = False
        for path in self._targets():
            try:
                self._sock.sendto(b".", path)
            except BlockingIOError:
                pass  # its buffer is full of notices already: it will look anyway
            except (ConnectionRefusedError, FileNotFoundError):
                try:
                    os.unlink(path)  # a viewer that died without cleaning up
                except OSError:
                    pass
            except OSError:
                pass

    def close(self) -> None:
        self._sock.close()


class Listener:
    """The viewer's side: calls ``callback()`` on the loop when a notice arrives."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        d = viewers_dir(db)
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = d / f"{os.getpid()}-{next(_seq)}.sock"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.path.unlink(missing_ok=True)
            self._sock.bind(str(self.path))
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, callback: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                while self._sock.recv(64):
                    pass
            except (BlockingIOError, OSError):
                pass
            callback()

        self._loop.add_reader(self._sock.fileno(), readable)

    def close(self) -> None:
        if self._loop is not None:
            try:
                self._loop.remove_reader(self._sock.fileno())
            except (ValueError, RuntimeError):
                pass
        self._sock.close()
        try:
            self.path.unlink()
        except OSError:
            pass
