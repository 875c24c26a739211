"""``restore``: write a snapshot's files back, below a target directory or in place.

Under a shared lock the snapshot is resolved, the ``includes``/``excludes`` (absolute, or
relative to a source as ``ls`` takes them) are matched against its sources, and
:func:`snapkit.read.restore.restore_snapshot` plans, then writes (each file to a temp name, then
renamed; partial files an interrupted restore left in the target are removed). An include
that matches nothing is reported as an :class:`UnmatchedInclude` event, not an error. On a
damaged repository every intact file is restored and the others are listed in
``result.failed`` (``fail_fast``: the first damage is raised instead).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from snapkit.capture.chunker import Chunker
from snapkit.maintain.selection import resolve
from snapkit.ops.events import Event, OnEvent, file_counter, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.browse import source_patterns, unmatched_patterns
from snapkit.read.restore import Overwrite, RestoreOptions, RestoreResult, restore_snapshot
from snapkit.read.treewalk import or_empty


@dataclass(frozen=True)
class UnmatchedInclude(Event):
    """An include pattern matches nothing in the snapshot."""

    pattern: str
    snapshot_id: str


@dataclass(frozen=True)
class RestoreOutcome:
    snapshot_id: str
    target: str  # absolute
    result: RestoreResult  # what was (with ``dry_run``: would be) written
    unmatched_includes: tuple[str, ...]


def restore(location: Location, snapshot: str, target: str, *, in_place: bool = False,
            overwrite: Overwrite = "never", includes: Sequence[str] = (),
            excludes: Sequence[str] = (), dry_run: bool = False, no_lock: bool = False,
            fail_fast: bool = False, verify: bool = False, on_event: OnEvent = ignore,
            progress_interval: float = 0.2) -> RestoreOutcome:
    """Restore ``snapshot`` (a selector) below ``target`` (``/`` with ``in_place``: the
    original paths); ``overwrite`` says what happens to existing files that differ.

    Each file written is reported as a :class:`~snapkit.ops.events.FileWritten` event, at
    most once per ``progress_interval`` seconds."""
    with reading(location, no_lock, "restore", on_event) as repo:
        snap_id, snap = resolve(snapshot, repo.snapshots())
        damaged: list[str] = []  # trees that cannot be loaded: listed by the restore
        load = repo.load_tree if fail_fast else or_empty(repo.load_tree, damaged)
        unmatched = tuple(unmatched_patterns(load, snap, includes))
        if damaged:  # an include may name something below a damaged tree: cannot tell
            unmatched = ()
        for pattern in unmatched:
            on_event(UnmatchedInclude(pattern, snap_id))
        opts = RestoreOptions(target=os.path.abspath(os.path.expanduser(target)),
                              in_place=in_place, overwrite=overwrite, dry_run=dry_run,
                              includes=source_patterns(includes, snap.sources),
                              excludes=source_patterns(excludes, snap.sources),
                              fail_fast=fail_fast, verify=verify)
        counter = file_counter(on_event, progress_interval)
        result = restore_snapshot(repo.load_tree, repo.read_blobs, snap, opts,
                                  Chunker(repo.config.chunker), counter, counter.planned)
    return RestoreOutcome(snap_id, opts.target, result, unmatched)
