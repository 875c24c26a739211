"""The numbers of a live progress line and of ``--json`` progress events, shared by ``snap``,
``restore`` and ``export``: done of the totals, percent, rate, elapsed time and ETA
(:func:`pace`), and the line that fits a terminal's width (:func:`progress_line`).

Rules the trials asked for: no rate from a first frame a few milliseconds in; an ETA only
from a known, non-zero pace, never an absurd one; once a run outgrows its totals (the parent
snapshot held less) no percent and no ETA; a field is dropped whole, never cut, and the path
is shortened from the left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: A rate is shown once this much time has passed or this much data was done (a first
#: frame's rate from a few milliseconds is noise: "42.5 GiB/s").
RATE_AFTER_S = 0.5
RATE_AFTER_BYTES = 1 << 20
#: No ETA beyond this: a pace too slow to tell from.
ETA_MAX_S = 100 * 3600


@dataclass(frozen=True)
class Pace:
    """Where a run stands: what its progress line and its JSON progress events show.

    ``total_files``/``total_bytes`` are None without totals, and also once the run has
    outgrown them (then no percent and no ETA: the totals no longer tell)."""

    files: int
    done: int  # bytes
    elapsed: float
    rate: float | None  # bytes per second; None: too early to tell
    total_files: int | None
    total_bytes: int | None
    fraction: float | None
    eta: float | None


def pace(files: int, done: int, elapsed: float, total_files: int | None,
         total_bytes: int | None, rated: int | None = None) -> Pace:
    """The :class:`Pace` of a run ``elapsed`` seconds in, ``files`` and ``done`` bytes done
    of the totals (when known); the rate counts ``rated`` bytes (``snap``: those read),
    else ``done``. The ETA comes from the pace of ``done``, only once that pace is known and
    not zero, and never beyond :data:`ETA_MAX_S`."""
    elapsed = max(elapsed, 1e-6)
    rated = done if rated is None else rated
    rate = (rated / elapsed if elapsed >= RATE_AFTER_S or rated >= RATE_AFTER_BYTES
            else None)
    if (total_files is None or total_bytes is None or files > total_files
            or done > total_bytes):
        return Pace(files, done, elapsed, rate, None, None, None, None)
    fraction = (done / total_bytes if total_bytes
                else files / total_files if total_files else None)
    eta = None
    if fraction is not None and fraction >= 1:
        eta = 0.0
    elif fraction and done and (elapsed >= RATE_AFTER_S or done >= RATE_AFTER_BYTES):
        eta = elapsed * (1 - fraction) / fraction
        eta = eta if eta <= ETA_MAX_S else None
    return Pace(files, done, elapsed, rate, total_files, total_bytes, fraction, eta)


def pace_json(p: Pace) -> dict[str, Any]:
    """The fields of a JSON progress event a :class:`Pace` gives (``percent``/``eta_s``
    null when unknown, or when the run outgrew its totals)."""
    return {"files": p.files, "bytes": p.done,
            "total_files": p.total_files, "total_bytes": p.total_bytes,
            "percent": None if p.fraction is None else round(100 * p.fraction, 1),
            "elapsed_s": round(p.elapsed, 2), "eta_s": None if p.eta is None else round(p.eta, 1)}


#: The fields of a progress line left out, in this order, when the line is too narrow
#: for them all: elapsed time, files, rate, percent (never the bytes nor the ETA).
_DROP = ("took", "files", "rate", "percent")
#: The path is shown when at least this many columns are left for it (the elapsed time is
#: left out to make room for it, if that is enough).
_PATH_MIN = 12


def progress_line(p: Pace, path: str, width: int,
                  size: Callable[[float], str] | None = None, unit: str = "files") -> str:
    """The live line of a :class:`Pace`: ``files  bytes  percent  rate  elapsed  ETA  path``
    within ``width`` columns (``unit`` names what ``files`` counts: ``copy`` counts blobs). A
    field is left out whole rather than cut (:data:`_DROP`), and the path is shortened from
    the left (``…/dir/file``): its end says the most."""
    if size is None:
        from snapkit.select.sizes import format_size

        size = format_size
    fields = {
        "files": (f"{p.files:,}/{p.total_files:,} {unit}" if p.total_files is not None
                  else f"{p.files:,} {unit}"),
        "bytes": (f"{size(p.done)}/{size(p.total_bytes)}" if p.total_bytes is not None
                  else size(p.done)),
        "percent": "" if p.fraction is None else f"{100 * p.fraction:.0f}%",
        "rate": "" if p.rate is None else f"{size(p.rate)}/s",
        "took": clock(p.elapsed),
        "eta": "" if p.eta is None else f"ETA {clock(p.eta)}",
    }
    drop = list(_DROP)
    while True:
        text = "  ".join(v for v in fields.values() if v)
        if len(text) <= width or not drop:
            break
        fields[drop.pop(0)] = ""
    if len(text) > width:  # (narrower than any terminal in use: cut, as a last resort)
        return text[: width - 1] + "…"
    room = width - len(text) - 2
    if path and room < _PATH_MIN and fields["took"] and room + len(fields["took"]) + 2 >= (
            _PATH_MIN):  # the elapsed time gives way to the path
        room += len(fields["took"]) + 2
        fields["took"] = ""
        text = "  ".join(v for v in fields.values() if v)
    if not path or room < _PATH_MIN:
        return text
    return f"{text}  {path if len(path) <= room else '…' + path[len(path) - room + 1:]}"


def clock(seconds: float) -> str:
    """Elapsed or remaining time for a progress line: ``m:ss``, ``h:mm:ss`` past an hour."""
    m, sec = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02}:{sec:02}" if h else f"{m}:{sec:02}"
