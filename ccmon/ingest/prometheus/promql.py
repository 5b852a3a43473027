"""The query plan: the raw counters, and ccmon counts them itself (pure).

A poll asks for the **raw samples** of every Claude Code counter (an instant query of a range
selector, ``{__name__=~"cost|tokens|..."}[R]``: each sample with its own timestamp, exactly as
stored) and turns them into increments the way the OTLP store turns cumulative points into
increments (``growth``). Every figure then comes from the same ``Aggregates`` as in OTLP mode.
Why not PromQL's ``increase``/``rate``/``max_over_time`` (as ccmon did before):

* ``increase`` cannot see a series' first sample: a session's first scrape was missing from
  "today", the burn rates and tokens/min (38-46% low with the real CLI);
* ``increase`` extrapolates, and VictoriaMetrics' ``increase`` does not: the two servers gave
  different numbers for the same data;
* ``max_over_time`` held a total at its pre-reset peak;
* a per-minute ``query_range`` depends on whether the server aligns the steps (VictoriaMetrics
  does); raw samples carry their own times, so per-minute slots are exact on both;
* first and last seen come from real sample times, not from a 5-minute grid, and raw range
  selectors never return staleness markers, so a session that ended keeps its times.

The number of queries never depends on how many sessions, users or models there are:

    first poll   3: discovery, the value of every series just before the window, raw samples
                    over the window
    later polls  2: discovery, raw samples since the previous poll (minus ``LATE_S``)

Grouping by labels a series lacks is never needed: ``build`` reads the labels of each series.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ...model import names
from .naming import NAME_PATTERN, Naming

PART = "ccmon_part"  # the label that tells the parts of a tagged query apart
QUERIES_FIRST_POLL = 3
QUERIES_LATER_POLL = 2


def duration_ms(seconds: float) -> str:
    """A range in whole milliseconds (both servers accept ``ms``), at least 1 ms."""
    return f"{max(1, int(round(seconds * 1000)))}ms"


def selector(metric: str, match: str) -> str:
    """``metric{<--match>}``: the user's matchers narrow every series the plan reads."""
    return f"{metric}{{{match}}}" if match else metric


def label_value(text: str) -> str:
    """A PromQL string literal (JSON's escaping is a subset of PromQL's)."""
    return json.dumps(text, ensure_ascii=False)


def names_selector(metric_names: Iterable[str], match: str) -> str:
    """One selector for every name: ``{__name__=~"a|b", <match>}``."""
    alt = "|".join(re.escape(n) for n in sorted(set(metric_names)))
    return "{" + ", ".join(m for m in (f"__name__=~{label_value(alt)}", match) if m) + "}"


def raw(metric_names: Iterable[str], match: str, range_s: float) -> str:
    """Every sample of these counters in the ``range_s`` before the evaluation time."""
    return f"{names_selector(metric_names, match)}[{duration_ms(range_s)}]"


def before(metric_names: Iterable[str], match: str, range_s: float) -> str:
    """Each series' newest value within ``range_s`` before the evaluation time (the window's
    start): what the series already held, so only its growth inside the window counts. Tagged
    with its metric name, which ``last_over_time`` drops on Prometheus (not on VictoriaMetrics)."""
    w = duration_ms(range_s)
    return " or ".join(
        f'label_replace(last_over_time({selector(n, match)}[{w}]), "{PART}", {label_value(n)}, "", "")'
        for n in sorted(set(metric_names))
    )


def discovery_match(match: str) -> str:
    """The ``match[]`` of the discovery request: our names, narrowed like every query."""
    inner = f'__name__=~"{NAME_PATTERN}"' + (f", {match}" if match else "")
    return "{" + inner + "}"


def session_cost(naming: Naming, match: str, group: dict[str, str]) -> str:
    """One session's cumulative cost over time, for the drill-down (a range query).
    Every grouping label is matched exactly, "" included, which selects series without it."""
    exact = ", ".join(f"{k}={label_value(group.get(k, ''))}" for k in ("session_id", "user_id", "user_email"))
    return f"sum({naming.name(names.COST)}{{{', '.join(m for m in (match, exact) if m)}}})"
