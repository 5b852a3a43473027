"""The layout is the flow: ingest -> model -> views. Each layer's imports are checked in a
fresh interpreter, so a stray import anywhere in the package shows up here."""

from __future__ import annotations

import ast
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
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
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
    code = (
        "import sys, json\nfrom ccmon.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'grpc', 'httpx', 'google', 'rich', 'sqlite3'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_ingest_imports_neither_the_cli_nor_the_views():
    loaded = _top(loaded_after_importing(modules("ingest")))
    assert loaded & {"ccmon.cli", "ccmon.views", "ccmon.compose"} == set()


def test_model_runs_no_servers():
    """The model is meaning only: no event loop servers, no threads of its own (the group
    committer that owns the SQLite thread lives in ingest/)."""
    loaded = loaded_after_importing(modules("model"))
    assert {m for m in loaded if m.split(".")[0] in ("asyncio", "concurrent", "socket", "ssl", "selectors")} == set()


def _imports(path: Path, module: str) -> set[str]:
    """Every ccmon module ``path`` imports, at any depth (lazy imports too), except under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
        for n in ast.walk(node)
    }
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for n in ast.walk(tree):
        if id(n) in typing_only:
            continue
        if isinstance(n, ast.ImportFrom):
            base = package[: len(package) - n.level + 1] if n.level else []
            target = ".".join(base + ([n.module] if n.module else []))
            out.update(f"{target}.{a.name}" for a in n.names)
            out.add(target)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return out


def test_no_import_cycles():
    files = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {m: {d for d in _imports(f, m) if d in files and d != m and d != "ccmon"} for m, f in files.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
        return False

    cycles = sorted((a, b) for a in graph for b in graph[a] if reaches(b, a))
    assert cycles == []
