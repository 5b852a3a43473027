"""Commands that are neither ingest nor views (one module per command). Each keeps ``--help``
fast: heavy imports happen inside the functions that need them."""
