"""Attribution by query source, agent, skill and repository: synthetic exports (what Claude Code
adds with OTEL_METRICS_INCLUDE_REPOSITORY=true and for subagents and skills) sent over gRPC to a
real receiver; the rows add up to the total, with an explicit "unattributed" row."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from app_support import FIXED_NS, StoreSource, pane_lines, screen_text, utc, wait_for  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st
from insight_data import MIN_NS, T0, Session, logs, metrics
from otlp_client import grpc_export

from ccmon.model import attribution as at
from ccmon.model import insight_db
from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")

REPO = {
    "vcs.owner.name": "acme",
    "vcs.repository.name": "shop",
    "vcs.repository.url.full": "https://github.com/acme/shop",
    "vcs.provider.name": "github",
}


def scenario() -> list[Session]:
    s1 = Session("s-repo", **REPO)
    s1.event(T0, "user_prompt", **{"prompt.id": "p1", "prompt_length": "12"})
    s1.request(T0 + 1 * MIN_NS, "p1", 0.40, query_source="main", effort="high")
    s1.request(T0 + 2 * MIN_NS, "p1", 0.25, query_source="subagent", effort="high", **{"agent.name": "reviewer"})
    s1.request(T0 + 3 * MIN_NS, "p1", 0.10, query_source="main", effort="medium", **{"skill.name": "pdf"})
    s2 = Session("s-plain")
    s2.event(T0, "user_prompt", **{"prompt.id": "p2", "prompt_length": "3"})
    s2.request(T0 + 4 * MIN_NS, "p2", 0.05, query_source="auxiliary", tokens=(10, 5, 0, 0))
    return [s1, s2]


async def _send(rx, sessions) -> None:
    for s in sessions:
        await asyncio.to_thread(grpc_export, rx.grpc_port, "logs", logs(s.events))
        await asyncio.to_thread(grpc_export, rx.grpc_port, "metrics", metrics(s.points))


def _split(a: at.Attribution) -> list[tuple[str, float]]:
    return [(r.value, round(r.cost, 10)) for r in a.rows]


async def test_cost_by_repository_agent_skill_and_source_adds_up(otlp):
    await _send(otlp, scenario())
    conn = otlp.store._read
    sums = insight_db.metric_sums(conn, (at.COST_METRIC, at.TOKEN_METRIC))
    events = insight_db.api_requests(conn)
    expected = {
        "repository": [("acme/shop", 0.75), ("unattributed", 0.05)],
        "agent": [("reviewer", 0.25), ("unattributed", 0.55)],
        "skill": [("pdf", 0.1), ("unattributed", 0.7)],
        "query_source": [("main", 0.5), ("subagent", 0.25), ("auxiliary", 0.05)],
        "effort": [("high", 0.65), ("medium", 0.1), ("unattributed", 0.05)],
        "mcp_server": [("unattributed", 0.8)],
    }
    for dim, rows in expected.items():
        by_metric, by_event = at.from_metrics(sums, dim), at.from_events(events, dim)
        assert _split(by_metric) == rows, dim
        assert _split(by_event) == rows, dim
        assert round(by_metric.cost, 10) == 0.8 and by_metric.tokens.as_dict() == {
            "input": 310,
            "output": 155,
            "cacheRead": 3000,
            "cacheCreation": 600,
        }
    repo = at.from_events(events, "repository").rows[0]
    assert (repo.requests, repo.sessions, repo.tokens.as_dict()["cacheRead"]) == (3, 1, 3000)
    assert at.from_metrics(sums, "repository").rows[0].requests is None  # metrics count no requests
    # The session's repository is known from its metric labels.
    row = next(s for s in otlp.store.snapshot().sessions if s.key == "s-repo")
    assert at.repository_of_labels(row.labels) == "acme/shop"


def test_repository_falls_back_to_name_then_url():
    assert at.repository({"vcs.repository.name": "shop"}) == "shop"
    assert at.repository({"vcs.repository.url.full": "https://x/y"}) == "https://x/y"
    assert at.repository({}) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None, ""]),
            st.sampled_from(["r1", None]),
            st.integers(0, 10_000),
            st.integers(0, 5000),
        ),
        max_size=30,
    )
)
def test_rows_always_add_up_to_the_total(reqs):
    """Against a reference: every request lands in exactly one row of every dimension."""
    events = []
    for i, (agent, repo, micros, cw) in enumerate(reqs):
        a = {"cost_usd": micros / 1e6, "cache_creation_tokens": cw}
        if agent is not None:
            a["agent.name"] = agent
        if repo is not None:
            a["vcs.repository.name"] = repo
        events.append((i, f"s{i % 3}", "api_request", a))
    for dim in ("agent", "repository", "plugin"):
        got = at.from_events(events, dim)
        assert sum(r.requests for r in got.rows) == len(reqs)
        assert round(got.cost, 9) == round(sum(m for _, _, m, _ in reqs) / 1e6, 9)
        assert got.tokens.cacheCreation == sum(cw for *_, cw in reqs)
        assert len({r.value for r in got.rows}) == len(got.rows)
    agents = {r.value: r.requests for r in at.from_events(events, "agent").rows}
    assert agents.get("unattributed", 0) == sum(1 for a, *_ in reqs if not a)


async def test_report_by_repository_and_agent(otlp):
    await _send(otlp, scenario())
    db = str(otlp.store.path)
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "agent", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["from_metrics"]["source"] == "cost.usage / token.usage metrics"
    assert [(r["value"], r["cost_usd"]) for r in d["from_metrics"]["rows"]] == [
        ("reviewer", 0.25),
        ("unattributed", 0.55),
    ]
    assert [(r["value"], r["requests"]) for r in d["from_events"]["rows"]] == [("reviewer", 1), ("unattributed", 3)]
    text = (
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "repository"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    ).stdout
    assert "cost and tokens by repository  (from cost.usage / token.usage metrics; total $0.8000" in text
    assert "  acme/shop                                $    0.7500" in text


async def test_attribution_screen_and_repo_column(otlp, tmp_path):
    await _send(otlp, scenario())
    app = CcmonApp(StoreSource(otlp.store), clock=lambda: T0 + 10 * MIN_NS)
    async with app.run_test(size=(230, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        repo_col = [line for line in pane_lines(app, "#sessions") if line.startswith("s-repo")]
        assert repo_col and repo_col[0].endswith("shop"), repo_col
        app.action_insight("attribution")
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False), "the attribution")
        lines = pane_lines(app, "#attribution-box")
        assert lines[0].startswith("╭─ By query_source, from the cost.usage / token.usage metrics")
        assert lines[2].startswith("main $0.5000 62% 200 100 2.0k 400 1 —")
        assert lines[5].startswith("total $0.8000")
        app.screen.loaded = False
        await pilot.press("b")  # query_source -> effort, and back
        await pilot.press("B")
        for _ in range(7):  # query_source -> ... -> repository
            await pilot.press("b")
        await wait_for(pilot, lambda: app.screen.loaded and app.screen.dim == "repository", "by repository")
        await pilot.pause()
        lines = pane_lines(app, "#attribution-events-box")
        assert lines[2].startswith("acme/shop $0.7500 94% 300 150 3.0k 600 1 3")
        assert lines[3].startswith("unattributed $0.0500 6% 10 5 0 0 1 1")
        assert "All $ are Claude Code's own estimates" in screen_text(app)


def test_env_and_doctor_mention_the_repository_setting(tmp_path, monkeypatch):
    from ccmon.commands import doctor
    from ccmon.commands.env import Target, render

    assert "# export OTEL_METRICS_INCLUDE_REPOSITORY=true" in render(Target(), "grpc", "sh")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CCMON_MANAGED_SETTINGS", str(tmp_path / "managed.json"))
    monkeypatch.chdir(tmp_path)
    off = {f.code: f for f in doctor.inspect(Target(), {}).findings}["repository_off"]
    assert (off.severity, off.fix) == ("info", "OTEL_METRICS_INCLUDE_REPOSITORY=true")
    on = {f.code for f in doctor.inspect(Target(), {"OTEL_METRICS_INCLUDE_REPOSITORY": "true"}).findings}
    assert "repository_off" not in on
