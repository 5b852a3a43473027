"""How the insight screens are reached: the app's keys and palette entries, in one place, so
the app itself only names this module."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand


def open_insight(app, what: str, session: str | None = None) -> None:
    """Push the insight screen ``what`` (prompts, attribution) for ``session`` or for all."""
    if what == "prompts":
        from .prompts import PromptsScreen

        app.push_screen(PromptsScreen(app.source, session, getattr(app, "clock", None)))
    elif what == "attribution":
        from .attribution import AttributionScreen

        app.push_screen(AttributionScreen(app.source, session, getattr(app, "clock", None)))


def insight_commands(app) -> Iterable[SystemCommand]:
    yield SystemCommand(
        "Prompts",
        "Every prompt of the last 24 h, most expensive first (Enter: why it cost that)",
        lambda: open_insight(app, "prompts"),
    )
    yield SystemCommand(
        "Attribution",
        "Cost and tokens by query source, effort, agent, skill, plugin, MCP server and repository",
        lambda: open_insight(app, "attribution"),
    )
