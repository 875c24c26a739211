"""Builds one snapshot: walk → capture → chunk → store, reusing the parent's unchanged files.

Each source is stored under its absolute path: the root tree holds the path's components down
to each source, with the metadata of the real directories above it. The parent snapshot is
the files cache: a file whose type, size, mtime, ctime and inode match its node in the parent
(and whose ``-wal``, if any, is quiet) keeps that node's chunk list without being opened; the
decision is :mod:`snapkit.capture.files_cache`'s, shared with the live diff. A directory whose
entries
are unchanged produces the same tree bytes, hence the same tree id.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from snapkit import __version__
from snapkit.capture.chunker import Chunker
from snapkit.capture.file import (
    CaptureFile,
    SkippedByPolicy,
    Unreadable,
    Vanished,
    capture_file,
)
from snapkit.capture.files_cache import FileMeta, Verdict, decide, wal_mtime
from snapkit.capture.nodes import current_user, node_from_stat
from snapkit.capture.sqlite import sidecar_names
from snapkit.capture.walk import Enter, Entry, Excluded, File, Leave, Link, Matcher, Skip, walk
from snapkit.format.errors import IntegrityError, UsageError
from snapkit.format.model import (
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    sort_nodes,
)
from snapkit.format.paths import join_path, split_path
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy
from snapkit.store.repository import BlobSaver, Repository


@dataclass
class Progress:
    """Live counters of a running snapshot, read by the progress display."""

    files: int = 0
    dirs: int = 0
    bytes_seen: int = 0
    bytes_read: int = 0
    current: str = ""
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class SnapOptions:
    sources: tuple[str, ...]  # absolute paths
    hostname: str = ""
    tags: tuple[str, ...] = ()
    mode: str = "full"
    force: bool = False
    symlinks: SymlinkPolicy = "skip"
    workers: int = 2
    zstd_level: int | None = None  # None: the repository's level
    sqlite: SqlitePolicy = "backup-api"
    openclaw: Mapping[str, Any] = field(default_factory=dict)  # recorded in the manifest
    matchers: Callable[[str], tuple[Matcher | None, str]] = field(
        default=lambda _src: (None, "none")
    )


def _same_meta(a: Node, b: Node) -> bool:
    return (a.mode, a.mtime_ns, a.uid, a.gid) == (b.mode, b.mtime_ns, b.uid, b.gid)


@dataclass
class _Frame:
    nodes: list[Node]
    parent: dict[str, Node]
    names: frozenset[str] | None = None  # the directory's listing (None: a lone source file)
    skip: set[str] = field(default_factory=set)  # sidecars of databases already captured


@dataclass
class _Counts:
    new: int = 0
    changed: int = 0
    unmodified: int = 0
    dirs: int = 0
    symlinks: int = 0
    total_bytes: int = 0
    bytes_read: int = 0
    excluded: int = 0


class _Builder:
    def __init__(
        self,
        repo: Repository,
        saver: BlobSaver,
        opts: SnapOptions,
        progress: Progress,
        on_progress: Callable[[Progress], None] | None,
        capture: CaptureFile = capture_file,
    ) -> None:
        self.repo = repo
        self.capture = capture
        self.saver = saver
        self.opts = opts
        self.chunker = Chunker(repo.config.chunker)
        self.progress = progress
        self.on_progress = on_progress
        self.counts = _Counts()
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []
        self.rules: list[str] = []
        self.sqlite_captured: list[str] = []
        self.parent_time_ns = 0  # start of the parent snapshot (see files_cache)
        self.parent_sqlite: frozenset[str] = frozenset()  # databases the parent copied

    # --------------------------------------------------------------- parent lookup

    def _children(self, node: Node | None) -> dict[str, Node]:
        if node is None or node.type != NODE_DIR or not node.subtree:
            return {}
        if node.subtree not in self.repo.index:  # unknown, or known damaged
            return {}
        try:
            return self.repo.load_tree(node.subtree).by_name()
        except IntegrityError as exc:  # found damaged now (and recorded): read this part again
            self.warnings.append(f"the parent snapshot's tree {node.subtree} cannot be read "
                                 f"({exc.message}); the files below it were read again")
            return {}

    # --------------------------------------------------------------- tree building

    def build_root(self, sources: Sequence[str], parent_root: str | None) -> str:
        paths = [split_path(s) for s in sources]
        # A source inside another source is already covered by the outer one.
        paths = [p for p in paths if not any(q != p and p[: len(q)] == q for q in paths)]
        root_parent = {} if parent_root is None else self._children(
            Node("", NODE_DIR, 0, 0, subtree=parent_root)
        )
        if () in paths:
            old = Node("", NODE_DIR, 0, 0, subtree=parent_root) if parent_root else None
            node = self._source(join_path(()), "", old)
            assert node is not None and node.subtree
            return node.subtree
        return self._intermediate((), set(paths), root_parent)

    def _intermediate(
        self, prefix: tuple[str, ...], paths: set[tuple[str, ...]], parent: dict[str, Node]
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
            subtree = self._intermediate(here, paths, self._children(old))
            st = os.stat(join_path(here))
            nodes.append(node_from_stat(name, NODE_DIR, st, subtree=subtree))
        return self.saver.save_tree(Tree(sort_nodes(nodes)))

    def _source(self, path: str, name: str, old: Node | None) -> Node | None:
        matcher, rule_name = self.opts.matchers(path)
        self.rules.append(f"{path}: {rule_name}")
        top = _Frame([], {name: old} if old is not None else {})
        stack: list[_Frame] = [top]
        for event in walk(path, matcher):
            if isinstance(event, File):
                self._file(event.entry, stack[-1], name if not event.entry.relpath else None)
            elif isinstance(event, Enter):
                frame = stack[-1]
                key = event.entry.name if event.entry.relpath else name
                stack.append(_Frame([], self._children(frame.parent.get(key)), event.names))
                self.counts.dirs += 1
                self.progress.dirs += 1
            elif isinstance(event, Leave):
                frame = stack.pop()
                subtree = self.saver.save_tree(Tree(sort_nodes(frame.nodes)))
                e = event.entry
                node_name = e.name if e.relpath else name
                stack[-1].nodes.append(node_from_stat(node_name, NODE_DIR, e.st, subtree=subtree))
            elif isinstance(event, Link):
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
        return top.nodes[0] if top.nodes else None

    def _link(self, e: Entry, frame: _Frame) -> None:
        if self.opts.symlinks == "record":
            frame.nodes.append(node_from_stat(e.name, NODE_SYMLINK, e.st, target=e.target))
            self.counts.symlinks += 1
        else:
            self.skipped.append(Skipped(e.path, "symlink", e.target or ""))

    def _file(self, e: Entry, frame: _Frame, root_name: str | None) -> None:
        name = root_name if root_name is not None else e.name
        if name in frame.skip:
            return
        old = frame.parent.get(name)
        self.progress.current = e.path
        self.progress.files += 1
        self.progress.bytes_seen += e.st.st_size
        if (
            not self.opts.force
            and old is not None
            and old.hash is not None
            and all(c in self.repo.index for c in old.content)
            and decide(FileMeta.of_node(old), FileMeta.of_stat(e.st),
                       copied=e.path in self.parent_sqlite,
                       wal=wal_mtime(e.path, frame.names),
                       since_ns=self.parent_time_ns) is Verdict.UNCHANGED
        ):
            node = node_from_stat(name, NODE_FILE, e.st, content=old.content, hash=old.hash)
            frame.nodes.append(replace(node, size=old.size))  # a database copy's own size
            if e.path in self.parent_sqlite:  # still the consistent copy; sidecars stay out
                self.sqlite_captured.append(e.path)
                frame.skip.update(sidecar_names(name))
            self.counts.unmodified += 1
            self.counts.total_bytes += old.size
            self._tick()
            return
        try:
            cap = self.capture(e.path, self.chunker, self.saver.save_data, self._read,
                               self.opts.sqlite, expect=e.st)
        except Vanished:
            self.skipped.append(Skipped(e.path, "vanished", ""))
            return
        except Unreadable as exc:
            self.skipped.append(Skipped(e.path, "unreadable", str(exc)))
            return
        except SkippedByPolicy:
            self.skipped.append(Skipped(e.path, "sqlite", "skipped by the sqlite policy"))
            frame.skip.update(sidecar_names(name))
            return
        if cap.changed_during_read:
            self.warnings.append(f"{e.path}: changed during read; stored as last read")
        if cap.warning:
            self.warnings.append(cap.warning)
        if cap.method in ("sqlite-backup", "sqlite-at-rest"):
            self.sqlite_captured.append(e.path)
            frame.skip.update(sidecar_names(name))
        node = node_from_stat(name, NODE_FILE, cap.st, content=cap.content, hash=cap.hash)
        frame.nodes.append(replace(node, size=cap.size))
        if old is None or old.type != NODE_FILE:
            self.counts.new += 1
        elif old.content == cap.content and _same_meta(old, node):
            self.counts.unmodified += 1  # re-read (a live database, --force), nothing differs
        else:
            self.counts.changed += 1
        self.counts.total_bytes += cap.size
        self.counts.bytes_read += cap.bytes_read
        self._tick()

    def _read(self, n: int) -> None:
        self.progress.bytes_read += n

    def _tick(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)


def create_snapshot(
    repo: Repository,
    opts: SnapOptions,
    parent: tuple[str, Snapshot] | None,
    on_progress: Callable[[Progress], None] | None = None,
    commit: bool = True,
    capture: CaptureFile = capture_file,
) -> tuple[str, Snapshot]:
    """Snapshot ``opts.sources`` into ``repo``; return (id, manifest). Commit point: manifest.

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
            builder.parent_time_ns = parent[1].time_ns if parent else 0
            builder.parent_sqlite = frozenset(parent[1].sqlite) if parent else frozenset()
            root = builder.build_root(opts.sources, parent[1].tree if parent else None)
            saver.flush()
            summary = _summary(builder.counts, saver, started)
    finally:
        sys.setrecursionlimit(old_limit)
    snap = _manifest(opts, parent, started, root, summary, builder)
    return (repo.save_snapshot(snap) if commit else ""), snap


def _summary(c: _Counts, saver: BlobSaver, started: int) -> Summary:
    return Summary(
        files_new=c.new,
        files_changed=c.changed,
        files_unmodified=c.unmodified,
        dirs=c.dirs,
        symlinks=c.symlinks,
        total_files=c.new + c.changed + c.unmodified,
        total_bytes=c.total_bytes,
        bytes_read=c.bytes_read,
        blobs_added=saver.blobs_added,
        bytes_added_raw=saver.bytes_added_raw,
        bytes_added_stored=saver.bytes_added_stored,
        excluded_entries=c.excluded,
        duration_s=round((time.time_ns() - started) / 1e9, 3),
    )


def _manifest(opts: SnapOptions, parent: tuple[str, Snapshot] | None, started: int, root: str,
              summary: Summary, builder: _Builder) -> Snapshot:
    return Snapshot(
        time_ns=started,
        hostname=opts.hostname or socket.gethostname(),
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

