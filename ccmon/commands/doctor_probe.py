"""``ccmon doctor``, part 2: a small, marked test export where Claude Code would send metrics.

``service.name`` ``ccmon-doctor``, user agent ``ccmon-doctor/<version>``, one metric without data
points: nothing any receiver could count as Claude Code usage. Whoever accepts it is then asked
whether it is ccmon (``GET /ccmon/v1/info`` / gRPC ``ccmon.v1.Info/Get``). A failure is explained:
nothing listening, the other protocol on that port (tried to say which), a rejection and its status.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from .doctor_checks import ERROR, INFO, OK, Report, destination, exporters, parse_headers
from .env import PROTOCOLS, Target

PROBE_SERVICE = "ccmon-doctor"
PROBE_METRIC = "ccmon.doctor.probe"
SERVICES = {
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}


def probe_request(signal: str = "metrics") -> Any:
    """An export with a marked resource and nothing in it that could be counted."""
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        req = ExportLogsServiceRequest()
        res = req.resource_logs.add()
        res.scope_logs.add().scope.name = PROBE_SERVICE  # no log record
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        req = ExportMetricsServiceRequest()
        res = req.resource_metrics.add()
        sm = res.scope_metrics.add()
        sm.scope.name = PROBE_SERVICE
        m = sm.metrics.add()
        m.name, m.description = PROBE_METRIC, "ccmon doctor test export: not Claude Code usage"
        m.gauge.SetInParent()  # no data point: a valid export that no receiver can count as usage
    for k, v in (("service.name", PROBE_SERVICE), ("service.version", __version__)):
        a = res.resource.attributes.add()
        a.key, a.value.string_value = k, v
    return req


def _grpc_call(host_port: str, method: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    import grpc

    with grpc.insecure_channel(host_port, options=[("grpc.primary_user_agent", f"ccmon-doctor/{__version__}")]) as ch:
        return ch.unary_unary(method)(body, timeout=timeout, metadata=tuple(headers.items()) or None)


def _send(protocol: str, url: str, headers: dict[str, str], timeout: float, signal: str = "metrics") -> dict[str, Any]:
    """One attempt. {"accepted": bool, "status": str, "detail": str, "kind": refused|protocol|rejected|ok}."""
    req = probe_request(signal)
    parts = urlsplit(url if "//" in url else "//" + url)
    host_port = f"{parts.hostname}:{parts.port or (4317 if protocol == 'grpc' else 4318)}"
    if ":" in (parts.hostname or ""):
        host_port = f"[{parts.hostname}]:{parts.port}"
    if protocol == "grpc":
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        import grpc

        try:
            _grpc_call(host_port, SERVICES[signal], req.SerializeToString(), headers, timeout)
            return {"accepted": True, "status": "OK", "detail": "", "kind": "ok"}
        except grpc.RpcError as exc:
            code, detail = exc.code(), exc.details() or ""
            if code == grpc.StatusCode.UNAVAILABLE:
                low = detail.lower()
                refused = "refused" in low or "failed to connect" in low and "http" not in low
                if (
                    "http1" in low
                    or "http/1" in low
                    or "trying to connect an http" in low
                    or "socket closed" in low
                    or not refused
                ):
                    return {"accepted": False, "status": code.name, "detail": detail, "kind": "protocol"}
                return {"accepted": False, "status": code.name, "detail": detail, "kind": "refused"}
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return {"accepted": False, "status": code.name, "detail": detail, "kind": "timeout"}
            return {"accepted": False, "status": code.name, "detail": detail, "kind": "rejected"}
    import httpx
    from google.protobuf import json_format

    if protocol == "http/json":
        body, ctype = json_format.MessageToJson(req).encode(), "application/json"
    else:
        body, ctype = req.SerializeToString(), "application/x-protobuf"
    try:
        r = httpx.post(
            url,
            content=body,
            timeout=timeout,
            headers={"content-type": ctype, "user-agent": f"ccmon-doctor/{__version__}", **headers},
        )
    except httpx.ConnectError as exc:
        return {"accepted": False, "status": "", "detail": str(exc), "kind": "refused"}
    except httpx.TimeoutException as exc:
        return {"accepted": False, "status": "", "detail": str(exc) or "timed out", "kind": "timeout"}
    except httpx.HTTPError as exc:
        return {"accepted": False, "status": "", "detail": str(exc) or type(exc).__name__, "kind": "protocol"}
    if r.status_code == 200:
        return {"accepted": True, "status": "200", "detail": "", "kind": "ok"}
    return {"accepted": False, "status": str(r.status_code), "detail": _status_message(r), "kind": "rejected"}


def _status_message(r: Any) -> str:
    """The message of a google.rpc.Status answer (protobuf field 2, or JSON "message")."""
    body = r.content[:2000]
    if "json" in r.headers.get("content-type", ""):
        try:
            return str(json.loads(body).get("message", ""))[:300]
        except (ValueError, AttributeError):
            pass
    m = re.search(rb"\x12[\x00-\x7f]|\x12[\x80-\xff][\x00-\x7f]", body)
    if m and body.startswith(b"\x08"):
        return body[m.end() :].decode("utf-8", "replace")[:300]
    return body.decode("utf-8", "replace")[:300]


def _info(protocol: str, url: str, timeout: float) -> dict[str, Any] | None:
    """Ask whoever listens there whether it is ccmon."""
    parts = urlsplit(url if "//" in url else "//" + url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    try:
        if protocol == "grpc":
            raw = _grpc_call(f"{host}:{parts.port or 4317}", "/ccmon.v1.Info/Get", b"", {}, timeout)
        else:
            import httpx

            raw = httpx.get(f"http://{host}:{parts.port or 4318}/ccmon/v1/info", timeout=timeout).content
        doc = json.loads(raw)
    except Exception:
        return None
    return doc if isinstance(doc, dict) and doc.get("name") == "ccmon" else None


def probe(report: Report, target: Target, timeout: float) -> None:
    """Metrics' destination, and logs' too when it is another place or protocol."""
    env = report.env
    logs_on = "otlp" in exporters(env.get("OTEL_LOGS_EXPORTER"))
    metrics_on = "otlp" in exporters(env.get("OTEL_METRICS_EXPORTER"))
    signals = ["metrics"] if metrics_on or not logs_on else []
    if logs_on and (not signals or _place(*destination(env, "logs")) != _place(*destination(env, "metrics"))):
        signals.append("logs")
    report.probes = [_probe(report, target, timeout, signal) for signal in signals]
    report.probe = report.probes[0]


def _place(protocol: str | None, url: str) -> tuple:
    parts = urlsplit(url if "//" in url else "//" + url)
    return protocol, parts.hostname, parts.port


def _probe(report: Report, target: Target, timeout: float, signal: str) -> dict[str, Any]:
    protocol, url = destination(report.env, signal)
    said = "" if signal == "metrics" else "logs: "
    if protocol not in PROTOCOLS:
        return {
            "signal": signal,
            "sent": False,
            "ccmon": False,
            "why": "no valid protocol: Claude Code would send nothing",
        }
    headers = parse_headers(report.env.get("OTEL_EXPORTER_OTLP_HEADERS"))
    headers.update(parse_headers(report.env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_HEADERS")))
    result = _send(protocol, url, headers, timeout, signal)
    result.update(signal=signal, sent=True, protocol=protocol, endpoint=url, ccmon=False)
    if result["accepted"]:
        info = _info(protocol, url, timeout)
        result["info"] = info
        result["ccmon"] = info is not None
        if info is None:
            report.add(
                "probe_not_ccmon",
                ERROR,
                f"{said}the test export to {url} was accepted, but not by ccmon "
                "(an OTel Collector or another receiver listens there)",
                f"point Claude Code at this ccmon: {_target_line(target, protocol)}",
            )
        else:
            port = info.get("grpc_port") if protocol == "grpc" else info.get("http_port")
            mine = port == target.port(protocol)
            report.add(
                "probe_ok",
                OK,
                f"{said}test export ({PROBE_SERVICE}, not counted as usage) accepted by ccmon "
                f"{info.get('version')} (pid {info.get('pid')}) on {protocol} {url}"
                + ("" if mine else f"; that ccmon listens on port {port}, not {target.port(protocol)}"),
            )
            _statusline_calls(report, info)
        return result
    kind = result["kind"]
    other = "http/protobuf" if protocol == "grpc" else "grpc"
    if kind == "refused":
        report.add(
            "probe_refused",
            ERROR,
            f"{said}nothing listens at {url}: the test export was refused",
            f"start ccmon (`ccmon` or `ccmon serve`), or {_target_line(target, protocol)}",
        )
    elif kind == "protocol" or (kind == "timeout" and protocol != "grpc"):
        speaks = _send(other, url if other == "grpc" else _http_url(url, signal), headers, timeout, signal)
        what = f" It speaks {'gRPC' if other == 'grpc' else 'OTLP/HTTP'}." if speaks["accepted"] else ""
        report.add(
            "probe_wrong_protocol",
            ERROR,
            f"{said}something listens at {url} but does not answer {protocol}.{what}",
            f"OTEL_EXPORTER_OTLP_PROTOCOL={other} for that port, or {_target_line(target, protocol)}",
        )
    elif kind == "timeout":
        report.add("probe_timeout", ERROR, f"{said}the test export to {url} timed out", _target_line(target, protocol))
    else:
        if result["status"] in ("401", "403", "UNAUTHENTICATED", "PERMISSION_DENIED"):
            fix = "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <the receiver's token>"
        else:
            fix = _target_line(target, protocol)
        report.add(
            "probe_rejected",
            ERROR,
            f"{said}the test export to {url} was rejected with {result['status']}: {result['detail'][:200]}",
            fix,
        )
    return result


def _http_url(url: str, signal: str) -> str:
    path = f"/v1/{signal}"
    return url if url.rstrip("/").endswith(path) else url.rstrip("/") + path


def _target_line(target: Target, protocol: str) -> str:
    return (
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} OTEL_EXPORTER_OTLP_ENDPOINT={target.endpoint(protocol)} "
        "(`ccmon env` prints the rest)"
    )


def _statusline_calls(report: Report, info: dict[str, Any]) -> None:
    """With the ccmon status line installed: has this ccmon heard from it?"""
    calls = info.get("statuslines")
    installed = any(f.code == "statusline" and f.severity == OK for f in report.findings)
    if not installed or not isinstance(calls, int) or any(f.code == "statusline_calls" for f in report.findings):
        return
    if calls:
        report.add("statusline_calls", OK, f"this ccmon has received {calls} status line(s) (plan limits, context)")
    else:
        report.add(
            "statusline_calls",
            INFO,
            "the ccmon status line is installed but this ccmon has received none yet",
            "restart Claude Code so it reads the settings; it runs the status line when its screen changes",
        )
