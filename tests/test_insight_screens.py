"""SVG snapshots of the insight screens, kept in screenshots/ beside the dashboard's: the
Prompts view (the showcase day, most expensive first), a prompt's steps, and attribution.
Regenerate with ``python -m pytest tests/test_insight_screens.py --snapshot-update``."""

from __future__ import annotations

import pytest
from app_support import FIXED_NS, SHOWCASE, StoreSource, fixed_store, utc, wait_for  # noqa: F401
from test_app_screens import screenshot  # noqa: F401 (a fixture)

from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")


@pytest.fixture
def app(tmp_path):
    return CcmonApp(StoreSource(fixed_store(tmp_path / "ccmon.db", *SHOWCASE)), clock=lambda: FIXED_NS)


async def _prompts(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None, "the first snapshot")
    await pilot.press("P")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "rows", None) is not None, "the prompts")


async def _prompt(pilot) -> None:
    await _prompts(pilot)
    await pilot.press("enter")  # the most expensive one
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "steps", None) is not None, "the prompt's steps")


async def _attribution(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None, "the first snapshot")
    pilot.app.action_insight("attribution")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "loaded", False), "the attribution")


def test_prompts_160x48(screenshot, app):
    assert screenshot(app, terminal_size=(160, 48), run_before=_prompts)


def test_prompt_160x48(screenshot, app):
    assert screenshot(app, terminal_size=(160, 48), run_before=_prompt)


def test_attribution_160x48(screenshot, app):
    assert screenshot(app, terminal_size=(160, 48), run_before=_attribution)
