"""Rendering of ``snapkit diff``: one line (or JSON event) per change as it is found, then the
totals."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, human_bytes, shown
from snapkit.format.model import NODE_DIR, NODE_FILE, Node
from snapkit.ops.diff import DiffOutcome
from snapkit.read.diff import Change


def change(settings: Settings, stat_only: bool, name_only: bool, c: Change) -> None:
    if stat_only:
        return
    if settings.json:
        emit_json(_change_json(c))
    elif name_only:
        click.echo(shown(c.path) + ("/" if c.is_dir else ""))
    else:
        click.echo(f"{c.marker}  {shown(c.path)}{'/' if c.is_dir else ''}{_sizes(c)}")


def summary(settings: Settings, done: DiffOutcome, stat_only: bool, name_only: bool) -> None:
    stats = done.stats
    if settings.json:
        emit_json({"event": "summary", "from": done.from_id, "to": done.to, **stats.__dict__})
    elif not name_only and not settings.quiet:
        delta = stats.modified_new_bytes - stats.modified_old_bytes
        if not stat_only and (stats.added or stats.removed or stats.modified
                              or stats.type_changed or stats.metadata):
            click.echo("")  # between the changes listed and the totals
        click.echo(
            f"Added: {stats.added:,} ({human_bytes(stats.added_bytes)})"
            f"  Removed: {stats.removed:,} ({human_bytes(stats.removed_bytes)})"
            f"  Modified: {stats.modified:,} ({'+' if delta >= 0 else '-'}"
            f"{human_bytes(abs(delta))})  Type changed: {stats.type_changed:,}"
            f"  Metadata: {stats.metadata:,}"
        )


def _sizes(c: Change) -> str:
    old = c.old.size if c.old and c.old.type == NODE_FILE else None
    new = c.new.size if c.new and c.new.type == NODE_FILE else None
    if c.marker == "+" and new is not None:
        return f"  +{human_bytes(new)}"
    if c.marker == "-" and old is not None:
        return f"  -{human_bytes(old)}"
    if c.marker in ("M", "T") and (old is not None or new is not None):
        return f"  {human_bytes(old or 0)} -> {human_bytes(new or 0)}"
    return ""


def _side(n: Node | None) -> dict[str, object] | None:
    if n is None:
        return None
    return {"type": n.type, "size": n.size, "mode": oct(n.mode), "mtime_ns": n.mtime_ns,
            "uid": n.uid, "gid": n.gid, **({"target": n.target} if n.target else {})}


def _change_json(c: Change) -> dict[str, object]:
    node = c.new or c.old
    return {"event": "change", "marker": c.marker, "path": c.path,
            "type": node.type if node else NODE_DIR, "old": _side(c.old), "new": _side(c.new)}
