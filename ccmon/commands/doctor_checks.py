"""``ccmon doctor``, part 1: the environment Claude Code would run with, and what is wrong with it.

Sources, lowest precedence first: the shell, ``~/.claude/settings.json``, the repository's
``.claude/settings.json`` and ``.claude/settings.local.json`` (recent Claude Code applies only
switch-offs from these two), and the managed settings (which win, and whose
endpoint/protocol/headers strip the user's per-signal ones). Each finding carries its fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import claude_settings as cs
from .env import LOGS_INTERVAL_MS, METRIC_INTERVAL_MS, PROTOCOLS, Target

ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"
ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"

_SIGNAL_KEYS = (
    "ENDPOINT",
    "PROTOCOL",
    "HEADERS",
    "TIMEOUT",
    "COMPRESSION",
    "INSECURE",
    "CERTIFICATE",
    "CLIENT_KEY",
    "CLIENT_CERTIFICATE",
)
KNOWN = frozenset(
    {
        "CLAUDE_CODE_ENABLE_TELEMETRY",
        "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA",
        "OTEL_METRICS_EXPORTER",
        "OTEL_LOGS_EXPORTER",
        "OTEL_TRACES_EXPORTER",
        *(f"OTEL_EXPORTER_OTLP_{k}" for k in _SIGNAL_KEYS),
        *(f"OTEL_EXPORTER_OTLP_{s}_{k}" for s in ("METRICS", "LOGS", "TRACES") for k in _SIGNAL_KEYS),
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_LOGS_EXPORT_INTERVAL",
        "OTEL_TRACES_EXPORT_INTERVAL",
        "OTEL_LOG_USER_PROMPTS",
        "OTEL_LOG_TOOL_DETAILS",
        "OTEL_LOG_TOOL_CONTENT",
        "OTEL_LOG_ASSISTANT_RESPONSES",
        "OTEL_LOG_RAW_API_BODIES",
        "OTEL_LOG_MANAGED_SETTINGS",
        "OTEL_METRICS_INCLUDE_SESSION_ID",
        "OTEL_METRICS_INCLUDE_VERSION",
        "OTEL_METRICS_INCLUDE_ACCOUNT_UUID",
        "OTEL_METRICS_INCLUDE_REPOSITORY",
        "OTEL_METRICS_INCLUDE_ENTRYPOINT",
        "OTEL_METRICS_INCLUDE_RESOURCE_ATTRIBUTES",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SERVICE_NAME",
        "OTEL_EXPORTER_PROMETHEUS_PORT",
        "OTEL_EXPORTER_PROMETHEUS_HOST",
        "OTEL_SDK_DISABLED",
        "OTEL_LOG_LEVEL",
        "OTEL_PROPAGATORS",
    }
)
CONTENT = (
    "OTEL_LOG_USER_PROMPTS",
    "OTEL_LOG_TOOL_DETAILS",
    "OTEL_LOG_TOOL_CONTENT",
    "OTEL_LOG_ASSISTANT_RESPONSES",
    "OTEL_LOG_RAW_API_BODIES",
)
MANAGED_PINS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS")
PER_SIGNAL = tuple(
    f"OTEL_EXPORTER_OTLP_{s}_{k}" for s in ("METRICS", "LOGS", "TRACES") for k in ("ENDPOINT", "PROTOCOL", "HEADERS")
)
_TYPO = re.compile(r"^(OTEL|OLTP|OTLP|OTLE|OTEl|OTE)_|OLTP|OTPL|TELEMET", re.IGNORECASE)


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
    probe: dict[str, Any] = field(default_factory=dict)  # the metrics test export
    probes: list[dict[str, Any]] = field(default_factory=list)  # and the logs one, if logs go elsewhere

    def add(self, code: str, severity: str, message: str, fix: str = "", source: str = "") -> None:
        self.findings.append(Finding(code, severity, message, fix, source))

    @property
    def ok(self) -> bool:
        return (
            not any(f.severity == ERROR for f in self.findings)
            and bool(self.probes)
            and all(p.get("ccmon") is True for p in self.probes)
        )


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


def exporters(value: str | None) -> set[str]:
    return {p.strip().lower() for p in (value or "").split(",") if p.strip()}


def parse_headers(value: str | None) -> dict[str, str]:
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


def destination(env: dict[str, str], signal: str = "metrics") -> tuple[str | None, str]:
    """(protocol, URL) Claude Code's exporter for ``signal`` would use (None: no protocol, nothing
    sent). A per-signal endpoint is used as is; the generic one gets ``/v1/<signal>`` over HTTP."""
    up = signal.upper()
    protocol = env.get(f"OTEL_EXPORTER_OTLP_{up}_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    specific = env.get(f"OTEL_EXPORTER_OTLP_{up}_ENDPOINT")
    generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    grpc = protocol == "grpc"
    if specific:
        return protocol, specific
    base = generic or ("http://localhost:4317" if grpc else "http://localhost:4318")
    return protocol, base if grpc else base.rstrip("/") + f"/v1/{signal}"


def check(report: Report, target: Target) -> None:
    env, origin = report.env, report.origin
    add = report.add

    def src(name: str) -> str:
        return origin.get(name, "")

    for layer in report.layers:
        if layer.error:
            add(
                "settings_unreadable",
                ERROR,
                layer.error,
                f"fix {layer.path} by hand (it must be a JSON object)",
                layer.name,
            )

    # Names: typos first, since they explain many of the findings below.
    for layer in report.layers:
        for name in layer.env:
            if name in KNOWN or not _relevant(name):
                continue
            hint = _suggest(name)
            if hint:
                add(
                    "typo",
                    WARNING,
                    f"{name} is not a variable Claude Code reads; it looks like {hint}",
                    f"rename {name} to {hint}",
                    layer.name,
                )
            elif name.startswith("OTEL_"):
                add(
                    "unknown_name",
                    WARNING,
                    f"{name} is not a variable Claude Code or OpenTelemetry reads",
                    "remove it, or check its spelling against `ccmon env`",
                    layer.name,
                )

    for layer in report.layers:
        if layer.name not in ("project settings", "local project settings"):
            continue
        ignored = [k for k, v in layer.env.items() if _relevant(k) and not _switch_off(k, v)]
        if ignored:
            add(
                "project_settings_ignored",
                WARNING,
                f"{', '.join(sorted(ignored))} in {layer.path}: recent Claude Code ignores exporter variables in a "
                "repository's .claude/ (only values that switch telemetry off apply there)",
                "move them to ~/.claude/settings.json (`ccmon setup`) or the shell",
                layer.name,
            )

    if not _on(env.get("CLAUDE_CODE_ENABLE_TELEMETRY")):
        where = (
            f" ({src('CLAUDE_CODE_ENABLE_TELEMETRY')} sets it to {env['CLAUDE_CODE_ENABLE_TELEMETRY']!r})"
            if "CLAUDE_CODE_ENABLE_TELEMETRY" in env
            else ""
        )
        add(
            "telemetry_disabled",
            ERROR,
            f"telemetry is not enabled{where}: Claude Code sends nothing",
            "CLAUDE_CODE_ENABLE_TELEMETRY=1 (`ccmon setup` writes it)",
            src("CLAUDE_CODE_ENABLE_TELEMETRY"),
        )

    metrics = exporters(env.get("OTEL_METRICS_EXPORTER"))
    logs = exporters(env.get("OTEL_LOGS_EXPORTER"))
    if "otlp" not in metrics and "otlp" not in logs:
        if "prometheus" not in metrics:
            add(
                "no_exporter",
                ERROR,
                "neither OTEL_METRICS_EXPORTER nor OTEL_LOGS_EXPORTER is otlp: nothing is sent",
                "OTEL_METRICS_EXPORTER=otlp and OTEL_LOGS_EXPORTER=otlp",
            )
    elif "otlp" not in metrics:
        add(
            "metrics_exporter_missing",
            WARNING,
            "only the logs exporter is otlp: events arrive but no cost, token or session metrics",
            "OTEL_METRICS_EXPORTER=otlp",
            src("OTEL_METRICS_EXPORTER"),
        )
    elif "otlp" not in logs:
        add(
            "logs_exporter_missing",
            WARNING,
            "only the metrics exporter is otlp: no events (API requests, tools, errors, latency)",
            "OTEL_LOGS_EXPORTER=otlp",
            src("OTEL_LOGS_EXPORTER"),
        )
    if "prometheus" in metrics:
        alone = "otlp" not in metrics
        add(
            "prometheus_exporter",
            ERROR if alone and "otlp" not in logs else WARNING,
            "OTEL_METRICS_EXPORTER includes prometheus: each Claude Code process serves :9464 on all interfaces, "
            "so a second session fights the first for the port" + (" and metrics never reach ccmon" if alone else ""),
            "OTEL_METRICS_EXPORTER=otlp (ccmon can also read a Prometheus server with --prometheus URL)",
            src("OTEL_METRICS_EXPORTER"),
        )

    protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if not protocol and not env.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"):
        add(
            "protocol_unset",
            ERROR,
            "OTEL_EXPORTER_OTLP_PROTOCOL is not set: it has no default, Claude Code sends nothing over OTLP",
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or http/protobuf, http/json)",
        )
    for name in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    ):
        if env.get(name) and env[name] not in PROTOCOLS:
            add(
                "protocol_invalid",
                ERROR,
                f"{name}={env[name]!r} is not a protocol",
                f"{name}=grpc (or http/protobuf, http/json)",
                src(name),
            )

    generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    m = re.search(r"/v1/(metrics|logs|traces)/?$", generic)
    if m:
        add(
            "signal_path_on_endpoint",
            ERROR,
            f"OTEL_EXPORTER_OTLP_ENDPOINT ends in {m.group(0)}: the exporters add /v1/metrics and /v1/logs "
            f"themselves, so they post to {generic.rstrip('/')}/v1/metrics",
            f"OTEL_EXPORTER_OTLP_ENDPOINT={generic[: m.start()]}",
            src("OTEL_EXPORTER_OTLP_ENDPOINT"),
        )

    mp, murl = destination(env)
    report.protocol, report.endpoint = mp, murl
    for signal in ("METRICS", "LOGS"):
        proto = env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or protocol
        url = env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or generic
        if not url or proto not in PROTOCOLS:
            continue
        port = urlsplit(url if "//" in url else "//" + url).port
        name = (
            f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"
            if env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
            else "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        if proto == "grpc" and port in {4318, target.http_port} - {target.grpc_port}:
            add(
                "grpc_to_http_port",
                ERROR,
                f"{signal.lower()} go over grpc to {url}, an OTLP/HTTP port",
                f"{name}={target.endpoint('grpc')} (or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)",
                src(name),
            )
        elif proto != "grpc" and port in {4317, target.grpc_port} - {target.http_port}:
            add(
                "http_to_grpc_port",
                ERROR,
                f"{signal.lower()} go over {proto} to {url}, an OTLP/gRPC port",
                f"{name}={target.endpoint('http/protobuf')} (or OTEL_EXPORTER_OTLP_PROTOCOL=grpc)",
                src(name),
            )
        if (
            signal == "METRICS"
            and name != "OTEL_EXPORTER_OTLP_ENDPOINT"
            and proto != "grpc"
            and not url.rstrip("/").endswith("/v1/metrics")
        ):
            add(
                "signal_endpoint_without_path",
                WARNING,
                f"{name} is used as is: metrics are posted to {url}",
                f"{name}={url.rstrip('/')}/v1/metrics",
                src(name),
            )

    managed = next((la for la in report.layers if la.name == "managed settings"), None)
    if managed and any(k in managed.env for k in MANAGED_PINS):
        pinned = ", ".join(f"{k}={managed.env[k]}" for k in MANAGED_PINS if k in managed.env)
        ours = target.endpoint(managed.env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or mp or "grpc")
        if managed.env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ours).rstrip("/") != ours:
            add(
                "managed_pins_destination",
                ERROR,
                f"managed settings ({managed.path}) pin {pinned}: they override yours and strip your per-signal "
                "endpoints, so telemetry goes there, not to this ccmon",
                "ask whoever manages this machine, or read that destination instead (e.g. ccmon --prometheus URL)",
                managed.name,
            )

    interval = env.get("OTEL_METRIC_EXPORT_INTERVAL")
    if not interval:
        add(
            "metric_interval_default",
            WARNING,
            "OTEL_METRIC_EXPORT_INTERVAL is not set: metrics go out every 60 s "
            "(and at exit), so for a minute it looks as if nothing happens",
            f"OTEL_METRIC_EXPORT_INTERVAL={METRIC_INTERVAL_MS}",
        )
    elif interval.isdigit() and int(interval) > 10_000:
        add(
            "metric_interval_long",
            INFO,
            f"OTEL_METRIC_EXPORT_INTERVAL={interval}: numbers move every {int(interval) // 1000} s",
            f"OTEL_METRIC_EXPORT_INTERVAL={METRIC_INTERVAL_MS}",
            src("OTEL_METRIC_EXPORT_INTERVAL"),
        )
    if "otlp" in logs and not env.get("OTEL_LOGS_EXPORT_INTERVAL"):
        add(
            "logs_interval_default",
            INFO,
            "OTEL_LOGS_EXPORT_INTERVAL is not set: events come about every 5 s",
            f"OTEL_LOGS_EXPORT_INTERVAL={LOGS_INTERVAL_MS}",
        )

    if env.get("OTEL_METRICS_INCLUDE_SESSION_ID", "").strip().lower() in ("false", "0"):
        add(
            "session_id_off",
            WARNING,
            "OTEL_METRICS_INCLUDE_SESSION_ID=false: no session.id anywhere, so ccmon "
            "shows one row per user instead of sessions",
            "remove OTEL_METRICS_INCLUDE_SESSION_ID (it is on by default)",
            src("OTEL_METRICS_INCLUDE_SESSION_ID"),
        )

    if not _on(env.get("OTEL_METRICS_INCLUDE_REPOSITORY")):  # issue 17: cost by repository
        add(
            "repository_off",
            INFO,
            "OTEL_METRICS_INCLUDE_REPOSITORY is not on: ccmon cannot attribute cost to "
            "repositories (Claude Code 2.1.269+ adds the origin remote to every metric and event)",
            "OTEL_METRICS_INCLUDE_REPOSITORY=true",
            src("OTEL_METRICS_INCLUDE_REPOSITORY"),
        )

    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    if temporality == "cumulative":
        add(
            "temporality_cumulative",
            INFO,
            "cumulative temporality: every export resends every series; ccmon "
            "counts it right, at the cost of more bytes",
            "remove it for delta (the default)",
            src("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"),
        )
    elif temporality and temporality not in ("delta", "lowmemory"):
        add(
            "temporality_invalid",
            WARNING,
            f"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE={temporality!r} is not delta, cumulative or lowmemory",
            "remove it (delta is the default)",
            src("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"),
        )

    logged = [k for k in CONTENT if _on(env.get(k))]
    if logged:
        add(
            "content_logged",
            INFO,
            f"{', '.join(logged)} on: prompts or tool content travel in the events and "
            "ccmon stores them in its database (privacy)",
            "unset them, or keep --retention-days short",
            src(logged[0]),
        )

    headers = parse_headers(env.get("OTEL_EXPORTER_OTLP_HEADERS") or env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS"))
    if target.token:
        sent = headers.get("authorization", "")
        if sent != f"Bearer {target.token}":
            add(
                "token_missing" if not sent else "token_wrong",
                ERROR,
                "this ccmon requires a token and Claude Code " + ("sends none" if not sent else "sends another one"),
                "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <the CCMON_TOKEN value> (`ccmon setup` writes it)",
                src("OTEL_EXPORTER_OTLP_HEADERS"),
            )

    user = next((la for la in report.layers if la.name == "user settings"), None)
    line = (user.doc or {}).get("statusLine") if user else None
    command = line.get("command", "") if isinstance(line, dict) else ""
    if "ccmon statusline" in str(command):
        add("statusline", OK, "the ccmon status line is installed")
    else:
        add(
            "statusline",
            INFO,
            "the ccmon status line is not installed" + (f" (statusLine runs {command!r})" if command else ""),
            "ccmon setup --statusline",
        )


def inspect(target: Target, environ: dict[str, str], cwd: Path | None = None) -> Report:
    """Everything but the test export."""
    report = Report()
    report.layers = gather(environ, cwd)
    report.env, report.origin = resolve(report.layers)
    check(report, target)
    return report
