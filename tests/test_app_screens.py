"""SVG snapshots of the dashboard, kept in screenshots/ (the README shows main-160x48.svg).

Fixed data (a day of captured exports) and a fixed clock, in UTC, so every age, "today", burn
rate and sparkline is the same on every machine. After an intended change to the screen,
regenerate them with ``python -m pytest tests/test_app_screens.py --snapshot-update`` and look
at the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_textual_snapshot
from app_support import FIXED_NS, SHOWCASE, StoreSource, fixed_store, utc, wait_for  # noqa: F401 (utc is a fixture)

from ccmon.views.app import CcmonApp

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"

pytestmark = pytest.mark.usefixtures("utc")


class ScreenshotSVG(pytest_textual_snapshot.SVGImageExtension):
    """Store snapshots as screenshots/<name>.svg, named after the test (test_main_80x24 ->
    main-80x24.svg), instead of in a __snapshots__ folder beside the tests."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SCREENSHOTS)

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return test_location.testname.removeprefix("test_").replace("_", "-")


@pytest.fixture
def screenshot(monkeypatch, request):
    # snap_compare picks its syrupy extension by this module-level name when it is set up.
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", ScreenshotSVG)
    return request.getfixturevalue("snap_compare")


@pytest.fixture
def app(tmp_path):
    return CcmonApp(StoreSource(fixed_store(tmp_path / "ccmon.db", *SHOWCASE)), clock=lambda: FIXED_NS)


async def _ttft_loaded(pilot) -> None:
    """API health reads the time to first token on a worker: wait for it."""
    await wait_for(
        pilot, lambda: any(w._ttft_for is not None for w in pilot.app.main.query("#api")), "the time to first token"
    )


def test_main_80x24(screenshot, app):
    assert screenshot(app, terminal_size=(80, 24), run_before=_ttft_loaded)


def test_main_160x48(screenshot, app):
    assert screenshot(app, terminal_size=(160, 48), run_before=_ttft_loaded)


async def _open_session(pilot) -> None:
    await pilot.press(*["down"] * 7, "enter")  # the 2.1.330 `all` run: 6 API requests, 5 tools
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "detail", None) is not None, "the session detail")
    await wait_for(pilot, lambda: pilot.app.screen.query_one("#session-insight").loaded is not None, "cache and money")


def test_session_160x48(screenshot, app):
    assert screenshot(app, terminal_size=(160, 48), run_before=_open_session)


# One snapshot per named layout and the sizes a split pane usually has (tests/test_layout.py
# checks the same sizes in text: sessions rows, headline figures, no cut numbers).
def test_main_100x30(screenshot, app):
    assert screenshot(app, terminal_size=(100, 30))


def test_main_120x24(screenshot, app):
    assert screenshot(app, terminal_size=(120, 24))


def test_main_120x40(screenshot, app):
    assert screenshot(app, terminal_size=(120, 40))


def test_main_220x60(screenshot, app):
    assert screenshot(app, terminal_size=(220, 60))
