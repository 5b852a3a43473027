from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from otlp_client import capture  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _runtime_dir(tmp_path_factory):
    """Receivers leave per-port notes in $XDG_RUNTIME_DIR/ccmon: a temporary one for the tests
    (and the processes they start), never the user's."""
    os.environ["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("run"))


@pytest.fixture
async def otlp(tmp_path):
    """An embedded receiver (store + gRPC + HTTP) on free loopback ports, on the test's loop."""
    from ccmon.ingest.receiver import Receiver
    from ccmon.model.store import Store

    store = Store(tmp_path / "ccmon.db", retention_days=0)
    receiver = Receiver(store, bind="127.0.0.1", grpc_port=0, http_port=0)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
        store.close()


@pytest.fixture
def captures():
    return capture
