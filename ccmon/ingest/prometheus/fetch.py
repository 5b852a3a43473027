"""One poll: discover the naming, then read the raw counters, all at one evaluation time."""

from __future__ import annotations

from dataclasses import dataclass, field

from .api import Series
from .client import PromClient
from .naming import Naming, discover
from .promql import PART, before, discovery_match, raw

# Samples may reach the server late (remote write, a Collector's batching, a retry). Each poll
# rereads this much of the past; what was counted already is skipped (``growth``).
LATE_S = 300.0
# A first poll reads the whole window's samples (about 11 MB of JSON for 1,000 sessions' hour):
# that one read may take this long, whatever the per-request timeout is.
FIRST_READ_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """The raw results of one poll."""

    naming: Naming | None  # None: the server holds no Claude Code metrics (in the window)
    at_s: float  # evaluation time
    start_s: float  # samples after this are this poll's (samples at or before it are older)
    first: bool  # a first poll: ``before`` holds each series' value at ``start_s``
    before: tuple[Series, ...] = ()  # one point per series, its label set as in ``samples``
    samples: tuple[Series, ...] = field(default=(), repr=False)


async def fetch(
    client: PromClient, match: str, window_s: float, at_s: float, previous: Fetched | None = None
) -> Fetched:
    """Sequential on purpose: a team's server should see one ccmon as one light client.
    Raises PromError.

    The first poll (or one after the server's namings changed) reads the whole window and what
    each series held just before it; later polls read only what is new since ``previous``."""
    found = await client.label_values("__name__", discovery_match(match), at_s - window_s, at_s)
    naming = discover(found)
    if naming is None:
        return Fetched(None, at_s, at_s - window_s, True)
    metric_names = naming.family_of
    first = previous is None or previous.naming is None or previous.naming.family_of != metric_names
    if first:
        start = at_s - window_s
        # What a series held before the window is looked for as far back as the window is long:
        # a session that paused for longer counts whole again (its series "started" again).
        held = await client.query(before(metric_names, match, window_s), start)
        prior = tuple(
            Series({**{k: v for k, v in s.labels.items() if k != PART}, "__name__": s.label(PART)}, ((start, s.value),))
            for s in held
        )
    else:
        assert previous is not None  # not a first poll: there was one before
        start, prior = max(at_s - window_s, previous.at_s - LATE_S), ()
    samples = await client.query_matrix(
        raw(metric_names, match, at_s - start),
        at_s,
        max(FIRST_READ_TIMEOUT_S, client.config.timeout_s) if first else None,
    )
    return Fetched(naming, at_s, start, first, prior, samples)
