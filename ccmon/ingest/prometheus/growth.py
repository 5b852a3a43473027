"""Raw counter samples to increments: the OTLP store's rule for cumulative points (pure).

Per series, ccmon remembers the newest sample it has counted. Each newer sample adds

* its growth over that sample, or
* its whole value when the counter went down (a reset: the exporter or the Collector
  restarted and counts again from 0, a new epoch added on top), or when the series had no
  sample before (it started inside the window: its first sample counts whole).

So a total across a reset is the sum of each epoch's growth, never the peak, no increment is
ever negative, and a sample seen twice (polls overlap by ``LATE_S`` to catch late arrivals)
counts once: a series' samples only ever arrive in time order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

Key = Hashable  # a series' identity: its full label set, metric name included


class Counters:
    def __init__(self) -> None:
        self._last: dict[Key, tuple[int, float]] = {}  # series -> (t_ms, value) last counted

    def __len__(self) -> int:
        return len(self._last)

    def known(self, key: Key) -> bool:
        return key in self._last

    def set_before(self, key: Key, t_ms: int, value: float) -> None:
        """What the series held just before the window (counted elsewhere, or not at all)."""
        self._last[key] = (t_ms, value)

    def growth(self, key: Key, points: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
        """(t_ms, increment) for each sample newer than the last one counted, oldest first
        (an increment may be 0)."""
        prev = self._last.get(key)
        last_t, last_v = prev if prev is not None else (-1, None)
        out = []
        for t_ms, v in points:
            if t_ms <= last_t:
                continue  # counted by an earlier poll
            out.append((t_ms, v - last_v if last_v is not None and v >= last_v else v))
            last_t, last_v = t_ms, v
        if last_v is not None:
            self._last[key] = (last_t, last_v)
        return out
