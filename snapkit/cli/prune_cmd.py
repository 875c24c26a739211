"""``snapkit prune``: remove data no snapshot references (plan, print, then execute).

:func:`prune_and_report` is shared with ``forget --prune``, which runs it under its own lock.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import click

from snapkit.cli.common import (
    ProgressLine,
    Settings,
    emit_json,
    human_bytes,
    open_repo,
    with_settings,
)
from snapkit.prune import PrunePlan, PruneResult, execute_prune, plan_prune
from snapkit.retention import format_duration
from snapkit.store.repository import Repository


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
    repo = open_repo(settings)
    with repo.lock(exclusive=not dry_run, operation="prune"):
        report = prune_and_report(settings, repo, dry_run=dry_run,
                                  repack_all_unused=repack_all_unused)
    if settings.json:
        emit_json(report)


def prune_and_report(settings: Settings, repo: Repository, *, dry_run: bool,
                     repack_all_unused: bool = False,
                     ignore_snapshots: Collection[str] = ()) -> dict[str, Any]:
    """Plan, print the plan (unless --json), execute unless ``dry_run``; return the JSON."""
    line = ProgressLine(settings)
    try:
        plan = plan_prune(repo, repack_all_unused=repack_all_unused,
                          ignore_snapshots=ignore_snapshots,
                          on_step=lambda msg: line.update(f"prune: reading {msg}"))
        line.clear()
        if not settings.json and not settings.quiet:
            _render_plan(plan, dry_run)
        result = None
        if not dry_run and not plan.nothing_to_do:
            result = execute_prune(repo, plan, lambda msg: line.update(f"prune: {msg}"))
    finally:
        line.clear()
    if result is not None and not settings.json and not settings.quiet:
        click.echo(f"pruned: wrote {result.packs_written} pack(s), removed "
                   f"{result.packs_removed} pack(s), {result.index_files_removed} index "
                   f"file(s) and {result.temp_files_removed} temp file(s); freed "
                   f"{human_bytes(result.bytes_freed)}")
    return plan_json(plan, dry_run, result)


def _render_plan(plan: PrunePlan, dry_run: bool) -> None:
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
