"""Rendering of ``snapkit export`` (the partial archives it cleared, what it wrote) and of
``snapkit verify-archive`` (the verdict), as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, notice
from snapkit.ops.events import Event
from snapkit.ops.export import ExportOutcome, PartialsRemoved, PlainArchive
from snapkit.read.archive_verify import VerifyResult
from snapkit.read.treewalk import Failed

#: Said when an encrypted repository is exported (the archive is a plain tar).
PLAIN_ARCHIVE_NOTE = ("snapkit: note: the repository is encrypted, the archive is not; to "
                      "encrypt it, pipe `-o -` to age or gpg: `snapkit export SNAPSHOT -o - | "
                      "age -r RECIPIENT > backup.tar.gz.age` (docs/import-export.md)")


def partials_removed(settings: Settings) -> Callable[[Event], bool]:
    """A handler saying that partial archives of interrupted exports were removed, and that
    the archive of an encrypted repository is not encrypted."""
    def handle(event: Event) -> bool:
        if isinstance(event, PlainArchive):
            if not settings.json:
                notice(settings, PLAIN_ARCHIVE_NOTE)
            return True
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
        summary = {"event": "summary", "archive": done.archive or "-",
                   "snapshot_id": done.snapshot_id, "format": done.format, "files": r.files,
                   "dirs": r.dirs, "symlinks": r.symlinks, "bytes": r.bytes,
                   "omitted": [{"path": f.path, "type": f.type, "reason": f.reason}
                               for f in r.omitted]}
        if done.archive is None:  # stdout holds the archive
            click.echo(json.dumps(summary), err=True)
        else:
            emit_json(summary)
        return
    if done.archive is not None:
        notice(settings, f"exported snapshot {done.snapshot_id[:8]}: {r.files:,} "
                         f"file{'' if r.files == 1 else 's'} "
                         f"({human_bytes(r.bytes)}) to {done.archive} "
                         f"({human_bytes(done.size or 0)})")
    omitted(r.omitted, done.archive, r.files)


def omitted(failed: Sequence[Failed], archive: str | None, files: int) -> None:
    """One stderr line per entry left out, then a summary line (as ``restore_view`` does)."""
    if not failed:
        return
    for f in failed:
        click.echo(f"snapkit: could not export {f.path}: {f.reason}", err=True)
    n = sum(1 for f in failed if f.type != "dir")
    lost = " and ".join(part for part in (
        f"{n:,} file{'' if n == 1 else 's'}" if n else "",
        f"{len(failed) - n:,} director{'y' if len(failed) - n == 1 else 'ies'}"
        if len(failed) > n else "") if part)
    click.echo(f"snapkit: exported {files:,} file{'' if files == 1 else 's'}; {lost} could not "
               f"be read and {'was' if len(failed) == 1 else 'were'} left out of "
               f"{archive or 'the archive'} (its final metadata record lists them): the "
               "repository is damaged — `snapkit check` shows what is affected, `snapkit "
               "repair` repairs it", err=True)


def verdict(settings: Settings, archive: str, result: VerifyResult) -> None:
    if settings.json:
        emit_json({"archive": archive, "snapshot": result.snapshot, "layout": result.layout,
                   "ok": result.ok,
                   "checked": result.checked, "unchecked": result.unchecked,
                   "missing": result.missing,
                   "extra": result.extra, "mismatched": result.mismatched,
                   "damaged": result.damaged,
                   "omitted": [{"name": o.name, "type": o.type, "reason": o.reason}
                               for o in result.omitted]})
        return
    if result.damaged:
        click.echo(f"DAMAGED  {archive}: {result.damaged}")
    for name in result.mismatched:
        click.echo(f"MISMATCH {name}")
    for name in result.missing:
        click.echo(f"MISSING  {name}")
    for name in result.extra:
        click.echo(f"EXTRA    {name}")
    for o in result.omitted:
        click.echo(f"OMITTED  {o.name}{'/' if o.type == 'dir' else ''}: {o.reason}")
    if not settings.quiet:
        verdict = ("OK" if result.ok else "INCOMPLETE" if result.consistent else "FAILED")
        unchecked = (f" ({result.unchecked:,} carried no checksum)"
                     if result.unchecked else "")
        layout = " (OpenClaw layout)" if result.layout == "openclaw" else ""
        left_out = (f"; {len(result.omitted):,} entries left out at export (the repository "
                    "was damaged)" if result.omitted else "")
        click.echo(f"{verdict}: {result.checked:,} file{'' if result.checked == 1 else 's'} "
                   "checked against snapshot "
                   f"{(result.snapshot or '?')[:8]}{layout}{unchecked}{left_out}")
