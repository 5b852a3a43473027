"""A real Prometheus (Debian's ``prometheus`` package, 2.42) and a real VictoriaMetrics (Debian's
``victoria-metrics``, 1.79) for the Prometheus-source tests.

Each instance listens on a free loopback port (never 9090) with its own temp dir. Two ways
to give it data:

* remote write (``--web.enable-remote-write-receiver``): exact history with past timestamps,
  queryable at once, so results can be asserted exactly. Ready in ~0.15 s, so each test
  gets its own instance;
* scraping ``fake_exporter.py`` (end to end; the first sample takes ~6 s to arrive).

VictoriaMetrics takes the same remote write; ``push`` then asks it to flush
(``/internal/force_flush``) so the samples are searchable at once. It runs with its defaults,
``-search.latencyOffset=30s`` included, as a team's server would.

Without a binary its tests skip, unless ``CI`` is set: then they fail, because CI installs both
(``apt-get install -y --no-install-recommends prometheus victoria-metrics``).

``tsdb`` is the fixture for tests that must hold on both servers.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from promrw import remote_write

HERE = Path(__file__).parent
READY_TIMEOUT_S = 30.0


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (apt-get install -y --no-install-recommends {name})")
        pytest.skip(f"{name} binary not installed")
    return found


def prometheus_binary() -> str:
    return binary("prometheus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """One Prometheus process. ``jobs``: (job name, target host:port, metrics path, honor_labels,
    extra target labels) scrape configs; none for a remote-write-only instance."""

    kind = "prometheus"

    def __init__(self, directory: Path, jobs: tuple[tuple[str, str, str, bool, dict[str, str]], ...] = ()) -> None:
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        config = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s", "scrape_configs:"]
        for name, target, path, honor, labels in jobs:
            config += [
                f"  - job_name: {name}",
                f"    metrics_path: {path}",
                f"    honor_labels: {str(honor).lower()}",
                "    static_configs:",
                f"      - targets: ['{target}']",
            ]
            if labels:
                config.append("        labels: {" + ", ".join(f"{k}: '{v}'" for k, v in labels.items()) + "}")
        (directory / "prometheus.yml").write_text("\n".join(config) + "\n")

    def start(self) -> Prometheus:
        log = open(self.dir / "prometheus.log", "ab")
        self.proc = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("prometheus did not start:\n" + (self.dir / "prometheus.log").read_text()[-2000:])
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def push(self, series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> None:
        """Remote-write ``series``. Oldest first: Prometheus refuses samples more than an hour
        older than the first one it ever got ("out of bounds")."""
        status, body = remote_write(self.url, sorted(series, key=lambda s: s[1][0][0]))
        assert status == 204, body

    def http_requests(self) -> dict[str, float]:
        """Prometheus' own count of API requests served, by handler: an outside view of how
        many queries a client made."""
        out: dict[str, float] = {}
        for line in httpx.get(self.url + "/metrics").text.splitlines():
            if line.startswith("prometheus_http_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                handler = labels.split('handler="', 1)[1].split('"', 1)[0]
                out[handler] = out.get(handler, 0.0) + float(value)
        return out

    def wait_scraped(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            targets = httpx.get(self.url + "/api/v1/targets").json()["data"]["activeTargets"]
            if len(targets) >= n and all(t["health"] == "up" for t in targets):
                return
            time.sleep(0.2)
        raise TimeoutError("prometheus did not scrape its targets")


class VictoriaMetrics:
    """One single-node VictoriaMetrics process, remote write only, with its default flags."""

    kind = "victoriametrics"

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> VictoriaMetrics:
        log = open(self.dir / "victoria-metrics.log", "ab")
        self.proc = subprocess.Popen(
            [
                binary("victoria-metrics"),
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.dir / 'vmdata'}",
                "-retentionPeriod=100y",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.dir / "victoria-metrics.log").read_text()
                pytest.fail("victoria-metrics did not start:\n" + log[-2000:])
            time.sleep(0.02)

    stop = Prometheus.stop

    def push(self, series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> None:
        """Remote write, then wait until every sample pushed so far can be read (a flush makes
        them searchable soon, not at once)."""
        status, body = remote_write(self.url, series)
        assert status == 204, body
        stamps = [t for _, samples in series for t, _ in samples]
        self.pushed = getattr(self, "pushed", 0) + sum(math.isfinite(v) for _, samples in series for _, v in samples)
        self.span = (
            (min(stamps + [self.span[0]]), max(stamps + [self.span[1]]))
            if hasattr(self, "span")
            else (min(stamps), max(stamps))
        )
        query = {
            "query": f'sum(count_over_time({{__name__=~".+"}}[{self.span[1] - self.span[0] + 1000}ms]))',
            "time": f"{self.span[1] / 1000:.3f}",
            "nocache": "1",
        }
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert httpx.get(self.url + "/internal/force_flush").status_code == 200
            result = httpx.post(self.url + "/api/v1/query", data=query).json()["data"]["result"]
            if result and float(result[0]["value"][1]) >= self.pushed:
                return
            assert time.monotonic() < deadline, f"victoria-metrics shows {result}, {self.pushed} samples pushed"
            time.sleep(0.05)

    def http_requests(self) -> dict[str, float]:
        """VictoriaMetrics' own count of API requests served, under Prometheus' handler names.
        Its /metrics page is refreshed about once a second: wait that out first."""
        time.sleep(1.1)
        rename = {"/api/v1/label/{}/values": "/api/v1/label/:name/values"}
        out: dict[str, float] = {}
        for line in httpx.get(self.url + "/metrics").text.splitlines():
            if line.startswith("vm_http_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                path = labels.split('path="', 1)[1].split('"', 1)[0]
                out[rename.get(path, path)] = out.get(rename.get(path, path), 0.0) + float(value)
        return out


def counter(
    name: str, labels: dict[str, str], end_s: int, per_minute: float, minutes: int = 120, start: float = 0.0
) -> tuple[dict[str, str], list[tuple[int, float]]]:
    """A counter sampled once a minute for ``minutes`` minutes up to ``end_s``, growing by
    ``per_minute`` each minute: ``increase(x[1h])`` is then exactly ``60 * per_minute``."""
    first = end_s - minutes * 60
    return (
        {"__name__": name, **labels},
        [((first + i * 60) * 1000, start + per_minute * i) for i in range(minutes + 1)],
    )


@pytest.fixture
def prometheus(tmp_path):
    """A fresh remote-write Prometheus for one test."""
    server = Prometheus(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["prometheus", "victoriametrics"])
def tsdb(request, tmp_path):
    """A fresh remote-write Prometheus, then a fresh VictoriaMetrics: the test runs on both."""
    server = (Prometheus if request.param == "prometheus" else VictoriaMetrics)(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fake_exporter():
    """``fake_exporter.py`` on a free port: Claude Code's metrics the way a Collector shows them."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fake_exporter.py"), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        yield f"127.0.0.1:{int(proc.stdout.readline().split('=')[1])}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
