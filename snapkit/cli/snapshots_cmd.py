"""``snapkit snapshots`` (alias ``list``): the snapshots in the repository."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, group_by_callback, open_repo, with_settings
from snapkit.maintain.retention import DEFAULT_GROUP_BY, Group
from snapkit.maintain.selection import describe_filters, filter_snapshots, grouped


@click.command("snapshots")
@click.option("--host", metavar="NAME", help="Only snapshots of this host.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only snapshots with this tag.")
@click.option("--path", metavar="PATH",
              help="Only snapshots whose sources include PATH (relative: from here).")
@click.option("--latest", type=click.IntRange(min=1), metavar="N",
              help="Only the N newest of each group (--group-by; default: host, paths, mode).")
@click.option("--group-by", "group_by", metavar="FIELDS", callback=group_by_callback,
              help="List each group of snapshots sharing these fields under its own heading: "
                   "any of host, paths, tags, mode.")
@click.option("--compact", is_flag=True, help="Fewer columns: id, time, host, tags.")
@with_settings
def snapshots(settings: Settings, host: str | None, tags: tuple[str, ...], path: str | None,
              latest: int | None, group_by: tuple[str, ...] | None, compact: bool) -> None:
    """List snapshots, oldest first."""
    from snapkit.cli import snapshots_view

    repo = open_repo(settings)
    listing = repo.snapshots()
    pairs = filter_snapshots(listing, host=host, tags=tags, path=path)
    if listing and not pairs and not settings.json and not settings.quiet:
        held = f"{len(listing)} snapshot{'' if len(listing) == 1 else 's'}"
        click.echo(f"no snapshots match {describe_filters(host, tags, path)} (the repository "
                   f"holds {held}; `snapkit snapshots` lists them)")
        return
    groups = grouped(pairs, DEFAULT_GROUP_BY if group_by is None else group_by, latest)
    if group_by is None:  # one list, oldest first, whatever --latest kept
        kept = {sid for _, members in groups for sid, _ in members}
        groups = [(Group(), [p for p in pairs if p[0] in kept])]
    snapshots_view.render(settings, groups, group_by is not None, compact)
