"""Rendering of ``snapkit restore``: a warning for each include that matches nothing, then
what was (or would be) written, as text or JSON."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, notice
from snapkit.ops.events import Event
from snapkit.ops.restore import RestoreOutcome, UnmatchedInclude


def unmatched_include(event: Event) -> bool:
    """Warn about an include that matches nothing; False for any other event."""
    if not isinstance(event, UnmatchedInclude):
        return False
    sid = event.snapshot_id[:8]
    click.echo(f"snapkit: warning: --include {event.pattern!r} matches nothing in snapshot "
               f"{sid}; give a path absolute or relative to a source (see `snapkit ls {sid} "
               "-R`)", err=True)
    return True


def report(settings: Settings, done: RestoreOutcome, dry_run: bool) -> None:
    r = done.result
    if settings.json:
        if dry_run:
            for a in r.actions:
                emit_json({"event": "plan", "path": a.dest, "type": a.node.type,
                           "action": a.action, "size": a.node.size})
        emit_json({"event": "summary", "snapshot_id": done.snapshot_id, "target": done.target,
                   "dry_run": dry_run, "files": r.files, "dirs": r.dirs,
                   "symlinks": r.symlinks, "bytes": r.bytes, "identical": r.identical,
                   "leftovers_removed": r.leftovers_removed,
                   "unmatched_includes": list(done.unmatched_includes)})
        return
    if r.leftovers_removed:
        n = r.leftovers_removed
        notice(settings, f"removed {n:,} partial file{'' if n == 1 else 's'} an interrupted "
                         "restore had left in the target")
    if dry_run and not settings.quiet:
        for a in r.actions:
            if a.node.type != "dir":
                click.echo(f"{a.action:<9} {a.dest}")
    if not settings.quiet:
        verb = "would restore" if dry_run else "restored"
        click.echo(f"{verb} {r.files:,} files ({human_bytes(r.bytes)}), {r.dirs:,} dirs, "
                   f"{r.symlinks:,} symlinks from snapshot {done.snapshot_id[:8]} to "
                   f"{done.target}" + (f"; {r.identical:,} already identical"
                                        if r.identical else ""))
