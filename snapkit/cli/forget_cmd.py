"""``snapkit forget``: remove snapshot manifests, by id or by a keep policy, then ``--prune``
(:mod:`snapkit.ops.forget`; rendering in ``forget_view``)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import ProgressLine, Settings, emit_json, repo_path, with_settings
from snapkit.cli.forget_options import group_by_option, keep_options
from snapkit.format.errors import UsageError
from snapkit.maintain.retention import KeepPolicy


@click.command("forget")
@click.argument("selectors", nargs=-1, metavar="[SNAPSHOT]...")
@keep_options
@click.option("--host", metavar="NAME", help="Only consider snapshots of this host.")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only consider snapshots carrying TAG (repeatable: all of them).")
@group_by_option
@click.option("--dry-run", "-n", is_flag=True,
              help="Print the groups and, in each, what is kept (and why) and removed; "
                   "remove nothing.")
@click.option("--prune", "then_prune", is_flag=True,
              help="Then delete the data no remaining snapshot uses (see `snapkit prune`).")
@with_settings
def forget(settings: Settings, selectors: tuple[str, ...], last: int, hourly: int, daily: int,
           weekly: int, monthly: int, yearly: int, within: float | None,
           keep_tags: tuple[str, ...], host: str | None, tags: tuple[str, ...],
           group_by: tuple[str, ...], dry_run: bool, then_prune: bool) -> None:
    """Remove snapshots given by id, or those a keep policy does not keep.

    Each group of snapshots (same host, sources and mode; see --group-by) gets the policy on
    its own, so one machine's policy never drops another's and a config-only snapshot never
    takes the place of a full one. Only the manifests are removed; the data goes with --prune
    or a later `snapkit prune`.

    \b
    snapkit forget 3f2a                                  remove one snapshot
    snapkit forget --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run
    snapkit forget --keep-last 10 --keep-tag pre-update --prune
    """
    policy = KeepPolicy(last, hourly, daily, weekly, monthly, yearly, within, keep_tags)
    if selectors and not policy.empty:
        raise UsageError("give snapshot ids or --keep-* options, not both")
    if not selectors and policy.empty:
        raise UsageError("no --keep-* option given, so every snapshot would be kept; add one "
                         "(e.g. --keep-daily 7) or name the snapshots to remove")
    from snapkit.cli import forget_view, prune_view
    from snapkit.ops.forget import forget as run_forget

    shown = None if selectors else policy  # no policy line when snapshots are named
    line = ProgressLine(settings, interval=0)  # the operation paces its progress events
    try:
        result = run_forget(
            repo_path(settings), selectors=selectors, policy=policy, host=host, tags=tags,
            group_by=group_by, dry_run=dry_run, prune=then_prune,
            on_event=functools.partial(forget_view.on_event, settings, line, shown))
    finally:
        line.clear()
    pruned = prune_view.report(settings, result.prune) if result.prune else None
    if settings.json:
        emit_json(forget_view.result_json(result, shown, group_by, pruned))
