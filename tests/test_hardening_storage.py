"""A full disk (SQLite's SQLITE_FULL, made real with ``PRAGMA max_page_count``): exports are
answered 503 + Retry-After / UNAVAILABLE saying "disk full", the status bar and one log line
say so, and all of it clears by itself once writes succeed again. Nothing answered OK is
lost and nothing is counted twice."""

from __future__ import annotations

import asyncio
import logging
import stat

import grpc
import pytest
from app_support import caught_up, pane_lines, started, utc  # noqa: F401 (utc is a fixture)
from otlp_client import capture, grpc_export, http_export, metrics_for_session
from test_hardening_big import big_logs

from ccmon.cli import build_parser
from ccmon.compose import make_app
from ccmon.model.summary import report_dict

METRICS = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"][0].body


async def _fill_disk(receiver, extra_pages: int = 0) -> None:
    """Let the database grow by ``extra_pages`` pages at most, on the SQLite thread."""
    conn = receiver.store._conn

    def limit() -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")

    await receiver.committer.run(limit)


async def _free_disk(receiver) -> None:
    await receiver.committer.run(lambda: receiver.store._conn.execute("PRAGMA max_page_count = 1073741823"))


async def test_disk_full_is_503_unavailable_saying_so_and_clears_itself(otlp, caplog):
    caplog.set_level(logging.INFO, logger="ccmon")
    await _fill_disk(otlp)
    for i in range(3):
        status, headers, body = await asyncio.to_thread(
            http_export, otlp.http_port, "metrics", metrics_for_session(METRICS, f"http-{i}")
        )
        assert status == 503 and headers["retry-after"] == "5"
        assert body[:2] == b"\x08\x0e"  # google.rpc.Status UNAVAILABLE: retryable
        assert body[4:].decode() == "ccmon could not store the export: disk full"
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", METRICS)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert err.value.details() == "ccmon could not store the export: disk full"
    assert otlp.stats.status().last_error == "cannot store exports: disk full"
    assert "no transaction" not in caplog.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["cannot store exports: disk full (answering 503 until writes succeed again)"]

    await _free_disk(otlp)
    await asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", METRICS)  # the exporter's retry
    assert otlp.stats.status().last_error is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings[1:] == ["storing exports again (was: disk full)"]
    assert report_dict(otlp.store.snapshot())["cost_usd"] == 0.03945175  # counted once, when stored


@pytest.mark.parametrize("sequence", [True, False])
async def test_a_big_export_failing_half_way_counts_once_when_resent(otlp, sequence):
    body = big_logs(7000, 200, sequence=sequence)  # with sequences: 14 commits of at most 500 events
    await _fill_disk(otlp, extra_pages=400)  # room for some of them, not all
    status, _, reply = await asyncio.to_thread(http_export, otlp.http_port, "logs", body)
    assert status == 503 and b"disk full" in reply
    stored = report_dict(otlp.store.snapshot())["events"].get("user_prompt", 0)
    if sequence:
        assert 0 < stored < 7000, stored  # some parts went in before the disk filled
    else:
        assert stored == 0  # no way to recognise them when re-sent: one transaction, all or nothing
    await _free_disk(otlp)
    status, _, _ = await asyncio.to_thread(http_export, otlp.http_port, "logs", body)  # the retry
    assert status == 200
    assert report_dict(otlp.store.snapshot())["events"]["user_prompt"] == 7000


async def test_the_status_bar_says_disk_full_and_clears(tmp_path, utc):  # noqa: F811
    args = build_parser().parse_args(["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0"])
    app = make_app(args)
    async with app.run_test(size=(200, 48)) as pilot:
        await started(pilot, app)
        receiver = app.source.receiver
        await _fill_disk(receiver)
        with pytest.raises(grpc.RpcError):
            await asyncio.to_thread(grpc_export, receiver.grpc_port, "metrics", METRICS)
        await caught_up(pilot, app)
        assert "cannot store exports: disk full" in " ".join(pane_lines(app, "#status"))
        await _free_disk(receiver)
        await asyncio.to_thread(grpc_export, receiver.grpc_port, "metrics", METRICS)
        await caught_up(pilot, app)
        assert "disk full" not in " ".join(pane_lines(app, "#status"))


def test_database_folder_file_and_wal_are_private(tmp_path):
    from ccmon.model.store import Store

    store = Store(tmp_path / "new" / "dir" / "ccmon.db", retention_days=0)
    try:
        store.ingest(__import__("ccmon.ingest.payload", fromlist=["decode"]).decode("metrics", METRICS))
        mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
        assert mode(tmp_path / "new" / "dir") == 0o700
        assert mode(tmp_path / "new" / "dir" / "ccmon.db") == 0o600
        assert mode(tmp_path / "new" / "dir" / "ccmon.db-wal") == 0o600
        assert mode(tmp_path / "new" / "dir" / "ccmon.db-shm") == 0o600
    finally:
        store.close()


async def test_a_read_only_database_says_so_and_clears(otlp):
    conn = otlp.store._conn
    await otlp.committer.run(lambda: conn.execute("PRAGMA query_only = 1"))  # as if the file were read-only
    status, headers, body = await asyncio.to_thread(http_export, otlp.http_port, "metrics", METRICS)
    assert status == 503 and headers["retry-after"] == "5"
    assert body[4:].decode() == "ccmon could not store the export: database is read-only"
    assert otlp.stats.status().last_error == "cannot store exports: database is read-only"
    await otlp.committer.run(lambda: conn.execute("PRAGMA query_only = 0"))
    status, _, _ = await asyncio.to_thread(http_export, otlp.http_port, "metrics", METRICS)
    assert status == 200 and otlp.stats.status().last_error is None
