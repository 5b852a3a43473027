"""The user's settings file: ``$XDG_CONFIG_HOME/ccmon/config.toml`` (``~/.config/ccmon/config.toml``).

    [budgets]            # USD; any may be left out
    daily = 10
    weekly = 40
    monthly = 120
    session = 5
    thresholds = [50, 80, 100]   # percent

    [alerts]
    notify = true                # desktop notifications (also --no-notify)
    cooldown_minutes = 15
    cost_surge_usd_per_hour = 20
    tokens_per_minute = 500000
    sustained_minutes = 5
    window_minutes = 5
    error_storm = 5
    failing_tools = 3
    rejections = 3
    off = ["rejection_hotspot"]  # rules to switch off

    [plans]                      # USD per seat and month, for the report's subscription estimate
    pro = 20
    max_5x = 100
    max_20x = 200

Flags (``--daily`` ... on the dashboard, ``serve`` and ``check``) override the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import CcmonError
from .alerts import RULES, AlertRules
from .budgets import DEFAULT_THRESHOLDS, KINDS, Budgets

DEFAULT_PLANS = {"pro": 20.0, "max_5x": 100.0, "max_20x": 200.0}


@dataclass(frozen=True, slots=True)
class Config:
    budgets: Budgets = Budgets()
    rules: AlertRules = AlertRules()
    notify: bool = True
    plans: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PLANS))


def default_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "ccmon", "config.toml")


def _usd(table: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise CcmonError(f"config: [{table}] {key} must be a number of USD >= 0, not {v!r}", 2)
    return float(v)


def parse(data: dict[str, Any]) -> Config:
    """A parsed TOML document -> Config; a wrong value is one clear error line (exit 2)."""
    b = data.get("budgets", {}) or {}
    limits = {k: _usd("budgets", k, b[k]) for k in KINDS if k in b}
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    if "thresholds" in b:
        raw = b["thresholds"]
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in raw)
        ):
            raise CcmonError("config: [budgets] thresholds must be a list of percentages, e.g. [50, 80, 100]", 2)
        thresholds = tuple(sorted(float(x) / 100 for x in raw))
    a = data.get("alerts", {}) or {}
    rules = AlertRules()
    numbers = {}
    for f in fields(AlertRules):
        if f.name == "off" or f.name not in a:
            continue
        numbers[f.name] = type(getattr(rules, f.name))(_usd("alerts", f.name, a[f.name]))
    off = a.get("off", [])
    if not isinstance(off, list) or any(x not in RULES for x in off):
        raise CcmonError(f"config: [alerts] off must list rules among {', '.join(RULES)}", 2)
    rules = replace(rules, **numbers, off=frozenset(off))
    plans = dict(DEFAULT_PLANS)
    for k, v in (data.get("plans", {}) or {}).items():
        plans[k] = _usd("plans", k, v)
    return Config(Budgets(**limits, thresholds=thresholds), rules, bool(a.get("notify", True)), plans)


def load(path: str | None = None) -> Config:
    p = path or default_path()
    try:
        with open(p, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise CcmonError(f"config: cannot read {p}: {exc.strerror or exc}", 2) from None
    import tomllib  # only now: most runs of `ccmon check` have no config file to parse

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CcmonError(f"config: {p}: {exc}", 2) from None
    return parse(data)


def with_flags(cfg: Config, args: Any) -> Config:
    """``--daily/--weekly/--monthly/--session USD`` and ``--no-notify`` over the file."""
    over = {k: getattr(args, k) for k in KINDS if getattr(args, k, None) is not None}
    if over:
        cfg = replace(cfg, budgets=replace(cfg.budgets, **over))
    if getattr(args, "no_notify", False):
        cfg = replace(cfg, notify=False)
    return cfg


def from_args(args: Any) -> Config:
    return with_flags(load(), args)
