"""Helpers for subclassing ccmon's app in the benchmarks."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any


def timed_subclass_css(app_cls: type) -> Any:
    """Textual resolves a relative ``CSS_PATH`` against the file of the class that is run,
    so a subclass defined in bench/ must point at ccmon's stylesheet explicitly."""
    css = app_cls.CSS_PATH
    if isinstance(css, (str, Path)) and not Path(css).is_absolute():
        return Path(inspect.getfile(app_cls)).parent / css
    return css
