"""Durations for people, both ways: ``"7d"`` → seconds (``forget --keep-within`` and the
config's ``retention.keep_within``) and seconds → ``"7d"``.

restic's units: ``h``, ``d``, ``w``, ``m`` (a 30-day month) and ``y`` (365 days), combined as
``1y6m``.
"""

from __future__ import annotations

import re

_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(\d+)([hdwmy])")


def parse_duration(text: str) -> float:
    """``7d``, ``12h``, ``2w``, ``1y6m`` (restic style: m = 30-day month, y = 365 days) → s."""
    s = text.strip().lower()
    parts = _DURATION.findall(s)
    if not s or "".join(n + u for n, u in parts) != s:
        raise ValueError(f"{text!r} is not a duration; use e.g. 12h, 7d, 2w, 6m, 1y or 1y6m")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return float(seconds)


def format_duration(seconds: float) -> str:
    """Seconds as days and hours (``7d``, ``1d12h``, ``90d``, ``36s``): never ambiguous."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "")
    if rest or not text:
        text += f"{rest}s"
    return text
