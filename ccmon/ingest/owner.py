"""One writer per database: the receiver that owns a DB holds a lock the OS releases when it dies.

The lock is ``flock`` on ``<db>.lock`` next to the database. Its content says who holds it
(pid, what kind of ccmon, ports), so a second receiver can refuse with one line naming the
owner, and a dashboard can attach to it as a viewer instead. A crash or ``kill -9`` releases
the lock with the process; stale content in a lock nobody holds means nothing.

The lock file is never deleted (deleting a lock file races with the next process opening it);
its owner empties it when it stops.

Receivers also leave a note per port in a runtime directory (``$XDG_RUNTIME_DIR/ccmon``), so
that ``ccmon`` on the default ports finds a ``ccmon serve`` that writes another database.
A note is only a hint: it counts only while the database lock it names is held by its pid.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CcmonError


@dataclass(frozen=True, slots=True)
class OwnerInfo:
    """Who receives into a database."""

    pid: int
    kind: str  # "serve" or "dashboard"
    db: str
    bind: str = "127.0.0.1"
    grpc_port: int | None = None
    http_port: int | None = None
    started_ns: int = 0

    @property
    def ports(self) -> str:
        return "/".join(f":{p}" for p in (self.grpc_port, self.http_port) if p is not None) or "no ports yet"

    def describe(self) -> str:
        """``ccmon serve, pid 1234, :4317/:4318``"""
        what = "ccmon serve" if self.kind == "serve" else "the ccmon dashboard"
        return f"{what}, pid {self.pid}, {self.ports}"

    @classmethod
    def parse(cls, text: str) -> OwnerInfo | None:
        try:
            d = json.loads(text)
            return cls(
                pid=int(d["pid"]),
                kind=str(d["kind"]),
                db=str(d["db"]),
                bind=str(d.get("bind", "")),
                grpc_port=d.get("grpc_port"),
                http_port=d.get("http_port"),
                started_ns=int(d.get("started_ns", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None


def lock_path(db: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db)}.lock")


def _read_locked(path: Path) -> tuple[bool, OwnerInfo | None]:
    """(held, who): whether someone holds ``path``'s lock, and what it says about itself.

    Testing takes a shared lock for an instant; a receiver starting at that very instant
    retries (see ``DbLock.acquire``)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False, None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            for _ in range(20):  # the owner writes its content right after locking
                os.lseek(fd, 0, os.SEEK_SET)
                info = OwnerInfo.parse(os.read(fd, 65536).decode("utf-8", "replace"))
                if info is not None:
                    return True, info
                time.sleep(0.01)
            return True, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, None
    finally:
        os.close(fd)


def probe(db: str | os.PathLike[str]) -> OwnerInfo | None:
    """The live receiver that owns ``db``, or None."""
    held, info = _read_locked(lock_path(db))
    if held and info is None:  # held, but it did not say who (yet): still an owner
        return OwnerInfo(pid=0, kind="serve", db=os.fspath(db))
    return info


class DbLock:
    """The held lock of one database (see the module docstring)."""

    def __init__(self, fd: int, info: OwnerInfo) -> None:
        self._fd: int | None = fd
        self.info = info
        self._notes: list[Path] = []

    @classmethod
    def acquire(
        cls, db: str | os.PathLike[str], *, kind: str, bind: str, grpc_port: int | None, http_port: int | None
    ) -> DbLock:
        """Own ``db`` or raise ``CcmonError`` (exit 2) naming who does."""
        path = lock_path(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + 0.5
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                os.lseek(fd, 0, os.SEEK_SET)
                owner = OwnerInfo.parse(os.read(fd, 65536).decode("utf-8", "replace"))
                # No content: a viewer testing the lock, or an owner about to write; wait a little.
                if owner is not None or time.monotonic() > deadline:
                    os.close(fd)
                    who = owner.describe() if owner else "another process"
                    raise CcmonError(
                        f"{os.fspath(db)} is already being received into by {who}; a second receiver would "
                        f"break its counts. Watch it with `ccmon --db {os.fspath(db)}` or stop "
                        f"{'pid ' + str(owner.pid) if owner else 'it'} first",
                        2,
                    ) from None
                time.sleep(0.02)
        lock = cls(
            fd,
            OwnerInfo(
                pid=os.getpid(),
                kind=kind,
                db=os.fspath(db),
                bind=bind,
                grpc_port=grpc_port,
                http_port=http_port,
                started_ns=time.time_ns(),
            ),
        )
        lock._write()
        return lock

    def _write(self) -> None:
        assert self._fd is not None
        data = json.dumps(asdict(self.info)).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def update(self, grpc_port: int | None, http_port: int | None) -> None:
        """The ports actually bound (port 0 picks one): into the lock, and a note per port."""
        self.info = OwnerInfo(**{**asdict(self.info), "grpc_port": grpc_port, "http_port": http_port})
        self._write()
        self._drop_notes()
        try:
            d = runtime_dir()
            for port in (grpc_port, http_port):
                if port:
                    note = d / f"port-{port}.json"
                    tmp = note.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_text(json.dumps(asdict(self.info)))
                    os.replace(tmp, note)
                    self._notes.append(note)
        except OSError:
            pass  # only a hint for finding this receiver by port; the lock is what counts

    def _drop_notes(self) -> None:
        for note in self._notes:
            try:
                if OwnerInfo.parse(note.read_text()) == self.info or _pid_of(note) == os.getpid():
                    note.unlink()
            except OSError:
                pass
        self._notes = []

    def release(self) -> None:
        if self._fd is None:
            return
        self._drop_notes()
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def _pid_of(note: Path) -> int | None:
    info = OwnerInfo.parse(note.read_text())
    return info.pid if info else None


def runtime_dir() -> Path:
    """Where receivers leave their per-port notes: ``$XDG_RUNTIME_DIR/ccmon``, else a
    directory of this user's own under the temp directory."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    d = Path(base) / "ccmon" if base else Path(tempfile.gettempdir()) / f"ccmon-{os.getuid()}"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not base and (d.stat().st_uid != os.getuid() or d.is_symlink()):
        raise OSError(errno.EPERM, f"{d} is not this user's")
    return d


def find_by_port(*ports: int | None) -> OwnerInfo | None:
    """A live ccmon receiver listening on one of ``ports`` (0 and None never match)."""
    try:
        d = runtime_dir()
    except OSError:
        return None
    for port in ports:
        if not port:
            continue
        try:
            note = OwnerInfo.parse((d / f"port-{port}.json").read_text())
        except OSError:
            continue
        if note is None:
            continue
        live = probe(note.db)
        if live is not None and live.pid == note.pid and port in (live.grpc_port, live.http_port):
            return live
    return None
