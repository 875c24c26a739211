"""Rendering of ``snapkit export`` (the partial archives it cleared, what it wrote) and of
``snapkit verify-archive`` (the verdict), as text or JSON."""

from __future__ import annotations

from collections.abc import Callable

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, notice
from snapkit.ops.events import Event
from snapkit.ops.export import ExportOutcome, PartialsRemoved
from snapkit.read.archive_verify import VerifyResult


def partials_removed(settings: Settings) -> Callable[[Event], bool]:
    """A handler saying that partial archives of interrupted exports were removed."""
    def handle(event: Event) -> bool:
        if not isinstance(event, PartialsRemoved):
            return False
        n = event.count
        notice(settings, f"removed {n:,} partial archive{'' if n == 1 else 's'} an "
                         f"interrupted export had left in {event.directory}")
        return True

    return handle


def report(settings: Settings, done: ExportOutcome) -> None:
    r = done.result
    if settings.json:
        emit_json({"archive": done.archive or "-", "snapshot_id": done.snapshot_id,
                   "format": done.format, "files": r.files, "dirs": r.dirs,
                   "symlinks": r.symlinks, "bytes": r.bytes})
    elif done.archive is not None:
        notice(settings, f"exported snapshot {done.snapshot_id[:8]}: {r.files:,} files "
                         f"({human_bytes(r.bytes)}) to {done.archive} "
                         f"({human_bytes(done.size or 0)})")


def verdict(settings: Settings, archive: str, result: VerifyResult) -> None:
    if settings.json:
        emit_json({"archive": archive, "snapshot": result.snapshot, "layout": result.layout,
                   "ok": result.ok,
                   "checked": result.checked, "unchecked": result.unchecked,
                   "missing": result.missing,
                   "extra": result.extra, "mismatched": result.mismatched,
                   "damaged": result.damaged})
        return
    if result.damaged:
        click.echo(f"DAMAGED  {archive}: {result.damaged}")
    for name in result.mismatched:
        click.echo(f"MISMATCH {name}")
    for name in result.missing:
        click.echo(f"MISSING  {name}")
    for name in result.extra:
        click.echo(f"EXTRA    {name}")
    if not settings.quiet:
        verdict = "OK" if result.ok else "FAILED"
        unchecked = (f" ({result.unchecked:,} carried no checksum)"
                     if result.unchecked else "")
        layout = " (OpenClaw layout)" if result.layout == "openclaw" else ""
        click.echo(f"{verdict}: {result.checked:,} files checked against snapshot "
                   f"{(result.snapshot or '?')[:8]}{layout}{unchecked}")
