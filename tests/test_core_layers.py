"""The layout is the flow: ingest -> model -> views. Each layer's imports are checked in a
fresh interpreter, so a stray import anywhere in the package shows up here."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ccmon

PKG = Path(ccmon.__file__).parent


def modules(sub: str) -> list[str]:
    return [f"ccmon.{sub}.{m.name}" for m in pkgutil.walk_packages([str(PKG / sub)]) if not m.ispkg] + [f"ccmon.{sub}"]


def loaded_after_importing(mods: list[str]) -> set[str]:
    code = ("import importlib, json, sys\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def _top(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods} | {".".join(m.split(".")[:2]) for m in mods if m.startswith("ccmon.")}


def test_model_imports_no_ui_and_no_protocol():
    loaded = _top(loaded_after_importing(modules("model")))
    forbidden = {"textual", "rich", "grpc", "httpx", "h11", "google", "ccmon.ingest", "ccmon.views"}
    assert loaded & forbidden == set()


def test_ingest_imports_no_ui():
    mods = [m for m in modules("ingest")]
    loaded = _top(loaded_after_importing(mods))
    assert loaded & {"textual", "ccmon.views"} == set()


def test_views_speak_no_protocol():
    mods = modules("views")
    if len(mods) == 1:
        pytest.skip("no views yet")
    loaded = _top(loaded_after_importing(mods))
    assert loaded & {"grpc", "httpx", "h11", "google", "ccmon.ingest"} == set()


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["report", "--help"], ["serve", "--help"]])
def test_help_and_version_import_nothing_heavy(argv):
    code = ("import sys, json\nfrom ccmon.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'grpc', 'httpx', 'google', 'rich', 'sqlite3'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
