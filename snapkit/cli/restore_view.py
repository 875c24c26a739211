"""Rendering of ``snapkit restore``: a warning for each include that matches nothing, then
what was (or would be) written and, with ``--delete``, removed (and kept: what the snapshot
left out, one line; a dry run lists it), as text or JSON, and what
could not be (a damaged repository): one stderr line per file or directory and a summary
naming `snapkit check`."""

from __future__ import annotations

from collections.abc import Sequence

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, notice, shown
from snapkit.ops.events import Event
from snapkit.ops.restore import RestoreOutcome, UnmatchedInclude
from snapkit.read.restore import RestoreResult
from snapkit.read.treewalk import Failed


def unmatched_include(event: Event) -> bool:
    """Warn about an include that matches nothing; False for any other event."""
    if not isinstance(event, UnmatchedInclude):
        return False
    sid = event.snapshot_id[:8]
    click.echo(f"snapkit: warning: --include {event.pattern!r} matches nothing in snapshot "
               f"{sid}; give a path absolute or relative to a source (see `snapkit ls {sid} "
               "-R`)", err=True)
    return True


def report(settings: Settings, done: RestoreOutcome, dry_run: bool,
           delete: bool = False) -> None:
    r = done.result
    if settings.json:
        if dry_run:
            for a in r.actions:
                emit_json({"event": "plan", "path": a.dest, "type": a.node.type,
                           "action": a.action, "size": a.node.size})
            for e in r.extras:
                emit_json({"event": "plan", "path": e.path, "type": e.type,
                           "action": "keep" if e.kept else "delete", "reason": e.kept,
                           "out_of_scope": e.out_of_scope})
        emit_json({"event": "summary", "snapshot_id": done.snapshot_id, "target": done.target,
                   "dry_run": dry_run, "files": r.files, "dirs": r.dirs,
                   "symlinks": r.symlinks, "bytes": r.bytes, "identical": r.identical,
                   "metadata": r.metadata, "verified": r.verified,
                   "leftovers_removed": r.leftovers_removed,
                   "deleted": r.deleted, "delete_skipped": r.delete_skipped,
                   "kept": [{"path": e.path, "type": e.type, "reason": e.kept,
                             "failed": e.failed} for e in r.extras
                            if e.kept and not e.out_of_scope],
                   "kept_out_of_scope": [{"path": e.path, "type": e.type, "reason": e.kept}
                                         for e in r.extras if e.out_of_scope],
                   "unmatched_includes": list(done.unmatched_includes),
                   "failed": [{"path": f.path, "type": f.type, "reason": f.reason}
                              for f in r.failed]})
        return
    if r.leftovers_removed:
        n = r.leftovers_removed
        notice(settings, f"removed {n:,} partial file{'' if n == 1 else 's'} an interrupted "
                         "restore had left in the target")
    if dry_run and not settings.quiet:
        for a in r.actions:
            if a.node.type != "dir":
                click.echo(f"{a.action:<9} {shown(a.dest)}")
        for e in r.extras:
            click.echo(f"keep      {shown(e.path)} ({e.kept})" if e.kept
                       else f"delete    {shown(e.path)}")
    if not settings.quiet:
        verb = "would restore" if dry_run else "restored"
        click.echo(f"{verb} {_count(r.files, 'file')} ({human_bytes(r.bytes)}), "
                   f"{_count(r.dirs, 'dir')}, {_count(r.symlinks, 'symlink')} from snapshot "
                   f"{done.snapshot_id[:8]} to "
                   f"{done.target}" + (f"; {r.identical:,} already identical"
                                        if r.identical else "")
                   + (f" ({r.metadata:,} with {'its' if r.metadata == 1 else 'their'} mode, "
                      "time or owner set again)" if r.metadata else ""))
        if r.verified:
            click.echo(f"verified {_count(r.verified, 'file')}: read back, equal to the "
                       "snapshot")
        if delete and not r.delete_skipped:
            click.echo(f"{'would delete' if dry_run else 'deleted'} "
                       f"{_count(r.deleted, 'entry', 'entries')} the snapshot does not hold")
            out = sum(1 for e in r.extras if e.out_of_scope)
            if out:
                click.echo(f"{'would keep' if dry_run else 'kept'} "
                           f"{_count(out, 'entry', 'entries')} the snapshot left out (excluded "
                           f"or skipped); {'listed above' if dry_run else 'see --dry-run'}")
    _deletions(r, dry_run)
    failures(r.failed, "would restore" if dry_run else "restored", r.files)


def _deletions(r: RestoreResult, dry_run: bool) -> None:
    """``--delete``: what was kept, and why (a dry run lists it with the plan); a restore
    that failed, said to have deleted nothing."""
    if not dry_run:
        for e in r.extras:
            if e.failed:
                click.echo(f"snapkit: could not delete {shown(e.path)}: {e.kept}", err=True)
            elif e.kept and not e.out_of_scope:
                click.echo(f"snapkit: warning: --delete kept {shown(e.path)}: {e.kept}", err=True)
    if r.delete_skipped:
        lost = _count(len(r.failed), "entry", "entries")
        click.echo(f"snapkit: --delete removed nothing: {lost} could not be restored, and "
                   "only a clean restore deletes", err=True)


def failures(failed: Sequence[Failed], did: str, done: int) -> None:
    """One stderr line per file or directory that could not be restored, then a summary line
    (``did`` says what happened to the ``done`` files that were written)."""
    if not failed:
        return
    for f in failed:
        click.echo(f"snapkit: could not restore {shown(f.path)}: {f.reason}", err=True)
    files = sum(1 for f in failed if f.type != "dir")
    dirs = len(failed) - files
    lost = " and ".join(part for part in (
        _count(files, "file") if files else "",
        _count(dirs, "directory", "directories") if dirs else "",
    ) if part)
    click.echo(f"snapkit: {did} {_count(done, 'file')}; {lost} could not be restored: the "
               "repository is damaged — `snapkit check` shows what is affected, `snapkit "
               "repair` repairs it", err=True)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
