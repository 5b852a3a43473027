"""Commands that are neither ingest nor views (one module per command, imported lazily by cli.py)."""
