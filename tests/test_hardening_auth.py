"""Who may send: an optional bearer token (``--token`` / ``CCMON_TOKEN``) on both protocols,
optional TLS (a self-signed certificate made here with the ``openssl`` CLI), a non-loopback
``--bind`` refused without a token, and bind errors that say what they are."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys

import grpc
import pytest
from otlp_client import capture, free_port, grpc_export, parse_response

from ccmon.ingest.receiver import Receiver, Security
from ccmon.model.store import Store
from ccmon.model.summary import report_dict

TOKEN = "s3cret-token-4f2a"
METRICS = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"][0].body


@pytest.fixture
async def guarded(tmp_path):
    store = Store(tmp_path / "ccmon.db", retention_days=0)
    receiver = Receiver(store, grpc_port=0, http_port=0, security=Security(token=TOKEN))
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
        store.close()


def _post(
    port: int, auth: str | None, json_body: bool = False, body: bytes = METRICS, tls: ssl.SSLContext | None = None
) -> tuple[int, dict, bytes]:
    ctype = "application/json" if json_body else "application/x-protobuf"
    head = f"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    if auth is not None:
        head += f"Authorization: {auth}\r\n"
    raw = (head + "Connection: close\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        s = tls.wrap_socket(plain, server_hostname="localhost") if tls else plain
        s.sendall(raw)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    return parse_response(data)


@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
async def test_http_without_the_right_token_is_401_unauthenticated(guarded, auth, caplog):
    caplog.set_level(logging.DEBUG)
    status, headers, body = await asyncio.to_thread(_post, guarded.http_port, auth)
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="ccmon"'
    assert body[:2] == b"\x08\x10"  # google.rpc.Status code 16, UNAUTHENTICATED
    assert b"missing or wrong token" in body
    assert guarded.stats.received() == {}  # not even read
    assert guarded.stats.rejections() == {"metrics": 1}  # but seen (the Flow view says 401)
    assert TOKEN not in caplog.text and "wrong" not in caplog.text


async def test_http_401_answers_json_to_a_json_request(guarded):
    status, _, body = await asyncio.to_thread(_post, guarded.http_port, None, True, b"{}")
    assert status == 401 and body.startswith(b'{"code": 16, "message": "missing or wrong token')


async def test_the_right_token_is_accepted_on_both_protocols(guarded):
    status, _, _ = await asyncio.to_thread(_post, guarded.http_port, f"bearer {TOKEN}")
    assert status == 200
    for metadata in (None, (("authorization", "Bearer nope"),)):
        with pytest.raises(grpc.RpcError) as err:
            await asyncio.to_thread(_grpc_with, guarded.grpc_port, metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await asyncio.to_thread(_grpc_with, guarded.grpc_port, (("authorization", f"Bearer {TOKEN}"),))
    assert report_dict(guarded.store.snapshot())["cost_usd"] == 0.03945175  # the same export, counted once


def _grpc_with(port: int, metadata, creds: grpc.ChannelCredentials | None = None) -> bytes:
    target = f"127.0.0.1:{port}"
    ch = (
        grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])
        if creds
        else grpc.insecure_channel(target)
    )
    with ch:
        call = ch.unary_unary("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")
        return call(METRICS, timeout=10, metadata=metadata)


def test_the_sdk_sends_the_token_from_otel_exporter_otlp_headers(tmp_path, monkeypatch):
    """The way Claude Code passes it: OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ..."."""
    env = {**os.environ, "CCMON_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    grpc_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccmon",
            "serve",
            "--db",
            str(tmp_path / "t.db"),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = proc.stdout.readline()
        assert "receiving OTLP" in banner and TOKEN not in banner
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {TOKEN}")
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        def record(exporter) -> None:
            reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
            meters = MeterProvider(metric_readers=[reader])
            meters.get_meter("m").create_counter("claude_code.cost.usage").add(
                0.5, {"session.id": "sdk", "model": "claude-opus-4-8"}
            )
            meters.shutdown()

        record(OTLPMetricExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/metrics"))
        out = subprocess.run(
            [sys.executable, "-m", "ccmon", "report", "--json", "--db", str(tmp_path / "t.db")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert '"cost_usd": 0.5' in out.stdout
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer guess")
        record(OTLPMetricExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/metrics"))  # refused: 401
    finally:
        proc.terminate()
        out_rest, err = proc.communicate(timeout=10)
    assert TOKEN not in out_rest + err and "guess" not in out_rest + err


def _self_signed(tmp_path) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


async def test_tls_on_both_protocols_with_a_token(tmp_path):
    cert, key = _self_signed(tmp_path)
    store = Store(tmp_path / "ccmon.db", retention_days=0)
    receiver = Receiver(store, grpc_port=0, http_port=0, security=Security(token=TOKEN, tls_cert=cert, tls_key=key))
    await receiver.start()
    try:
        client = ssl.create_default_context(cafile=cert)
        status, _, _ = await asyncio.to_thread(_post, receiver.http_port, f"Bearer {TOKEN}", tls=client)
        assert status == 200
        status, _, _ = await asyncio.to_thread(_post, receiver.http_port, None, tls=client)
        assert status == 401
        with pytest.raises((ConnectionError, IndexError, ValueError, OSError)):
            await asyncio.to_thread(_post, receiver.http_port, f"Bearer {TOKEN}")  # plain HTTP to a TLS port
        with open(cert, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        await asyncio.to_thread(_grpc_with, receiver.grpc_port, (("authorization", f"Bearer {TOKEN}"),), creds)
        with pytest.raises(grpc.RpcError) as err:
            await asyncio.to_thread(lambda: grpc_export(receiver.grpc_port, "metrics", METRICS, timeout=3))
        assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)  # plaintext
        assert receiver.stats.received()["metrics"] == 2
    finally:
        await receiver.stop()
        store.close()


def _ccmon(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ccmon", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or {k: v for k, v in os.environ.items() if k != "CCMON_TOKEN"},
    )


def test_non_loopback_bind_needs_a_token_or_an_explicit_flag(tmp_path):
    out = _ccmon("serve", "--db", str(tmp_path / "x.db"), "--bind", "0.0.0.0", "--grpc-port", "0", "--http-port", "0")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "--bind 0.0.0.0 is not loopback" in out.stderr and "--allow-unauthenticated" in out.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_an_address_not_of_this_machine_says_so_without_the_port_hint(tmp_path):
    out = _ccmon(
        "serve",
        "--db",
        str(tmp_path / "x.db"),
        "--bind",
        "203.0.113.7",
        "--allow-unauthenticated",
        "--grpc-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
    )
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "203.0.113.7" in out.stderr and "assign requested address" in out.stderr
    assert "another ccmon" not in out.stderr and "--grpc-port" not in out.stderr


def test_http_port_in_use_names_the_port_and_its_flag(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _ccmon("serve", "--db", str(tmp_path / "x.db"), "--grpc-port", str(free_port()), "--http-port", str(port))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert f"port than {port} with --http-port" in out.stderr and "--grpc-port" not in out.stderr


def test_a_bad_certificate_is_one_line(tmp_path):
    (tmp_path / "c.pem").write_text("not a certificate")
    out = _ccmon(
        "serve",
        "--db",
        str(tmp_path / "x.db"),
        "--grpc-port",
        "0",
        "--http-port",
        "0",
        "--tls-cert",
        str(tmp_path / "c.pem"),
        "--tls-key",
        str(tmp_path / "c.pem"),
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "cannot use --tls-cert" in out.stderr
    out = _ccmon("serve", "--db", str(tmp_path / "x.db"), "--tls-cert", str(tmp_path / "c.pem"))
    assert out.returncode == 2 and "--tls-cert and --tls-key go together" in out.stderr
