"""The pure parts of the Prometheus source, on answers saved from a real Prometheus 2.42
(tests/data/prometheus, copied from the project's shared probe) and on plain values."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.ingest.prometheus.api import PromError, Series, body_data, instant_samples, one_line, range_series
from ccmon.ingest.prometheus.build import PromModel
from ccmon.ingest.prometheus.config import Config, parse_match, parse_url
from ccmon.ingest.prometheus.fetch import Fetched
from ccmon.ingest.prometheus.growth import Counters
from ccmon.ingest.prometheus.naming import discover
from ccmon.ingest.prometheus.promql import before, raw, session_cost
from ccmon.ingest.prometheus.source import MAX_BACKOFF_S, retry_delay
from ccmon.model import names
from ccmon.model.snapshot import EditRow, SourceStatus, Tokens

SAVED = Path(__file__).parent / "data" / "prometheus"


def saved(name: str):
    doc = json.loads((SAVED / f"{name}.json").read_text())
    return body_data(doc["http_status"], "", json.dumps(doc["body"]).encode())


def test_vector_scalar_and_matrix_results():
    by_model = {s.labels["model"]: s.value for s in instant_samples(saved("query_sum_by_model"))}
    assert by_model == {
        "claude-haiku-4-5-20251001": 0.023081,
        "claude-opus-4-1-20250805": 1.15407,
        "claude-sonnet-4-5-20250929": 0.230814,
    }
    (scalar,) = instant_samples(saved("query_scalar_total_cost"))  # [ts, "v"], not a list of series
    assert (dict(scalar.labels), scalar.value) == ({}, 1.407965)
    assert instant_samples(saved("query_absent_metric_empty")) == ()  # absent family: no rows
    series = {s.labels["model"]: s.points for s in range_series(saved("query_range_cost_by_model"))}
    assert series["claude-opus-4-1-20250805"][0] == (1795399242.284, 0.554067)
    assert len(series["claude-opus-4-1-20250805"]) == 5


def test_nan_and_inf_samples_are_dropped():
    data = {
        "resultType": "vector",
        "result": [
            {"metric": {"m": "a"}, "value": [1, "NaN"]},
            {"metric": {"m": "b"}, "value": [1, "+Inf"]},
            {"metric": {"m": "c"}, "value": [1, "-Inf"]},
            {"metric": {"m": "d"}, "value": [1, "2.5"]},
        ],
    }
    assert [(s.labels["m"], s.value) for s in instant_samples(data)] == [("d", 2.5)]
    assert instant_samples({"resultType": "scalar", "result": [1, "NaN"]}) == ()


def test_a_400_answer_is_shown_as_prometheus_wrote_it():
    with pytest.raises(PromError) as err:
        saved("query_bad_promql_400")
    assert str(err.value) == (
        'HTTP 400: invalid parameter "query": 1:15: parse error: unexpected "(" in grouping opts, expected "," or ")"'
    )


@pytest.mark.parametrize(
    "status, body, message",
    [
        (401, b"Unauthorized\n", "HTTP 401 Unauthorized: check --header and the user:password in the URL"),
        (503, b"<html>\n<h1>upstream down</h1></html>", "HTTP 503 Unavailable: <html> <h1>upstream down</h1></html>"),
        (200, b"<html>login</html>", "the answer is not Prometheus API JSON: is the URL the server's base URL?"),
        (200, b'{"status": "success"}', "the answer is not Prometheus API JSON: is the URL the server's base URL?"),
    ],
)
def test_http_failures_become_one_line(status, body, message):
    reason = {401: "Unauthorized", 503: "Unavailable"}.get(status, "OK")
    with pytest.raises(PromError) as err:
        body_data(status, reason, body)
    assert str(err.value) == message


def test_discovery_on_a_real_servers_names():
    found = json.loads((SAVED / "label_name_values.json").read_text())["body"]["data"]
    naming = discover(found)
    assert naming.description == "OTel Collector naming: claude_code_cost_usage_USD_total"
    assert naming.name(names.COMMITS) == "claude_code_commit_count_total"
    assert names.PULL_REQUESTS not in naming.found  # absent until the first PR: queried anyway, reads 0


@pytest.mark.parametrize(
    "metric_names, cost, active, text",
    [
        (
            ["claude_code_claude_code_cost_usage_USD_total", "claude_code_claude_code_token_usage_tokens_total"],
            "claude_code_claude_code_cost_usage_USD_total",
            "claude_code_claude_code_active_time_seconds_total",
            "OTel Collector naming, namespace claude_code",
        ),
        (
            [
                "claude_code_cost_usage_total",
                "claude_code_token_usage_total",
                "claude_code_session_count_total",
                "claude_code_active_time_total",
            ],
            "claude_code_cost_usage_total",
            "claude_code_active_time_total",
            "Claude Code's own exporter naming",
        ),
        (
            ["claude_code_cost_usage", "claude_code_token_usage", "claude_code_session_count"],
            "claude_code_cost_usage",
            "claude_code_active_time_total",
            "no suffixes",
        ),
        (
            ["acme_claude_code_cost_usage_USD_total", "up"],
            "acme_claude_code_cost_usage_USD_total",
            "acme_claude_code_active_time_seconds_total",
            "namespace acme",
        ),
    ],
)
def test_discovery_of_each_naming(metric_names, cost, active, text):
    naming = discover(metric_names)
    assert naming.name(names.COST) == cost
    assert naming.name(names.ACTIVE_TIME) == active
    assert text in naming.description


def test_discovery_prefers_the_fuller_naming_and_mentions_the_other():
    naming = discover(
        ["claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total", "claude_code_cost_usage_total"]
    )
    assert naming.name(names.COST) == "claude_code_cost_usage_USD_total"
    assert naming.also == ("claude_code_cost_usage_total",)
    assert discover(["up", "node_cpu_seconds_total"]) is None


def test_match_narrows_every_selector():
    naming = discover(["claude_code_cost_usage_USD_total"])
    every = sorted(naming.family_of)
    assert raw(every[:2], 'team="platform"', 300.5) == (
        '{__name__=~"claude_code_active_time_seconds_total|claude_code_code_edit_tool_decision_total", '
        'team="platform"}[300500ms]'
    )
    held = before(every, 'team="platform"', 86400)
    assert held.count("last_over_time(") == 8 == held.count('{team="platform"}[86400000ms]')
    assert session_cost(naming, 'team="platform"', {"session_id": 'a"b\\c'}) == (
        'sum(claude_code_cost_usage_USD_total{team="platform", session_id="a\\"b\\\\c", user_id="", user_email=""})'
    )


def test_server_text_loses_its_control_characters():
    assert one_line("bad\x1b[2J gateway\x07\n\tdown") == "bad␛[2J gateway␇ down"


@pytest.mark.parametrize(
    "text, inner",
    [
        ('{team="platform"}', 'team="platform"'),
        ('team="platform", env=~"prod.*"', 'team="platform", env=~"prod.*"'),
        ("", ""),
        (None, ""),
        ("{}", ""),
        # a valid regex with braces and commas, single quotes, backticks, a trailing comma
        ("{host=~\"web-[0-9]{1,2}\", env!~'dev,test',}", "host=~\"web-[0-9]{1,2}\", env!~'dev,test'"),
        ('{ a = `x"y` , b!="q\\"}"}', 'a=`x"y`, b!="q\\"}"'),
    ],
)
def test_match_accepts_label_matchers(text, inner):
    assert parse_match(text) == inner


@pytest.mark.parametrize(
    "text", ["team=platform", '{team="x"', 'team="x" env="y"', '9team="x"', 'team=="x"', '{team="x"}}', '__name__="up"']
)
def test_match_refuses_what_is_not_label_matchers(text):
    with pytest.raises(ValueError, match="--match"):
        parse_match(text)


def test_match_rejects_a_metric_name():
    with pytest.raises(ValueError, match="label matchers"):
        parse_match('up{team="x"}')


def test_url_credentials_move_to_basic_auth():
    assert parse_url("https://bob:p%40ss@prom.example:9443/prometheus/") == (
        "https://prom.example:9443/prometheus",
        ("bob", "p@ss"),
    )
    assert parse_url("http://127.0.0.1:9090") == ("http://127.0.0.1:9090", None)
    for bad in ("prom:9090", "ftp://x", "http://"):
        with pytest.raises(ValueError, match="http"):
            parse_url(bad)


def test_config_from_args():
    args = argparse.Namespace(
        prometheus="http://h:1", interval=2.0, header=["Authorization: Bearer t0k"], match='{team="a"}'
    )
    assert Config.from_args(args) == Config("http://h:1", None, (("Authorization", "Bearer t0k"),), 'team="a"', 2.0)
    with pytest.raises(ValueError, match="--header"):
        Config.from_args(argparse.Namespace(prometheus="http://h:1", interval=5.0, header=["no colon"], match=None))


def test_backoff_doubles_up_to_a_cap():
    assert [retry_delay(5, n) for n in range(6)] == [5, 10, 20, 40, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert retry_delay(120, 3) == 120  # an interval above the cap is kept
    assert math.isfinite(retry_delay(5, 10_000))


def test_both_spellings_of_a_label_add_up():
    """Two pipelines into one server: cacheRead and cache_read, tool_name and tool."""

    def series(value: float, **labels: str) -> Series:
        return Series({"session_id": "s", **labels}, ((100.0, value),))

    tokens, edits = "claude_code_token_usage_tokens_total", "claude_code_code_edit_tool_decision_total"
    fetched = Fetched(
        discover(["claude_code_cost_usage_USD_total"]),
        100.0,
        0.0,
        True,
        samples=(
            series(10, __name__=tokens, model="m", type="cacheRead"),
            series(5, __name__=tokens, model="m", type="cache_read"),
            series(2, __name__=tokens, model="m", type="cache_creation"),
            series(9, __name__=tokens, model="m", type="mystery"),
            series(3, __name__=edits, tool_name="Edit", decision="accept"),
            series(4, __name__=edits, tool="Edit", decision="accept"),
            series(7, __name__="claude_code_something_else_total"),
        ),
    )
    model = PromModel()
    assert model.feed(fetched)
    snap = model.snapshot(1, SourceStatus("prometheus", "http://x"), 100_000_000_000)
    assert snap.tokens == Tokens(0, 0, 15, 2)
    assert snap.edit_decisions == (EditRow("Edit", "", "", "accept", 7),)
    assert [s.key for s in snap.sessions] == ["s"] and snap.recent_events is None


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 45), max_size=8),
    overlap=st.integers(0, 10),
)
def test_growth_counts_each_sample_once_across_overlapping_polls(steps, cuts, overlap):
    """A counter that grows and sometimes resets, read by polls that overlap: the increments add
    up to each epoch's growth (the first sample whole), and none is negative."""
    samples, v = [], 0.0
    for i, (grow, reset) in enumerate(steps):
        v = float(grow) if reset else v + grow
        samples.append((1000 * (i + 1), v))
    values = [x for _, x in samples]
    expected = sum(b - a if b >= a else b for a, b in zip([0.0] + values, values, strict=False))
    counters = Counters()
    got = []
    ends = sorted({1000 * c for c in cuts} | {1000 * (len(samples) + 1)})
    previous_end = 0
    for end in ends:
        start = max(0, previous_end - 1000 * overlap)
        got += [inc for _, inc in counters.growth("s", [(t, x) for t, x in samples if start < t <= end])]
        previous_end = end
    assert all(inc >= 0 for inc in got)
    assert len(got) == len(samples) and sum(got) == expected


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_same_counters_give_the_same_snapshot_as_otlp_mode(data, tmp_path_factory):
    """Random cost and token counters (resets, sessions starting anywhere, samples anywhere in a
    minute) read by overlapping Prometheus polls and stored from OTLP cumulative exports: every
    figure of the two snapshots is the same (one model: the same Aggregates behind both)."""
    import time as _time

    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from prom_activity import COST, TOKENS, otlp_export
    from prom_activity import Series as Activity

    from ccmon.model.otlp import decode_metrics
    from ccmon.model.store import Store
    from ccmon.model.summary import EVENT_FIGURES, report_dict

    now_s = (int(_time.time()) // 60) * 60 + 30
    series = []
    for i in range(data.draw(st.integers(1, 4))):
        metric = data.draw(st.sampled_from([COST, TOKENS]))
        t = now_s - data.draw(st.integers(60, 7200))
        samples, resets, v = [], [], 0  # v in cents (cost) or tokens
        for k in range(data.draw(st.integers(1, 12))):
            if k and v > 1 and data.draw(st.booleans()) and data.draw(st.booleans()):
                # A reset Prometheus can see: the counter comes back lower than it was. (One
                # that comes back at or above its old value looks like growth: no server can
                # tell, and OTLP mode knows only from the new start time.)
                v, _ = data.draw(st.integers(0, v - 1)), resets.append(k)
            else:
                v += data.draw(st.integers(0 if k else 1, 50))
            samples.append((t * 1000, v / 100 if metric is COST else float(v)))
            t += data.draw(st.integers(5, 400))
        if samples[-1][0] > now_s * 1000:
            continue
        labels = {
            "session_id": f"s{i % 3}",
            "user_id": f"u{i % 3}",
            "model": "m",
            "query_source": f"q{i}",
            **({"type": "input"} if metric is TOKENS else {}),
        }
        series.append(Activity(metric, labels, tuple(samples), tuple(resets)))

    model = PromModel()
    naming = discover(["claude_code_cost_usage_USD_total"])
    polls = sorted(set(data.draw(st.lists(st.integers(now_s - 7300, now_s), max_size=3))) | {now_s})
    previous = None
    for at in polls:
        start = at - 86400 if previous is None else previous - 300
        samples = tuple(
            Series(
                {"__name__": s.metric[2], **s.labels},
                tuple((t / 1000, v) for t, v in s.samples if start * 1000 < t <= at * 1000),
            )
            for s in series
        )
        model.feed(Fetched(naming, at, start, previous is None, (), samples))
        previous = at
    prom = model.snapshot(1, SourceStatus("prometheus", "x"), now_s * 1_000_000_000)

    store = Store(tmp_path_factory.mktemp("otlp") / "ccmon.db", retention_days=0)
    try:
        if series:
            store.ingest(decode_metrics(ExportMetricsServiceRequest.FromString(otlp_export(series))))
        otlp = store.snapshot(now_s * 1_000_000_000)
    finally:
        store.close()

    def figures(snap) -> dict:
        d = {k: v for k, v in report_dict(snap).items() if k not in ("source", *EVENT_FIGURES, "other_telemetry")}
        return {
            **d,
            "today": round(snap.cost_today, 6),
            "burn": (round(snap.burn_5m, 6), round(snap.burn_1h, 6)),
            "cpm": [round(x, 6) for x in snap.cost_per_minute],
            "tpm": list(snap.tokens_per_minute),
            "tlm": snap.tokens_last_minute,
        }

    assert figures(prom) == figures(otlp)
    assert prom.cost_today <= prom.cost_total + 1e-9 and prom.burn_5m >= 0 and prom.burn_1h >= 0
