"""``ccmon doctor``: would Claude Code's telemetry reach this ccmon, and if not, why and what to do.

1. Read every place Claude Code takes its environment from, lowest precedence first: the shell,
   ``~/.claude/settings.json``, the repository's ``.claude/settings.json`` and
   ``.claude/settings.local.json`` (recent Claude Code applies only switch-offs from these two),
   and the managed settings (which win, and whose endpoint/protocol/headers strip the user's
   per-signal ones).
2. Check the result for every known cause of "nothing arrives", each with its fix.
3. Send a small, marked test export (``service.name`` ``ccmon-doctor``, user agent
   ``ccmon-doctor/<version>``, one metric without data points: nothing any receiver could count
   as Claude Code usage) where Claude Code would send metrics, over the protocol it would use, and
   ask whoever accepted it whether it is ccmon (``GET /ccmon/v1/info`` / ``ccmon.v1.Info/Get``).

Exit 0 only when no finding is an error and the test export was accepted by a ccmon.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from . import claude_settings as cs
from .env import LOGS_INTERVAL_MS, METRIC_INTERVAL_MS, Target

ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"
MARK = {ERROR: "✗", WARNING: "!", INFO: "i", OK: "✓"}
PROBE_SERVICE = "ccmon-doctor"
PROBE_METRIC = "ccmon.doctor.probe"

_SIGNAL_KEYS = ("ENDPOINT", "PROTOCOL", "HEADERS", "TIMEOUT", "COMPRESSION", "INSECURE", "CERTIFICATE",
                "CLIENT_KEY", "CLIENT_CERTIFICATE")
KNOWN = frozenset({
    "CLAUDE_CODE_ENABLE_TELEMETRY", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA",
    "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER",
    *(f"OTEL_EXPORTER_OTLP_{k}" for k in _SIGNAL_KEYS),
    *(f"OTEL_EXPORTER_OTLP_{s}_{k}" for s in ("METRICS", "LOGS", "TRACES") for k in _SIGNAL_KEYS),
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT", "OTEL_LOGS_EXPORT_INTERVAL", "OTEL_TRACES_EXPORT_INTERVAL",
    "OTEL_LOG_USER_PROMPTS", "OTEL_LOG_TOOL_DETAILS", "OTEL_LOG_TOOL_CONTENT", "OTEL_LOG_ASSISTANT_RESPONSES",
    "OTEL_LOG_RAW_API_BODIES", "OTEL_LOG_MANAGED_SETTINGS", "OTEL_METRICS_INCLUDE_SESSION_ID",
    "OTEL_METRICS_INCLUDE_VERSION", "OTEL_METRICS_INCLUDE_ACCOUNT_UUID", "OTEL_METRICS_INCLUDE_REPOSITORY",
    "OTEL_METRICS_INCLUDE_ENTRYPOINT", "OTEL_METRICS_INCLUDE_RESOURCE_ATTRIBUTES", "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME", "OTEL_EXPORTER_PROMETHEUS_PORT", "OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_SDK_DISABLED",
    "OTEL_LOG_LEVEL", "OTEL_PROPAGATORS",
})
CONTENT = ("OTEL_LOG_USER_PROMPTS", "OTEL_LOG_TOOL_DETAILS", "OTEL_LOG_TOOL_CONTENT",
           "OTEL_LOG_ASSISTANT_RESPONSES", "OTEL_LOG_RAW_API_BODIES")
MANAGED_PINS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS")
PER_SIGNAL = tuple(f"OTEL_EXPORTER_OTLP_{s}_{k}" for s in ("METRICS", "LOGS", "TRACES")
                   for k in ("ENDPOINT", "PROTOCOL", "HEADERS"))
_TYPO = re.compile(r"^(OTEL|OLTP|OTLP|OTLE|OTEl|OTE)_|OLTP|OTPL|TELEMET", re.IGNORECASE)
_PROTOCOLS = ("grpc", "http/protobuf", "http/json")


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    fix: str = ""
    source: str = ""


@dataclass
class Layer:
    name: str
    path: str | None
    env: dict[str, str]
    present: bool
    doc: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    protocol: str | None = None
    endpoint: str | None = None
    probe: dict[str, Any] = field(default_factory=dict)

    def add(self, code: str, severity: str, message: str, fix: str = "", source: str = "") -> None:
        self.findings.append(Finding(code, severity, message, fix, source))

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings) and self.probe.get("ccmon") is True


# -- reading --------------------------------------------------------------------------------

def _relevant(name: str) -> bool:
    return name.startswith("OTEL_") or name in KNOWN or bool(_TYPO.search(name))


def _switch_off(name: str, value: str) -> bool:
    v = value.strip().lower()
    if name == "CLAUDE_CODE_ENABLE_TELEMETRY":
        return v in ("", "0", "false", "no", "off")
    if name in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER"):
        return v == "none"
    if name == "OTEL_SDK_DISABLED":
        return v == "true"
    return False


def _layer(name: str, path: Path) -> Layer:
    try:
        doc = cs.read(path)
    except Exception as exc:  # unreadable or not JSON: a finding, not a crash
        return Layer(name, str(path), {}, True, None, getattr(exc, "message", str(exc)))
    return Layer(name, str(path), cs.env_of(doc), doc is not None, doc)


def gather(environ: dict[str, str], cwd: Path | None = None) -> list[Layer]:
    """Every source, lowest precedence first."""
    shell = Layer("shell environment", None, {k: v for k, v in environ.items() if _relevant(k)}, True)
    layers = [shell, _layer("user settings", cs.user_settings())]
    root = cs.repository_root(cwd) or (cwd or Path.cwd()).resolve()
    if root.resolve() != Path.home().resolve():  # ~/.claude/settings.json is not a project file
        project, local = cs.project_settings(root)
        layers += [_layer("project settings", project), _layer("local project settings", local)]
    layers.append(_layer("managed settings", cs.managed_settings()))
    return layers


def resolve(layers: list[Layer]) -> tuple[dict[str, str], dict[str, str]]:
    """The environment Claude Code would run with, and which layer each value came from."""
    env: dict[str, str] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        project = layer.name in ("project settings", "local project settings")
        for k, v in layer.env.items():
            if project and not _switch_off(k, v):
                continue
            env[k], origin[k] = v, layer.name
        if layer.name == "managed settings" and any(k in layer.env for k in MANAGED_PINS):
            for k in PER_SIGNAL:  # 2.1.217+: a managed destination strips the user's per-signal ones
                if k in env and k not in layer.env:
                    del env[k], origin[k]
    return env, origin


# -- checking -------------------------------------------------------------------------------

def _on(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _exporters(value: str | None) -> set[str]:
    return {p.strip().lower() for p in (value or "").split(",") if p.strip()}


def _headers(value: str | None) -> dict[str, str]:
    out = {}
    for part in (value or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().lower()] = v.strip()
    return out


def _suggest(name: str) -> str | None:
    fixed = re.sub("OLTP|OTPL", "OTLP", name.upper())
    if fixed in KNOWN and fixed != name:
        return fixed
    close = difflib.get_close_matches(name.upper(), sorted(KNOWN), n=1, cutoff=0.8)
    return close[0] if close and close[0] != name else None


def metrics_destination(env: dict[str, str]) -> tuple[str | None, str]:
    """(protocol, URL) Claude Code's metrics exporter would use (None: no protocol, nothing sent)."""
    protocol = env.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    specific = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    grpc = protocol == "grpc"
    if specific:
        return protocol, specific
    base = generic or ("http://localhost:4317" if grpc else "http://localhost:4318")
    return protocol, base if grpc else base.rstrip("/") + "/v1/metrics"


