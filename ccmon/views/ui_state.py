"""The dashboard's remembered choices: theme, sessions sort and time range, group-by dimension.

Kept in ``$XDG_CONFIG_HOME/ccmon/state.json`` (``~/.config/ccmon/state.json``), apart from
``config.toml``: that one is the user's to edit; this one ccmon rewrites on every exit. A
missing, unreadable or foreign file is the same as no file: the defaults.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

KEYS = ("theme", "sort", "descending", "group_by", "range")


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ccmon" / "state.json"


def load(path: Path | None) -> dict:
    """The remembered choices, only those of the expected types."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out = {k: data[k] for k in ("theme", "sort", "group_by", "range") if isinstance(data.get(k), str)}
    if isinstance(data.get("descending"), bool):
        out["descending"] = data["descending"]
    return out


def save(path: Path | None, state: dict) -> None:
    """Write ``state`` atomically; a failure (read-only home) is not worth an error on exit."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({k: state[k] for k in KEYS if k in state}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def screenshot_dir() -> Path:
    """Where the palette's Screenshot goes: ~/Downloads if there is one, else the current
    directory (Textual's default, ~/Downloads, fails where it does not exist)."""
    downloads = Path(os.path.expanduser("~")) / "Downloads"
    return downloads if downloads.is_dir() else Path.cwd()
