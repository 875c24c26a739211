"""Rendering of ``snapkit prune`` (and of ``forget --prune``): progress, the plan before it is
carried out, what execution did, and the JSON document of both."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import click

from snapkit.cli.common import ProgressLine, Settings, echo_event, human_bytes
from snapkit.maintain.prune import PrunePlan, PruneResult
from snapkit.maintain.retention import format_duration
from snapkit.ops.events import Event, Step
from snapkit.ops.prune import PruneOutcome, PrunePlanned


def on_event(settings: Settings, line: ProgressLine, event: Event) -> None:
    """Show one event of a running prune: its steps on the live line, the plan as text."""
    if isinstance(event, Step):
        line.update(f"prune: reading {event.message}" if event.phase == "plan"
                    else f"prune: {event.message}")
    elif isinstance(event, PrunePlanned):
        line.clear()
        if not settings.json and not settings.quiet:
            render_plan(event.plan, event.dry_run)
    else:
        echo_event(settings, event)


def report(settings: Settings, outcome: PruneOutcome) -> dict[str, Any]:
    """Say what execution did (text), and return the JSON document of the plan and result."""
    result = outcome.result
    if result is not None and not settings.json and not settings.quiet:
        click.echo(f"pruned: wrote {result.packs_written} pack(s), removed "
                   f"{result.packs_removed} pack(s), {result.index_files_removed} index "
                   f"file(s) and {result.temp_files_removed} temp file(s); freed "
                   f"{human_bytes(result.bytes_freed)}")
    return plan_json(outcome.plan, outcome.dry_run, result)


def render_plan(plan: PrunePlan, dry_run: bool) -> None:
    def packs(infos: Collection[Any]) -> str:
        return f"{len(infos):,} pack(s), {human_bytes(sum(p.size for p in infos))}"

    click.echo(f"used: {len(plan.used_blobs):,} blobs referenced by {plan.snapshots:,} "
               f"snapshot(s)")
    click.echo(f"keep:    {packs(plan.keep)}")
    click.echo(f"repack:  {packs(plan.repack)}" + (
        f", copying the {human_bytes(sum(p.used_bytes for p in plan.repack))} still used"
        if plan.repack else ""))
    click.echo(f"delete:  {packs(plan.delete)} holding no used blob")
    grace = format_duration(plan.grace_s)
    if plan.missing:
        click.echo(f"missing: {len(plan.missing):,} indexed pack(s) already gone "
                   "(no used blob was in them); dropped from the index")
    if plan.relisted:
        click.echo(f"index:   {plan.relisted:,} blob(s) listed twice (an interrupted prune); "
                   "the index files are merged")
    if plan.unindexed:
        why = (f"older than {grace}" if plan.grace_s else "no other process holds a lock")
        click.echo(f"delete:  {packs(plan.unindexed)} no index lists (left by an "
                   f"interrupted or failed run; {why})")
    if plan.unindexed_recent:
        click.echo(f"keep:    {packs(plan.unindexed_recent)} no index lists, newer than "
                   f"{grace} while another process holds a lock (may be its own; removed by a "
                   "later prune)")
    if plan.temp_files:
        click.echo(f"delete:  {len(plan.temp_files):,} temp file(s) of interrupted writes, "
                   f"{human_bytes(sum(t.size for t in plan.temp_files))}")
    if plan.nothing_to_do:
        click.echo("nothing to prune")
    else:
        verb = "would free" if dry_run else "frees"
        click.echo(f"{verb} about {human_bytes(plan.bytes_to_free)} of "
                   f"{human_bytes(plan.pack_bytes)} in packs"
                   + (" (dry run: nothing changed)" if dry_run else ""))


def plan_json(plan: PrunePlan, dry_run: bool, result: PruneResult | None) -> dict[str, Any]:
    """The plan (and the result, once executed) as a JSON-ready dict."""
    def group(infos: Collection[Any]) -> dict[str, int]:
        return {"packs": len(infos), "bytes": sum(p.size for p in infos)}

    return {
        "dry_run": dry_run,
        "snapshots": plan.snapshots,
        "used_blobs": len(plan.used_blobs),
        "keep": group(plan.keep),
        "repack": {**group(plan.repack), "used_bytes": sum(p.used_bytes for p in plan.repack)},
        "delete": group(plan.delete),
        "missing": len(plan.missing),
        "relisted": plan.relisted,
        "unindexed": group(plan.unindexed),
        "unindexed_recent": group(plan.unindexed_recent),
        "temp_files": len(plan.temp_files),
        "pack_bytes": plan.pack_bytes,
        "bytes_to_free": plan.bytes_to_free,
        "nothing_to_do": plan.nothing_to_do,
        "result": None if result is None else {
            "packs_written": result.packs_written,
            "packs_removed": result.packs_removed,
            "index_files_written": result.index_files_written,
            "index_files_removed": result.index_files_removed,
            "temp_files_removed": result.temp_files_removed,
            "bytes_freed": result.bytes_freed,
        },
    }
