"""Rendering of ``snapkit forget``: each group's decisions as a table (before a prune that
follows), or the whole run as one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from snapkit.cli import prune_view
from snapkit.cli.common import ProgressLine, Settings, json_time, local_time
from snapkit.maintain.retention import Decision, Group, KeepPolicy
from snapkit.ops.events import Event
from snapkit.ops.forget import ForgetDecided, ForgetResult


def on_event(settings: Settings, line: ProgressLine, policy: KeepPolicy | None,
             event: Event) -> None:
    """Show one event of a running forget: the decisions as text (``policy``: None when
    snapshots were named), then those of the prune that follows."""
    if not isinstance(event, ForgetDecided):
        prune_view.on_event(settings, line, event)
        return
    if settings.json:
        return
    render(settings, event.decisions, policy, event.dry_run)
    if event.prune_follows and not settings.quiet:
        click.echo()


def render(settings: Settings, decisions: Sequence[Decision], policy: KeepPolicy | None,
           dry_run: bool) -> None:
    removed = [d for d in decisions if not d.keep]
    if settings.quiet:
        if not dry_run:
            for d in removed:
                click.echo(d.snapshot_id)
        return
    if policy is not None:
        click.echo(f"policy: {policy.describe()}")
    if not decisions:
        click.echo("no snapshots")
        return
    verb = "would remove" if dry_run else "removed"
    for i, (group, items) in enumerate(_groups(decisions).items()):
        gone = sum(not d.keep for d in items)
        # Snapshots named on the command line: only those are listed, so no "kept" count.
        counts = f"{verb} {gone}" if policy is None else f"{len(items) - gone} kept, {verb} {gone}"
        gap = "" if i == 0 and policy is None else "\n"
        click.echo(f"{gap}group: {group.describe()} ({counts})")
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
    what = "snapshot" if len(removed) == 1 else "snapshots"
    total = f"{verb} {len(removed)} {what}" if policy is None else \
        f"{kept} kept, {verb} {len(removed)} {what}"
    click.echo(f"\n{total}" + (" (dry run: nothing changed)" if dry_run else ""))


def result_json(r: ForgetResult, policy: KeepPolicy | None, group_by: Sequence[str],
                pruned: dict[str, Any] | None) -> dict[str, Any]:
    """The whole run as JSON; ``pruned``: the prune's document (``prune_view.report``)."""
    return {
        "dry_run": r.dry_run,
        "policy": None if policy is None else policy.describe(),
        "group_by": list(group_by),
        "groups": [_group_json(group, items) for group, items in _groups(r.decisions).items()],
        "snapshots": [_decision_json(d) for d in r.decisions],
        "removed": [] if r.dry_run else list(r.removed),
        "prune": pruned,
    }


def _groups(decisions: Sequence[Decision]) -> dict[Group, list[Decision]]:
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
