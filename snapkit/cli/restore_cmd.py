"""``snapkit restore``: write a snapshot's files back (:mod:`snapkit.ops.restore`; rendering
in ``restore_view``)."""

from __future__ import annotations

import os

import click

from snapkit.cli.common import FileProgress, Settings, no_lock_option, repo_path, with_settings
from snapkit.format.errors import EXIT_FATAL, UsageError
from snapkit.read.restore import OVERWRITE_POLICIES, Overwrite


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
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first damaged file or directory (default: restore every "
                   "intact file, list the others, exit 1).")
@click.option("--verify", is_flag=True,
              help="Read every file written back from the target and compare it with the "
                   "snapshot (a file that differs is listed, exit 1).")
@click.option("--delete", is_flag=True,
              help="Make the target equal to the snapshot: after a clean restore, remove "
                   "what the target holds below the snapshot's paths (within --include/"
                   "--exclude) that the snapshot does not; with --dry-run, list it. Unlike "
                   "restic's, what the snapshot left out is kept: what it skipped (symlinks "
                   "by default, FIFOs, sockets, unreadable files) and what its rules exclude "
                   "(node_modules, logs, caches: the config's rules; snap's own --exclude "
                   "are not recorded, pass them here). Never follows a symlink; nothing is "
                   "removed if anything failed.")
@no_lock_option
@with_settings
def restore(settings: Settings, snapshot: str, target: str | None, in_place: bool,
            overwrite: Overwrite | None, includes: tuple[str, ...], excludes: tuple[str, ...],
            dry_run: bool, fail_fast: bool, verify: bool, delete: bool, no_lock: bool) -> None:
    """Restore SNAPSHOT (id, unique prefix, `latest` or a tag; ~N for an earlier one) into
    --target.

    Files land under their original absolute path below the target:
    `--target /tmp/r` puts ~/.openclaw/openclaw.json at /tmp/r/home/<you>/.openclaw/openclaw.json.
    On a damaged repository every intact file is restored, the others are listed (exit 1).
    With --delete the target then holds the snapshot below its paths, plus what the
    snapshot left out (see --delete). With --json: JSON lines, progress events (files and
    bytes of the totals, percent, ETA), then a summary.
    """
    if in_place:
        if target:
            raise UsageError("--in-place and --target exclude each other; pass one")
        if overwrite is None:
            raise UsageError("--in-place needs an explicit --overwrite never|if-changed|always")
        target = os.path.abspath(os.sep)
    elif not target:
        raise UsageError("say where to restore: --target DIR (or --in-place with --overwrite)")
    elif delete and os.path.abspath(os.path.expanduser(target)) == os.path.abspath(os.sep):
        raise UsageError("--delete into --target / replaces the original paths: say so with "
                         "--in-place and an explicit --overwrite")
    from snapkit.cli import restore_view
    from snapkit.ops.restore import restore as run_restore

    with FileProgress(settings, restore_view.unmatched_include, json_events=True) as progress:
        done = run_restore(repo_path(settings), snapshot, target, in_place=in_place,
                           overwrite=overwrite or "never", includes=includes,
                           excludes=excludes, dry_run=dry_run, no_lock=no_lock,
                           fail_fast=fail_fast, verify=verify and not dry_run,
                           delete=delete, config=settings.config,
                           on_event=progress.on_event,
                           progress_interval=1.0 if settings.json else 0.2)
    restore_view.report(settings, done, dry_run, delete)
    if done.result.failed or any(e.failed for e in done.result.extras):
        raise SystemExit(EXIT_FATAL)
