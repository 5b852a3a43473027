"""A small team's Claude Code history as Prometheus series, in any naming, with its exact figures.

Three sessions of team "platform" (plus a team "other" that ``--match '{team="platform"}'``
must keep out), one sample a minute, ending at ``end_s``:

    alice  2 h, sonnet +0.05 $/min and haiku +0.01 $/min, tokens growing, edits, a commit, a PR
    bob    90 min, opus from 1.00 $ (its first export already held it) +0.10 $/min
    carol  4 h ago: 0.50 $ of sonnet, then an hour of unchanged samples (ended 3 h ago; last seen
           4 h ago, when it last counted anything, as OTLP mode says)

so ``increase(cost[1h])`` is exactly 0.05*60 + 0.01*60 + 0.10*60 = 9.6 and every "so far"
figure is the counters' last value. ``Variant`` renames metrics and labels the ways real
pipelines do; the figures stay the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prom_server import counter

from ccmon.ingest.prometheus.naming import metric_name
from ccmon.model import names
from ccmon.model.summary import iso, report_dict

PLATFORM = 'team="platform"'  # the --match that keeps team "other" out
SONNET, HAIKU, OPUS = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"
BURN_PER_HOUR = 9.6  # USD, from the growth rates above
COST_PER_MINUTE = 0.16
TOKENS_PER_MINUTE = 136  # alice: sonnet 10+5+100+20, haiku 1


@dataclass(frozen=True)
class Variant:
    """How a pipeline names things. Default: the OTel Collector with honor_labels."""

    style: str = "units"
    prefix: str = ""
    cache_read: str = "cacheRead"
    cache_creation: str = "cacheCreation"
    tool_label: str = "tool_name"
    session_ids: bool = True
    user_labels: tuple[str, ...] = ("user_id", "user_email")
    pipeline_labels: dict[str, str] = field(default_factory=lambda: {"job": "claude-code"})

    def name(self, family: str) -> str:
        return metric_name(family, self.style, self.prefix)


USERS = {
    "alice": ("u-alice", "alice@example.com", "vscode"),
    "bob": ("u-bob", "bob@example.com", "tmux"),
    "carol": ("u-carol", "carol@example.com", "cursor"),
    "dave": ("u-dave", "dave@example.com", "xterm"),
}


def team_history(end_s: int, v: Variant = Variant()) -> list:
    out = []

    def add(
        family: str,
        who: str,
        extra: dict[str, str],
        per_minute: float,
        minutes: int = 120,
        start: float = 0.0,
        ends_before_s: int = 0,
        team: str = "platform",
    ) -> None:
        user_id, email, terminal = USERS[who]
        labels = {"team": team, "terminal_type": terminal, **v.pipeline_labels, **extra}
        labels.update({k: val for k, val in (("user_id", user_id), ("user_email", email)) if k in v.user_labels})
        if v.session_ids:
            labels["session_id"] = f"sess-{who}"
        out.append(counter(v.name(family), labels, end_s - ends_before_s, per_minute, minutes, start))

    def tokens(who: str, model: str, per_type: dict[str, tuple[float, float]], **kw) -> None:
        spelled = {"cacheRead": v.cache_read, "cacheCreation": v.cache_creation}
        for kind, (per_minute, start) in per_type.items():
            add(names.TOKENS, who, {"model": model, "type": spelled.get(kind, kind)}, per_minute, start=start, **kw)

    def edit(who: str, tool: str, language: str, source: str, decision: str, n: float, **kw) -> None:
        add(
            names.EDIT_DECISION,
            who,
            {v.tool_label: tool, "language": language, "source": source, "decision": decision},
            0,
            start=n,
            **kw,
        )

    add(names.COST, "alice", {"model": SONNET}, 0.05)
    add(names.COST, "alice", {"model": HAIKU}, 0.01)
    tokens("alice", SONNET, {"input": (10, 0), "output": (5, 0), "cacheRead": (100, 0), "cacheCreation": (20, 0)})
    tokens("alice", HAIKU, {"input": (1, 0)})
    add(names.LINES, "alice", {"type": "added"}, 0, start=40)
    add(names.LINES, "alice", {"type": "removed"}, 0, start=10)
    add(names.COMMITS, "alice", {}, 0, start=2)
    add(names.PULL_REQUESTS, "alice", {}, 0, start=1)
    add(names.ACTIVE_TIME, "alice", {"type": "user"}, 0, start=300)
    add(names.ACTIVE_TIME, "alice", {"type": "cli"}, 0, start=600)
    add(names.SESSIONS, "alice", {"start_type": "fresh"}, 0, start=1)
    edit("alice", "Edit", "Python", "user_temporary", "accept", 5)
    edit("alice", "Write", "Markdown", "config", "accept", 2)

    add(names.COST, "bob", {"model": OPUS}, 0.1, minutes=90, start=1.0)
    tokens("bob", OPUS, {"input": (0, 2680), "output": (0, 1000), "cacheCreation": (0, 1600)}, minutes=90)
    add(names.LINES, "bob", {"type": "added"}, 0, minutes=90, start=3)
    add(names.LINES, "bob", {"type": "removed"}, 0, minutes=90, start=1)
    add(names.ACTIVE_TIME, "bob", {"type": "cli"}, 0, minutes=90, start=60)
    add(names.SESSIONS, "bob", {"start_type": "continue"}, 0, minutes=90, start=1)
    edit("bob", "Edit", "Python", "user_reject", "reject", 1, minutes=90)

    add(names.COST, "carol", {"model": SONNET}, 0, minutes=60, start=0.5, ends_before_s=3 * 3600)
    add(names.SESSIONS, "carol", {"start_type": "fresh"}, 0, minutes=60, start=1, ends_before_s=3 * 3600)

    # Another team: big, growing numbers in every family, which no figure may include.
    for family in (names.COST, names.SESSIONS, names.LINES, names.COMMITS, names.PULL_REQUESTS, names.ACTIVE_TIME):
        add(family, "dave", {"model": OPUS, "type": "added"}, 10, start=1000, team="other")
    tokens("dave", OPUS, {"input": (10, 1000), "cacheRead": (10, 1000)}, team="other")
    edit("dave", "Edit", "Python", "config", "accept", 1000, team="other")
    return out


def expected_report(end_s: int) -> dict:
    """The report figures for ``team_history(end_s)`` narrowed to team "platform"."""

    def at(t: int) -> str:
        return iso(t * 1_000_000_000)

    return {
        "cost_usd": 17.7,
        "cost_by_model": {OPUS: 10.0, SONNET: 6.5, HAIKU: 1.2},
        "tokens": {"input": 4000, "output": 1600, "cacheRead": 12000, "cacheCreation": 4000},
        "cache_ratio": 0.6,
        "cache_reads_per_write": 3.0,
        "lines": {"added": 43, "removed": 11},
        "commits": 2,
        "pull_requests": 1,
        "active_time_s": {"user": 300.0, "cli": 660.0},
        "sessions_started": 3,
        "edit_decisions": [
            {"tool_name": "Edit", "language": "Python", "source": "user_reject", "decision": "reject", "count": 1},
            {"tool_name": "Edit", "language": "Python", "source": "user_temporary", "decision": "accept", "count": 5},
            {"tool_name": "Write", "language": "Markdown", "source": "config", "decision": "accept", "count": 2},
        ],
        "sessions": [
            {
                "session_id": "sess-carol",
                "user_id": "u-carol",
                "cost_usd": 0.5,
                "tokens": {"input": 0, "output": 0, "cacheRead": 0, "cacheCreation": 0},
                "models": [SONNET],
                "first_seen": at(end_s - 4 * 3600),
                "last_seen": at(end_s - 4 * 3600),
            },  # flat: counted once
            {
                "session_id": "sess-alice",
                "user_id": "u-alice",
                "cost_usd": 7.2,
                "tokens": {"input": 1320, "output": 600, "cacheRead": 12000, "cacheCreation": 2400},
                "models": [HAIKU, SONNET],
                "first_seen": at(end_s - 7200),
                "last_seen": at(end_s),
            },
            {
                "session_id": "sess-bob",
                "user_id": "u-bob",
                "cost_usd": 10.0,
                "tokens": {"input": 2680, "output": 1000, "cacheRead": 0, "cacheCreation": 1600},
                "models": [OPUS],
                "first_seen": at(end_s - 5400),
                "last_seen": at(end_s),
            },
        ],
        "first_seen": at(end_s - 4 * 3600),
        "last_seen": at(end_s),
        "events": None,
        "api_errors": None,
    }


def aligned_now() -> int:
    """A time at most 5 minutes ago on a multiple of 5 minutes. With samples lined up on it,
    results come out exact, sessions' first and last samples included (a first poll scans
    the window in 5-minute steps)."""
    return int(time.time()) // 300 * 300


def figures(snap) -> dict:
    """A snapshot's report, without the keys that name the server or the time of asking."""
    return {
        k: v
        for k, v in report_dict(snap).items()
        if k not in ("source", "since", "naming", "today_usd", "burn_usd_per_hour", "other_telemetry")
    }


def seconds_since_midnight(at_s: float) -> float:
    t = time.localtime(at_s)
    return t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec + at_s % 1
