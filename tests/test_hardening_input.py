"""Hostile and malformed input: every bad body is answered 400 / INVALID_ARGUMENT (or 413 /
RESOURCE_EXHAUSTED past a limit) with a one-line reason, fast, and the connection and the
process carry on. Property-based fuzzing of the HTTP request path and both decoders."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from otlp_client import capture, grpc_export, http_export, parse_response

from ccmon.ingest.payload import MAX_ITEMS, MAX_JSON_DEPTH, BadPayload, TooLarge, decode
from ccmon.model.summary import report_dict


def _nested(depth: int) -> bytes:
    """A logs export whose one attribute value is an array nested ``depth`` levels."""
    value = '{"arrayValue": {"values": [' * depth + '{"stringValue": "x"}' + "]}}" * depth
    return (
        '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"key": "k", "value": ' + value + "}]}]}]}]}"
    ).encode()


def _keep_alive(port: int, requests: list[bytes]) -> list[tuple[int, dict, bytes]]:
    """Several requests on one connection; each answer read by its Content-Length."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        for r in requests:
            s.sendall(r)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = f.readline()
                assert line, "connection closed"
                head += line
            status, headers, _ = parse_response(head)
            out.append((status, headers, f.read(int(headers["content-length"]))))
    return out


def _post(signal: str, body: bytes, ctype: str = "application/json", close: bool = False) -> bytes:
    return (
        f"POST /v1/{signal} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    ).encode() + body


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 500, 100_000])
async def test_json_nested_past_the_limit_is_400_fast_and_the_connection_lives(otlp, depth):
    (m,) = [e for e in capture("2.1.197", "http_json/text") if e.signal == "metrics"]
    t0 = time.monotonic()
    answers = await asyncio.to_thread(
        _keep_alive, otlp.http_port, [_post("logs", _nested(depth)), _post("metrics", m.body)]
    )
    assert time.monotonic() - t0 < 2.0
    (status, _, body), (ok, _, _) = answers
    assert status == 400
    reply = json.loads(body)
    assert reply == {"code": 3, "message": f"OTLP/JSON nested deeper than {MAX_JSON_DEPTH} levels"}
    assert ok == 200  # same connection, next request: served
    assert report_dict(otlp.store.snapshot())["cost_usd"] == 0.03945175


async def test_json_nested_within_the_limit_is_accepted(otlp):
    status, _, body = await asyncio.to_thread(
        http_export, otlp.http_port, "logs", _nested(MAX_JSON_DEPTH // 3 - 4), json_body=True
    )
    assert (status, body) == (200, b"{}")


@pytest.mark.parametrize(
    "body,ctype,needle",
    [
        (b'{"resourceLogs": 5}', "application/json", "not an OTLP/JSON logs export"),
        (b"[1, 2]", "application/json", "OTLP/JSON body must be an object"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
            "application/json",
            "traceId is not hex",
        ),
        (b"\xc3\x28", "application/json", "body is not JSON"),
        (b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf", "not a protobuf logs export"),
        (b"\x0a" * 300, "application/x-protobuf", "not a protobuf logs export"),
    ],
)
async def test_malformed_bodies_get_a_one_line_reason(otlp, body, ctype, needle):
    status, _, reply = await asyncio.to_thread(http_export, otlp.http_port, "logs", body, content_type=ctype)
    assert status == 400
    if ctype == "application/json":
        message = json.loads(reply)["message"]
    else:
        assert reply[:2] == b"\x08\x03"
        message = reply[4:].decode()
    assert needle in message and "\n" not in message and len(message) < 300


def _logs(n: int) -> bytes:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        rec = sl.log_records.add()
        rec.time_unix_nano = 1_700_000_000_000_000_000 + i
        rec.body.string_value = "claude_code.api_request"
    return req.SerializeToString()


async def test_more_items_than_the_limit_is_413_resource_exhausted_naming_it(otlp):
    body = _logs(MAX_ITEMS + 1)
    status, _, reply = await asyncio.to_thread(http_export, otlp.http_port, "logs", body)
    assert status == 413
    assert reply[:2] == b"\x08\x08"  # google.rpc.Status code RESOURCE_EXHAUSTED
    assert f"{MAX_ITEMS + 1} log records in one request is over the limit of {MAX_ITEMS}".encode() in reply
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(grpc_export, otlp.grpc_port, "logs", body)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"over the limit of {MAX_ITEMS}" in err.value.details()
    status, _, _ = await asyncio.to_thread(http_export, otlp.http_port, "logs", _logs(MAX_ITEMS))
    assert status == 200  # exactly at the limit is fine


def test_metric_data_points_count_toward_the_limit():
    req = ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "claude_code.cost.usage"
    for _ in range(11):
        m.sum.data_points.add().as_double = 1.0
    with pytest.raises(TooLarge, match="11 metric data points in one request is over the limit of 10"):
        decode("metrics", req.SerializeToString(), max_items=10)


# --- fuzzing ----------------------------------------------------------------------------------


def _decode_or_refuse(signal: str, body: bytes, json_body: bool) -> None:
    try:
        decode(signal, body, json_body=json_body)
    except (BadPayload, TooLarge) as exc:
        assert "\n" not in str(exc)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceLogs",
                    "scopeLogs",
                    "logRecords",
                    "attributes",
                    "key",
                    "value",
                    "stringValue",
                    "arrayValue",
                    "values",
                    "kvlistValue",
                    "traceId",
                    "spanId",
                    "timeUnixNano",
                    "body",
                    "resourceMetrics",
                    "scopeMetrics",
                    "metrics",
                    "sum",
                    "dataPoints",
                    "asDouble",
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "name",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(doc=_json_values, signal=st.sampled_from(["logs", "metrics", "traces"]))
def test_fuzz_json_decoder_refuses_or_decodes(doc, signal):
    _decode_or_refuse(signal, json.dumps(doc).encode(), True)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300), signal=st.sampled_from(["logs", "metrics", "traces"]))
