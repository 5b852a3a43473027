"""Small things: a closed pipe, the palette's screenshot, remembered choices, Prometheus never
reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import FIXED_NS, SHOWCASE, StoreSource, fixed_store, pane_lines, screen_text, utc, wait_for  # noqa: F401
from otlp_client import free_port

from ccmon.views import ui_state
from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return fixed_store(tmp_path_factory.mktemp("small") / "ccmon.db", *SHOWCASE)


def test_report_into_a_closed_pipe_ends_quietly(store):
    """`ccmon report | head -0`: the reader is gone before ccmon writes; no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccmon", "report", "--db", str(store.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # like `head` exiting at once
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert proc.returncode == 141
    # And a reader that stays gets the whole report.
    run = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", str(store.path)], capture_output=True, env=env, timeout=60
    )
    assert run.returncode == 0 and b"$1.4941" in run.stdout


async def test_palette_screenshot_goes_to_a_folder_that_exists(store, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a home without ~/Downloads
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        assert command.help == f"Save an SVG of the screen in {tmp_path}"
        path = Path(app.save_screenshot_and_say())
        await pilot.pause()
        assert path.parent == tmp_path and path.suffix == ".svg" and path.read_text().startswith("<svg ")
        assert any(str(path) in str(n.message) for n in app._notifications)
        (tmp_path / "home" / "Downloads").mkdir()
        assert ui_state.screenshot_dir() == tmp_path / "home" / "Downloads"


async def test_theme_sort_and_group_by_are_remembered(store, tmp_path):
    state = tmp_path / "config" / "ccmon" / "state.json"
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS, state_path=state)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "r", "b", "t", "t", "t")  # by cost, ascending; the second dimension; 24 h
        second = app.screen.query_one("#groups").dim
        app.theme = "nord"
        await pilot.pause()
        await pilot.press("q")
    assert json.loads(state.read_text()) == {
        "theme": "nord",
        "sort": "cost",
        "descending": False,
        "group_by": second,
        "range": "24 h",
    }

    again = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS, state_path=state)
    async with again.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"
        assert "active in 24 h · by cost ▲" in pane_lines(again, "#sessions")[0]
        assert f"Group by {second}" in pane_lines(again, "#groups")[0]

    # A broken file is no file: the defaults, and the next exit writes a good one.
    state.write_text("{not json")
    assert ui_state.load(state) == {}
    state.write_text(json.dumps({"theme": 3, "sort": "cost", "descending": "yes"}))
    assert ui_state.load(state) == {"sort": "cost"}
    assert ui_state.load(None) == {}


async def test_prometheus_never_reached_says_so_and_shows_no_zeros(tmp_path):
    from ccmon.cli import build_parser
    from ccmon.compose import make_app

    url = f"http://127.0.0.1:{free_port()}"
    app = make_app(build_parser().parse_args(["--prometheus", url, "--interval", "0.05"]))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.snapshot is not None
                and app.snapshot.status.last_error is not None
                and app.snapshot.version == app.source.version
            ),
            "a failed poll on screen",
        )
        await pilot.pause()
        text = " ".join(pane_lines(app, "#waiting"))
        assert f"Prometheus {url}: not connected yet: cannot connect: " in text, text
        screen = screen_text(app)
        assert "$0.0000" not in screen and "No Claude Code series" not in screen
