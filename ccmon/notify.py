"""Desktop notifications: ``notify-send`` on Linux, ``osascript`` on macOS, nothing elsewhere.

Fire and forget: the notifier runs as a child process that is never waited on by the caller's
thread for more than a moment, so a slow notification daemon cannot hold up ingestion. The text
is telemetry (tool names), so it goes as an argument (no shell) and is escaped for what the
notifier interprets: notify-send bodies are a Pango markup subset, AppleScript strings quote.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from .model.text import clean


def _pango(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(title: str, body: str, platform: str | None = None) -> list[str] | None:
    """The notifier's argv, or None when this system has none."""
    title, body = clean(title), clean(body)
    platform = platform or sys.platform
    if platform == "darwin":
        exe = shutil.which("osascript")
        if exe:
            return [exe, "-e", f"display notification {_applescript(body)} with title {_applescript(title)}"]
        return None
    exe = shutil.which("notify-send")
    if exe:
        return [exe, "--app-name=ccmon", title, _pango(body)]
    return None


def notify(title: str, body: str) -> bool:
    """Show a desktop notification; False when there is no notifier or it could not start."""
    argv = command(title, body)
    if argv is None:
        return False
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        proc.wait(2)  # notify-send returns at once; do not leave a zombie behind
    except subprocess.TimeoutExpired:
        pass
    return True
