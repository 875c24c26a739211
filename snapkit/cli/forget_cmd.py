"""``snapkit forget``: remove snapshot manifests, by id or by a keep policy (then ``--prune``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapkit.cli.common import (
    Settings,
    emit_json,
    json_time,
    local_time,
    open_repo,
    with_settings,
)
from snapkit.cli.prune_cmd import prune_and_report
from snapkit.errors import UsageError
from snapkit.retention import (
    GROUP_FIELDS,
    Decision,
    Group,
    KeepPolicy,
    apply_policy,
    check_group_by,
    parse_duration,
    remove_named,
)
from snapkit.selection import filter_snapshots, resolve

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
    repo = open_repo(settings)
    with repo.lock(exclusive=not dry_run, operation="forget"):
        pairs = filter_snapshots(repo.snapshots(), host=host, tags=tags)
        if selectors:
            named = [resolve(s, pairs)[0] for s in selectors]
            decisions = remove_named(pairs, named, group_by)
        else:
            decisions = apply_policy(pairs, policy, time.time_ns(), group_by=group_by)
        removed = [d.snapshot_id for d in decisions if not d.keep]
        if not dry_run:
            for sid in removed:
                repo.remove_snapshot(sid)
        if not settings.json:
            _render(settings, decisions, policy, bool(selectors), dry_run)
        pruned = None
        if then_prune and removed:
            if not settings.json and not settings.quiet:
                click.echo()
            pruned = prune_and_report(settings, repo, dry_run=dry_run,
                                      ignore_snapshots=set(removed))
    if settings.json:
        emit_json({
            "dry_run": dry_run,
            "policy": None if selectors else policy.describe(),
            "group_by": list(group_by),
            "groups": [_group_json(group, items) for group, items in _groups(decisions).items()],
            "snapshots": [_decision_json(d) for d in decisions],
            "removed": [] if dry_run else removed,
            "prune": pruned,
        })


def _render(settings: Settings, decisions: list[Decision], policy: KeepPolicy, named: bool,
            dry_run: bool) -> None:
    removed = [d for d in decisions if not d.keep]
    if settings.quiet:
        if not dry_run:
            for d in removed:
                click.echo(d.snapshot_id)
        return
    if not named:
        click.echo(f"policy: {policy.describe()}")
    if not decisions:
        click.echo("no snapshots")
        return
    for group, items in _groups(decisions).items():
        gone = sum(not d.keep for d in items)
        click.echo(f"\ngroup: {group.describe()} ({len(items) - gone} kept, "
                   f"{'would remove' if dry_run else 'removed'} {gone})")
        rows = [("ID", "Time", "Tags", "Action", "Reasons")]
        for d in items:
            action = "keep" if d.keep else ("would remove" if dry_run else "remove")
            rows.append((d.snapshot_id[:8], local_time(d.snapshot.time_ns),
                         ",".join(d.snapshot.tags), action, ", ".join(d.reasons)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            click.echo(("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False))
                        + "  " + r[4]).rstrip())
    kept = len(decisions) - len(removed)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"\n{kept} kept, {verb} {len(removed)} snapshot(s)"
               + (" (dry run: nothing changed)" if dry_run else ""))


def _groups(decisions: list[Decision]) -> dict[Group, list[Decision]]:
    """The decisions by group (groups in order of first appearance), each oldest first."""
    groups: dict[Group, list[Decision]] = {}
    for d in decisions:
        groups.setdefault(d.group, []).append(d)
    return {g: sorted(items, key=lambda d: (d.snapshot.time_ns, d.snapshot_id))
            for g, items in groups.items()}


def _group_key_json(g: Group) -> dict[str, Any]:
    return {"host": g.host, "sources": None if g.sources is None else list(g.sources),
            "tags": None if g.tags is None else list(g.tags), "mode": g.mode}


def _group_json(g: Group, items: list[Decision]) -> dict[str, Any]:
    """One group: what it shares (None for a field not grouped by), what is kept and why,
    what is removed; oldest first."""
    return {
        **_group_key_json(g),
        "keep": [{"id": d.snapshot_id, "time": json_time(d.snapshot.time_ns),
                  "reasons": list(d.reasons)} for d in items if d.keep],
        "remove": [{"id": d.snapshot_id, "time": json_time(d.snapshot.time_ns),
                    "reasons": list(d.reasons)} for d in items if not d.keep],
    }


def _decision_json(d: Decision) -> dict[str, Any]:
    s = d.snapshot
    return {
        "id": d.snapshot_id, "short_id": d.snapshot_id[:8], "time": json_time(s.time_ns),
        "time_ns": s.time_ns, "host": s.hostname, "sources": list(s.sources),
        "tags": list(s.tags), "mode": s.mode, "action": "keep" if d.keep else "remove",
        "reasons": list(d.reasons), "group": _group_key_json(d.group),
    }
