"""``snapkit check``: verify the repository (:mod:`snapkit.ops.check`)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import (
    Settings,
    echo_event,
    emit_json,
    human_bytes,
    no_lock_option,
    repo_path,
    with_settings,
)
from snapkit.format.errors import EXIT_FATAL


@click.command("check")
@click.option("--read-data", is_flag=True,
              help="Also read every pack and check every blob against its id (slow).")
@no_lock_option
@with_settings
def check(settings: Settings, read_data: bool, no_lock: bool) -> None:
    """Verify the repository: index vs packs, every snapshot's trees and data references.

    Exit 0 when no error was found, 1 otherwise.
    """
    from snapkit.ops.check import check as run_check

    report = run_check(repo_path(settings), read_data=read_data, no_lock=no_lock,
                       on_event=functools.partial(echo_event, settings))
    if settings.json:
        emit_json({"ok": report.ok, "packs": report.packs, "blobs": report.blobs,
                   "snapshots": report.snapshots, "trees": report.trees, "files": report.files,
                   "bytes_read": report.bytes_read, "errors": list(report.errors),
                   "notes": list(report.notes)})
    else:
        for e in report.errors:
            click.echo(f"error: {e}")
        if not settings.quiet:
            for n in report.notes:
                click.echo(f"note: {n}")
            verdict = "no errors found" if report.ok else f"{len(report.errors)} error(s) found"
            read = f", read {human_bytes(report.bytes_read)}" if read_data else ""
            click.echo(f"checked {report.packs:,} packs, {report.blobs:,} blobs, "
                       f"{report.snapshots:,} snapshots, {report.trees:,} trees{read}: "
                       f"{verdict}")
    if not report.ok:
        raise SystemExit(EXIT_FATAL)
