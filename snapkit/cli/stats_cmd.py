"""``snapkit stats``: restore size, unique data and stored bytes of snapshots."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, open_repo, with_settings


@click.command("stats")
@click.argument("snapshots", nargs=-1)
@with_settings
def stats(settings: Settings, snapshots: tuple[str, ...]) -> None:
    """Sizes of SNAPSHOTS (default: all): what they restore to, the unique data behind them
    (deduplication) and what it takes in the repository (compression)."""
    from snapkit.maintain.selection import resolve
    from snapkit.maintain.stats import compute

    repo = open_repo(settings)
    listing = repo.snapshots()
    chosen = ([resolve(s, listing) for s in dict.fromkeys(snapshots)] if snapshots
              else list(listing))
    with repo.lock(exclusive=False, operation="stats"):
        s = compute(repo, chosen)
    if settings.json:
        emit_json({**vars(s), "stored": s.stored, "dedup_ratio": round(s.dedup_ratio, 3),
                   "compression_ratio": round(s.compression_ratio, 3)})
        return
    click.echo(f"Snapshots:     {s.snapshots:,}")
    click.echo(f"Restore size:  {human_bytes(s.restore_size)} in {s.files:,} files")
    click.echo(f"Unique data:   {human_bytes(s.data_raw)} in {s.data_blobs:,} blobs "
               f"(deduplication {s.dedup_ratio:.1f}x)")
    click.echo(f"Stored:        {human_bytes(s.stored)} (data {human_bytes(s.data_stored)}, "
               f"compression {s.compression_ratio:.1f}x; trees {human_bytes(s.tree_stored)} "
               f"in {s.tree_blobs:,})")
    if s.unreadable_trees:
        click.echo(f"snapkit: warning: {s.unreadable_trees:,} tree(s) could not be read; the "
                   "files below them are not counted (`snapkit check` names them)", err=True)
