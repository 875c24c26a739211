"""``snapkit prune``: remove data no snapshot references (:mod:`snapkit.ops.prune`; rendering
in ``prune_view``, shared with ``forget --prune``)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import ProgressLine, Settings, emit_json, repo_path, with_settings


@click.command("prune")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan; change nothing.")
@click.option("--repack-all-unused", is_flag=True,
              help="Repack every pack holding an unused blob [default: only packs at least "
                   "20% unused].")
@with_settings
def prune(settings: Settings, dry_run: bool, repack_all_unused: bool) -> None:
    """Delete packs no snapshot uses and repack mostly-unused ones.

    Takes the exclusive lock (a shared one with --dry-run): it waits for no one, and exits 11
    while a snap or another prune is running. Run `snapkit forget` first to drop snapshots.
    """
    from snapkit.cli import prune_view
    from snapkit.ops.prune import prune as run_prune

    line = ProgressLine(settings, interval=0)  # the operation paces its progress events
    try:
        outcome = run_prune(repo_path(settings), dry_run=dry_run,
                            repack_all_unused=repack_all_unused,
                            on_event=functools.partial(prune_view.on_event, settings, line))
    finally:
        line.clear()
    report = prune_view.report(settings, outcome)
    if settings.json:
        emit_json(report)
