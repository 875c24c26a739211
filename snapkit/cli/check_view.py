"""How ``snapkit check`` shows its report: text (errors, the damaged files of each affected
snapshot, a one-line summary naming the repair, the counts) or one JSON document."""

from __future__ import annotations

from typing import Any

import click

from snapkit.cli.common import human_bytes
from snapkit.maintain.check import CheckReport


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def summary_line(report: CheckReport) -> str | None:
    """``damage: 3 snapshots affected (2 unaffected), 12 files, 1 directory; 2 blobs damaged
    in 1 pack, 1 pack missing; run `snapkit repair packs` then `snapkit repair snapshots```,
    or None for a repository without errors."""
    if report.ok:
        return None
    cost = [f"{_n(len(report.affected), 'snapshot')} affected "
            f"({len(report.unaffected):,} unaffected)"]
    if report.affected:
        cost.append(_n(report.damaged_files, "file"))
        cost.append(_n(report.damaged_dirs, "directory", "directories"))
    objects = []
    if report.snapshots_damaged:
        objects.append(f"{_n(len(report.snapshots_damaged), 'snapshot manifest')} damaged")
    if report.index_files_damaged:
        objects.append(f"{_n(len(report.index_files_damaged), 'index file')} damaged")
    if report.key_files_damaged:
        objects.append(f"{_n(len(report.key_files_damaged), 'key file')} damaged")
    in_packs = [d for d in report.damaged if d.pack is not None
                and d.pack not in report.packs_missing]
    if in_packs:
        packs = {d.pack for d in in_packs}
        objects.append(f"{_n(len(in_packs), 'blob')} damaged in {_n(len(packs), 'pack')}")
    elif report.packs_damaged:
        objects.append(f"{_n(len(report.packs_damaged), 'pack')} damaged")
    if report.packs_missing:
        objects.append(f"{_n(len(report.packs_missing), 'pack')} missing")
    unlisted = sum(1 for d in report.damaged if d.pack is None)
    if unlisted:
        objects.append(f"{_n(unlisted, 'blob')} not in any index")
    line = "damage: " + ", ".join(cost)
    if objects:
        line += "; " + ", ".join(objects)
    if report.repairs:
        line += "; run " + " then ".join(f"`{r}`" for r in report.repairs)
    return line


def render_text(report: CheckReport, read_data: bool, quiet: bool) -> None:
    for e in report.errors:
        click.echo(f"error: {e}")
    if report.affected:
        click.echo("damaged files by snapshot:")
        for snap in report.affected:
            click.echo(f"  snapshot {snap.id[:8]}: {_n(len(snap.files), 'file')}, "
                       f"{_n(len(snap.dirs), 'directory', 'directories')}")
            for path in snap.dirs:
                click.echo(f"    {path} (directory lost: its contents are unknown)")
            for path in snap.files:
                click.echo(f"    {path}")
    summary = summary_line(report)
    if summary is not None:
        click.echo(summary)
    if quiet:
        return
    for n in report.notes:
        click.echo(f"note: {n}")

    def many(count: int, word: str) -> str:
        return f"{count:,} {word}{'' if count == 1 else 's'}"

    verdict = "no errors found" if report.ok else f"{many(len(report.errors), 'error')} found"
    read = ""
    if read_data:
        read = f", read {human_bytes(report.bytes_read)}"
        if report.packs_read != report.packs:
            read += f" ({report.packs_read:,} of the packs)"
    click.echo(f"checked {many(report.packs, 'pack')}, {many(report.blobs, 'blob')}, "
               f"{many(report.snapshots, 'snapshot')}, {many(report.trees, 'tree')}{read}: "
               f"{verdict}")


def report_json(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.ok, "packs": report.packs, "blobs": report.blobs,
        "snapshots": report.snapshots, "trees": report.trees, "files": report.files,
        "bytes_read": report.bytes_read, "errors": list(report.errors),
        "notes": list(report.notes), "packs_read": report.packs_read,
        "damage": {
            "summary": summary_line(report),
            "blobs": [{"id": d.id, "kind": d.kind, "pack": d.pack, "reason": d.reason}
                      for d in report.damaged],
            "packs_damaged": list(report.packs_damaged),
            "packs_missing": list(report.packs_missing),
            "index_files_damaged": list(report.index_files_damaged),
            "snapshots_damaged": list(report.snapshots_damaged),
            "key_files_damaged": list(report.key_files_damaged),
            "damaged_files": report.damaged_files, "lost_dirs": report.damaged_dirs,
            "affected": [{"id": a.id, "files": list(a.files), "dirs": list(a.dirs)}
                         for a in report.affected],
            "unaffected": list(report.unaffected),
            "repairs": list(report.repairs),
        },
    }
