"""``ccmon statusline``: Claude Code's ``statusLine`` command.

Claude Code runs it with a JSON object on stdin on every change (debounced 300 ms) and shows
what it prints under the prompt; a new trigger aborts a run still in flight, a non-zero exit
or a traceback shows nothing. So this path:

* imports almost nothing: the stdlib (json, socket, sqlite3) and ``model.statusline``; no
  textual, grpc, protobuf or httpx, and not even ``http.client`` (it pulls in the email package);
* prints its line first, then hands the JSON to the running ccmon (``POST
  /ccmon/v1/statusline`` on the receiver's HTTP port) with a short timeout: fire and forget,
  since the JSON is the only way plan limits reach ccmon;
* exits 0 whatever happens: ccmon not running, no database, empty or garbage input (then it
  prints a minimal line).

``CCMON_NOW`` (Unix seconds) fixes the clock, for tests and screenshots.
"""

from __future__ import annotations

import os
import sys
import time

from ..model.statusline import FIVE_HOUR_S, SEVEN_DAY_S, StatusLine, current, duration, pace, parse, pct
from ..model.text import clean

PATH = "/ccmon/v1/statusline"
POST_TIMEOUT_S = 0.2  # connect + send; the line is already printed, this bounds the process's life
MINUTE_NS = 60_000_000_000

# SGR colours. Claude Code draws uncoloured text dim grey, and after a reset returns to that
# grey, so every figure that matters gets a colour of its own and separators stay plain.
_C = {"model": "1;36", "cost": "33", "ok": "32", "warn": "33", "bad": "1;31", "cold": "34", "label": "", "dim": "2"}
SEP = " · "


_FLAGS = {"--no-color": "no_color"}
_VALUED = {
    "--bind": ("bind", str),
    "--http-port": ("http_port", int),
    "--token": ("token", str),
    "--db": ("db", str),
    "--format": ("format", str),
    "--lines": ("lines", int),
}


def quick_args(argv: list[str]):
    """``ccmon statusline [options]`` parsed without argparse (``ccmon.quickargs``), or None to
    let argparse do it (``--help``, a typo, options before the subcommand): building the full
    parser would cost ~8 ms on every status-line refresh."""
    from types import SimpleNamespace

    from ..defaults import DEFAULT_BIND, DEFAULT_HTTP_PORT
    from ..quickargs import parse

    if not argv or argv[0] != "statusline":
        return None
    ns = SimpleNamespace(
        bind=DEFAULT_BIND, http_port=DEFAULT_HTTP_PORT, token=None, db=None, format=None, lines=1, no_color=False
    )
    if parse(argv[1:], ns, _FLAGS, _VALUED) is None or ns.lines not in (1, 2) or not 0 <= ns.http_port <= 65535:
        return None
    return ns


def run(args) -> int:
    """Never raises and always returns 0: Claude Code shows nothing for a failed command."""
    try:
        raw = sys.stdin.buffer.read(1 << 20)
    except Exception:
        raw = b""
    try:
        now = _now()
        sl = parse(raw)
        color = not args.no_color and not os.environ.get("NO_COLOR")
        today = today_cost(args.db or default_db(), now) if sl is not None else None
        text = render(sl, now, today, fmt=args.format, lines=args.lines, color=color)
    except Exception:
        sl, text = None, "ccmon"
    _write(text)
    if sl is not None and sl.session:
        try:
            post(raw, _host(args.bind), args.http_port, _token(args), POST_TIMEOUT_S)
        except Exception:
            pass
    return 0