def test_fuzz_protobuf_decoder_refuses_or_decodes(body, signal):
    _decode_or_refuse(signal, body, False)


@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=4000),
    flip=st.integers(min_value=0, max_value=255),
    signal=st.sampled_from(["logs", "metrics"]),
)
def test_fuzz_mutated_real_exports_decode_in_bounded_memory(cut, flip, signal):
    (e,) = [e for e in capture("2.1.197", "grpc/text") if e.signal == signal]
    body = bytearray(e.body)
    if body:
        body[cut % len(body)] ^= flip
    tracemalloc.start()
    try:
        _decode_or_refuse(signal, bytes(body), False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024  # a few KB export never makes ccmon hold megabytes


_http_line = st.sampled_from(
    [
        b"POST /v1/logs HTTP/1.1",
        b"POST /v1/metrics HTTP/1.0",
        b"GET / HTTP/1.1",
        b"POST /v1/traces HTTP/9.9",
        b"\x00\xff",
        b"POST  HTTP/1.1",
        b"",
    ]
)
_http_header = st.sampled_from(
    [
        b"Content-Length: 5",
        b"Content-Length: -1",
        b"Content-Length: 99999999999",
        b"Transfer-Encoding: chunked",
        b"Content-Type: application/json",
        b"Content-Type: application/x-protobuf",
        b"Content-Encoding: gzip",
        b"Content-Encoding: br",
        b"Host: x",
        b"Expect: 100-continue",
        b"bad header",
        b"X: " + b"a" * 70_000,
    ]
) | st.binary(max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line=_http_line,
    headers=st.lists(_http_header, max_size=5),
    body=st.binary(max_size=64),
    end=st.sampled_from([b"\r\n\r\n", b"\r\n", b"\n\n", b""]),
)
def test_fuzz_http_request_path_answers_or_closes_and_keeps_serving(fuzz_receiver, line, headers, body, end):
    port = fuzz_receiver
    raw = line + b"\r\n" + b"\r\n".join(headers) + end + body
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)  # nothing more is coming: the server must answer or close now
        t0 = time.monotonic()
        data = b""
        while chunk := s.recv(65536):  # a hang would hit the socket timeout and fail the test
            data += chunk
        assert time.monotonic() - t0 < 5
    if data:
        assert data.startswith(b"HTTP/1.1 "), data[:80]
        assert int(data[9:12]) in (200, 400, 401, 404, 405, 408, 411, 413, 415, 431, 501, 503, 505)


@pytest.fixture(scope="module")
def fuzz_receiver(tmp_path_factory):
    """One receiver for all fuzz examples, on its own loop in a thread; afterwards it must
    still take a real export."""
    import threading

    from ccmon.ingest.receiver import Receiver
    from ccmon.model.store import Store

    loop = asyncio.new_event_loop()
    store = Store(tmp_path_factory.mktemp("fuzz") / "ccmon.db", retention_days=0)
    receiver = Receiver(store, grpc_port=None, http_port=0)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(receiver.start(), loop).result(10)
    receiver._http.request_deadline = 2.0  # a cut-off request is closed quickly
    yield receiver.http_port
    (m,) = [e for e in capture("2.1.197", "http_protobuf/text") if e.signal == "metrics"]
    status, _, _ = http_export(receiver.http_port, "metrics", m.body)
    assert status == 200
    asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    store.close()


# --- big protobuf requests are parsed in pieces (the parser holds the GIL while it runs) -----


