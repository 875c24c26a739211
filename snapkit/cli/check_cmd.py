"""``snapkit check``: verify the repository and say what any damage costs
(:mod:`snapkit.ops.check`; rendered by :mod:`snapkit.cli.check_view`)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import (
    Settings,
    echo_event,
    emit_json,
    no_lock_option,
    repo_path,
    with_settings,
)
from snapkit.format.errors import EXIT_FATAL


@click.command("check")
@click.option("--read-data", is_flag=True,
              help="Also read every pack and check every blob against its id (slow).")
@click.option("--read-data-subset", metavar="N%|n/m",
              help="Read only some packs: N% of them (e.g. 10%), or group n of m (e.g. 2/7; "
                   "running 1/m to m/m reads every pack once). The same value picks the same "
                   "packs every time. Implies --read-data for those packs.")
@no_lock_option
@with_settings
def check(settings: Settings, read_data: bool, read_data_subset: str | None,
          no_lock: bool) -> None:
    """Verify the repository and name what any damage costs.

    Checks the index against the packs and every snapshot's trees and data references;
    with --read-data every blob's bytes too (a damaged pack is checked blob by blob). Every
    problem is listed, never only the first: for each damaged or missing blob, the files and
    directories of every snapshot that lose data, then one summary line naming the
    `snapkit repair` command that helps. Blobs found damaged are recorded in the repository,
    so the next `snap` stores those chunks again from the live files.

    Exit 0 when no error was found (notes, such as leftovers of an interrupted run, are not
    errors), 1 otherwise.
    """
    from snapkit.cli.check_view import render_text, report_json
    from snapkit.ops.check import check as run_check

    report = run_check(repo_path(settings), read_data=read_data,
                       read_data_subset=read_data_subset, no_lock=no_lock,
                       on_event=functools.partial(echo_event, settings))
    if settings.json:
        emit_json(report_json(report))
    else:
        render_text(report, read_data or read_data_subset is not None, settings.quiet)
    if not report.ok:
        raise SystemExit(EXIT_FATAL)