def _write(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except Exception:
        pass


def _now() -> float:
    fixed = os.environ.get("CCMON_NOW")
    if fixed:
        try:
            return float(fixed)
        except ValueError:
            pass
    return time.time()


def _token(args) -> str:
    return getattr(args, "token", None) or os.environ.get("CCMON_TOKEN") or ""


def _host(bind: str) -> str:
    """Where to reach a receiver bound to ``bind``: a wildcard address means this machine."""
    if bind in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind == "::":
        return "::1"
    return bind


def default_db() -> str:
    """``model.db.default_path()``, without importing pathlib and the rest of model.db (a
    test checks that they agree)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "ccmon", "ccmon.db")


# -- today's cost, from the store ----------------------------------------------------------------


def today_cost(db: str | None, now: float) -> float | None:
    """Today's spend (local day) from the ccmon database, read-only; None when there is none.

    The per-minute rollup is keyed (series, minute), so this is one index range per cost
    series, not a scan of the points."""
    if not db or not os.path.exists(db):
        return None
    import sqlite3

    lt = time.localtime(now)
    midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            row = conn.execute(
                "SELECT SUM(inc) FROM point_minutes WHERE series_id IN "
                "(SELECT id FROM series WHERE metric = 'claude_code.cost.usage') AND minute >= ? AND minute <= ?",
                (int(midnight * 1e9) // MINUTE_NS, int(now * 1e9) // MINUTE_NS),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return float(row[0]) if row and row[0] is not None else 0.0


# -- feeding the running ccmon --------------------------------------------------------------------


def post(body: bytes, host: str, port: int, token: str, timeout: float) -> None:
    """Send ``body`` to a running ccmon and go: fire and forget.

    A hand-written HTTP/1.1 request on a plain socket (no import of http.client). The answer
    is not awaited: the request is in the receiver's socket buffer once ``sendall`` returns,
    the server reads it whole before it answers, and the status line's process need not live
    through the store's commit (a busy ccmon would otherwise make every line late)."""
    s = _connect(host, port, timeout)
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        s.sendall(
            (
                f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{auth}Connection: close\r\n\r\n"
            ).encode("latin-1")
            + body
        )
        s.shutdown(1)  # SHUT_WR: a FIN after the request, so the server sees a complete one
    finally:
        s.close()


def _connect(host: str, port: int, timeout: float):
    """A connected TCP socket. An IP address (the usual case: the receiver's --bind) goes
    through ``_socket`` directly: ``socket`` builds its enums on import and resolving a name
    loads the idna codec, ~7 ms together, a tenth of the budget."""
    import _socket

    if host == "localhost":
        host = "127.0.0.1"
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(family, host)
        except OSError:
            continue
        s = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect((host, port))
        except BaseException:
            s.close()
            raise
        return s
    import socket

    return socket.create_connection((host, port), timeout=timeout)


# -- the line -------------------------------------------------------------------------------------


def _paint(text: str, style: str, color: bool) -> str:
    code = _C.get(style, style)
    return f"\x1b[{code}m{text}\x1b[0m" if color and code and text else text


def _level(p: float) -> str:
    return "ok" if p < 50 else "warn" if p < 80 else "bad"


def _money(x: float) -> str:
    if 0 < x < 0.005:
        return "<$0.01"
    return f"${x:,.2f}"


def fields(sl: StatusLine, now: float, today: float | None, color: bool) -> dict[str, str]:
    """Every named field of ``--format``, as text (coloured when ``color``); a field the
    input does not have is ""."""
    f: dict[str, str] = {}
    f["model"] = _paint(clean(sl.model), "model", color)
    f["model_id"] = clean(sl.model_id)
    f["effort"] = clean(sl.effort)
    f["version"] = clean(sl.version)
    f["session"] = clean(sl.session[:8])
    f["cwd"] = clean(sl.cwd)
    f["dir"] = clean(os.path.basename(sl.cwd.rstrip("/")) or sl.cwd)
    f["repo"] = clean(sl.repo)
    if sl.cost_usd is not None:
        f["session_cost"] = _paint(_money(sl.cost_usd), "cost", color)
        hours = max((sl.duration_ms or 0) / 3.6e6, 1 / 60)  # at least a minute: no $1000/h at start
        f["rate"] = _paint(f"{_money(sl.cost_usd / hours)}/h", "cost", color)
    if today is not None:
        f["today_cost"] = _paint(_money(today), "cost", color)
    if sl.lines_added is not None or sl.lines_removed is not None:
        f["lines"] = f"+{sl.lines_added or 0:.0f} -{sl.lines_removed or 0:.0f}"
    if sl.context_pct is not None:
        f["context_pct"] = pct(sl.context_pct)
        f["context"] = _paint(pct(sl.context_pct), _level(sl.context_pct), color)
    for name, label, w, length in (
        ("five_hour", "5h", sl.five_hour, FIVE_HOUR_S),
        ("seven_day", "7d", sl.seven_day, SEVEN_DAY_S),
    ):
        w = current(w, now)
        if w is None:
            continue
        p = pace(w, length, now)
        f[f"{name}_pct"] = pct(w.used_pct)
        f[f"{name}_reset"] = duration(w.resets_at - now)
        f[f"{name}_pace"] = "" if p is None else _paint("▲" if p.over else "▼", "bad" if p.over else "ok", color)
        f[f"{name}_projected"] = "" if p is None else pct(p.projected_pct)
        marker = f" {f[f'{name}_pace']}" if f[f"{name}_pace"] else ""
        f[name] = f"{label} {_paint(pct(w.used_pct), _level(w.used_pct), color)}{marker} ↻{duration(w.resets_at - now)}"
    if sl.cache_warm is not None:
        left = (sl.cache_expires_at or 0) - now
        if sl.cache_warm and left > 0:
            f["cache_left"] = duration(left)
            f["cache"] = f"cache {_paint('warm', 'ok', color)} {duration(left)}"
        else:
            f["cache"] = f"cache {_paint('cold', 'cold', color)}"
    return f


LINE1 = ("model", "session_cost", "today", "rate", "ctx")
LINE2 = ("five_hour", "seven_day", "cache")


def render(
    sl: StatusLine | None,
    now: float,
    today: float | None,
    *,
    fmt: str | None = None,
    lines: int = 1,
    color: bool = True,
) -> str:
    if sl is None:
        return "ccmon"  # empty or unreadable input: a minimal line, never nothing
    f = fields(sl, now, today, color)
    if fmt:
        try:
            return fmt.format_map(_Blank(f)).replace("\\n", "\n")
        except (ValueError, IndexError, AttributeError, KeyError) as exc:
            return f"ccmon: bad --format: {exc}"
    parts = {
        "model": f.get("model", ""),
        "session_cost": f.get("session_cost", ""),
        "today": f"today {f['today_cost']}" if "today_cost" in f else "",
        "rate": f.get("rate", ""),
        "ctx": f"ctx {f['context']}" if "context" in f else "",
        "five_hour": f.get("five_hour", ""),
        "seven_day": f.get("seven_day", ""),
        "cache": f.get("cache", ""),
    }
    first = SEP.join(p for k in LINE1 if (p := parts[k]))
    second = SEP.join(p for k in LINE2 if (p := parts[k]))
    if lines >= 2:
        return first + ("\n" + second if second else "")
    return SEP.join(p for p in (first, second) if p) or "ccmon"


class _Blank(dict):
    """A ``format_map`` mapping in which a field the input lacks is empty, not an error."""

    def __missing__(self, key: str) -> str:
        return ""
