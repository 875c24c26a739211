"""``snapkit diff A [B]``: what changed between two snapshots, or since a snapshot on disk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import click

from snapkit.cli.common import (
    Settings,
    emit_json,
    human_bytes,
    no_lock_option,
    open_repo_reading,
    with_settings,
)
from snapkit.config import load_config
from snapkit.diff import Change, DiffStats, diff_live, diff_trees, live_entries, stored_entries
from snapkit.model import NODE_DIR, NODE_FILE, Node, Snapshot
from snapkit.paths import split_path
from snapkit.rules import path_filter, path_matches
from snapkit.selection import resolve
from snapkit.sources import plan_sources


@click.command("diff")
@click.argument("snapshot_a")
@click.argument("snapshot_b", required=False)
@click.option("--stat", "stat_only", is_flag=True, help="Print only the totals.")
@click.option("--name-only", is_flag=True, help="Print only the changed paths.")
@click.option("--include", "includes", multiple=True, metavar="GLOB",
              help="Only paths matching GLOB (gitignore-style, against the absolute path).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Leave out paths matching GLOB.")
@click.option("--content", is_flag=True,
              help="Against the live tree: hash files whose metadata differs and report only "
                   "real content changes.")
@no_lock_option
@with_settings
def diff(settings: Settings, snapshot_a: str, snapshot_b: str | None, stat_only: bool,
         name_only: bool, includes: tuple[str, ...], excludes: tuple[str, ...],
         content: bool, no_lock: bool) -> None:
    """Compare two snapshots, or (with one) a snapshot with the files on disk now.

    \b
    Markers: + added, - removed, M modified, T type changed, U metadata only.
    snapkit diff latest~1 latest       the latest snapshot and the one before it (same
                                       host, sources and mode); any id, prefix or tag
                                       works, with an optional ~N
    snapkit diff latest                what changed on disk since the latest snapshot
    """
    repo = open_repo_reading(settings, no_lock, "diff")
    snapshots = repo.snapshots()
    id_a, snap_a = resolve(snapshot_a, snapshots)
    if snapshot_b is not None:
        id_b, snap_b = resolve(snapshot_b, snapshots)
        changes: Iterable[Change] = diff_trees(repo.load_tree, snap_a.tree, snap_b.tree)
        right = id_b
    else:
        loaded = load_config(settings.config)
        mode = snap_a.mode if snap_a.mode in loaded.config.modes else "full"
        plan = plan_sources(list(snap_a.sources), mode, _symlink_policy(snap_a), loaded)
        stored = stored_entries(repo.load_tree, snap_a.tree, snap_a.sources, split_path)
        live = live_entries(plan.sources, plan.matcher_for, plan.symlinks,
                            loaded.config.sqlite)
        changes = diff_live(stored, live, content, frozenset(snap_a.sqlite), snap_a.time_ns)
        right = "live"
    if includes or excludes:
        changes = _filtered(changes, includes, excludes)
    stats = DiffStats()
    for c in changes:
        stats.count(c)
        if stat_only:
            continue
        if settings.json:
            emit_json(_change_json(c))
        elif name_only:
            click.echo(c.path + ("/" if c.is_dir else ""))
        else:
            click.echo(f"{c.marker}  {c.path}{'/' if c.is_dir else ''}{_sizes(c)}")
    if settings.json:
        emit_json({"event": "summary", "from": id_a, "to": right, **stats.__dict__})
    elif not name_only and not settings.quiet:
        delta = stats.modified_new_bytes - stats.modified_old_bytes
        if not stat_only:
            click.echo("")
        click.echo(
            f"Added: {stats.added:,} ({human_bytes(stats.added_bytes)})"
            f"  Removed: {stats.removed:,} ({human_bytes(stats.removed_bytes)})"
            f"  Modified: {stats.modified:,} ({'+' if delta >= 0 else '-'}"
            f"{human_bytes(abs(delta))})  Type changed: {stats.type_changed:,}"
            f"  Metadata: {stats.metadata:,}"
        )


def _symlink_policy(snap: Snapshot) -> str | None:
    """The symlink policy the snapshot was taken with, as far as its manifest tells."""
    if snap.summary.symlinks:
        return "record"
    if any(k.reason == "symlink" for k in snap.skipped):
        return "skip"
    return None  # no links then: the config's policy


def _filtered(changes: Iterable[Change], includes: tuple[str, ...],
              excludes: tuple[str, ...]) -> Iterator[Change]:
    test = path_filter(includes, excludes)
    dirs: dict[str, bool] = {}

    def dir_selected(path: str) -> bool:
        if path not in dirs:
            dirs[path] = test(path, True)
        return dirs[path]

    # A directory passes path_filter when something below it could match; its own line is
    # shown only when an include pattern names it or a directory above it.
    names_dir = [path_matches(p) for p in includes]
    for c in changes:
        # An excluded directory excludes everything below it, as in a walk (and restore).
        norm = c.path.replace("\\", "/")
        ancestors = [norm[:i] for i, ch in enumerate(norm) if ch == "/" and i > 0]
        if not (test(c.path, c.is_dir) and all(dir_selected(a) for a in ancestors)):
            continue
        if c.is_dir and names_dir and not any(
            t(p, True) for t in names_dir for p in (*ancestors, c.path)
        ):
            continue
        yield c


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