def check(report: Report, target: Target) -> None:
    env, origin = report.env, report.origin
    add = report.add

    def src(name: str) -> str:
        return origin.get(name, "")

    for layer in report.layers:
        if layer.error:
            add("settings_unreadable", ERROR, layer.error, f"fix {layer.path} by hand (it must be a JSON object)",
                layer.name)

    # Names: typos first, since they explain many of the findings below.
    for layer in report.layers:
        for name in layer.env:
            if name in KNOWN or not _relevant(name):
                continue
            hint = _suggest(name)
            if hint:
                add("typo", WARNING, f"{name} is not a variable Claude Code reads; it looks like {hint}",
                    f"rename {name} to {hint}", layer.name)
            elif name.startswith("OTEL_"):
                add("unknown_name", WARNING, f"{name} is not a variable Claude Code or OpenTelemetry reads",
                    "remove it, or check its spelling against `ccmon env`", layer.name)

    for layer in report.layers:
        if layer.name not in ("project settings", "local project settings"):
            continue
        ignored = [k for k, v in layer.env.items() if _relevant(k) and not _switch_off(k, v)]
        if ignored:
            add("project_settings_ignored", WARNING,
                f"{', '.join(sorted(ignored))} in {layer.path}: recent Claude Code ignores exporter variables in a "
                "repository's .claude/ (only values that switch telemetry off apply there)",
                "move them to ~/.claude/settings.json (`ccmon setup`) or the shell", layer.name)

    if not _on(env.get("CLAUDE_CODE_ENABLE_TELEMETRY")):
        where = f" ({src('CLAUDE_CODE_ENABLE_TELEMETRY')} sets it to "\
                f"{env['CLAUDE_CODE_ENABLE_TELEMETRY']!r})" if "CLAUDE_CODE_ENABLE_TELEMETRY" in env else ""
        add("telemetry_disabled", ERROR, f"telemetry is not enabled{where}: Claude Code sends nothing",
            "CLAUDE_CODE_ENABLE_TELEMETRY=1 (`ccmon setup` writes it)", src("CLAUDE_CODE_ENABLE_TELEMETRY"))

    metrics = _exporters(env.get("OTEL_METRICS_EXPORTER"))
    logs = _exporters(env.get("OTEL_LOGS_EXPORTER"))
    if "otlp" not in metrics and "otlp" not in logs:
        if "prometheus" not in metrics:
            add("no_exporter", ERROR, "neither OTEL_METRICS_EXPORTER nor OTEL_LOGS_EXPORTER is otlp: nothing is sent",
                "OTEL_METRICS_EXPORTER=otlp and OTEL_LOGS_EXPORTER=otlp")
    elif "otlp" not in metrics:
        add("metrics_exporter_missing", WARNING,
            "only the logs exporter is otlp: events arrive but no cost, token or session metrics",
            "OTEL_METRICS_EXPORTER=otlp", src("OTEL_METRICS_EXPORTER"))
    elif "otlp" not in logs:
        add("logs_exporter_missing", WARNING,
            "only the metrics exporter is otlp: no events (API requests, tools, errors, latency)",
            "OTEL_LOGS_EXPORTER=otlp", src("OTEL_LOGS_EXPORTER"))
    if "prometheus" in metrics:
        alone = "otlp" not in metrics
        add("prometheus_exporter", ERROR if alone and "otlp" not in logs else WARNING,
            "OTEL_METRICS_EXPORTER includes prometheus: each Claude Code process serves :9464 on all interfaces, "
            "so a second session fights the first for the port" + (" and metrics never reach ccmon" if alone else ""),
            "OTEL_METRICS_EXPORTER=otlp (ccmon can also read a Prometheus server with --prometheus URL)",
            src("OTEL_METRICS_EXPORTER"))

    protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if not protocol and not env.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"):
        add("protocol_unset", ERROR, "OTEL_EXPORTER_OTLP_PROTOCOL is not set: it has no default, Claude Code sends "
            "nothing over OTLP", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or http/protobuf, http/json)")
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"):
        if env.get(name) and env[name] not in _PROTOCOLS:
            add("protocol_invalid", ERROR, f"{name}={env[name]!r} is not a protocol",
                f"{name}=grpc (or http/protobuf, http/json)", src(name))

    generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    m = re.search(r"/v1/(metrics|logs|traces)/?$", generic)
    if m:
        add("signal_path_on_endpoint", ERROR,
            f"OTEL_EXPORTER_OTLP_ENDPOINT ends in {m.group(0)}: the exporters add /v1/metrics and /v1/logs "
            f"themselves, so they post to {generic.rstrip('/')}/v1/metrics",
            f"OTEL_EXPORTER_OTLP_ENDPOINT={generic[:m.start()]}", src("OTEL_EXPORTER_OTLP_ENDPOINT"))

    mp, murl = metrics_destination(env)
    report.protocol, report.endpoint = mp, murl
    for signal in ("METRICS", "LOGS"):
        proto = env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or protocol
        url = env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or generic
        if not url or proto not in _PROTOCOLS:
            continue
        port = urlsplit(url if "//" in url else "//" + url).port
        name = f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT" if env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") \
            else "OTEL_EXPORTER_OTLP_ENDPOINT"
        if proto == "grpc" and port in {4318, target.http_port} - {target.grpc_port}:
            add("grpc_to_http_port", ERROR, f"{signal.lower()} go over grpc to {url}, an OTLP/HTTP port",
                f"{name}={target.endpoint('grpc')} (or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)", src(name))
        elif proto != "grpc" and port in {4317, target.grpc_port} - {target.http_port}:
            add("http_to_grpc_port", ERROR, f"{signal.lower()} go over {proto} to {url}, an OTLP/gRPC port",
                f"{name}={target.endpoint('http/protobuf')} (or OTEL_EXPORTER_OTLP_PROTOCOL=grpc)", src(name))
        if signal == "METRICS" and name != "OTEL_EXPORTER_OTLP_ENDPOINT" and proto != "grpc" \
                and not url.rstrip("/").endswith("/v1/metrics"):
            add("signal_endpoint_without_path", WARNING, f"{name} is used as is: metrics are posted to {url}",
                f"{name}={url.rstrip('/')}/v1/metrics", src(name))

    managed = next((la for la in report.layers if la.name == "managed settings"), None)
    if managed and any(k in managed.env for k in MANAGED_PINS):
        pinned = ", ".join(f"{k}={managed.env[k]}" for k in MANAGED_PINS if k in managed.env)
        ours = target.endpoint(managed.env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or mp or "grpc")
        if managed.env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ours).rstrip("/") != ours:
            add("managed_pins_destination", ERROR,
                f"managed settings ({managed.path}) pin {pinned}: they override yours and strip your per-signal "
                "endpoints, so telemetry goes there, not to this ccmon",
                "ask whoever manages this machine, or read that destination instead (e.g. ccmon --prometheus URL)",
                managed.name)

    interval = env.get("OTEL_METRIC_EXPORT_INTERVAL")
    if not interval:
        add("metric_interval_default", WARNING, "OTEL_METRIC_EXPORT_INTERVAL is not set: metrics go out every 60 s "
            "(and at exit), so for a minute it looks as if nothing happens",
            f"OTEL_METRIC_EXPORT_INTERVAL={METRIC_INTERVAL_MS}")
    elif interval.isdigit() and int(interval) > 10_000:
        add("metric_interval_long", INFO, f"OTEL_METRIC_EXPORT_INTERVAL={interval}: numbers move every "
            f"{int(interval) // 1000} s", f"OTEL_METRIC_EXPORT_INTERVAL={METRIC_INTERVAL_MS}", src("OTEL_METRIC_EXPORT_INTERVAL"))
    if "otlp" in logs and not env.get("OTEL_LOGS_EXPORT_INTERVAL"):
        add("logs_interval_default", INFO, "OTEL_LOGS_EXPORT_INTERVAL is not set: events come about every 5 s",
            f"OTEL_LOGS_EXPORT_INTERVAL={LOGS_INTERVAL_MS}")

    if env.get("OTEL_METRICS_INCLUDE_SESSION_ID", "").strip().lower() in ("false", "0"):
        add("session_id_off", WARNING, "OTEL_METRICS_INCLUDE_SESSION_ID=false: no session.id anywhere, so ccmon "
            "shows one row per user instead of sessions", "remove OTEL_METRICS_INCLUDE_SESSION_ID (it is on by default)",
            src("OTEL_METRICS_INCLUDE_SESSION_ID"))

    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    if temporality == "cumulative":
        add("temporality_cumulative", INFO, "cumulative temporality: every export resends every series; ccmon "
            "counts it right, at the cost of more bytes", "remove it for delta (the default)",
            src("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"))
    elif temporality and temporality not in ("delta", "lowmemory"):
        add("temporality_invalid", WARNING, f"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE={temporality!r} is "
            "not delta, cumulative or lowmemory", "remove it (delta is the default)",
            src("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"))

    logged = [k for k in CONTENT if _on(env.get(k))]
    if logged:
        add("content_logged", INFO, f"{', '.join(logged)} on: prompts or tool content travel in the events and "
            "ccmon stores them in its database (privacy)", "unset them, or keep --retention-days short",
            src(logged[0]))

    headers = _headers(env.get("OTEL_EXPORTER_OTLP_HEADERS") or env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS"))
    if target.token:
        sent = headers.get("authorization", "")
        if sent != f"Bearer {target.token}":
            add("token_missing" if not sent else "token_wrong", ERROR,
                "this ccmon requires a token and Claude Code " + ("sends none" if not sent else "sends another one"),
                "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <the CCMON_TOKEN value> (`ccmon setup` writes it)",
                src("OTEL_EXPORTER_OTLP_HEADERS"))

    user = next((la for la in report.layers if la.name == "user settings"), None)
    line = (user.doc or {}).get("statusLine") if user else None
    command = line.get("command", "") if isinstance(line, dict) else ""
    if "ccmon statusline" in str(command):
        add("statusline", OK, "the ccmon status line is installed")
    else:
        add("statusline", INFO, "the ccmon status line is not installed" + (f" (statusLine runs {command!r})" if command else ""),
            "ccmon setup --statusline")


# -- the test export ------------------------------------------------------------------------

def probe_request() -> Any:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in (("service.name", PROBE_SERVICE), ("service.version", __version__)):
        a = rm.resource.attributes.add()
        a.key, a.value.string_value = k, v
    sm = rm.scope_metrics.add()
    sm.scope.name = PROBE_SERVICE
    m = sm.metrics.add()
    m.name, m.description = PROBE_METRIC, "ccmon doctor test export: not Claude Code usage"
    m.gauge.SetInParent()  # no data point: a valid export that no receiver can count as usage
    return req


def _grpc_call(host_port: str, method: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    import grpc

    with grpc.insecure_channel(host_port, options=[("grpc.primary_user_agent", f"ccmon-doctor/{__version__}")]) as ch:
        return ch.unary_unary(method)(body, timeout=timeout, metadata=tuple(headers.items()) or None)


def _send(protocol: str, url: str, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    """One attempt. {"accepted": bool, "status": str, "detail": str, "kind": refused|protocol|rejected|ok}."""
    req = probe_request()
    parts = urlsplit(url if "//" in url else "//" + url)
    host_port = f"{parts.hostname}:{parts.port or (4317 if protocol == 'grpc' else 4318)}"
    if ":" in (parts.hostname or ""):
        host_port = f"[{parts.hostname}]:{parts.port}"
    if protocol == "grpc":
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        import grpc

        try:
            _grpc_call(host_port, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                       req.SerializeToString(), headers, timeout)
            return {"accepted": True, "status": "OK", "detail": "", "kind": "ok"}
        except grpc.RpcError as exc:
            code, detail = exc.code(), exc.details() or ""
            if code == grpc.StatusCode.UNAVAILABLE:
                low = detail.lower()
                refused = "refused" in low or "failed to connect" in low and "http" not in low
                if "http1" in low or "http/1" in low or "trying to connect an http" in low or "socket closed" in low \
                        or not refused:
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
        r = httpx.post(url, content=body, timeout=timeout,
                       headers={"content-type": ctype, "user-agent": f"ccmon-doctor/{__version__}", **headers})
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
        return body[m.end():].decode("utf-8", "replace")[:300]
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
    protocol, url = report.protocol, report.endpoint or ""
    if protocol not in _PROTOCOLS:
        report.probe = {"sent": False, "ccmon": False, "why": "no valid protocol: Claude Code would send nothing"}
        return
    headers = {k: v for k, v in _headers(report.env.get("OTEL_EXPORTER_OTLP_HEADERS")).items()}
    headers.update(_headers(report.env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS")))
    if protocol == "grpc":
        headers = {k.lower(): v for k, v in headers.items()}
    result = _send(protocol, url, headers, timeout)
    result.update(sent=True, protocol=protocol, endpoint=url, ccmon=False)
    if result["accepted"]:
        info = _info(protocol, url, timeout)
        result["info"] = info
        result["ccmon"] = info is not None
        if info is None:
            report.add("probe_not_ccmon", ERROR, f"the test export to {url} was accepted, but not by ccmon "
                       "(an OTel Collector or another receiver listens there)",
                       f"point Claude Code at this ccmon: {_target_line(target, protocol)}")
        else:
            port = info.get("grpc_port") if protocol == "grpc" else info.get("http_port")
            mine = port == target.port(protocol)
            report.add("probe_ok", OK, f"test export ({PROBE_SERVICE}, not counted as usage) accepted by ccmon "
                       f"{info.get('version')} (pid {info.get('pid')}) on {protocol} {url}"
                       + ("" if mine else f"; that ccmon listens on port {port}, not {target.port(protocol)}"))
    else:
        kind = result["kind"]
        other = "http/protobuf" if protocol == "grpc" else "grpc"
        if kind == "refused":
            report.add("probe_refused", ERROR, f"nothing listens at {url}: the test export was refused",
                       f"start ccmon (`ccmon` or `ccmon serve`), or {_target_line(target, protocol)}")
        elif kind == "protocol" or (kind == "timeout" and protocol != "grpc"):
            speaks = _send(other, url if other == "grpc" else _http_url(url), headers, timeout)
            what = f" It speaks {'gRPC' if other == 'grpc' else 'OTLP/HTTP'}." if speaks["accepted"] else ""
            report.add("probe_wrong_protocol", ERROR, f"something listens at {url} but does not answer {protocol}."
                       f"{what}", f"OTEL_EXPORTER_OTLP_PROTOCOL={other} for that port, or "
                       f"{_target_line(target, protocol)}")
        elif kind == "timeout":
            report.add("probe_timeout", ERROR, f"the test export to {url} timed out", _target_line(target, protocol))
        else:
            if result["status"] in ("401", "403", "UNAUTHENTICATED", "PERMISSION_DENIED"):
                fix = "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <the receiver's token>"
            else:
                fix = _target_line(target, protocol)
            report.add("probe_rejected", ERROR, f"the test export to {url} was rejected with {result['status']}: "
                       f"{result['detail'][:200]}", fix)
    report.probe = result


def _http_url(url: str) -> str:
    return url.rstrip("/") + "/v1/metrics" if not url.rstrip("/").endswith("/v1/metrics") else url


def _target_line(target: Target, protocol: str) -> str:
    return (f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} OTEL_EXPORTER_OTLP_ENDPOINT={target.endpoint(protocol)} "
            "(`ccmon env` prints the rest)")


# -- output ---------------------------------------------------------------------------------

def inspect(target: Target, environ: dict[str, str], cwd: Path | None = None) -> Report:
    """Everything but the test export."""
    report = Report()
    report.layers = gather(environ, cwd)
    report.env, report.origin = resolve(report.layers)
    check(report, target)
    return report


def diagnose(args: argparse.Namespace, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Report:
    target = Target.from_args(args)
    report = inspect(target, dict(os.environ if environ is None else environ), cwd)
    probe(report, target, getattr(args, "timeout", 3.0))
    return report


def render(report: Report) -> str:
    from ..model.text import clean

    lines = [f"Claude Code would send metrics over {report.protocol} to {report.endpoint}" if report.protocol
             else "Claude Code would send no OTLP: no protocol is set"]
    for la in report.layers:
        state = f"{len(la.env)} variable(s)" if la.present else "absent"
        lines.append(f"  read {la.name}{f' {la.path}' if la.path else ''}: {state}")
    order = {ERROR: 0, WARNING: 1, INFO: 2, OK: 3}
    for f in sorted(report.findings, key=lambda f: order[f.severity]):
        # messages quote settings values and receivers' answers: untrusted, shown literally
        lines.append(clean(f"{MARK[f.severity]} {f.message}" + (f" [{f.source}]" if f.source else "")))
        if f.fix:
            lines.append(clean(f"    fix: {f.fix}"))
    lines.append("telemetry would reach this ccmon" if report.ok else
                 "telemetry would NOT reach this ccmon: fix the ✗ lines above")
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    return json.dumps({
        "ok": report.ok, "protocol": report.protocol, "endpoint": report.endpoint,
        "sources": [{"name": la.name, "path": la.path, "present": la.present, "variables": sorted(la.env)}
                    for la in report.layers],
        "findings": [asdict(f) for f in report.findings], "probe": report.probe,
    }, indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    report = diagnose(args)
    print(as_json(report) if args.json else render(report), end="")
    return 0 if report.ok else 1
