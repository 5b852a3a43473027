"""Pure decoding: OTLP messages to points and events, attribute types, names."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from otlp_client import capture

from ccmon.ingest.payload import BadPayload, TooLarge, decode, gunzip, parse, status_bytes
from ccmon.model import names
from ccmon.model.otlp import decode_logs, decode_metrics
from ccmon.model.values import any_value, coerce


def test_every_anyvalue_kind_becomes_python():
    assert any_value(AnyValue(string_value="s")) == "s"
    assert any_value(AnyValue(bool_value=True)) is True
    assert any_value(AnyValue(int_value=-7)) == -7
    assert any_value(AnyValue(double_value=1.5)) == 1.5
    assert any_value(AnyValue(bytes_value=b"\x01\xff")) == "01ff"
    arr = AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="x")]))
    assert any_value(arr) == [1, "x"]
    kv = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a", value=AnyValue(bool_value=False))]))
    assert any_value(kv) == {"a": False}
    assert any_value(AnyValue()) is None


@pytest.mark.parametrize(
    "key,raw,expected",
    [
        ("prompt_length", "5", 5),
        ("success", "true", True),
        ("success", "false", False),
        ("duration_ms", "9", 9),
        ("duration_ms", 9.0, 9),
        ("tool_result_size_bytes", "1024", 1024),
        ("cost_usd", 0.03945175, 0.03945175),
        ("period_days", "30", 30),
        ("used_default", "true", True),
        ("prompt", "5", "5"),  # free text is never guessed at
        ("prompt", "true", "true"),
        ("duration_ms", "soon", "soon"),  # not a number: kept, not dropped
    ],
)
def test_claude_code_string_numbers_are_coerced_by_key(key, raw, expected):
    got = coerce(key, raw)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "raw,group",
    [
        ("claude-opus-4-8[1m]", "claude-opus-4-8"),
        ("claude-opus-4-8", "claude-opus-4-8"),
        ("claude-sonnet-5 [200k]", "claude-sonnet-5"),
        ("[weird]", "[weird]"),
        (None, "unknown"),
    ],
)
def test_model_names_group_without_bracketed_suffix(raw, group):
    assert names.model_group(raw) == group


def test_session_key_falls_back_to_user_and_resource_without_session_id():
    a = {"user.id": "u" * 64, "os.version": "6.1", "service.version": "2.1.197"}
    b = {**a, "os.version": "6.2"}
    assert names.session_key({**a, "session.id": "s1"}) == "s1"
    assert names.session_key(a).startswith("user:uuuuuuuuuuuu/")
    assert names.session_key(a) == names.session_key(dict(a))
    assert names.session_key(a) != names.session_key(b)


def test_grpc_all_metrics_decode_to_points_with_temporality_and_raw_model():
    exports = [e for e in capture("2.1.197", "grpc/all") if e.signal == "metrics"]
    batch = decode("metrics", exports[0].body)
    by_metric = {}
    for p in batch.points:
        by_metric.setdefault(p.metric, []).append(p)
    assert set(by_metric) == {
        names.SESSIONS,
        names.LINES,
        names.PULL_REQUESTS,
        names.COMMITS,
        names.COST,
        names.TOKENS,
        names.EDIT_DECISION,
        names.ACTIVE_TIME,
    }
    (cost,) = by_metric[names.COST]
    assert cost.value == pytest.approx(0.2367105, abs=1e-12)
    assert cost.attrs["model"] == "claude-opus-4-8[1m]"  # raw label kept
    assert cost.cumulative is False and cost.unit == "USD"
    assert cost.attrs["service.version"] == "2.1.197"  # resource merged in
    assert sorted(p.attrs["type"] for p in by_metric[names.TOKENS]) == ["cacheCreation", "cacheRead", "input", "output"]


def test_2_1_330_boolean_and_array_attributes_are_kept():
    logs = [e for e in capture("2.1.330", "grpc/all") if e.signal == "logs"]
    batch = decode("logs", logs[0].body)
    plugin = [e for e in batch.events if e.name == "plugin_loaded"]
    assert len(plugin) == 3
    assert {type(e.attrs["has_hooks"]) for e in plugin} == {bool}
    assert plugin[0].attrs["anthropic.custom_base_url"] is True
    settings = [e for e in batch.events if e.name == "managed_settings_resolved"]
    assert settings[0].attrs["managed_settings.sources"] == []
    results = [e for e in batch.events if e.name == "tool_result"]
    assert all(isinstance(e.attrs["success"], bool) and isinstance(e.attrs["duration_ms"], int) for e in results)


def test_event_name_from_attribute_or_body_and_missing_time_gets_receive_time():
    req = ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    rec.body.string_value = "claude_code.custom_thing"
    batch = decode_logs(req, received_ns=123)
    assert batch.events[0].name == "custom_thing" and batch.events[0].t_ns == 123


def test_gauge_histogram_and_unusable_kinds():
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = "claude-code"
    sm = rm.scope_metrics.add()
    g = sm.metrics.add(name="g")
    g.gauge.data_points.add(time_unix_nano=5, as_int=3)
    h = sm.metrics.add(name="h")
    h.histogram.aggregation_temporality = 1
    h.histogram.data_points.add(start_time_unix_nano=1, time_unix_nano=2, count=4, sum=10.0)
    s = sm.metrics.add(name="s")
    s.summary.data_points.add(time_unix_nano=2, count=1)
    nan = sm.metrics.add(name="n")
    nan.sum.aggregation_temporality = 1
    nan.sum.data_points.add(time_unix_nano=2, as_double=float("nan"))
    batch = decode_metrics(req)
    got = {(p.metric, p.value, p.cumulative) for p in batch.points}
    assert got == {("g", 3.0, True), ("h.count", 4.0, False), ("h.sum", 10.0, False)}
    # the summary and the NaN are reported (OTLP partial success), not silently dropped
    assert (batch.skipped, batch.rejected) == (1, 1)


def test_otlp_json_hex_ids_numbers_as_strings_and_unknown_fields():
    doc = b"""{"resourceLogs":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"claude-code"}}]},"futureField":1,"scopeLogs":[{"logRecords":[
      {"timeUnixNano":"1795399421983000000","traceId":"0af7651916cd43dd8448eb211c80319c",
       "spanId":"b7ad6b7169203331","attributes":[{"key":"event.name","value":{"stringValue":"x"}},
       {"key":"n","value":{"intValue":"42"}},{"key":"m","value":{"intValue":43}}]}]}]}]}"""
    batch = decode("logs", doc, json_body=True)
    ev = batch.events[0]
    assert ev.t_ns == 1795399421983000000
    assert ev.attrs["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert ev.attrs["span_id"] == "b7ad6b7169203331"
    assert ev.attrs["n"] == 42 and ev.attrs["m"] == 43


@pytest.mark.parametrize(
    "body,json_body,msg",
    [
        (b"\xff\xff\xff", False, "not a protobuf logs export"),
        (b"{not json", True, "body is not JSON"),
        (b"[1,2]", True, "must be an object"),
        (b'{"resourceLogs": 5}', True, "not an OTLP/JSON logs export"),
        (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}', True, "traceId is not hex"),
    ],
)
def test_bad_payloads_say_why(body, json_body, msg):
    with pytest.raises(BadPayload, match=msg):
        parse("logs", body, json_body=json_body)


def test_out_of_range_timestamp_keeps_its_value():
    # Totals never lose a finite value because of its time stamp: past 2262 is clamped to what
    # SQLite can hold (time-based figures then place it at its arrival).
    req = ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add(name="claude_code.x")
    m.sum.aggregation_temporality = 1
    m.sum.is_monotonic = True
    m.sum.data_points.add(time_unix_nano=2**64 - 1, as_double=1)
    (p,) = decode("metrics", req.SerializeToString()).points
    assert (p.value, p.end_ns) == (1.0, 2**63 - 1)


def test_gzip_is_inflated_with_a_bound():
    import gzip

    assert gunzip(gzip.compress(b"abc")) == b"abc"
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b"\0" * 10_000), limit=1000)
    with pytest.raises(BadPayload, match="truncated"):
        gunzip(gzip.compress(b"abcdef" * 100)[:-10])
    with pytest.raises(BadPayload, match="does not inflate"):
        gunzip(b"not gzip at all")


def test_status_body_is_a_google_rpc_status():
    # field 1 varint 3, field 2 string "bad"
    assert status_bytes(3, "bad") == b"\x08\x03\x12\x03bad"
    long = status_bytes(8, "x" * 200)
    assert long[:4] == b"\x08\x08\x12\xc8" and long[4:5] == b"\x01" and len(long) == 205