def _logs_request(shape: list[list[int]]) -> bytes:
    """resources x scopes x records, each record numbered, each resource and scope named."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    req = ExportLogsServiceRequest()
    n = 0
    for r, scopes in enumerate(shape):
        rl = req.resource_logs.add()
        rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=f"res-{r}")))
        rl.schema_url = f"https://schema/{r}"
        for s, records in enumerate(scopes):
            sl = rl.scope_logs.add()
            sl.scope.name = f"scope-{r}-{s}"
            for _ in range(records):
                rec = sl.log_records.add()
                rec.time_unix_nano = 1_700_000_000_000_000_000 + n
                rec.body.string_value = "claude_code.api_request"
                rec.attributes.extend(
                    [
                        KeyValue(key="event.name", value=AnyValue(string_value="api_request")),
                        KeyValue(key="session.id", value=AnyValue(string_value=f"s{r}.{s}")),
                        KeyValue(key="event.sequence", value=AnyValue(int_value=n)),
                    ]
                )
                n += 1
    return req.SerializeToString()


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.lists(st.integers(min_value=0, max_value=12), max_size=3), max_size=3),
    target=st.integers(min_value=1, max_value=600),
)
def test_a_request_cut_in_pieces_decodes_to_the_same_batch(shape, target):
    from ccmon.ingest.payload import _decode_pieces, parse, split_request, to_batch

    body = _logs_request(shape)
    pieces = split_request(body, target)
    whole = to_batch("logs", parse("logs", body))
    cut = _decode_pieces("logs", pieces, MAX_ITEMS)
    key = lambda b: [(e.t_ns, e.name, sorted(e.attrs.items()), sorted(e.resource.items())) for e in b.events]  # noqa: E731
    assert key(cut) == key(whole) and len(cut.events) == sum(map(sum, shape))
    assert all(len(p) <= max(target, 0) + 400 for p in pieces if len(pieces) > 1)


def test_a_big_request_past_the_item_limit_is_refused_in_pieces_too():
    body = _logs_request([[300, 300], [300]])
    with pytest.raises(TooLarge, match="over the limit of 500"):
        from ccmon.ingest.payload import _decode_pieces, split_request

        _decode_pieces("logs", split_request(body, 1000), 500)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=400), target=st.integers(min_value=1, max_value=100))
def test_fuzz_the_wire_cutter_refuses_or_cuts(body, target):
    from ccmon.ingest.payload import _decode_pieces, _NoSplit, split_request

    try:
        pieces = split_request(body, target)
    except _NoSplit:
        return
    try:
        _decode_pieces("logs", pieces, MAX_ITEMS)
    except (BadPayload, TooLarge):
        pass


async def test_expect_100_continue_is_answered_before_the_body(otlp):
    (m,) = [e for e in capture("2.1.197", "http_protobuf/text") if e.signal == "metrics"]

    def send() -> tuple[bytes, bytes]:
        with socket.create_connection(("127.0.0.1", otlp.http_port), timeout=5) as s:
            s.sendall(
                b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                + f"Content-Length: {len(m.body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode()
            )
            first = s.recv(100)
            s.sendall(m.body)
            rest = b""
            while chunk := s.recv(65536):
                rest += chunk
            return first, rest

    first, rest = await asyncio.to_thread(send)
    assert first == b"HTTP/1.1 100 \r\n\r\n" and rest.startswith(b"HTTP/1.1 200 ")


def _loads_either(parse, raw: bytes):
    try:
        return "ok", parse(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return "error", None


@settings(max_examples=200, deadline=None)
@given(
    doc=_json_values,
    indent=st.sampled_from([None, 0, 2]),
    cut=st.integers(min_value=0, max_value=400),
    mutate=st.booleans(),
)
def test_layered_json_parser_agrees_with_json_loads(doc, indent, cut, mutate):
    """A big OTLP/JSON body is parsed by ``loads_layered`` (GIL-friendly): same answer as
    json.loads on every document, valid or not."""
    from ccmon.ingest.payload import loads_layered

    raw = json.dumps({"resourceLogs": [doc, {"scopeLogs": [doc]}]}, indent=indent).encode()
    if mutate:
        raw = raw[: cut % (len(raw) + 1)]  # truncated: must fail the same way
    assert _loads_either(loads_layered, raw) == _loads_either(json.loads, raw)


async def test_a_big_json_export_is_parsed_in_layers_and_counted(otlp):
    from google.protobuf import json_format
    from test_hardening_big import big_logs

    body = json_format.MessageToJson(ExportLogsServiceRequest.FromString(big_logs(3000, 500))).encode()
    assert len(body) > 1 << 20  # past SPLIT_BYTES: the layered parser is used
    status, _, reply = await asyncio.to_thread(http_export, otlp.http_port, "logs", body, json_body=True)
    assert (status, reply) == (200, b"{}")
    assert report_dict(otlp.store.snapshot())["events"]["user_prompt"] == 3000
