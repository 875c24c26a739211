"""``snapkit restore``: write a snapshot's files back."""

from __future__ import annotations

import os

import click

from snapkit.browse import source_patterns, unmatched_patterns
from snapkit.chunker import Chunker
from snapkit.cli.common import (
    ProgressLine,
    Settings,
    emit_json,
    human_bytes,
    no_lock_option,
    notice,
    open_repo_reading,
    with_settings,
)
from snapkit.errors import UsageError
from snapkit.restore import OVERWRITE_POLICIES, Overwrite, RestoreOptions, restore_snapshot
from snapkit.selection import resolve


@click.command("restore")
@click.argument("snapshot")
@click.option("--target", "-t", metavar="DIR", help="Directory to restore into (created).")
@click.option("--in-place", is_flag=True,
              help="Restore to the original absolute paths (needs an explicit --overwrite).")
@click.option("--overwrite", type=click.Choice(OVERWRITE_POLICIES), default=None,
              help="What to do with existing files that differ [default: never].")
@click.option("--include", "includes", multiple=True, metavar="GLOB",
              help="Only paths matching GLOB (gitignore-style; absolute, or relative to a "
                   "source as `ls` takes paths; repeatable). One that matches nothing is a "
                   "warning.")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Leave out paths matching GLOB (same rules; repeatable).")
@click.option("--dry-run", "-n", is_flag=True, help="List what would be written; write nothing.")
@no_lock_option
@with_settings
def restore(settings: Settings, snapshot: str, target: str | None, in_place: bool,
            overwrite: Overwrite | None, includes: tuple[str, ...], excludes: tuple[str, ...],
            dry_run: bool, no_lock: bool) -> None:
    """Restore SNAPSHOT (id, unique prefix, `latest` or a tag; ~N for an earlier one) into
    --target.

    Files land under their original absolute path below the target:
    `--target /tmp/r` puts ~/.openclaw/openclaw.json at /tmp/r/home/<you>/.openclaw/openclaw.json.
    """
    if in_place:
        if target:
            raise UsageError("--in-place and --target exclude each other; pass one")
        if overwrite is None:
            raise UsageError("--in-place needs an explicit --overwrite never|if-changed|always")
        target = os.path.abspath(os.sep)
    elif not target:
        raise UsageError("say where to restore: --target DIR (or --in-place with --overwrite)")
    repo = open_repo_reading(settings, no_lock, "restore")
    snap_id, snap = resolve(snapshot, repo.snapshots())
    unmatched = unmatched_patterns(repo.load_tree, snap, includes)
    for pattern in unmatched:
        click.echo(f"snapkit: warning: --include {pattern!r} matches nothing in snapshot "
                   f"{snap_id[:8]}; give a path absolute or relative to a source (see "
                   f"`snapkit ls {snap_id[:8]} -R`)", err=True)
    opts = RestoreOptions(target=os.path.abspath(os.path.expanduser(target)), in_place=in_place,
                          overwrite=overwrite or "never", dry_run=dry_run,
                          includes=source_patterns(includes, snap.sources),
                          excludes=source_patterns(excludes, snap.sources))
    line = ProgressLine(settings)
    on_file = line.file_counter()

    try:
        result = restore_snapshot(repo.load_tree, repo.read_blobs, snap, opts,
                                  Chunker(repo.config.chunker), on_file)
    finally:
        line.clear()
    if settings.json:
        if dry_run:
            for a in result.actions:
                emit_json({"event": "plan", "path": a.dest, "type": a.node.type,
                           "action": a.action, "size": a.node.size})
        emit_json({"event": "summary", "snapshot_id": snap_id, "target": opts.target,
                   "dry_run": dry_run, "files": result.files, "dirs": result.dirs,
                   "symlinks": result.symlinks, "bytes": result.bytes,
                   "identical": result.identical,
                   "leftovers_removed": result.leftovers_removed,
                   "unmatched_includes": unmatched})
        return
    if result.leftovers_removed:
        n = result.leftovers_removed
        notice(settings, f"removed {n:,} partial file{'' if n == 1 else 's'} an interrupted "
                         "restore had left in the target")
    if dry_run and not settings.quiet:
        for a in result.actions:
            if a.node.type != "dir":
                click.echo(f"{a.action:<9} {a.dest}")
    if not settings.quiet:
        verb = "would restore" if dry_run else "restored"
        click.echo(f"{verb} {result.files:,} files ({human_bytes(result.bytes)}), "
                   f"{result.dirs:,} dirs, {result.symlinks:,} symlinks from snapshot "
                   f"{snap_id[:8]} to {opts.target}"
                   + (f"; {result.identical:,} already identical" if result.identical else ""))
