"""Claude Code's settings files: where they are, reading them, and writing one safely.

Writing always keeps the previous version beside the file (``settings.json.ccmon-backup``; an
empty backup means there was no file) so ``ccmon setup --undo`` can put it back, replaces the
file atomically, and returns the unified diff so the user sees exactly what changed.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import CcmonError

BACKUP_SUFFIX = ".ccmon-backup"
MANAGED_ENV = "CCMON_MANAGED_SETTINGS"  # overrides the managed settings path (tests, unusual installs)
MANAGED_LINUX = "/etc/claude-code/managed-settings.json"
MANAGED_MACOS = "/Library/Application Support/ClaudeCode/managed-settings.json"


def user_settings() -> Path:
    return Path.home() / ".claude" / "settings.json"


def managed_settings() -> Path:
    override = os.environ.get(MANAGED_ENV)
    if override:
        return Path(override)
    return Path(MANAGED_MACOS if sys.platform == "darwin" else MANAGED_LINUX)


def repository_root(start: Path | None = None) -> Path | None:
    """The enclosing git work tree (a ``.git`` directory or file), or None."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return None


def project_settings(root: Path) -> list[Path]:
    return [root / ".claude" / "settings.json", root / ".claude" / "settings.local.json"]


def read(path: Path) -> dict[str, Any] | None:
    """The parsed file, None when it does not exist; a CcmonError for anything unreadable
    (ccmon never overwrites a file it could not parse)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CcmonError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CcmonError(
            f"{path} is not valid JSON ({exc}); fix it by hand first, ccmon will not overwrite it"
        ) from None
    if not isinstance(doc, dict):
        raise CcmonError(f"{path} does not hold a JSON object; fix it by hand first")
    return doc


def env_of(doc: dict[str, Any] | None) -> dict[str, str]:
    env = (doc or {}).get("env")
    if not isinstance(env, dict):
        return {}
    return {str(k): str(v) for k, v in env.items()}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def diff(path: Path, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{path} (before)", f"{path} (after)")
    )


def current_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def write(path: Path, text: str) -> None:
    """Back up what is there (or mark that nothing was), then replace atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    _atomic(backup, current_text(path))
    _atomic(path, text)


def undo(path: Path) -> str:
    """Put the backup back; returns the diff. An empty backup means there was no file."""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if not backup.exists():
        raise CcmonError(f"nothing to undo: no backup {backup} (ccmon setup writes one when it changes {path})")
    before, after = current_text(path), backup.read_text(encoding="utf-8")
    if after:
        _atomic(path, after)
    elif path.exists():
        path.unlink()
    backup.unlink()
    return diff(path, before, after)


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.ccmon-tmp")
    tmp.write_text(text, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
