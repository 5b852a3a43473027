"""What Claude Code hands a ``statusLine`` command, as a typed snapshot, and the plan-use pace.

Claude Code (2.1.197, 2.1.330) runs the status-line command with one JSON object on stdin. It
carries what no telemetry does: the claude.ai plan limits (``rate_limits.five_hour/seven_day``,
subscribers only, after the first API response), the context window in use, the prompt
cache's expiry (2.1.330), the repository and the working directory. ``parse`` turns it into a
``StatusLine``, taking only values of the expected type: the input is untrusted and may be
anything (a startup call with nulls, a future version, garbage).

Pure and stdlib only: ``ccmon statusline`` imports this on a path that must finish in tens of
milliseconds, and the receiver and the dashboard use the same functions.
"""

from __future__ import annotations

import json
import math
from collections import namedtuple

# ``typing`` is not imported: it alone costs ~5 ms of the status line's start-up. The records
# are namedtuples (cheap to build, compare and store), their field types listed in comments.

# Window lengths: a window's start is its reset time minus its length.
FIVE_HOUR_S = 5 * 3600
SEVEN_DAY_S = 7 * 86400
MAX_BYTES = 64 * 1024  # the CLI sends 1-2 KB; anything much larger is not a status line
MIN_ELAPSED = 0.02  # a pace needs 2% of the window behind it (6 min of 5 h), else it is noise


# One plan-limit window: used_pct (float, 0-100; 2.1.197 sends it unrounded) and resets_at
# (int, Unix seconds).
Window = namedtuple("Window", "used_pct resets_at")

# model: the display name, else the id. repo: "owner/name" (the host is left out: nearly
# always github.com). cache_warm: None without prompt_cache (2.1.197, or before a response).
# The fields and defaults are literals so that a type checker can read the record.
StatusLine = namedtuple(
    "StatusLine",
    # str, "" when absent
    "session prompt_id version model model_id effort cwd project_dir repo cache_ttl "
    # float | None
    "cost_usd duration_ms lines_added lines_removed context_pct cache_hit_ratio "
    # int | None: context_size, cache_expires_at (Unix s); Window | None; bool | None
    "context_size cache_expires_at five_hour seven_day cache_warm",
    defaults=("", "", "", "", "", "", "", "", "", "", None, None, None, None, None, None, None, None, None, None, None),
)


def _obj(d: object, key: str) -> dict:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, dict) else {}


def _str(d: dict, key: str) -> str:
    v = d.get(key)
    return v if isinstance(v, str) else ""


def _num(d: dict, key: str) -> float | None:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _window(d: dict) -> Window | None:
    used, resets = _num(d, "used_percentage"), _num(d, "resets_at")
    if used is None or resets is None or used < 0:
        return None
    return Window(used, int(resets))


def parse(raw: bytes | str) -> StatusLine | None:
    """The status-line JSON as a ``StatusLine``; None when it is not a JSON object."""
    if not raw or len(raw) > MAX_BYTES:
        return None
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(d, dict):
        return None
    model, ws, cost, ctx = _obj(d, "model"), _obj(d, "workspace"), _obj(d, "cost"), _obj(d, "context_window")
    repo = _obj(ws, "repo")
    rl, pc = _obj(d, "rate_limits"), _obj(d, "prompt_cache")
    owner, name = _str(repo, "owner"), _str(repo, "name")
    size = _num(ctx, "context_window_size")
    warm = pc.get("warm")
    expires = _num(pc, "expires_at")
    return StatusLine(
        session=_str(d, "session_id"),
        prompt_id=_str(d, "prompt_id"),
        version=_str(d, "version"),
        model=_str(model, "display_name") or _str(model, "id"),
        model_id=_str(model, "id"),
        effort=_str(_obj(d, "effort"), "level"),
        cwd=_str(d, "cwd") or _str(ws, "current_dir"),
        project_dir=_str(ws, "project_dir"),
        repo=f"{owner}/{name}" if owner and name else name,
        cost_usd=_num(cost, "total_cost_usd"),
        duration_ms=_num(cost, "total_duration_ms"),
        lines_added=_num(cost, "total_lines_added"),
        lines_removed=_num(cost, "total_lines_removed"),
        context_pct=_num(ctx, "used_percentage"),
        context_size=int(size) if size is not None else None,
        five_hour=_window(_obj(rl, "five_hour")),
        seven_day=_window(_obj(rl, "seven_day")),
        cache_warm=warm if isinstance(warm, bool) else None,
        cache_expires_at=int(expires) if expires is not None else None,
        cache_ttl=_str(pc, "ttl"),
        cache_hit_ratio=_num(pc, "hit_ratio"),
    )


# -- pace --------------------------------------------------------------------------------------


class Pace(namedtuple("Pace", "elapsed projected_pct hit_at")):
    """Where a window is heading at the rate it has been used since it started: ``elapsed``
    the share of the window behind us (0-1), ``projected_pct`` the use at the reset if the
    rate holds, ``hit_at`` when 100% is reached at that rate (Unix s), None if not before the
    reset."""

    __slots__ = ()

    @property
    def over(self) -> bool:
        """On course to run out before the reset."""
        return self.projected_pct >= 100.0


def pace(w: Window, length_s: int, now_s: float) -> Pace | None:
    """Linear projection over the window so far: use ``u`` after a share ``e`` of the window
    projects to ``u / e`` at the reset, and reaches 100% after ``100 / u`` of the elapsed
    time. None when the window has reset, or too little of it has passed to tell."""
    left = w.resets_at - now_s
    if left <= 0:
        return None
    elapsed_s = length_s - left
    if elapsed_s < MIN_ELAPSED * length_s:
        return None
    elapsed = elapsed_s / length_s
    projected = w.used_pct / elapsed
    hit_at = None
    if w.used_pct >= 100:
        hit_at = now_s
    elif w.used_pct > 0:
        t = now_s - elapsed_s + elapsed_s * 100.0 / w.used_pct  # window start + time to 100%
        hit_at = t if t < w.resets_at else None
    return Pace(elapsed, projected, hit_at)


def current(w: Window | None, now_s: float) -> Window | None:
    """``w`` unless its reset has passed (2.1.197 keeps sending a window that reset; its
    figure then says nothing about the new window)."""
    return w if w is not None and w.resets_at > now_s else None


# -- text ---------------------------------------------------------------------------------------


def pct(x: float) -> str:
    """46 -> "46%", 56.789100000000005 -> "56.8%"."""
    r = round(x, 1)
    return f"{r:.0f}%" if r == int(r) else f"{r:.1f}%"


def duration(s: float) -> str:
    """A countdown, two units at most: 45s, 12m, 1h20m, 3d04h."""
    s = max(int(s), 0)
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"
