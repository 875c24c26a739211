"""Rendering of ``snapkit snap``: its events while it runs, then its result as text or JSON."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from snapkit.cli.common import (
    ProgressLine,
    Settings,
    count_reasons,
    echo_event,
    emit_json,
    json_time,
    local_time,
    reasons_text,
)
from snapkit.cli.common import human_bytes as hb
from snapkit.format.errors import EXIT_GATEWAY_DOWN, EXIT_INCOMPLETE, GatewayDown
from snapkit.format.model import Snapshot
from snapkit.ops.events import Event
from snapkit.ops.snap import ServiceAlert, ServiceWarning, SnapProgress, SnapResult

if TYPE_CHECKING:
    from snapkit.cli.progress_line import Pace


def on_event(settings: Settings, line: ProgressLine, event: Event) -> None:
    """Show one event of a running ``snap``: progress (a JSON event, else the live line),
    the gateway lifecycle's warnings and alert (on stderr, and as JSON events)."""
    if isinstance(event, SnapProgress):
        if settings.json:
            from snapkit.cli.progress_line import pace_json

            emit_json({"event": "progress", "dirs": event.dirs, **pace_json(snap_pace(event)),
                       "bytes_read": event.bytes_read, "current": event.current})
        elif line.enabled:  # nothing formatted when no line is shown (-q, not a terminal)
            line.update(progress_text(event, line.width))
    elif isinstance(event, ServiceWarning | ServiceAlert):
        line.clear()
        kind = "warning" if isinstance(event, ServiceWarning) else "error"
        if settings.json:
            emit_json({"event": kind, "message": event.message})
        click.echo(f"snapkit: {kind}: {event.message}", err=True)
    else:
        echo_event(settings, event)


def prompt(settings: Settings, yes: bool) -> Callable[[str], bool] | None:
    """The terminal prompt before stopping the gateway, or None (--yes, or no terminal)."""
    if yes or settings.json or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    return lambda question: click.confirm(question.removesuffix(" [y/N]"), default=False,
                                          err=True)


def gateway_down_message(result: SnapResult) -> str:
    from snapkit.capture.service import command_text

    start = command_text(result.service.start_command if result.service else [])
    return (f"snapshot {result.snapshot_id[:8]} was saved, but the OpenClaw gateway was "
            f"stopped for it and is NOT running: start it now with: {start}")


def summary_dict(snap_id: str, m: Snapshot, exit_code: int) -> dict[str, Any]:
    s = m.summary
    return {
        "event": "summary",
        "snapshot_id": snap_id,
        "short_id": snap_id[:8],
        "time": json_time(m.time_ns),
        "time_ns": m.time_ns,
        "started_ns": m.taken_ns,
        "parent": m.parent,
        "sources": list(m.sources),
        "mode": m.mode,
        "tags": list(m.tags),
        "files_new": s.files_new,
        "files_changed": s.files_changed,
        "files_unmodified": s.files_unmodified,
        "dirs": s.dirs,
        "symlinks": s.symlinks,
        "total_files": s.total_files,
        "total_bytes": s.total_bytes,
        "bytes_read": s.bytes_read,
        "bytes_added_raw": s.bytes_added_raw,
        "bytes_added_stored": s.bytes_added_stored,
        "excluded_entries": s.excluded_entries,
        "skipped": count_reasons(m.skipped),
        "skipped_entries": [{"path": k.path, "reason": k.reason, "detail": k.detail}
                            for k in m.skipped],
        "warnings": list(m.warnings),
        "duration_s": s.duration_s,
        "complete": not any(k.reason == "unreadable" for k in m.skipped),
        "service": dict(m.service),
        "gateway_down": bool(m.service.get("gateway_down", False)),
        "exit_code": exit_code,
    }


def report(settings: Settings, result: SnapResult, exit_code: int) -> None:
    snap_id, m = result.snapshot_id, result.snapshot
    if settings.json:
        emit_json(summary_dict(snap_id, m, exit_code))
        return
    if settings.quiet:
        click.echo(snap_id)
        return
    s, out = m.summary, click.echo
    out(f"Files:       {s.files_new:,} new, {s.files_changed:,} changed, "
        f"{s.files_unmodified:,} unmodified")
    out(f"Dirs:        {s.dirs:,}")
    out(f"Read:        {hb(s.bytes_read)} of {hb(s.total_bytes)}")
    out(f"Added:       {hb(s.bytes_added_raw)} (stored {hb(s.bytes_added_stored)})")
    if s.excluded_entries:
        # Paths, not files: an excluded directory is one path and is not entered (the dry
        # run enters it to count the files below, which is its "Excluded: N files").
        what = "path" if s.excluded_entries == 1 else "paths"
        out(f"Excluded:    {s.excluded_entries:,} {what} by rules, not entered "
            "(`snap --dry-run` counts the files below them)")
    reasons = count_reasons(m.skipped)
    if reasons:
        out("Skipped:     " + reasons_text(reasons))
        if settings.verbose:
            for k in m.skipped:
                detail = f" -> {k.detail}" if k.reason == "symlink" else (
                    f": {k.detail}" if k.detail else "")
                out(f"  {k.reason:<10} {k.path}{detail}")
    if m.service.get("stopped"):
        out("Gateway:     stopped for the snapshot, "
            + ("NOT running again" if m.service.get("gateway_down") else "running again"))
    for w in m.warnings:
        out(f"Warning:     {w}")
    for k in m.skipped:
        if k.reason == "unreadable":
            click.echo(f"snapkit: could not read {k.path}: {k.detail}", err=True)
    vanished = reasons.get("vanished", 0)
    if vanished:
        click.echo(f"note: {vanished} file(s) vanished while the snapshot ran and were skipped",
                   err=True)
    out(f"Duration:    {s.duration_s:.1f} s")
    if m.started_ns is not None:
        out(f"Time:        {local_time(m.time_ns)} recorded (--time), taken "
            f"{local_time(m.started_ns)}")
    parent = result.parent_id
    out(f"Snapshot {snap_id[:8]} saved" + (f" (parent {parent[:8]})" if parent else "")
        + f" — {snap_id}")


def exit_code(m: Snapshot) -> int:
    """The exit status of ``snap`` for this manifest: 4, 3 or 0 (see the README)."""
    if m.service.get("gateway_down"):
        return EXIT_GATEWAY_DOWN
    if any(k.reason == "unreadable" for k in m.skipped):
        return EXIT_INCOMPLETE
    return 0


def finish(settings: Settings, result: SnapResult) -> None:
    """Report the result, then end with the exit status :func:`exit_code` gives."""
    code = exit_code(result.snapshot)
    report(settings, result, code)
    if code == EXIT_GATEWAY_DOWN:
        raise GatewayDown(gateway_down_message(result))
    if code:
        raise SystemExit(code)


def snap_pace(event: SnapProgress) -> Pace:
    """Where the snapshot stands: bytes seen (of the parent's total, the likely one), the
    rate of those read. (The progress line's module is imported once one is shown: a quiet
    run does without it.)"""
    from snapkit.cli.progress_line import pace

    return pace(event.files, event.bytes_seen, event.elapsed_s, event.total_files,
                event.total_bytes, rated=event.bytes_read)


def progress_text(event: SnapProgress, width: int = 79) -> str:
    """The live line: done of the likely totals (the parent snapshot's), percent, rate,
    elapsed and ETA; without a parent, or once past its totals, what was done so far."""
    from snapkit.cli.progress_line import progress_line

    return progress_line(snap_pace(event), event.current, width)
