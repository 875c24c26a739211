"""``snapkit forget``: remove snapshot manifests, by id or by a keep policy, then ``--prune``
(:mod:`snapkit.ops.forget`; rendering in ``forget_view``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapkit.cli.common import ProgressLine, Settings, emit_json, repo_path, with_settings
from snapkit.errors import UsageError
from snapkit.retention import GROUP_FIELDS, KeepPolicy, check_group_by, parse_duration

F = TypeVar("F", bound=Callable[..., Any])


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _group_by(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    fields = tuple(f.strip() for f in value.split(",") if f.strip())
    bad = [f for f in fields if f not in GROUP_FIELDS]
    if bad:
        raise click.BadParameter(f"unknown field {bad[0]!r}; use a comma-separated list of "
                                 f"{', '.join(GROUP_FIELDS)}, or '' for one group")
    return check_group_by(fields)


def _count(name: str, what: str) -> Callable[[F], F]:
    return click.option(f"--keep-{name}", name, type=click.IntRange(min=0), default=0,
                        metavar="N", help=f"Keep the {what}.")


@click.command("forget")
@click.argument("selectors", nargs=-1, metavar="[SNAPSHOT]...")
@_count("last", "N newest snapshots")
@_count("hourly", "newest snapshot of each of the last N hours that have one")
@_count("daily", "newest snapshot of each of the last N days that have one")
@_count("weekly", "newest snapshot of each of the last N ISO weeks that have one")
@_count("monthly", "newest snapshot of each of the last N months that have one")
@_count("yearly", "newest snapshot of each of the last N years that have one")
@click.option("--keep-within", "within", metavar="DURATION", callback=_duration,
              help="Keep every snapshot less than DURATION older than the newest one "
                   "(12h, 7d, 2w, 6m, 1y; m = 30 days).")
@click.option("--keep-tag", "keep_tags", multiple=True, metavar="TAG",
              help="Keep every snapshot carrying TAG (repeatable).")
@click.option("--host", metavar="NAME", help="Only consider snapshots of this host.")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only consider snapshots carrying TAG (repeatable: all of them).")
@click.option("--group-by", default="host,paths,mode", show_default=True, callback=_group_by,
              metavar="FIELDS", help="Apply the policy to each group of snapshots sharing "
                                     "these fields: any of host, paths, tags, mode ('' for one "
                                     "group).")
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
