"""Prometheus HTTP API answers to plain values (pure: no I/O, unit-testable on saved answers).

The shapes (https://prometheus.io/docs/prometheus/latest/querying/api/):
    success  {"status": "success", "data": ...}
    error    {"status": "error", "errorType": "bad_data", "error": "<message>"}  (400, 422, 503)
    vector   {"resultType": "vector", "result": [{"metric": {...}, "value": [ts, "1.5"]}]}
    scalar   {"resultType": "scalar", "result": [ts, "1.5"]}     (not a list of series)
    matrix   {"resultType": "matrix", "result": [{"metric": {...}, "values": [[ts, "1.5"], ...]}]}
Sample values are strings and may be "NaN", "+Inf" or "-Inf".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...model.text import clean


class PromError(Exception):
    """A failed request, as one line for the status bar."""


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Mapping[str, str]
    value: float

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), finite values only

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


def one_line(text: str, limit: int = 300) -> str:
    """A server's text as one line without control characters (an error page may carry
    terminal escapes; ``report`` prints this line as it is)."""
    text = " ".join(clean(" ".join(str(text).split())).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(text: Any) -> float | None:
    """A sample value; None for NaN and ±Inf, which no pane can show or sum."""
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise PromError(f"not a number in Prometheus' answer: {one_line(repr(text), 60)}") from None
    return x if math.isfinite(x) else None


def body_data(status: int, reason: str, body: bytes) -> Any:
    """The ``data`` of an answer, or PromError saying what went wrong.

    Prometheus' own error text (a 400 for a bad query, 422 or 503 for an execution error) is
    passed on as it is: it is the most precise explanation there is.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("status") == "error":
        raise PromError(f"HTTP {status}: {one_line(doc.get('error') or doc.get('errorType') or 'error')}")
    if status in (401, 403):
        raise PromError(f"HTTP {status} {reason}: check --header and the user:password in the URL")
    if not 200 <= status < 300:
        snippet = one_line(body.decode("utf-8", "replace"), 120)
        raise PromError(f"HTTP {status} {reason}" + (f": {snippet}" if snippet else ""))
    if not isinstance(doc, dict) or doc.get("status") != "success" or "data" not in doc:
        raise PromError("the answer is not Prometheus API JSON: is the URL the server's base URL?")
    return doc["data"]


def instant_samples(data: Any) -> tuple[Sample, ...]:
    """The samples of an instant query; a scalar is one sample without labels."""
    try:
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            v = number(result[1])
            return (Sample({}, v),) if v is not None else ()
        if kind == "vector":
            out = []
            for item in result:
                v = number(item["value"][1])
                if v is not None:
                    out.append(Sample(dict(item.get("metric") or {}), v))
            return tuple(out)
    except (KeyError, IndexError, TypeError):
        raise PromError("malformed query result in Prometheus' answer") from None
    raise PromError(f"expected a vector or scalar result, got {one_line(str(kind), 40)}")


def range_series(data: Any) -> tuple[Series, ...]:
    """The series of a range query (``resultType: matrix``)."""
    try:
        if data["resultType"] != "matrix":
            raise PromError(f"expected a matrix result, got {one_line(str(data['resultType']), 40)}")
        out = []
        isfinite = math.isfinite
        for item in data["result"]:
            values = item["values"]
            try:  # the fast path: a raw read has hundreds of thousands of plain numbers
                pts = [(float(t), float(raw)) for t, raw in values]
            except ValueError:  # number() says which value is bad, and is None for NaN and ±Inf
                pts = [(float(t), x) for t, raw in values if (x := number(raw)) is not None]
            pts = [p for p in pts if isfinite(p[1])]
            out.append(Series(dict(item.get("metric") or {}), tuple(pts)))
        return tuple(out)
    except (KeyError, IndexError, TypeError, ValueError):
        raise PromError("malformed range result in Prometheus' answer") from None


def string_list(data: Any) -> tuple[str, ...]:
    """``/api/v1/label/<name>/values``: a list of strings."""
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise PromError("malformed label values in Prometheus' answer")
    return tuple(data)
