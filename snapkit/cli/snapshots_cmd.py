"""``snapkit snapshots`` (alias ``list``): the snapshots in the repository."""

from __future__ import annotations

import click

from snapkit.cli.common import (
    Settings,
    emit_json,
    human_bytes,
    json_time,
    local_time,
    open_repo,
    with_settings,
)
from snapkit.maintain.selection import filter_snapshots


@click.command("snapshots")
@click.option("--host", metavar="NAME", help="Only snapshots of this host.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only snapshots with this tag.")
@click.option("--path", metavar="PATH", help="Only snapshots whose sources include PATH.")
@with_settings
def snapshots(settings: Settings, host: str | None, tags: tuple[str, ...],
              path: str | None) -> None:
    """List snapshots, oldest first."""
    repo = open_repo(settings)
    pairs = filter_snapshots(repo.snapshots(), host=host, tags=tags, path=path)
    if settings.json:
        rows = []
        for sid, s in pairs:
            rows.append({
                "id": sid, "short_id": sid[:8], "time": json_time(s.time_ns),
                "time_ns": s.time_ns, "host": s.hostname, "username": s.username,
                "sources": list(s.sources), "tags": list(s.tags), "mode": s.mode,
                "parent": s.parent, "files": s.summary.total_files,
                "size": s.summary.total_bytes, "bytes_added": s.summary.bytes_added_stored,
                "skipped": len(s.skipped), "imported": s.is_import,
                "complete": not s.incomplete,
            })
        emit_json(rows)
        return
    if not pairs:
        if not settings.quiet:
            click.echo("no snapshots")
        return
    header = ("ID", "Time", "Host", "Mode", "Tags", "Files", "Size", "Added", "Sources")
    table = [header]
    for sid, s in pairs:
        marks = ("i" if s.is_import else "") + ("!" if s.incomplete else "")
        table.append((f"{sid[:8]}{marks:<2}", local_time(s.time_ns), s.hostname, s.mode,
                      ",".join(s.tags),
                      f"{s.summary.total_files:,}", human_bytes(s.summary.total_bytes),
                      human_bytes(s.summary.bytes_added_stored), ", ".join(s.sources)))
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    for r in table:
        cells = [c.ljust(w) if i < 4 or i == 4 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r[:-1], widths, strict=True))]
        click.echo("  ".join([*cells, r[-1]]).rstrip())
    if not settings.quiet:
        click.echo(f"{len(pairs)} snapshot(s)")
        legend = [text for flag, text in (
            (any(s.is_import for _, s in pairs), "i = imported from an archive"),
            (any(s.incomplete for _, s in pairs), "! = incomplete (files unreadable, or the "
                                                   "archive was truncated)"),
        ) if flag]
        if legend:
            click.echo("; ".join(legend))
