"""Rendering of ``snapkit import``: the new snapshot (or the one already there) as text or
JSON, and the import's warnings on stderr."""

from __future__ import annotations

from typing import Any

import click

from snapkit.cli.common import Settings, count_reasons, emit_json, human_bytes, reasons_text
from snapkit.maintain.importer import ImportResult

MAX_WARNINGS_SHOWN = 50

_LAYOUT_TEXT = {
    "snapkit": "snapkit export",
    "openclaw": "openclaw backup",
    "tar": "plain tar",
}


def already_present(settings: Settings, archive: str, r: ImportResult) -> None:
    """The archive holds a snapshot of this repository: nothing was added."""
    if settings.json:
        emit_json({"event": "summary", "archive": archive, "already_present": True,
                   "snapshot_id": r.snapshot_id, "origin_snapshot": r.origin_snapshot})
    elif not settings.quiet:
        click.echo(f"already present as {r.snapshot_id[:8]}: {archive} holds snapshot "
                   f"{(r.origin_snapshot or '?')[:8]} of this repository (or a part of "
                   "it); nothing added")


def result_dict(archive: str, r: ImportResult) -> dict[str, Any]:
    s = r.snapshot
    reasons = count_reasons(s.skipped)
    return {
        "event": "summary",
        "snapshot_id": r.snapshot_id,
        "short_id": r.snapshot_id[:8],
        "archive": archive,
        "layout": r.layout,
        "compression": r.compression,
        "origin_snapshot": r.origin_snapshot,
        "hostname": s.hostname,
        "sources": list(s.sources),
        "time_ns": s.time_ns,
        "mode": s.mode,
        "tags": list(s.tags),
        "files": r.files,
        "dirs": r.dirs,
        "symlinks": r.symlinks,
        "bytes": r.bytes,
        "bytes_added_raw": s.summary.bytes_added_raw,
        "bytes_added_stored": s.summary.bytes_added_stored,
        "skipped": reasons,
        "skipped_entries": [{"path": k.path, "reason": k.reason, "detail": k.detail}
                            for k in s.skipped],
        "warnings": list(s.warnings),
        "complete": r.complete,
        "already_present": False,
        "duration_s": s.summary.duration_s,
    }


def report(settings: Settings, archive: str, r: ImportResult) -> None:
    s = r.snapshot
    if not settings.quiet:
        for w in s.warnings[:MAX_WARNINGS_SHOWN]:
            click.echo(f"snapkit: warning: {w}", err=True)
        if len(s.warnings) > MAX_WARNINGS_SHOWN:
            click.echo(f"snapkit: warning: ... and {len(s.warnings) - MAX_WARNINGS_SHOWN} more "
                       "(all are in the snapshot manifest)", err=True)
    if settings.json:
        emit_json(result_dict(archive, r))
        return
    if settings.quiet:
        click.echo(r.snapshot_id)
        return
    out = click.echo
    what = _LAYOUT_TEXT.get(r.layout, r.layout)
    if r.origin_snapshot:
        what = "snapkit export" + (" in OpenClaw's layout" if r.layout == "openclaw" else "")
        what += f" of snapshot {r.origin_snapshot[:8]}"
    out(f"Imported:    {archive} ({what}, compression {r.compression})")
    out(f"Sources:     {', '.join(s.sources)}")
    out(f"Mode:        {s.mode}")
    out(f"Files:       {r.files:,} ({human_bytes(r.bytes)})")
    out(f"Dirs:        {r.dirs:,}")
    if r.symlinks:
        out(f"Symlinks:    {r.symlinks:,}")
    out(f"Added:       {human_bytes(s.summary.bytes_added_raw)} "
        f"(stored {human_bytes(s.summary.bytes_added_stored)})")
    reasons = count_reasons(s.skipped)
    if reasons:
        out("Skipped:     " + reasons_text(reasons))
    out(f"Warnings:    {len(s.warnings):,}" + (" (on stderr and in the snapshot)"
                                               if s.warnings else ""))
    if not r.complete and "truncated" in reasons:
        click.echo("snapkit: the archive is truncated or damaged; the entries before the damage "
                   "were imported", err=True)
    elif not r.complete:
        click.echo(f"snapkit: {reasons.get('omitted', 0):,} entries were left out of the "
                   "archive when it was exported; everything it holds was imported", err=True)
    out(f"Duration:    {s.summary.duration_s:.1f} s")
    out(f"Snapshot {r.snapshot_id[:8]} saved (tags: {', '.join(s.tags)}) — {r.snapshot_id}")
