"""``ccmon doctor``: would Claude Code's telemetry reach this ccmon, and if not, why and what to do.

1. ``doctor_checks``: read every place Claude Code takes its environment from, in its
   precedence, and check the result for every known cause of "nothing arrives", with its fix.
2. ``doctor_probe``: send a small, marked test export where Claude Code would send metrics
   (and logs, when they go elsewhere), over its protocol, and ask whoever accepted it whether
   it is ccmon.

Exit 0 only when no finding is an error and the test export was accepted by a ccmon.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

from .doctor_checks import ERROR, INFO, OK, WARNING, Finding, Layer, Report, inspect, resolve  # noqa: F401
from .doctor_probe import probe
from .env import Target

MARK = {ERROR: "✗", WARNING: "!", INFO: "i", OK: "✓"}


def diagnose(args: argparse.Namespace, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Report:
    target = Target.from_args(args)
    report = inspect(target, dict(os.environ if environ is None else environ), cwd)
    probe(report, target, getattr(args, "timeout", 3.0))
    return report


def render(report: Report) -> str:
    from ..model.text import clean

    lines = [
        f"Claude Code would send metrics over {report.protocol} to {report.endpoint}"
        if report.protocol
        else "Claude Code would send no OTLP: no protocol is set"
    ]
    for la in report.layers:
        state = f"{len(la.env)} variable(s)" if la.present else "absent"
        lines.append(f"  read {la.name}{f' {la.path}' if la.path else ''}: {state}")
    order = {ERROR: 0, WARNING: 1, INFO: 2, OK: 3}
    for f in sorted(report.findings, key=lambda f: order[f.severity]):
        # messages quote settings values and receivers' answers: untrusted, shown literally
        lines.append(clean(f"{MARK[f.severity]} {f.message}" + (f" [{f.source}]" if f.source else "")))
        if f.fix:
            lines.append(clean(f"    fix: {f.fix}"))
    lines.append(
        "telemetry would reach this ccmon"
        if report.ok
        else "telemetry would NOT reach this ccmon: fix the ✗ lines above"
    )
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    return (
        json.dumps(
            {
                "ok": report.ok,
                "protocol": report.protocol,
                "endpoint": report.endpoint,
                "sources": [
                    {"name": la.name, "path": la.path, "present": la.present, "variables": sorted(la.env)}
                    for la in report.layers
                ],
                "findings": [asdict(f) for f in report.findings],
                "probe": report.probe,
                "probes": report.probes,
            },
            indent=2,
        )
        + "\n"
    )


def run(args: argparse.Namespace) -> int:
    report = diagnose(args)
    print(as_json(report) if args.json else render(report), end="")
    return 0 if report.ok else 1
