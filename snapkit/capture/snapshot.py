"""Builds one snapshot: walk → capture → chunk → store, reusing the parent's unchanged files.

Each source is stored under its absolute path: the root tree holds the path's components down
to each source, with the metadata of the real directories above it. The parent snapshot is
the files cache: a file whose type, size, mtime, ctime and inode match its node in the parent
(and whose ``-wal``, if any, is quiet) keeps that node's chunk list without being opened; the
decision is :mod:`snapkit.capture.files_cache`'s, shared with the live diff, and the steps for
files are :mod:`snapkit.capture.file_steps`'. A directory whose entries are unchanged produces
the same tree bytes, hence the same tree id: when every entry of a directory equals its node in
the parent's tree (that tree readable and in the index), the parent's tree id is reused as it
is, without encoding, hashing or saving the tree again. A directory of files whose digest the
local cache holds (:mod:`snapkit.capture.tree_digests`) is entered without reading the
parent's tree at all: its files wait, and when their digest is the cached one the tree is the
parent's; otherwise the tree is read then and the files go through the usual steps.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from operator import attrgetter, itemgetter
from typing import cast

from snapkit import __version__
from snapkit.capture.counts import Progress as Progress  # (re-exported: ops.snap reads it here)
from snapkit.capture.file import (
    CaptureFile,
    capture_file,
)
from snapkit.capture.file_steps import FileSteps
from snapkit.capture.file_steps import SnapOptions as SnapOptions  # (re-exported)
from snapkit.capture.nodes import current_user, node_from_stat
from snapkit.capture.parent import Frame, keep
from snapkit.capture.tree_digests import TreeDigests, stat_digest
from snapkit.capture.walk import (
    Enter,
    Entry,
    Excluded,
    File,
    Files,
    Leave,
    Link,
    Skip,
    walk_batched,
)
from snapkit.format.errors import UsageError
from snapkit.format.host import host_name
from snapkit.format.model import (
    KIND_TREE,
    NODE_DIR,
    NODE_SYMLINK,
    Node,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    decode_node,
    encode_node,
    sort_nodes,
)
from snapkit.format.paths import join_path, split_path
from snapkit.format.raw_tree import RawNode, encode_maps, tree_maps
from snapkit.store.repository import Repository

_STAT, _SIZE = itemgetter(1), attrgetter("st_size")


class _Builder(FileSteps):
    """The trees of a snapshot, built around the files :class:`FileSteps` keeps or reads."""

    # --------------------------------------------------------------- tree building

    def build_root(self, sources: Sequence[str], parent_root: str | None) -> str:
        paths = [split_path(s) for s in sources]
        # A source inside another source is already covered by the outer one.
        paths = [p for p in paths if not any(q != p and p[: len(q)] == q for q in paths)]
        old = encode_node(Node("", NODE_DIR, 0, 0, subtree=parent_root)) if parent_root else None
        if () in paths:
            node = self._source(join_path(()), "", old)
            assert node is not None and node.subtree
            return node.subtree
        return self._intermediate((), set(paths), self.parents.of_dir(old)[0])

    def _intermediate(
        self, prefix: tuple[str, ...], paths: set[tuple[str, ...]], parent: dict[str, RawNode]
    ) -> str:
        depth = len(prefix)
        names = sorted({p[depth] for p in paths if p[:depth] == prefix and len(p) > depth})
        nodes: list[Node] = []
        for name in names:
            here = (*prefix, name)
            old = parent.get(name)
            if here in paths:
                node = self._source(join_path(here), name, old)
                if node is not None:
                    nodes.append(node)
                continue
            subtree = self._intermediate(here, paths, self.parents.of_dir(old)[0])
            st = os.stat(join_path(here))
            nodes.append(node_from_stat(name, NODE_DIR, st, subtree=subtree))
        return self.saver.save_tree(Tree(sort_nodes(nodes)))

    def _source(self, path: str, name: str, old: RawNode | None) -> Node | None:
        matcher, rule_name = self.opts.matchers(path)
        self.rules.append(f"{path}: {rule_name}")
        top = Frame([], {name: old} if old is not None else {})
        stack: list[Frame] = [top]
        for event in walk_batched(path, matcher):
            if isinstance(event, Files):
                if stack[-1].pending is not None:
                    stack[-1].pending.append(event)
                else:
                    self._files(event, stack[-1])
            elif isinstance(event, File):
                self._read_parent(stack[-1])
                self._file(event.entry, stack[-1], name if not event.entry.relpath else None)
            elif isinstance(event, Enter):
                self._enter(stack, event.entry.name if event.entry.relpath else name,
                            event.names)
            elif isinstance(event, Leave):
                e = event.entry
                self._leave(stack, e.name if e.relpath else name, e.st)
            elif isinstance(event, Link):
                self._read_parent(stack[-1])
                self._link(event.entry, stack[-1])
            elif isinstance(event, Skip):
                skipped = event.skipped
                # A sidecar of a database already captured (or skipped) goes when its writer
                # closes; it was never to be stored, so it did not vanish from the snapshot.
                if not (skipped.reason == "vanished"
                        and os.path.basename(skipped.path) in stack[-1].skip):
                    self.skipped.append(skipped)
            elif isinstance(event, Excluded):
                self.counts.excluded += 1
        if not top.nodes:
            return None
        node = top.nodes[0]
        return decode_node(node) if isinstance(node, dict) else node

    def _enter(self, stack: list[Frame], name: str, names: frozenset[str]) -> None:
        """Open a directory: the parent's tree of it, or (when that tree's digest is cached)
        its id alone, the tree read only if the directory turns out to differ."""
        self._read_parent(stack[-1])
        old = stack[-1].parent.get(name)
        lazy = (old["subtree"].hex() if old is not None and old["type"] == NODE_DIR
                and old["subtree"] and not self.opts.force and not self.parent_sqlite else None)
        if lazy is not None and lazy in self.digests.known:
            stack.append(Frame([], {}, names, lazy=lazy, pending=[]))
        else:
            children, old_subtree = self.parents.of_dir(old)
            stack.append(Frame([], children, names, old_subtree=old_subtree))
        self.counts.dirs += 1
        self.progress.dirs += 1

    def _read_parent(self, frame: Frame) -> None:
        """Read the parent's tree of a directory entered without it, and build the files it
        held back with it."""
        if frame.pending is not None and frame.lazy is not None:
            batches, frame.pending = frame.pending, None
            frame.parent, frame.old_subtree = self.parents.tree(frame.lazy)
            for batch in batches:
                self._files(batch, frame)

    def _leave(self, stack: list[Frame], name: str, st: os.stat_result) -> None:
        """Close a directory: its tree (the parent's id when every entry is the parent's
        node), then its node in the directory above."""
        if stack[-1].pending is not None:
            if self._same_digest(stack[-1]):
                frame = stack.pop()
                keep(stack[-1], node_from_stat(name, NODE_DIR, st, subtree=frame.lazy))
                return
            self._read_parent(stack[-1])
        frame = stack.pop()
        if frame.old_subtree is not None and frame.same == len(frame.nodes) == len(frame.parent):
            subtree = frame.old_subtree  # the same nodes: the same bytes, already stored
            maps = cast("list[RawNode]", frame.nodes)  # (each the parent's map)
        else:
            maps = tree_maps(frame.nodes)
            subtree = self.saver.save(KIND_TREE, encode_maps(maps))
        self.digests.note(subtree, maps)
        keep(stack[-1], node_from_stat(name, NODE_DIR, st, subtree=subtree))

    def _same_digest(self, frame: Frame) -> bool:
        """The directory entered without its parent's tree holds just the files of that
        tree, unchanged (their digest is the tree's): counted as kept."""
        assert frame.pending is not None and frame.lazy is not None
        items = [item for batch in frame.pending for item in batch.items]
        digest = self.digests.known[frame.lazy]
        if frame.skip or not frame.without_wal() or stat_digest(items) != digest:
            return False
        self.digests.seen[frame.lazy] = digest
        if items:
            self.progress.current = frame.pending[-1].base + items[-1][0]
            self._count_kept(frame, len(items), sum(map(_SIZE, map(_STAT, items))))
            self._tick()
        return True

    def _link(self, e: Entry, frame: Frame) -> None:
        if self.opts.symlinks == "record":
            keep(frame, node_from_stat(e.name, NODE_SYMLINK, e.st, target=e.target))
            self.counts.symlinks += 1
        else:
            self.skipped.append(Skipped(e.path, "symlink", e.target or ""))

def create_snapshot(
    repo: Repository,
    opts: SnapOptions,
    parent: tuple[str, Snapshot] | None,
    on_progress: Callable[[Progress], None] | None = None,
    commit: bool = True,
    capture: CaptureFile = capture_file,
    time_ns: int | None = None,
) -> tuple[str, Snapshot]:
    """Snapshot ``opts.sources`` into ``repo``; return (id, manifest). Commit point: manifest.

    ``time_ns`` is the time to record (``snap --time``; None: the start); the real start is
    then recorded beside it, and the files cache always compares with a parent's real start.

    With ``commit=False`` everything but the manifest is written and the id is ``""``: the
    caller adds what it learned afterwards (the gateway restart) and calls
    ``repo.save_snapshot``. ``capture`` reads one file into the store (tests pass a reader
    that records the files read or fails on some).
    """
    for src in opts.sources:
        if not os.path.lexists(src):
            raise UsageError(f"source {src} does not exist; pass an existing path")
    started = time.time_ns()
    progress = Progress()
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20000))
    try:
        with repo.saver(opts.workers, opts.zstd_level) as saver:
            builder = _Builder(repo, saver, opts, progress, on_progress, capture)
            builder.digests = TreeDigests.load(opts.cache, repo, opts.sources)
            builder.parent_time_ns = parent[1].taken_ns if parent else 0
            builder.parent_sqlite = frozenset(parent[1].sqlite) if parent else frozenset()
            root = builder.build_root(opts.sources, parent[1].tree if parent else None)
            saver.flush()
            builder.digests.save(repo)
            summary = builder.counts.summary(saver, started)
    finally:
        sys.setrecursionlimit(old_limit)
    snap = _manifest(opts, parent, started, root, summary, builder)
    if time_ns is not None:
        snap = replace(snap, time_ns=time_ns, started_ns=started)
    return (repo.save_snapshot(snap) if commit else ""), snap


def _manifest(opts: SnapOptions, parent: tuple[str, Snapshot] | None, started: int, root: str,
              summary: Summary, builder: _Builder) -> Snapshot:
    return Snapshot(
        time_ns=started,
        hostname=opts.hostname or host_name(),
        username=current_user(),
        sources=tuple(sorted(opts.sources)),
        tree=root,
        parent=parent[0] if parent else None,
        tags=opts.tags,
        mode=opts.mode,
        program_version=__version__,
        summary=summary,
        skipped=tuple(builder.skipped),
        warnings=tuple(builder.warnings),
        rules=tuple(builder.rules),
        service={},  # the gateway lifecycle's record: added by ops.snap after the restart
        sqlite=tuple(builder.sqlite_captured),
        openclaw=dict(opts.openclaw),
    )

