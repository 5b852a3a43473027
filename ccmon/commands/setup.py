"""``ccmon setup``: put the ``ccmon env`` block (or the status line) into ~/.claude/settings.json.

Idempotent (a second run changes nothing and writes nothing), keeps every other key, backs up
the previous file, shows the diff, and ``--undo`` restores the backup. It never writes into a
repository's ``.claude/``: recent Claude Code ignores exporter variables there.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import CcmonError
from . import claude_settings as cs
from .env import Target, env_object

STATUSLINE_COMMAND = "ccmon statusline"
# Per-signal settings override the generic endpoint/protocol: left in place, they would keep
# sending metrics or logs elsewhere.
OVERRIDES = tuple(
    f"OTEL_EXPORTER_OTLP_{sig}_{what}" for sig in ("METRICS", "LOGS") for what in ("ENDPOINT", "PROTOCOL")
)
REPO_SCOPE_REFUSAL = (
    "ccmon setup writes only ~/.claude/settings.json (--scope user): Claude Code ignores exporter "
    "variables in a repository's .claude/settings.json and .claude/settings.local.json (only values that "
    "switch telemetry off apply there), so writing them there would look right and send nothing"
)


def merged_env(doc: dict[str, Any], block: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """``doc`` with ``block`` merged into its ``env`` (existing keys keep their place), and the
    per-signal overrides that were removed."""
    out = dict(doc)
    env = dict(doc.get("env") or {}) if isinstance(doc.get("env"), dict) else {}
    removed = [k for k in OVERRIDES if k in env]
    for k in removed:
        del env[k]
    env.update(block)
    out["env"] = env
    return out, removed


def with_statusline(doc: dict[str, Any], replace: bool) -> dict[str, Any]:
    current = doc.get("statusLine")
    wanted = {"type": "command", "command": STATUSLINE_COMMAND}
    if isinstance(current, dict) and current.get("command") == STATUSLINE_COMMAND:
        return doc
    if current and not replace:
        shown = current.get("command") if isinstance(current, dict) else current
        raise CcmonError(
            f"~/.claude/settings.json already has a status line ({shown!r}); ccmon leaves it alone. "
            "Run `ccmon setup --statusline --replace` to replace it (the old file is backed up), "
            "or print `ccmon statusline` from your own status line script"
        )
    out = dict(doc)
    out["statusLine"] = {**(current if isinstance(current, dict) else {}), **wanted} if replace else wanted
    return out


def run(args: argparse.Namespace) -> int:
    if args.scope != "user":
        raise CcmonError(REPO_SCOPE_REFUSAL, 2)
    path = cs.user_settings()
    if args.undo:
        print(cs.undo(path), end="")
        print(f"restored {path} from its backup")
        return 0
    doc = cs.read(path)
    old_text = cs.current_text(path)
    base = doc if doc is not None else {}
    notes: list[str] = []
    if args.statusline:
        new = with_statusline(base, args.replace)
        what = "the ccmon status line"
    else:
        new, removed = merged_env(base, env_object(Target.from_args(args), args.protocol))
        what = "Claude Code's telemetry settings for this ccmon"
        if removed:
            notes.append("removed " + ", ".join(removed) + ": they override the endpoint and protocol above")
    new_text = cs.dumps(new)
    if doc is not None and new == doc:
        print(f"{path} already has {what}; nothing to change")
        return 0
    print(cs.diff(path, old_text, new_text), end="")
    for note in notes:
        print(f"note: {note}")
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    cs.write(path, new_text)
    print(
        f"wrote {path} (the previous version is in {path.name}{cs.BACKUP_SUFFIX}; `ccmon setup --undo` "
        "restores it). New Claude Code sessions pick it up; check with `ccmon doctor`."
    )
    return 0
