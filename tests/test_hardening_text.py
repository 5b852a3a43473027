"""Untrusted text on every output: never interpreted, and invisible characters made visible
(``⟨U+200B⟩``) so that a look-alike session or model row can be told from the real one."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import subprocess
import sys
import threading

import pytest
from app_support import caught_up, pane_lines, screen_text, started, utc  # noqa: F401 (utc is a fixture)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from otlp_client import capture, grpc_export

from ccmon.cli import build_parser
from ccmon.compose import make_app
from ccmon.ingest.payload import decode
from ccmon.model.store import Store
from ccmon.model.text import clean, json_safe

TEMPLATE = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"][0].body
REAL = "5f3c1a2e-real"
FAKE = "5f3c1a2e\u200b-real"  # looks the same on a terminal
RLO = "x\u202etxt.exe"  # a right-to-left override: would show as "xexe.txt"
MODEL = "claude-opus-4-8\u2060"


def export(session: str, model: str | None = None) -> bytes:
    req = ExportMetricsServiceRequest.FromString(TEMPLATE)
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for dp in metric.sum.data_points:
                    for kv in dp.attributes:
                        if kv.key == "session.id":
                            kv.value.string_value = session
                        elif kv.key == "model" and model is not None:
                            kv.value.string_value = model
    return req.SerializeToString()


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("ab\u200bc", "ab⟨U+200B⟩c"),
        ("a\u00adb", "a⟨U+00AD⟩b"),
        ("\ufeffx", "⟨U+FEFF⟩x"),
        ("x\u202etxt", "x⟨U+202E⟩txt"),
        ("a\u2066b\u2069", "a⟨U+2066⟩b⟨U+2069⟩"),
        ("a\x9bb", "a⟨U+009B⟩b"),
        ("tag\U000e0041", "tag⟨U+E0041⟩"),
        ("\u3164", "⟨U+3164⟩"),
        ("a\u00a0b", "a⟨U+00A0⟩b"),
        ("\x1b[2J", "␛[2J"),
        ("日本語 ✓ café", "日本語 ✓ café"),
        ("emoji 👍", "emoji 👍"),
    ],
)
def test_clean_shows_invisible_and_direction_characters(raw, shown):
    assert clean(raw) == shown


def test_json_safe_escapes_them_and_keeps_the_values():
    values = {"id": FAKE, "f": RLO, "c1": "a\x85b", "tag": "t\U000e0041", "ok": "日本語"}
    doc = json_safe(json.dumps(values, ensure_ascii=False))
    assert "\\u200b" in doc and "\\u202e" in doc and "\\u0085" in doc and "\\udb40\\udc41" in doc
    assert "日本語" in doc
    assert all(c not in doc for c in "\u200b\u202e\x85\U000e0041")
    assert json.loads(doc) == values


@pytest.fixture
def db_with_lookalikes(tmp_path):
    db = tmp_path / "ccmon.db"
    store = Store(db, retention_days=0)
    store.ingest(decode("metrics", export(REAL)))
    store.ingest(decode("metrics", export(FAKE, MODEL)))
    store.ingest(decode("metrics", export(RLO)))
    store.close()
    return db


def _report(db, *extra: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", str(db), *extra], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_report_json_escapes_invisible_and_bidi_characters(db_with_lookalikes):
    out = _report(db_with_lookalikes, "--json")
    assert "\u200b" not in out and "\u202e" not in out and "\u2060" not in out
    assert '"5f3c1a2e\\u200b-real"' in out and '"x\\u202etxt.exe"' in out and "claude-opus-4-8\\u2060" in out
    data = json.loads(out)
    assert {s["session_id"] for s in data["sessions"]} == {REAL, FAKE, RLO}  # values unchanged


def test_report_text_shows_look_alike_rows_apart(db_with_lookalikes):
    out = _report(db_with_lookalikes)
    assert "5f3c1a2e⟨U+200B⟩-real" in out and "x⟨U+202E⟩txt.exe" in out and "claude-opus-4-8⟨U+2060⟩" in out
    assert "\u200b" not in out and "\u202e" not in out


async def test_dashboard_shows_look_alike_sessions_apart(tmp_path, utc):  # noqa: F811
    args = build_parser().parse_args(["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0"])
    app = make_app(args)
    async with app.run_test(size=(200, 48)) as pilot:
        await started(pilot, app)
        for sid in (REAL, FAKE):
            await asyncio.to_thread(grpc_export, app.source.receiver.grpc_port, "metrics", export(sid))
        await caught_up(pilot, app)
        rows = pane_lines(app, "#sessions")[2:4]
        # however wide the column, where the ids differ is what shows
        real, fake = sorted(r.split()[0] for r in rows)
        assert real.startswith("5f3c1a2e-") and fake.startswith("5f3c1a2e⟨U+")
        assert "\u200b" not in screen_text(app)


class _HostilePrometheus(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = json.dumps(
            {"status": "error", "errorType": "bad_data", "error": "\x1b]0;pwned\x07\x1b[2J\u202eboom"}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_prometheus_error_text_is_shown_not_obeyed():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostilePrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "ccmon", "report", "--prometheus", f"http://127.0.0.1:{server.server_address[1]}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert out.returncode != 0 and out.stderr.count("\n") == 1
    assert "\x1b" not in out.stderr and "\x07" not in out.stderr and "\u202e" not in out.stderr
    assert "␛]0;pwned␇␛[2J⟨U+202E⟩boom" in out.stderr


def test_serve_log_lines_are_cleaned(capsys):
    from ccmon.compose import _log_to_stderr

    logger = logging.getLogger("ccmon")
    saved = logger.handlers[:], logger.level, logger.propagate
    try:
        _log_to_stderr()
        logging.getLogger("ccmon.ingest").warning("odd: %s", "\x1b[2Jx\u200by\nz")
        logging.getLogger("ccmon.ingest").info("below the serve log's level")
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    assert capsys.readouterr().err == "ccmon: odd: ␛[2Jx⟨U+200B⟩y z\n"
