"""Alerts: budget thresholds and runaway rules, each with a cooldown and a one-line reason.

``AlertEngine`` keeps a small rolling window of what arrived (cost and tokens per minute, the
times of API errors, failing tool calls and rejections per tool, two hours at most) and says
which rules hold at a given time. ``due`` applies the cooldowns: a rule (per key, e.g. per
tool) fires once, then not again until its cooldown has passed. A budget threshold fires once
per budget, scope, threshold and period. Pure: times come from the caller.

Rules (names are what ``[alerts] off = [...]`` switches off):

* ``budget``             a budget passed one of its thresholds (50/80/100 % by default)
* ``cost_surge``         cost over the last ``surge_window_minutes``, per hour, above N $/h
* ``token_rate``         tokens per minute above N in each of the last M minutes
* ``error_storm``        N or more API errors within ``window_minutes``
* ``failing_tools``      N or more failed calls of one tool within ``window_minutes``
* ``rejection_hotspot``  N or more rejected uses of one tool within ``window_minutes``
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .budgets import OVER, BudgetState

# names.COST and names.TOKENS, spelt out: importing names (hashlib) costs `ccmon check` ~10 ms.
COST = "claude_code.cost.usage"
TOKENS = "claude_code.token.usage"

MINUTE_NS = 60_000_000_000
RULES = ("budget", "cost_surge", "token_rate", "error_storm", "failing_tools", "rejection_hotspot")
KEEP_MINUTES = 120


@dataclass(frozen=True, slots=True)
class AlertRules:
    cooldown_minutes: float = 15.0
    cost_surge_usd_per_hour: float = 20.0
    surge_window_minutes: int = 10
    tokens_per_minute: float = 500_000.0
    sustained_minutes: int = 5
    window_minutes: int = 5
    error_storm: int = 5
    failing_tools: int = 3
    rejections: int = 3
    off: frozenset[str] = frozenset()

    def on(self, rule: str) -> bool:
        return rule not in self.off


@dataclass(frozen=True, slots=True)
class Alert:
    rule: str
    key: str  # what the rule is about (a tool, a budget); cooldowns are per (rule, key)
    level: str  # warning | over
    reason: str  # one line, plain text
    t_ns: int

    def as_dict(self) -> dict:
        return {"rule": self.rule, "key": self.key, "level": self.level, "reason": self.reason, "t_ns": self.t_ns}


def _failed(attrs: dict[str, Any]) -> bool:
    ok = attrs.get("success")
    return ok is False or (isinstance(ok, str) and ok.lower() == "false")


@dataclass
class AlertEngine:
    rules: AlertRules = field(default_factory=AlertRules)
    minutes: dict[int, list[float]] = field(default_factory=dict)  # minute -> [usd, tokens]
    errors: deque[int] = field(default_factory=deque)
    tool_failures: dict[str, deque[int]] = field(default_factory=dict)
    rejections: dict[str, deque[int]] = field(default_factory=dict)
    fired: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, key) -> last fired

    # -- feeding ------------------------------------------------------------------------------

    def add_point(self, metric: str, t_ns: int, inc: float) -> None:
        if metric == COST:
            self._bucket(t_ns)[0] += inc
        elif metric == TOKENS:
            self._bucket(t_ns)[1] += inc

    def add_minute(self, minute: int, usd: float, tokens: float) -> None:
        """A (minute, cost, tokens) row as the store's point_minutes rollup has it."""
        b = self._bucket(minute * MINUTE_NS)
        b[0] += usd
        b[1] += tokens

    def add_event(self, t_ns: int, name: str, attrs: dict[str, Any]) -> None:
        if name == "api_error":
            self.errors.append(t_ns)
        elif name == "tool_result" and _failed(attrs):
            self.tool_failures.setdefault(str(attrs.get("tool_name") or "?"), deque()).append(t_ns)
        elif name == "tool_decision" and str(attrs.get("decision", "")).lower() == "reject":
            self.rejections.setdefault(str(attrs.get("tool_name") or "?"), deque()).append(t_ns)

    def _bucket(self, t_ns: int) -> list[float]:
        idx = t_ns // MINUTE_NS
        b = self.minutes.get(idx)
        if b is None:
            b = self.minutes[idx] = [0.0, 0.0]
            if len(self.minutes) > KEEP_MINUTES * 2:
                newest = max(self.minutes)
                for k in [k for k in self.minutes if k < newest - KEEP_MINUTES]:
                    del self.minutes[k]
        return b

    # -- reading ------------------------------------------------------------------------------

    def active(self, now_ns: int, budgets: Iterable[BudgetState] = ()) -> list[Alert]:
        """Every rule that holds at ``now_ns`` (no cooldown applied)."""
        r = self.rules
        out: list[Alert] = []
        if r.on("budget"):
            for b in budgets:
                if b.threshold is None:
                    continue
                key = f"{b.kind}|{b.scope}|{b.threshold:g}|{b.period_start_ns}"
                out.append(Alert("budget", key, b.level, f"budget {b.line()}", now_ns))
        now_min = now_ns // MINUTE_NS
        if r.on("cost_surge"):
            w = max(1, r.surge_window_minutes)
            usd = sum(self.minutes.get(m, (0.0, 0.0))[0] for m in range(now_min - w + 1, now_min + 1))
            per_hour = usd * 60 / w
            if per_hour > r.cost_surge_usd_per_hour:
                out.append(
                    Alert(
                        "cost_surge",
                        "all",
                        "warning",
                        f"cost surge: ${per_hour:,.2f}/h over the last {w} min "
                        f"(limit ${r.cost_surge_usd_per_hour:,.2f}/h)",
                        now_ns,
                    )
                )
        if r.on("token_rate"):
            m = max(1, r.sustained_minutes)
            rates = [self.minutes.get(i, (0.0, 0.0))[1] for i in range(now_min - m + 1, now_min + 1)]
            if all(x > r.tokens_per_minute for x in rates):
                out.append(
                    Alert(
                        "token_rate",
                        "all",
                        "warning",
                        f"token rate: over {r.tokens_per_minute:,.0f} tokens/min for {m} min "
                        f"(lowest {min(rates):,.0f})",
                        now_ns,
                    )
                )
        since = now_ns - r.window_minutes * MINUTE_NS
        if r.on("error_storm"):
            n = _count_since(self.errors, since, now_ns)
            if n >= r.error_storm:
                out.append(
                    Alert(
                        "error_storm",
                        "all",
                        "warning",
                        f"error storm: {n} API errors in {r.window_minutes} min",
                        now_ns,
                    )
                )
        for rule, per_tool, limit, what in (
            ("failing_tools", self.tool_failures, r.failing_tools, "failed calls"),
            ("rejection_hotspot", self.rejections, r.rejections, "rejections"),
        ):
            if not r.on(rule):
                continue
            for tool, times in sorted(per_tool.items()):
                n = _count_since(times, since, now_ns)
                if n >= limit:
                    out.append(
                        Alert(
                            rule,
                            tool,
                            "warning",
                            f"{rule.replace('_', ' ')}: {tool} {n} {what} in {r.window_minutes} min",
                            now_ns,
                        )
                    )
        return out

    def due(self, now_ns: int, budgets: Iterable[BudgetState] = ()) -> list[Alert]:
        """The active alerts whose cooldown has passed; they count as fired now."""
        cooldown = int(self.rules.cooldown_minutes * MINUTE_NS)
        out = []
        for a in self.active(now_ns, budgets):
            k = (a.rule, a.key)
            last = self.fired.get(k)
            # A budget threshold is keyed by its period: it fires once per period, whatever the cooldown.
            if last is not None and (a.rule == "budget" or now_ns - last < cooldown):
                continue
            self.fired[k] = now_ns
            out.append(a)
        return out


def _count_since(times: deque[int], since: int, now_ns: int) -> int:
    while times and times[0] < since - KEEP_MINUTES * MINUTE_NS:
        times.popleft()  # bounded: nothing older than the longest window is kept
    return sum(1 for t in times if since <= t <= now_ns)


def worst_level(alerts: Iterable[Alert]) -> str:
    levels = {a.level for a in alerts}
    return OVER if OVER in levels else ("warning" if levels else "ok")
