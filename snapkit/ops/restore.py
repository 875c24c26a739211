"""``restore``: write a snapshot's files back, below a target directory or in place.

Under a shared lock the snapshot is resolved, the ``includes``/``excludes`` (absolute, or
relative to a source as ``ls`` takes them) are matched against its sources, and
:func:`snapkit.read.restore.restore_snapshot` plans, then writes (each file to a temp name, then
renamed; partial files an interrupted restore left in the target are removed). An include
that matches nothing is reported as an :class:`UnmatchedInclude` event, not an error. On a
damaged repository every intact file is restored and the others are listed in
``result.failed`` (``fail_fast``: the first damage is raised instead). With ``delete``, a
clean restore then removes what the target holds below the sources beyond the snapshot
(``result.extras``); one that failed anywhere removes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from snapkit.format.model import ChunkerParams
from snapkit.maintain.selection import resolve
from snapkit.ops.events import Event, OnEvent, file_counter, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.restore import (
    Chunker,
    Overwrite,
    RestoreOptions,
    RestoreResult,
    restore_snapshot,
)
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
            fail_fast: bool = False, verify: bool = False, delete: bool = False,
            on_event: OnEvent = ignore, progress_interval: float = 0.2) -> RestoreOutcome:
    """Restore ``snapshot`` (a selector) below ``target`` (``/`` with ``in_place``: the
    original paths); ``overwrite`` says what happens to existing files that differ;
    ``delete`` removes, after a clean restore, what the target holds below the snapshot's
    sources (within the filters) that the snapshot does not.

    Each file written is reported as a :class:`~snapkit.ops.events.FileWritten` event, at
    most once per ``progress_interval`` seconds."""
    with reading(location, no_lock, "restore", on_event) as repo:
        snap_id, snap = resolve(snapshot, repo.snapshots())
        unmatched: tuple[str, ...] = ()
        patterns: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        if includes or excludes:  # (browse and the pattern rules: only when needed)
            from snapkit.read.browse import source_patterns, unmatched_patterns

            damaged: list[str] = []  # trees that cannot be loaded: listed by the restore
            load = repo.load_tree if fail_fast else or_empty(repo.load_tree, damaged)
            unmatched = tuple(unmatched_patterns(load, snap, includes))
            if damaged:  # an include may name something below a damaged tree: cannot tell
                unmatched = ()
            patterns = (source_patterns(includes, snap.sources),
                        source_patterns(excludes, snap.sources))
        for pattern in unmatched:
            on_event(UnmatchedInclude(pattern, snap_id))
        opts = RestoreOptions(target=os.path.abspath(os.path.expanduser(target)),
                              in_place=in_place, overwrite=overwrite, dry_run=dry_run,
                              includes=patterns[0], excludes=patterns[1],
                              fail_fast=fail_fast, verify=verify, delete=delete)
        counter = file_counter(on_event, progress_interval)
        result = restore_snapshot(repo.load_tree, repo.read_blobs, snap, opts,
                                  _LazyChunker(repo.config.chunker), counter, counter.planned)
    return RestoreOutcome(snap_id, opts.target, result, unmatched)


class _LazyChunker:
    """The repository's chunker, built on first use (importing the content-defined chunking
    only for a restore that compares existing files or verifies what it wrote)."""

    def __init__(self, params: ChunkerParams) -> None:
        self._params = params
        self._chunker: Chunker | None = None

    def chunks(self, stream: BinaryIO, size_hint: int) -> Iterator[bytes]:
        if self._chunker is None:
            from snapkit.capture.chunker import Chunker as ContentChunker

            self._chunker = ContentChunker(self._params)
        return self._chunker.chunks(stream, size_hint)
