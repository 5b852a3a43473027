"""``ccmon env``: exactly what Claude Code needs to send its telemetry to this ccmon.

One comment line per variable says why it is there. ``--format json`` prints the ``env``
object for ``~/.claude/settings.json`` (what ``ccmon setup`` merges in).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from dataclasses import dataclass

from .. import __version__
from ..errors import CcmonError

PROTOCOLS = ("grpc", "http/protobuf", "http/json")
FORMATS = ("sh", "fish", "powershell", "json")
METRIC_INTERVAL_MS = 5000  # live numbers; Claude Code's default is 60 s
LOGS_INTERVAL_MS = 2000
OPTIONAL = (
    "OTEL_METRICS_INCLUDE_REPOSITORY",
    "true",
    "optional (Claude Code 2.1.269+): the repository (origin remote) on every metric and event",
)


@dataclass(frozen=True)
class Target:
    """The ccmon to send to: its address, ports and token (if it requires one)."""

    bind: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    token: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        token = getattr(args, "token", None) or os.environ.get("CCMON_TOKEN", "")
        return cls(args.bind, args.grpc_port, args.http_port, token)

    @property
    def host(self) -> str:
        """Where a client on this machine reaches the receiver (a wildcard bind is not an address)."""
        if self.bind in ("0.0.0.0", ""):
            return "127.0.0.1"
        if self.bind == "::":
            return "[::1]"
        return f"[{self.bind}]" if ":" in self.bind else self.bind

    def port(self, protocol: str) -> int:
        return self.grpc_port if protocol == "grpc" else self.http_port

    def endpoint(self, protocol: str) -> str:
        port = self.port(protocol)
        if port == 0:
            raise CcmonError(
                'port 0 means "any free port": give the ports ccmon listens on with --grpc-port/--http-port', 2
            )
        return f"http://{self.host}:{port}"


def variables(target: Target, protocol: str) -> list[tuple[str, str, str]]:
    """(name, value, why) in the order they are best read."""
    port_kind = "gRPC" if protocol == "grpc" else "HTTP"
    out = [
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1", "switches Claude Code's telemetry on (it is off by default)"),
        ("OTEL_METRICS_EXPORTER", "otlp", "metrics (cost, tokens, sessions, lines) go out over OTLP"),
        ("OTEL_LOGS_EXPORTER", "otlp", "events (API requests, tools, errors) go out over OTLP too"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol, "how to send: it has no default, so it must be set"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            target.endpoint(protocol),
            f"this ccmon's {port_kind} port, with no /v1/... path (the exporters add it)",
        ),
        (
            "OTEL_METRIC_EXPORT_INTERVAL",
            str(METRIC_INTERVAL_MS),
            "metrics every 5 s instead of every 60 s, so the numbers move live",
        ),
        ("OTEL_LOGS_EXPORT_INTERVAL", str(LOGS_INTERVAL_MS), "events every 2 s instead of every 5 s"),
    ]
    if target.token:
        out.append(
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                f"Authorization=Bearer {target.token}",
                "the token this ccmon requires (CCMON_TOKEN / --token)",
            )
        )
    return out


def env_object(target: Target, protocol: str) -> dict[str, str]:
    return {name: value for name, value, _ in variables(target, protocol)}


def _assign(fmt: str, name: str, value: str) -> str:
    if fmt == "fish":
        return f"set -gx {name} {shlex.quote(value)}"
    if fmt == "powershell":
        return f"$env:{name} = '{value.replace(chr(39), chr(39) * 2)}'"
    return f"export {name}={shlex.quote(value)}"


def render(target: Target, protocol: str, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"env": env_object(target, protocol)}, indent=2) + "\n"
    where = f"{protocol} {target.endpoint(protocol)}"
    lines = [
        f"# Claude Code -> ccmon {__version__} ({where}). Set these where `claude` starts,",
        "# or run `ccmon setup` to put them in ~/.claude/settings.json.",
    ]
    for name, value, why in variables(target, protocol):
        lines += [f"# {why}", _assign(fmt, name, value)]
    name, value, why = OPTIONAL
    lines += [f"# {why}", f"# {_assign(fmt, name, value)}"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    print(render(Target.from_args(args), args.protocol, args.format), end="")
    return 0
