"""Rendering of ``snapkit snapshots``: a table (or one per group), ``--compact`` columns, or
JSON (a list of snapshots; with ``--group-by``, a list of groups each holding its own). A
snapshot copied by ``snapkit copy`` under a new id is marked ``o`` (a hex digit would read as
part of the id), its ``original`` in JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, json_time, local_time
from snapkit.format.model import Snapshot
from snapkit.maintain.retention import Group

Pair = tuple[str, Snapshot]


def _row_json(sid: str, s: Snapshot) -> dict[str, Any]:
    return {
        "id": sid, "short_id": sid[:8], "time": json_time(s.time_ns), "time_ns": s.time_ns,
        "host": s.hostname, "username": s.username, "sources": list(s.sources),
        "tags": list(s.tags), "mode": s.mode, "parent": s.parent,
        "files": s.summary.total_files, "size": s.summary.total_bytes,
        "bytes_added": s.summary.bytes_added_stored, "skipped": len(s.skipped),
        "imported": s.is_import, "complete": not s.incomplete, "original": s.original,
    }


def render(settings: Settings, groups: Sequence[tuple[Group, list[Pair]]], grouped: bool,
           compact: bool) -> None:
    pairs = [p for _, members in groups for p in members]
    if settings.json:
        if grouped:
            emit_json([{"group": {k: (list(v) if isinstance(v, tuple) else v)
                                  for k, v in vars(g).items() if v is not None},
                        "snapshots": [_row_json(*p) for p in members]}
                       for g, members in groups])
        else:
            emit_json([_row_json(*p) for p in pairs])
        return
    if not pairs:
        if not settings.quiet:
            click.echo("no snapshots")
        return
    for i, (group, members) in enumerate(groups if grouped else [(Group(), pairs)]):
        if grouped:
            click.echo(("\n" if i else "") + f"group: {group.describe()}")
        _table(members, compact)
    if not settings.quiet:
        click.echo(f"{len(pairs)} snapshot{'' if len(pairs) == 1 else 's'}")
        legend = [text for flag, text in (
            (any(s.is_import for _, s in pairs), "i = imported from an archive"),
            (any(s.original for _, s in pairs), "o = copied from another repository "
                                                "(`snapkit show ID` names its original)"),
            (any(s.incomplete for _, s in pairs), "! = incomplete (files unreadable, or the "
                                                   "archive was truncated)"),
        ) if flag]
        if legend:
            click.echo("; ".join(legend))


def _table(pairs: Sequence[Pair], compact: bool) -> None:
    header = (("ID", "Time", "Host", "Tags") if compact else
              ("ID", "Time", "Host", "Mode", "Tags", "Files", "Size", "Added", "Sources"))
    table = [header]
    for sid, s in pairs:
        marks = (("i" if s.is_import else "") + ("o" if s.original else "")
                 + ("!" if s.incomplete else ""))
        row = (f"{sid[:8]}{marks:<2}", local_time(s.time_ns), s.hostname)
        if compact:
            table.append((*row, ",".join(s.tags)))
            continue
        table.append((*row, s.mode, ",".join(s.tags), f"{s.summary.total_files:,}",
                      human_bytes(s.summary.total_bytes),
                      human_bytes(s.summary.bytes_added_stored), ", ".join(s.sources)))
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    for r in table:
        cells = [c.ljust(w) if i < 5 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r[:-1], widths, strict=True))]
        click.echo("  ".join([*cells, r[-1]]).rstrip())
