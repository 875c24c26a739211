"""Builds one snapshot: walk → capture → chunk → store, reusing the parent's unchanged files.

Each source is stored under its absolute path: the root tree holds the path's components down
to each source, with the metadata of the real directories above it. The parent snapshot is
the files cache: a file whose type, size, mtime, ctime and inode match its node in the parent
(and whose ``-wal``, if any, is quiet) keeps that node's chunk list without being opened; the
decision is :mod:`snapkit.capture.files_cache`'s, shared with the live diff. A directory whose
entries are unchanged produces the same tree bytes, hence the same tree id: when every entry of
a directory equals its node in the parent's tree (that tree readable and in the index), the
parent's tree id is reused as it is, without encoding, hashing or saving the tree again. The
walk gives a directory's regular files as one batch (:func:`~snapkit.capture.walk.walk_batched`)
and those the files cache keeps as they are go in one loop, with no object made per file.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snapkit import __version__
from snapkit.capture.chunker import Chunker
from snapkit.capture.counts import Counts
from snapkit.capture.counts import Progress as Progress  # (re-exported: ops.snap reads it here)
from snapkit.capture.file import (
    CaptureFile,
    SkippedByPolicy,
    Unreadable,
    Vanished,
    capture_file,
    file_map,
)
from snapkit.capture.files_cache import FileMeta, Verdict, decide, wal_mtime
from snapkit.capture.nodes import current_user, node_from_stat, owner_name
from snapkit.capture.parent import Frame, ParentTrees, all_kept, keep, same_owner_mode
from snapkit.capture.sqlite import WAL, sidecar_names
from snapkit.capture.walk import (
    Enter,
    Entry,
    Excluded,
    File,
    Files,
    Leave,
    Link,
    Matcher,
    Skip,
    walk_batched,
)
from snapkit.format.errors import UsageError
from snapkit.format.model import (
    KIND_TREE,
    NODE_DIR,
    NODE_FILE,
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
from snapkit.format.raw_tree import RawNode, encode_tree_raw
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy
from snapkit.store.repository import BlobSaver, Repository


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


def _same_meta(a: Node, b: RawNode) -> bool:
    return (a.mode, a.mtime_ns, a.uid, a.gid) == (b["mode"], b["mtime"], b["uid"], b["gid"])


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
        self.counts = Counts()
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []
        self.rules: list[str] = []
        self.sqlite_captured: list[str] = []
        self.parent_time_ns = 0  # start of the parent snapshot (see files_cache)
        self.parent_sqlite: frozenset[str] = frozenset()  # databases the parent copied
        self.parents = ParentTrees(repo, self.warnings)

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
                self._files(event, stack[-1])
            elif isinstance(event, File):
                self._file(event.entry, stack[-1], name if not event.entry.relpath else None)
            elif isinstance(event, Enter):
                frame = stack[-1]
                key = event.entry.name if event.entry.relpath else name
                children, old_subtree = self.parents.of_dir(frame.parent.get(key))
                stack.append(Frame([], children, event.names, old_subtree=old_subtree))
                self.counts.dirs += 1
                self.progress.dirs += 1
            elif isinstance(event, Leave):
                e = event.entry
                self._leave(stack, e.name if e.relpath else name, e.st)
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
        if not top.nodes:
            return None
        node = top.nodes[0]
        return decode_node(node) if isinstance(node, dict) else node

    def _leave(self, stack: list[Frame], name: str, st: os.stat_result) -> None:
        """Close a directory: its tree (the parent's id when every entry is the parent's
        node), then its node in the directory above."""
        frame = stack.pop()
        if frame.old_subtree is not None and frame.same == len(frame.nodes) == len(frame.parent):
            subtree = frame.old_subtree  # the same nodes: the same bytes, already stored
        else:
            subtree = self.saver.save(KIND_TREE, encode_tree_raw(frame.nodes))
        keep(stack[-1], node_from_stat(name, NODE_DIR, st, subtree=subtree))

    def _link(self, e: Entry, frame: Frame) -> None:
        if self.opts.symlinks == "record":
            keep(frame, node_from_stat(e.name, NODE_SYMLINK, e.st, target=e.target))
            self.counts.symlinks += 1
        else:
            self.skipped.append(Skipped(e.path, "symlink", e.target or ""))

    def _files(self, batch: Files, frame: Frame) -> None:
        """Files of one directory: each one the files cache keeps as it is (no ``-wal``
        beside it, not a database the parent copied, owner and mode unchanged) appended as
        the parent's very node, in one loop; any other goes through :meth:`_file`."""
        parent, nodes, skip = frame.parent, frame.nodes, frame.skip
        names = frame.names if frame.names is not None else frozenset()
        listed, hexed = self.repo.index.has, bytes.hex  # (a chunk not damaged)
        quick = not self.opts.force and not self.parent_sqlite and frame.names is not None
        if quick and not skip and frame.without_wal():
            kept = all_kept(batch.items, frame, listed)
            if kept is not None:  # the whole batch at once
                nodes.extend(kept[0])
                self.progress.current = batch.base + batch.items[-1][0]
                self._count_kept(frame, len(kept[0]), kept[1])
                self._tick()
                return
        uid = gid = -1
        user = group = ""
        files = size = 0
        for name, st in batch.items:
            raw = parent.get(name)
            if (quick and raw is not None and name not in skip and raw["type"] == NODE_FILE
                    and raw["size"] == st.st_size and raw["mtime"] == st.st_mtime_ns
                    and raw["ctime"] == st.st_ctime_ns and raw["inode"] == st.st_ino
                    and raw["mode"] == st.st_mode & 0o7777 and raw["uid"] == st.st_uid
                    and raw["gid"] == st.st_gid and raw["hash"] is not None
                    and name + WAL not in names):
                if st.st_uid != uid:
                    uid, user = st.st_uid, owner_name("u", st.st_uid)
                if st.st_gid != gid:
                    gid, group = st.st_gid, owner_name("g", st.st_gid)
                if (raw["user"] == user and raw["group"] == group
                        and all(map(listed, map(hexed, raw["content"])))):
                    nodes.append(raw)  # equal in every field: the very node
                    files += 1
                    size += st.st_size
                    continue
            self._count_kept(frame, files, size)
            files = size = 0
            self._file(batch.entry(name, st), frame, None)
        if files:
            self.progress.current = batch.base + batch.items[-1][0]
            self._count_kept(frame, files, size)
            self._tick()

    def _count_kept(self, frame: Frame, files: int, size: int) -> None:
        """Count ``files`` (``size`` bytes) :meth:`_files` appended as the parent's nodes."""
        progress, counts = self.progress, self.counts
        progress.files += files
        progress.bytes_seen += size
        counts.unmodified += files
        counts.total_bytes += size
        frame.same += files

    def _file(self, e: Entry, frame: Frame, root_name: str | None) -> None:
        name = root_name if root_name is not None else e.name
        if name in frame.skip:
            return
        raw = frame.parent.get(name)
        st = e.st
        progress = self.progress
        progress.current = e.path
        progress.files += 1
        progress.bytes_seen += st.st_size
        if not self.opts.force and raw is not None and self._unchanged(e, raw, frame.names):
            if same_owner_mode(raw, st):
                frame.nodes.append(raw)  # equal in every field: the very node
                frame.same += 1
            else:  # a database copy keeps its own size
                old = decode_node(raw)
                frame.nodes.append(node_from_stat(name, NODE_FILE, st, content=old.content,
                                                  hash=old.hash, size=old.size))
            if e.path in self.parent_sqlite:  # still the consistent copy; sidecars stay out
                self.sqlite_captured.append(e.path)
                frame.skip.update(sidecar_names(name))
            self.counts.unmodified += 1
            self.counts.total_bytes += raw["size"]
            self._tick()
            return
        self._capture(e, frame, name, None if raw is None else decode_node(raw))

    def _unchanged(self, e: Entry, raw: RawNode, names: frozenset[str] | None) -> bool:
        """The files cache says the parent's node ``raw`` still holds the file's content, and
        every chunk of it is in the index (not missing, not known damaged)."""
        has = self.repo.index.has
        return (raw["type"] == NODE_FILE and raw["hash"] is not None
                and all(has(c.hex()) for c in raw["content"])
                and decide(FileMeta(True, raw["size"], raw["mtime"], raw["ctime"], raw["inode"]),
                           FileMeta.of_stat(e.st), copied=e.path in self.parent_sqlite,
                           wal=None if names is not None and e.name + WAL not in names
                           else wal_mtime(e.path, names),
                           since_ns=self.parent_time_ns) is Verdict.UNCHANGED)

    def _capture(self, e: Entry, frame: Frame, name: str, old: Node | None) -> None:
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
        node = file_map(name, cap)  # the stored map, built directly
        frame.nodes.append(node)
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
            summary = builder.counts.summary(saver, started)
    finally:
        sys.setrecursionlimit(old_limit)
    snap = _manifest(opts, parent, started, root, summary, builder)
    return (repo.save_snapshot(snap) if commit else ""), snap


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

