"""Child process for the first-frame figure (``python -m bench.firstframe_child ccmon|bare``).

Prints ``{"ready": <time.time() at the first frame>, ...}`` and exits. The first frame is
Textual's ``Ready`` event, which the screen posts right after its first compositor render.
``ccmon`` builds the dashboard exactly as the CLI does (``ccmon.cli`` parser, ``make_source``
with a fresh temporary database and receivers on free ports, ``CcmonApp``), so its time
includes importing ccmon, opening the store and binding the gRPC and HTTP servers. It also
reports when the first frame *with data* (after the first snapshot is shown) was painted.
"""

from __future__ import annotations

import sys
import tempfile
import time


def run_ccmon() -> dict[str, float]:
    from ccmon.cli import build_parser
    from ccmon.compose import make_source
    from ccmon.views.app import CcmonApp

    from .appsupport import timed_subclass_css

    out: dict[str, float] = {}

    class Timed(CcmonApp):
        CSS_PATH = timed_subclass_css(CcmonApp)

        def on_ready(self) -> None:
            out["ready"] = time.time()
            super().on_ready()
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            out["data"] = time.time()
            self.exit()

    with tempfile.TemporaryDirectory(prefix="ccmon-bench-") as tmp:
        args = build_parser().parse_args(["--db", f"{tmp}/ccmon.db", "--grpc-port", "0", "--http-port", "0"])
        Timed(make_source(args)).run(headless=True, size=(160, 48))
    return out


def run_bare() -> dict[str, float]:
    from .bare_app import BareApp

    out: dict[str, float] = {}

    class Timed(BareApp):
        def on_ready(self) -> None:
            out["ready"] = time.time()
            self.exit()

    Timed().run(headless=True, size=(160, 48))
    return out


if __name__ == "__main__":
    import json

    result = run_ccmon() if sys.argv[1] == "ccmon" else run_bare()
    sys.stdout.write(json.dumps(result) + "\n")
