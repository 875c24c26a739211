"""Sizes for people, both ways: ``"10M"`` → bytes (config values) and bytes → ``"10.0 MiB"``.

Units are binary (1024-based) everywhere: the config's ``max_file_size``, the reasons the
rules give (``size > 10.0 MiB``) and every byte count the commands print.
"""

from __future__ import annotations

import re
from decimal import Decimal

_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i?b)?|(b))?\s*", re.IGNORECASE)
_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str | int) -> int:
    """Bytes from ``1024``, ``"500k"``, ``"10M"``, ``"1.5 GiB"`` (1024-based); ValueError else."""
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"size must not be negative: {text}")
        return text
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (examples: 500K, 10M, 1.5GiB)")
    number, unit = match.group(1), match.group(2)
    factor = _SIZE_UNITS[unit.lower()] if unit else 1
    return int(Decimal(number) * factor)


def format_size(n: float) -> str:
    """``10485760`` → ``"10.0 MiB"``: whole bytes below 1 KiB (``"618 B"``), else one decimal
    in binary units up to TiB. Negative sizes (a shrink) and rates (bytes per second) too."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
