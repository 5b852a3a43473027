"""The receivers over real sockets: every captured export, every framing, every error answer."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from otlp_client import capture, grpc_export, http_export, metrics_for_session, parse_response, replay

from ccmon.model.summary import report_dict

# (version, folder) -> the exact figures each capture must give, whatever the transport.
# Cross-checked independently: for every folder the summed cost.usage equals the summed
# api_request.cost_usd (test_metric_cost_equals_event_cost).
ALL_197 = dict(
    cost=0.2367105,
    models={"claude-opus-4-8": 0.2367105},
    tokens={"input": 7404, "output": 3402, "cacheRead": 53406, "cacheCreation": 14070},
    lines={"added": 6, "removed": 1},
    commits=1,
    prs=1,
    edits=[("Edit", "Plain text", "config", "accept", 1), ("Write", "Plain text", "config", "accept", 1)],
)
ALL_330 = {**ALL_197, "cost": 0.1786872, "models": {"claude-opus-5-5": 0.1786872}}


def check(
    r: dict,
    *,
    cost,
    models,
    tokens=None,
    lines=None,
    commits=0,
    prs=0,
    edits=(),
    events=None,
    api_errors=None,
    sessions=1,
):
    assert r["cost_usd"] == cost
    assert r["cost_by_model"] == models
    if tokens is not None:
        assert r["tokens"] == tokens
    if lines is not None:
        assert r["lines"] == lines
    assert (r["commits"], r["pull_requests"]) == (commits, prs)
    assert [
        (e["tool_name"], e["language"], e["source"], e["decision"], e["count"]) for e in r["edit_decisions"]
    ] == list(edits)
    if events is not None:
        for name, n in events.items():
            assert r["events"].get(name, 0) == n, name
    if api_errors is not None:
        assert r["api_errors"] == api_errors
    assert len(r["sessions"]) == sessions


async def send(rx, exports, how):
    await asyncio.to_thread(replay, rx.grpc_port, rx.http_port, exports, how)
    return report_dict(rx.store.snapshot())


@pytest.mark.parametrize(
    "version,expected,events",
    [
        ("2.1.197", ALL_197, {"api_request": 6, "tool_decision": 5, "tool_result": 5}),
        ("2.1.330", ALL_330, {"api_request": 6, "tool_decision": 5, "tool_result": 5, "plugin_loaded": 3}),
    ],
)
@pytest.mark.parametrize(
    "folder,how",
    [
        ("grpc/all", "grpc"),
        ("http_protobuf/all", "http"),
        ("http_protobuf/all", "http-chunked"),
        ("http_protobuf/all", "http-gzip"),
        ("http_json/all", "http"),
        ("http_json/all", "http-chunked"),
        ("http_json/all", "http-gzip"),
    ],
)
async def test_scenario_all_gives_exact_totals_on_every_transport(otlp, version, expected, events, folder, how):
    r = await send(otlp, capture(version, folder), how)
    check(r, **expected, events=events, api_errors={})
    assert r["cache_ratio"] == round(53406 / (7404 + 53406 + 14070), 6)


@pytest.mark.parametrize(
    "version,cost,model", [("2.1.197", 0.0789035, "claude-opus-4-8"), ("2.1.330", 0.0595624, "claude-opus-5-5")]
)
@pytest.mark.parametrize("folder", ["grpc/write_hold_delta", "grpc/write_hold_cumulative"])
async def test_delta_and_cumulative_give_the_same_totals(otlp, version, cost, model, folder):
    r = await send(otlp, capture(version, folder), "grpc")
    check(
        r,
        cost=cost,
        models={model: cost},
        lines={"added": 4, "removed": 0},
        edits=[("Write", "Plain text", "config", "accept", 1)],
    )


async def test_cumulative_resent_every_second_is_not_double_counted_even_replayed_twice(otlp):
    exports = capture("2.1.197", "grpc/write_hold_cumulative")
    assert sum(e.signal == "metrics" for e in exports) == 4  # the same totals re-sent each tick
    await send(otlp, exports, "grpc")
    r = await send(otlp, exports, "grpc")  # an exporter retrying everything
    assert r["cost_usd"] == 0.0789035 and r["lines"]["added"] == 4
    assert r["events"]["api_request"] == 2


async def test_continue_has_two_sessions_under_one_model(otlp):
    r = await send(otlp, capture("2.1.197", "grpc/continue"), "grpc")
    check(r, cost=0.0789035, models={"claude-opus-4-8": 0.0789035}, sessions=2)
    assert {s["session_id"][:8] for s in r["sessions"]} == {"f3cca03c", "c4f76be4"}
    assert r["sessions_started"] == 2


async def test_error400_is_one_api_error_and_no_cost(otlp):
    r = await send(otlp, capture("2.1.197", "grpc/error400"), "grpc")
    check(r, cost=0.0, models={}, api_errors={"400": 1}, events={"api_error": 1})


async def test_2_1_330_persistent_400_and_headless_denial(otlp):
    r = await send(otlp, capture("2.1.330", "grpc/error400_persistent"), "grpc")
    assert r["api_errors"] == {"400": 1} and r["cost_usd"] == 0.0


async def test_2_1_330_headless_write_denial_is_one_reject(otlp):
    r = await send(otlp, capture("2.1.330", "grpc/write_denied_headless"), "grpc")
    assert [(e["tool_name"], e["source"], e["decision"], e["count"]) for e in r["edit_decisions"]] == [
        ("Write", "config", "reject", 1)
    ]


async def test_sessions_fall_back_to_user_when_session_id_is_off(otlp):
    r = await send(otlp, capture("2.1.197", "grpc/all_tooldetails_flags"), "grpc")
    (s,) = r["sessions"]
    assert s["session_id"].startswith("user:d3a") and s["cost_usd"] == 0.2367105
    assert otlp.store.snapshot().tool_details_logged is True


async def test_interactive_tui_rejects_accepts_and_user_time(otlp):
    r = await send(otlp, capture("2.1.197", "grpc/interactive"), "grpc")
    assert [(e["tool_name"], e["source"], e["decision"]) for e in r["edit_decisions"]] == [
        ("Write", "user_reject", "reject"),
        ("Write", "user_temporary", "accept"),
    ]
    assert r["active_time_s"]["user"] == 1.684 and r["events"]["permission_mode_changed"] == 3


async def test_traces_are_accepted_and_stored(otlp):
    exports = capture("2.1.197", "grpc/traces_beta")
    await send(otlp, exports, "grpc")
    n = otlp.store._read.execute("SELECT COUNT(*), COUNT(DISTINCT name) FROM spans").fetchone()
    assert n[1] == 5 and n[0] >= 5
    grpc_traces = sum(e.signal == "traces" for e in exports)
    exports = capture("2.1.330", "http_json/traces_beta")
    await send(otlp, exports, "http")
    http_traces = sum(e.signal == "traces" for e in exports)
    assert otlp.stats.received()["traces"] == grpc_traces + http_traces
    lanes = {(la.signal, la.protocol): la.accepted for la in otlp.stats.flow().lanes}
    assert (lanes[("traces", "grpc")], lanes[("traces", "http/json")]) == (grpc_traces, http_traces)


ALL_FOLDERS = [
    (v, f)
    for v in ("2.1.197", "2.1.330")
    for f in (
        "grpc/text",
        "grpc/all",
        "grpc/all_prompts_resattrs",
        "grpc/commit_default_intervals",
        "grpc/error529_retried",
        "grpc/interactive",
        "grpc/write_hold_delta",
        "http_protobuf/text_gzip",
        "http_json/text",
    )
]


@pytest.mark.parametrize("version,folder", ALL_FOLDERS)
async def test_metric_cost_equals_event_cost(otlp, version, folder):
    """An oracle independent of the metric path: Claude Code reports each call's cost in the
    api_request event too, and the captures hold both."""
    exports = capture(version, folder)
    r = await send(otlp, exports, "grpc" if folder.startswith("grpc") else "http")
    rows = otlp.store._read.execute(
        "SELECT SUM(json_extract(attrs, '$.cost_usd')) FROM events WHERE name = 'api_request'"
    ).fetchone()
    assert r["cost_usd"] == round(rows[0] or 0.0, 10)
    assert r["cost_usd"] > 0


# --- error answers ----------------------------------------------------------------------------


async def test_grpc_undecodable_is_invalid_argument_and_counted(otlp):
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", b"\xff\xff\xff")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a protobuf metrics export" in err.value.details()
    assert otlp.stats.rejections() == {"metrics": 1}


async def test_grpc_over_64_mib_is_resource_exhausted(otlp):
    req = ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    rec.body.string_value = "x" * (65 * 1024 * 1024)
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(grpc_export, otlp.grpc_port, "logs", req.SerializeToString())
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_grpc_gzip_compressed_request(otlp):
    for e in capture("2.1.197", "grpc/text"):
        await asyncio.to_thread(grpc_export, otlp.grpc_port, e.signal, e.body, compression=grpc.Compression.Gzip)
    assert report_dict(otlp.store.snapshot())["cost_usd"] == 0.03945175


async def test_http_200_answers_in_the_request_content_type(otlp):
    (m,) = [e for e in capture("2.1.197", "http_json/text") if e.signal == "metrics"]
    status, headers, body = await asyncio.to_thread(http_export, otlp.http_port, "metrics", m.body, json_body=True)
    assert (status, headers["content-type"], body) == (200, "application/json", b"{}")
    (p,) = [e for e in capture("2.1.197", "http_protobuf/text") if e.signal == "metrics"]
    status, headers, body = await asyncio.to_thread(http_export, otlp.http_port, "metrics", p.body)
    assert (status, headers["content-type"], body) == (200, "application/x-protobuf", b"")


@pytest.mark.parametrize(
    "body,ctype,status,needle",
    [
        (b"\xff\xff", "application/x-protobuf", 400, b"not a protobuf logs export"),
        (b"{oops", "application/json", 400, b"body is not JSON"),
        (b"hello", "text/plain", 415, b"unsupported content type"),
        (b"hello", "", 415, b"unsupported content type"),
    ],
)
async def test_http_bad_bodies(otlp, body, ctype, status, needle):
    got, headers, reply = await asyncio.to_thread(http_export, otlp.http_port, "logs", body, content_type=ctype or " ")
    assert got == status and needle in reply
    if got == 400 and ctype == "application/json":
        assert json.loads(reply)["code"] == 3
    elif got == 400:
        assert reply[:2] == b"\x08\x03"  # google.rpc.Status code INVALID_ARGUMENT
    assert otlp.stats.rejections() == {"logs": 1}


def _raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return parse_response(data)


async def test_http_wrong_path_and_method(otlp):
    status, _, body = await asyncio.to_thread(
        _raw,
        otlp.http_port,
        b"POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    assert status == 404 and b"/v1/nothing" in body
    status, headers, _ = await asyncio.to_thread(
        _raw, otlp.http_port, b"GET /v1/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 405 and headers["allow"] == "POST"


async def test_http_body_over_limit_is_413_before_reading_it(otlp):
    status, headers, _ = await asyncio.to_thread(
        _raw,
        otlp.http_port,
        b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 70000000\r\n\r\n",
    )
    assert status == 413


async def test_http_gzip_bomb_is_413(otlp):
    bomb = gzip.compress(b"\0" * (65 * 1024 * 1024))  # 64 KiB on the wire, 65 MiB inflated
    raw = (
        b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(bomb)}\r\nConnection: close\r\n\r\n".encode()
        + bomb
    )
    status, _, body = await asyncio.to_thread(_raw, otlp.http_port, raw)
    assert status == 413 and b"inflates past" in body


async def test_http_keep_alive_serves_several_exports_on_one_connection(otlp):
    exports = [e for e in capture("2.1.197", "http_protobuf/all")]

    def send_all() -> list[int]:
        with socket.create_connection(("127.0.0.1", otlp.http_port), timeout=10) as s:
            f = s.makefile("rb")
            statuses = []
            for e in exports:
                s.sendall(
                    f"POST /v1/{e.signal} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                    f"Content-Length: {len(e.body)}\r\n\r\n".encode()
                    + e.body
                )
                line = f.readline()
                statuses.append(int(line.split()[1]))
                length = 0
                while (h := f.readline()) != b"\r\n":
                    if h.lower().startswith(b"content-length"):
                        length = int(h.split(b":")[1])
                f.read(length)
            return statuses

    assert await asyncio.to_thread(send_all) == [200] * len(exports)
    assert report_dict(otlp.store.snapshot())["cost_usd"] == 0.2367105


async def test_concurrent_exports_share_commits_and_all_count(otlp):
    (m,) = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"]
    bodies = [metrics_for_session(m.body, f"session-{i}") for i in range(40)]  # each one API call
    await asyncio.gather(*(asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", b) for b in bodies))
    r = report_dict(otlp.store.snapshot())
    assert len(r["sessions"]) == 40
    assert r["cost_usd"] == round(40 * 0.03945175, 10)
