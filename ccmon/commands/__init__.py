"""Command implementations that are neither ingest nor views (one module per command)."""
