"""Figure 7, Prometheus: one poll of every pane against a real Prometheus holding 1,000
sessions' series.

Method: start the ``prometheus`` binary (Debian's 2.42: ``apt-get install -y
--no-install-recommends prometheus``) on a free loopback port with an empty temporary TSDB
and ``--web.enable-remote-write-receiver``; push, by remote write, the last hour of 1,000
Claude Code sessions as the OTel Collector's prometheus exporter names them
(``claude_code_cost_usage_USD_total`` ...; session_id, user_email, model, type, ... labels):
a session count, cost per model, tokens per model and type, active time, lines, edit
decisions, commits and pull requests, one sample a minute (Claude Code's export interval),
each session active for 5-40 minutes at staggered times: about 20,000 series.

Then ``PrometheusSource.from_args`` (as ``ccmon --prometheus URL`` builds it) polls: the first
poll (cold: it looks back over the whole window) and then ``polls`` steady-state polls (each
looking only at what is new). Figures: HTTP requests (queries) per poll, and the wall time of
a steady poll, shown against the default poll interval (a poll must end before the next one
starts; the issue sets no goal). The snapshot must show 1,000 sessions and the exact total
cost that was pushed.
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .figures import Figure, at_most, info, missing
from .proc import ROOT

sys.path.insert(0, str(ROOT / "tests"))  # the remote-write encoder is shared with the tests
from promrw import remote_write  # noqa: E402

COMMON = ("claude-code", "2.1.197")
MODELS = ("claude-opus-4-8", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")
TOKENS_PER_MIN = {"input": 3000, "output": 1200, "cacheRead": 24000, "cacheCreation": 1800}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sessions_series(n: int, now_s: float) -> tuple[list[tuple[dict[str, str], list[tuple[int, float]]]], float]:
    """The series of ``n`` sessions over the last hour, and their total cost (last values)."""
    rng = random.Random(7)
    out = []
    total_cost = 0.0
    end_min = int(now_s // 60) - 1
    for i in range(n):
        length = rng.randint(5, 40)
        last = end_min - rng.randint(0, 55 - length)
        minutes = range(last - length + 1, last + 1)
        std = {
            "job": "claude-code",
            "session_id": f"prom-session-{i:05d}",
            "user_email": f"user{i % 37}@example.com",
            "organization_id": "org-bench",
            "user_account_uuid": f"acc-{i % 37:04d}",
            "terminal_type": ("vscode", "tmux", "cursor")[i % 3],
        }
        models = MODELS[: 1 + i % 2]
        rates = {m: rng.uniform(0.005, 0.05) for m in models}

        # minutes and std bound as defaults: this session's, not whatever the loop holds later
        def counter(
            name: str,
            labels: dict[str, str],
            per_min: float,
            integer: bool = False,
            *,
            minutes: range = minutes,
            std: dict[str, str] = std,
        ) -> float:
            samples = []
            for k, m in enumerate(minutes, 1):
                v = per_min * k
                samples.append((m * 60_000, float(math.floor(v)) if integer else round(v, 6)))
            out.append(({"__name__": name, **std, **labels}, samples))
            return samples[-1][1]

        counter("claude_code_session_count_total", {}, 0.0)
        out[-1] = (out[-1][0], [(t, 1.0) for t, _ in out[-1][1]])
        for m in models:
            total_cost += counter("claude_code_cost_usage_USD_total", {"model": m}, rates[m])
            for typ, per in TOKENS_PER_MIN.items():
                counter("claude_code_token_usage_tokens_total", {"model": m, "type": typ}, per, True)
        counter("claude_code_active_time_seconds_total", {"type": "user"}, 12.0)
        counter("claude_code_active_time_seconds_total", {"type": "cli"}, 30.0)
        counter("claude_code_lines_of_code_count_total", {"type": "added"}, 9.0, True)
        counter("claude_code_lines_of_code_count_total", {"type": "removed"}, 3.0, True)
        for tool, lang, dec in (
            ("Edit", "Python", "accept"),
            ("Write", "Markdown", "accept"),
            ("Edit", "Python", "reject"),
        ):
            counter(
                "claude_code_code_edit_tool_decision_total",
                {"tool_name": tool, "decision": dec, "source": "config", "language": lang},
                0.5,
                True,
            )
        if i % 4 == 0:
            counter("claude_code_commit_count_total", {}, 0.1, True)
    return out, total_cost


class Prometheus:
    def __init__(self, binary: str) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="ccmon-bench-prom-")
        cfg = Path(self.dir.name) / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(self.dir.name) / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={self.dir.name}/data",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("prometheus did not become ready")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()


async def _polls(url: str, n: int, timeout_s: float | None = None) -> dict[str, Any]:
    """A first (cold) poll, then ``n`` steady polls a second apart, with the source the CLI
    builds (``timeout_s`` overrides its per-request timeout)."""
    import argparse
    import dataclasses

    from ccmon.ingest.prometheus.source import PrometheusSource

    args = argparse.Namespace(prometheus=url, interval=5.0, header=[], match=None)
    source = PrometheusSource.from_args(args)
    if timeout_s is not None:
        await source.stop()
        source = PrometheusSource(dataclasses.replace(source.config, timeout_s=timeout_s))
    times, queries, errors = [], [], []
    try:
        for i in range(n + 1):
            if i:
                await asyncio.sleep(1.0)  # as the app's ticks would, a little later each time
            q0, t0 = source.requests, time.perf_counter()
            ok = await source.poll()
            times.append(time.perf_counter() - t0)
            queries.append(source.requests - q0)
            if not ok:
                errors.append(source.snapshot().status.last_error)
                break
        snap = source.snapshot()
    finally:
        await source.stop()
    return {
        "times": times,
        "queries": queries,
        "errors": errors,
        "sessions": len(snap.sessions),
        "cost": snap.cost_total,
        "interval": source.config.interval_s,
        "timeout": source.config.timeout_s,
    }


def measure(sessions: int = 1000, polls: int = 5, log=print) -> list[Figure]:
    binary = shutil.which("prometheus")
    if binary is None:
        why = "no prometheus binary: apt-get install -y --no-install-recommends prometheus"
        return [missing("prometheus.poll", "s", why), missing("prometheus.queries_per_poll", "queries", why)]
    try:
        __import__("ccmon.ingest.prometheus.source")
    except ImportError as exc:
        why = f"ccmon.ingest.prometheus.source not importable: {exc}"
        return [missing("prometheus.poll", "s", why), missing("prometheus.queries_per_poll", "queries", why)]
    prom = Prometheus(binary)
    try:
        series, total_cost = sessions_series(sessions, time.time())
        t0 = time.perf_counter()
        for i in range(0, len(series), 1000):
            status, body = remote_write(prom.url, series[i : i + 1000])
            if status != 204:
                raise RuntimeError(f"remote write refused: {status} {body[:300]}")
        push_s = time.perf_counter() - t0
        res = asyncio.run(_polls(prom.url, polls))
        default_timeout = res["timeout"]
        first_error = res["errors"][0] if res["errors"] else None
        if first_error:
            # The CLI's source could not finish a poll: measure the same polls with a timeout
            # long enough to see how long they take, and report the failure with the figure.
            log(f"  prometheus: first poll failed with the default {default_timeout:g} s timeout: {first_error}")
            failed_s = res["times"][0]
            res = asyncio.run(_polls(prom.url, polls, timeout_s=300.0))
    finally:
        prom.stop()
    steady = res["times"][1:]
    problems = [f"poll failed: {e}" for e in res["errors"]]
    if res["sessions"] != sessions:
        problems.append(f"{res['sessions']} sessions shown, {sessions} pushed")
    if not math.isclose(res["cost"], total_cost, rel_tol=1e-6):
        problems.append(f"cost {res['cost']!r} shown, {total_cost!r} pushed")
    v = statistics.median(steady) if steady else None
    log(
        f"  prometheus: {len(series)} series, first poll {res['times'][0] * 1000:.0f} ms, steady "
        f"{(v or 0) * 1000:.0f} ms, {res['queries'][-1]} queries/poll"
    )
    extra: dict[str, Any] = {}
    if first_error:
        extra = {
            "first_poll_with_default_timeout": f"failed after {failed_s:.1f} s: {first_error}",
            "default_timeout_s": default_timeout,
        }
    poll = at_most(
        "prometheus.poll",
        v,
        "s",
        res["interval"],
        goal="< poll interval (no goal in the issue)",
        first_poll_s=round(res["times"][0], 3),
        steady_polls_s=[round(t, 3) for t in steady],
        series=len(series),
        sessions=sessions,
        push_s=round(push_s, 2),
        **extra,
        verify="; ".join(problems) or "ok",
    )
    first = at_most(
        "prometheus.first_poll",
        res["times"][0],
        "s",
        default_timeout,
        goal="< the source's request timeout (no goal in the issue)",
        **extra,
    )
    if problems:
        poll.met = False
    if first_error:
        first.met = False  # the CLI's own source never got its first poll through
    queries = info(
        "prometheus.queries_per_poll",
        res["queries"][-1],
        "queries",
        goal="fixed, independent of sessions (no goal in the issue)",
        per_poll=res["queries"],
    )
    return [poll, first, queries]
