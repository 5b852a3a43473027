"""The one exception type that carries a user-facing failure up to ``cli.py``.

Code below the CLI never prints an error or raises ``SystemExit``: it raises ``CcmonError``
with one clear line and the exit code it deserves, and ``cli.main`` alone prints it and exits.
"""

from __future__ import annotations


class CcmonError(Exception):
    """A failure to report to the user as ``ccmon: <message>`` with exit ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
