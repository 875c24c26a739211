"""``diff``: what changed between two snapshots, or between a snapshot and the files on disk.

Two snapshots are compared tree by tree (:func:`snapkit.read.diff.diff_trees`, equal subtrees
skipped by id). Against the live tree the snapshot's sources are walked again with the rules
its mode selects today (:func:`snapkit.read.diff.diff_live`; ``content`` hashes files whose
metadata differs). ``includes``/``excludes`` filter the changes as a walk would: an excluded
directory excludes everything below it. Changes go to ``on_change`` as they are found, under a
shared lock; the totals are returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from snapkit.format.model import Snapshot
from snapkit.format.paths import split_path
from snapkit.maintain.selection import resolve
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.diff import (
    Change,
    DiffStats,
    DiffTally,
    diff_live,
    diff_trees,
    live_entries,
    stored_entries,
)
from snapkit.select.config import SymlinkPolicy, load_config
from snapkit.select.rules import path_filter, path_matches
from snapkit.select.sources import plan_sources
from snapkit.store.repository import Repository


@dataclass(frozen=True)
class DiffOutcome:
    from_id: str
    to: str  # the second snapshot's id, or "live"
    stats: DiffStats


def diff(location: Location, a: str, b: str | None = None, *,
         on_change: Callable[[Change], None], includes: Sequence[str] = (),
         excludes: Sequence[str] = (), content: bool = False, config: str | None = None,
         no_lock: bool = False, on_event: OnEvent = ignore) -> DiffOutcome:
    """Compare snapshot ``a`` with snapshot ``b`` or, without one, with the files on disk
    (``config``: the config file whose rules select them)."""
    with reading(location, no_lock, "diff", on_event) as repo:
        snapshots = repo.snapshots()
        id_a, snap_a = resolve(a, snapshots)
        changes: Iterable[Change]
        if b is not None:
            id_b, snap_b = resolve(b, snapshots)
            changes, to = diff_trees(repo.load_tree, snap_a.tree, snap_b.tree), id_b
        else:
            changes, to = _against_live(repo, snap_a, content, config), "live"
        if includes or excludes:
            changes = _filtered(changes, includes, excludes)
        tally = DiffTally()
        for c in changes:
            tally.count(c)
            on_change(c)
    return DiffOutcome(id_a, to, tally.stats())


def _against_live(repo: Repository, snap: Snapshot, content: bool,
                  config: str | None) -> Iterator[Change]:
    loaded = load_config(config)
    mode = snap.mode if snap.mode in loaded.config.modes else "full"
    plan = plan_sources(list(snap.sources), mode, _symlink_policy(snap), loaded)
    stored = stored_entries(repo.load_tree, snap.tree, snap.sources, split_path)
    live = live_entries(plan.sources, plan.matcher_for, plan.symlinks, loaded.config.sqlite)
    return diff_live(stored, live, content, frozenset(snap.sqlite), snap.taken_ns)


def _symlink_policy(snap: Snapshot) -> SymlinkPolicy | None:
    """The symlink policy the snapshot was taken with, as far as its manifest tells."""
    if snap.summary.symlinks:
        return "record"
    if any(k.reason == "symlink" for k in snap.skipped):
        return "skip"
    return None  # no links then: the config's policy


def _filtered(changes: Iterable[Change], includes: Sequence[str],
              excludes: Sequence[str]) -> Iterator[Change]:
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
