"""ccmon: htop for Claude Code.

The package is laid out as the data flows:

    ingest/  sockets and wire formats (OTLP gRPC + HTTP receivers, Prometheus poller)
    model/   meaning: decoding, temporality, aggregation, SQLite persistence, snapshots
    views/   the Textual dashboard, which only ever reads snapshots

``model`` imports neither ``ingest`` nor ``views``; ``views`` never speaks a protocol.
"""

__version__ = "0.1.0"
