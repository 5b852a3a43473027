"""What a team's real setup throws at the source: an auth proxy in front of Prometheus, a
server that is down, slow, failing (5xx) or not Prometheus at all. The status says what
happened in one line, the last good numbers stay (stale), and nothing raises.

Prometheus itself cannot answer 401 or 5xx, so a tiny proxy in this file stands in front of
a real Prometheus and misbehaves on demand.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from prom_data import PLATFORM, aligned_now, expected_report, figures, team_history
from prom_server import free_port, prometheus  # noqa: F401  (fixture)

from ccmon.ingest.prometheus.config import Config, parse_url
from ccmon.ingest.prometheus.source import PrometheusSource

pytestmark = pytest.mark.prometheus
TOKEN = "Bearer s3cret"
BASIC = "Basic " + base64.b64encode(b"lead:p@ss word").decode()


class Proxy:
    """Forwards to ``upstream`` when the request carries an accepted Authorization header,
    else 401. ``mode`` makes it misbehave: "5xx", "garbage", "slow"."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "ok"
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.handle(self, None)

            def do_POST(self) -> None:
                proxy.handle(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def handle(self, h: http.server.BaseHTTPRequestHandler, body: bytes | None) -> None:
        if h.headers.get("Authorization") not in (TOKEN, BASIC):
            return self.reply(h, 401, b"Unauthorized\n", "text/plain")
        if self.mode == "5xx":
            return self.reply(h, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if self.mode == "escapes":
            return self.reply(h, 503, b"\x1b]0;owned\x07\x1b[2Jdown\x9b1m", "text/plain")
        if self.mode == "garbage":
            return self.reply(h, 200, b'{"status": "success", "data": [1, 2', "application/json")
        if self.mode == "slow":
            time.sleep(2)
        req = urllib.request.Request(
            self.upstream + h.path,
            data=body,
            method=h.command,
            headers={"Content-Type": h.headers.get("Content-Type", "")},
        )
        try:
            with urllib.request.urlopen(req) as r:
                self.reply(h, r.status, r.read(), r.headers["Content-Type"])
        except urllib.error.HTTPError as e:
            self.reply(h, e.code, e.read(), e.headers["Content-Type"])

    @staticmethod
    def reply(h: http.server.BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(prometheus):
    t = aligned_now()
    prometheus.push(team_history(t))
    p = Proxy(prometheus.url)
    p.t = t
    yield p
    p.close()


def config(url: str, **kw) -> Config:
    base, auth = parse_url(url)
    return Config(base, auth, match=PLATFORM, **kw)


async def poll_once(cfg: Config, at_s: float) -> PrometheusSource:
    source = PrometheusSource(cfg, clock=lambda: at_s)
    await source.poll()
    await source.stop()
    return source


async def test_bearer_header_and_basic_auth_in_the_url_get_through(proxy):
    by_header = await poll_once(config(proxy.url, headers=(("Authorization", TOKEN),)), proxy.t)
    assert figures(by_header.snapshot()) == expected_report(proxy.t)
    userinfo = proxy.url.replace("http://", "http://lead:p%40ss%20word@")
    by_url = await poll_once(config(userinfo), proxy.t)
    assert figures(by_url.snapshot()) == expected_report(proxy.t)
    assert "p%40ss" not in by_url.description and "lead" not in by_url.snapshot().status.where


async def test_bad_credentials_say_so(proxy):
    source = await poll_once(config(proxy.url, headers=(("Authorization", "Bearer wrong"),)), proxy.t)
    status = source.snapshot().status
    assert status.last_error == "HTTP 401 Unauthorized: check --header and the user:password in the URL"
    assert status.stale and source.snapshot().cost_total == 0


@pytest.mark.parametrize(
    "mode, error",
    [
        ("5xx", "HTTP 502 Bad Gateway: <html><body>502 Bad Gateway</body></html>"),
        ("garbage", "the answer is not Prometheus API JSON: is the URL the server's base URL?"),
        ("slow", "no answer within 0.5 s"),
    ],
)
async def test_failures_keep_the_last_good_numbers_marked_stale(proxy, mode, error):
    source = PrometheusSource(
        config(proxy.url, headers=(("Authorization", TOKEN),), timeout_s=0.5), clock=lambda: proxy.t
    )
    try:
        assert await source.poll()
        good = figures(source.snapshot())
        proxy.mode = mode
        assert not await source.poll()
        snap = source.snapshot()
        assert (snap.status.last_error, snap.status.stale) == (error, True)
        assert figures(snap) == good
        proxy.mode = "ok"
        assert await source.poll()
        assert (source.snapshot().status.last_error, source.snapshot().status.stale) == (None, False)
    finally:
        await source.stop()


async def test_an_unreachable_url_is_a_status_not_a_crash():
    source = PrometheusSource(Config(f"http://127.0.0.1:{free_port()}", interval_s=0.01))
    await source.start()  # the real loop: it must keep retrying without raising
    try:
        for _ in range(500):
            if source.version >= 1:
                break
            await asyncio.sleep(0.01)
        status = source.snapshot().status
        assert status.last_error.startswith("cannot connect: ") and status.stale
        assert source.snapshot().cost_total == 0 and source.snapshot().recent_events is None
    finally:
        await source.stop()


@pytest.mark.parametrize("columns", [160, 200])
async def test_the_reason_and_every_failed_poll_stay_on_the_status_bar(proxy, columns):
    """After good polls the server goes away: the status bar keeps the reason in view, with the
    long naming text after it, and counts each failed poll, not just the first."""
    from app_support import pane_lines, wait_for

    from ccmon.cli import build_parser
    from ccmon.compose import make_app

    app = make_app(
        build_parser().parse_args(
            [
                "--prometheus",
                proxy.url,
                "--header",
                f"Authorization: {TOKEN}",
                "--match",
                PLATFORM,
                "--interval",
                "0.05",
            ]
        )
    )
    async with app.run_test(size=(columns, 48)) as pilot:
        await wait_for(pilot, lambda: app.source._polls_ok >= 2, "two good polls")
        proxy.mode = "5xx"
        await wait_for(pilot, lambda: app.source._polls_failed >= 3, "three failed polls")
        proxy.mode = "ok"  # the backoff is long now: the screen holds still while it is read
        failed = app.source._polls_failed
        await wait_for(
            pilot, lambda: f"· {failed} failed" in " ".join(pane_lines(app, "#status")), "the failure count on screen"
        )
        status = " ".join(pane_lines(app, "#status"))
        assert "HTTP 502 Bad Gateway: <html><body>502 Bad Gateway</body></html>" in status, status
        assert "STALE" in status and f"Prometheus {proxy.url}" in status  # the naming may be cut off


def run_report(*argv: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "ccmon", "report", *argv], capture_output=True, text=True, timeout=60)
    return run, time.monotonic() - t0


def test_report_has_one_deadline_for_a_slow_server(proxy):
    """Each answer takes 2 s, under the per-request limit; three requests would take 6 s.
    ``--timeout 3`` bounds the whole report."""
    proxy.mode = "slow"
    run, took = run_report("--prometheus", proxy.url, "--header", f"Authorization: {TOKEN}", "--timeout", "3")
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == f"ccmon: prometheus at {proxy.url}: no complete answer within 3 s (--timeout)\n"
    assert took < 5.5
    proxy.mode = "ok"
    run, _ = run_report("--prometheus", proxy.url, "--header", f"Authorization: {TOKEN}", "--timeout", "0")
    assert (run.returncode, run.stderr) == (2, "ccmon: --timeout must be positive, not 0\n")


def test_report_strips_control_characters_from_server_text(proxy):
    proxy.mode = "escapes"
    run, _ = run_report("--prometheus", proxy.url, "--header", f"Authorization: {TOKEN}")
    assert run.returncode == 1
    assert run.stderr == f"ccmon: prometheus at {proxy.url}: HTTP 503 Service Unavailable: ␛]0;owned␇␛[2Jdown\ufffd1m\n"
