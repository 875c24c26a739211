"""The files of a directory as the snapshot builder stores them: each kept as the parent's
node when the files cache says it is unchanged, or read into the store.

:class:`FileSteps` is the builder's state and its per-file steps; :mod:`snapkit.capture.snapshot`
builds the trees around them. A batch of a directory's regular files the walk gives at once
(:class:`~snapkit.capture.walk.Files`) is asked the files cache's question in one pass
(:func:`~snapkit.capture.parent.all_kept`) and appended as the parent's very nodes, with no
object made per file; any other goes file by file through :meth:`FileSteps._file`, which
reads what changed (:func:`~snapkit.capture.file.capture_file`).

In an encrypted repository the chunks read are handed to the saver without their ids
(:meth:`~snapkit.store.saver.BlobSaver.save_later`: keyed ids are computed on a thread of
their own while the next files are read); the nodes of the files read are made once the ids
are settled, at the end of each batch (before the walk can leave the directory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapkit.capture.chunker import Chunker
from snapkit.capture.counts import Counts, Progress
from snapkit.capture.file import (
    Captured,
    CaptureFile,
    SkippedByPolicy,
    Unreadable,
    Vanished,
    capture_file,
    file_map,
)
from snapkit.capture.files_cache import FileMeta, Verdict, decide, wal_mtime
from snapkit.capture.nodes import node_from_stat, owner_name
from snapkit.capture.parent import Frame, ParentTrees, all_kept, same_owner_mode
from snapkit.capture.sqlite import WAL, sidecar_names
from snapkit.capture.tree_digests import TreeDigests
from snapkit.capture.walk import Entry, Files, Matcher
from snapkit.format.model import NODE_FILE, Node, Skipped, decode_node
from snapkit.format.raw_tree import RawNode
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver


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
    cache: Path | None = None  # the local cache's folder (None: none kept)


def _same_meta(a: Node, b: RawNode) -> bool:
    return (a.mode, a.mtime_ns, a.uid, a.gid) == (b["mode"], b["mtime"], b["uid"], b["gid"])


class FileSteps:
    """The builder's state and its steps for the files of a directory."""

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
        self.digests = TreeDigests()
        #: files read whose chunk ids are tickets of ``saver.save_later`` (see :meth:`_settle`)
        self._unsettled: list[tuple[Frame, str, Captured, Node | None]] = []
        self._later = repo.cipher.encrypted
        self._save: Callable[[bytes], str] = self._save_later if self._later else saver.save_data

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
            self._one_file(batch.entry(name, st), frame, None)
        if files:
            self.progress.current = batch.base + batch.items[-1][0]
            self._count_kept(frame, files, size)
            self._tick()
        self._settle()

    def _count_kept(self, frame: Frame, files: int, size: int) -> None:
        """Count ``files`` (``size`` bytes) :meth:`_files` appended as the parent's nodes."""
        progress, counts = self.progress, self.counts
        progress.files += files
        progress.bytes_seen += size
        counts.unmodified += files
        counts.total_bytes += size
        frame.same += files

    def _file(self, e: Entry, frame: Frame, root_name: str | None) -> None:
        """One file the walk gives alone (its node made before this returns)."""
        self._one_file(e, frame, root_name)
        self._settle()

    def _one_file(self, e: Entry, frame: Frame, root_name: str | None) -> None:
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
        self.progress.reading(e.st.st_size)  # a big file: counted down by :meth:`_read`
        try:
            cap = self.capture(e.path, self.chunker, self._save, self._read,
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
        finally:
            self.progress.unread = 0
        if cap.changed_during_read:
            self.warnings.append(f"{e.path}: changed during read; stored as last read")
        if cap.warning:
            self.warnings.append(cap.warning)
        if cap.method in ("sqlite-backup", "sqlite-at-rest"):
            self.sqlite_captured.append(e.path)
            frame.skip.update(sidecar_names(name))
        if self._later:
            self._unsettled.append((frame, name, cap, old))
        else:
            self._add(frame, name, cap, old)
        self._tick()

    def _add(self, frame: Frame, name: str, cap: Captured, old: Node | None) -> None:
        """The node of a file read, in its directory, counted."""
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

    def _save_later(self, data: bytes) -> str:
        """The saver's ``save_later``: a ticket (``#<n>``, never an id) in place of the id."""
        return f"#{self.saver.save_later(data)}"

    def _settle(self) -> None:
        """Make the nodes of the files read since the last call, their tickets replaced by
        the ids (the saver computed them off this thread)."""
        if not self._unsettled:
            return
        ids = self.saver.settle()
        unsettled, self._unsettled = self._unsettled, []
        for frame, name, cap, old in unsettled:
            content = tuple(ids[int(t[1:])] for t in cap.content)
            self._add(frame, name, cap._replace(content=content), old)

    def _read(self, n: int) -> None:
        """``n`` bytes of a file were read: counted, and for a big file shown."""
        progress = self.progress
        progress.bytes_read += n
        if progress.unread:
            progress.unread = max(0, progress.unread - n)
            self._tick()

    def _tick(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)
