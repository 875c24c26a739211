"""What ``snapkit mount`` answers, by path: attributes, listings, link targets and file
content, with no FUSE in it (:mod:`snapkit.read.mount_fuse` hands the kernel's requests here).

Above the snapshots is the layout of :mod:`snapkit.read.mount_layout`; below a snapshot's
place are its stored trees, looked up name by name (each listing kept as a name → node map
for the most recently used trees). Entries have their stored mode, owner, size and times;
the directories of the layout are read-only and the mounting user's. A file is opened as a
:class:`~snapkit.read.mount_files.StoredFile` and read a range at a time.

Failures are ``OSError`` with the errno the caller gets: ``ENOENT`` for what is not there,
``EIO`` for what the repository cannot give back (damage, reported through ``on_warning``),
``EROFS`` for anything that would write. Every ``refresh_s`` seconds at most, a look at the
top asks ``refresh`` for a newer :class:`Catalog` (new snapshots taken since the mount).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from snapkit.format.errors import IntegrityError, SnapkitError
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, Snapshot, Tree
from snapkit.read.mount_files import BlobCache, StoredFile, read_range, stored_file
from snapkit.read.mount_layout import Layout, Parts, Place, layout, snapshot_at
from snapkit.read.treewalk import UnsafeName, check_name

#: How many trees' name → node maps are kept.
TREE_MAPS = 1024
#: How often (seconds) the snapshot list may be looked at again.
REFRESH_S = 60.0

Attrs = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Catalog:
    """What the filesystem reads: the snapshots (oldest first) and the repository's readers."""

    snapshots: Sequence[tuple[str, Snapshot]]
    load_tree: Callable[[str], Tree]
    load_blob: Callable[[str], bytes]
    blob_size: Callable[[str], int]  # a data blob's plain length


class SnapshotFS:
    """The mounted view of a repository (single-threaded: one request at a time)."""

    def __init__(self, catalog: Catalog, *, refresh: Callable[[], Catalog | None] | None = None,
                 on_warning: Callable[[str], None] = lambda message: None,
                 refresh_s: float = REFRESH_S) -> None:
        self.refresh, self.refresh_s, self.on_warning = refresh, refresh_s, on_warning
        self.uid, self.gid = os.getuid(), os.getgid()
        self._use(catalog)
        self._files: dict[int, StoredFile] = {}
        self._next_fh = 1

    def _use(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.layout: Layout = layout(catalog.snapshots)
        self._by_id = dict(catalog.snapshots)
        self.cache = BlobCache(catalog.load_blob)
        self._maps: OrderedDict[str, dict[str, Node]] = OrderedDict()
        self._checked = time.monotonic()

    # ------------------------------------------------------------------ the requests

    def getattr(self, path: str) -> Attrs:
        found = self._find(path)
        return self._place_attrs(found) if isinstance(found, Place) else node_attrs(found)

    def readdir(self, path: str) -> list[str]:
        found = self._find(path)
        if isinstance(found, Place):
            if found.kind == "snapshot":
                return self._names(self._snapshot_root(found).subtree)
            if found.kind == "dir":
                return list(self.layout.children[_parts(path)])
        elif found.type == NODE_DIR:
            return self._names(found.subtree)
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)

    def readlink(self, path: str) -> str:
        found = self._find(path)
        if isinstance(found, Place):
            if found.kind == "link":
                return found.target
        elif found.type == NODE_SYMLINK:
            return found.target or ""
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)

    def open(self, path: str, flags: int) -> int:
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        found = self._find(path)
        if isinstance(found, Place) or found.type != NODE_FILE:
            kind = errno.EISDIR if isinstance(found, Place) or found.type == NODE_DIR \
                else errno.EINVAL
            raise OSError(kind, os.strerror(kind), path)
        file = self._guarded(path, lambda: stored_file(found.content, self.catalog.blob_size))
        fh, self._next_fh = self._next_fh, self._next_fh + 1
        self._files[fh] = file
        return fh

    def read(self, fh: int, offset: int, size: int) -> bytes:
        file = self._files.get(fh)
        if file is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return self._guarded(f"file handle {fh}",
                             lambda: read_range(file, offset, size, self.cache))

    def release(self, fh: int) -> None:
        self._files.pop(fh, None)

    # ------------------------------------------------------------------ looking up

    def _find(self, path: str) -> Place | Node:
        parts = _parts(path)
        if len(parts) <= 2:
            self._maybe_refresh()
        place = self.layout.places.get(parts)
        if place is not None:
            return place
        inside = snapshot_at(self.layout, parts)
        if inside is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        node = self._snapshot_root(inside[0])
        for name in inside[1]:
            child = self._map(node.subtree).get(name) if node.type == NODE_DIR else None
            if child is None:
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            node = child
        return node

    def _snapshot_root(self, place: Place) -> Node:
        snap = self._by_id[place.snapshot_id]
        return Node("", NODE_DIR, 0o555, snap.time_ns, snap.time_ns, uid=self.uid, gid=self.gid,
                    subtree=snap.tree)

    def _names(self, tree_id: str | None) -> list[str]:
        return list(self._map(tree_id))

    def _map(self, tree_id: str | None) -> dict[str, Node]:
        """The entries of one tree by name (unsafe names left out, with a warning)."""
        if tree_id is None:
            return {}
        found = self._maps.get(tree_id)
        if found is not None:
            self._maps.move_to_end(tree_id)
            return found
        tree = self._guarded(f"tree {tree_id}", lambda: self.catalog.load_tree(tree_id))
        found = {}
        for node in tree.nodes:
            try:
                check_name(node.name, ())
            except UnsafeName as exc:
                self.on_warning(f"{exc.message}: left out of the mount")
                continue
            found[node.name] = node
        self._maps[tree_id] = found
        if len(self._maps) > TREE_MAPS:
            self._maps.popitem(last=False)
        return found

    def _guarded(self, what: str, read: Callable[[], T]) -> T:
        """``read()``, its damage reported and turned into ``EIO`` for the reader."""
        try:
            return read()
        except IntegrityError as exc:
            self.on_warning(f"{what}: {exc.message}")
            raise OSError(errno.EIO, os.strerror(errno.EIO)) from exc

    def _maybe_refresh(self) -> None:
        if self.refresh is None or time.monotonic() - self._checked < self.refresh_s:
            return
        self._checked = time.monotonic()
        try:
            newer = self.refresh()
        except (OSError, SnapkitError) as exc:
            self.on_warning(f"could not look for new snapshots ({exc}); showing the ones "
                            "there were")
            return
        if newer is not None:
            self._use(newer)

    def _place_attrs(self, place: Place) -> Attrs:
        mode = (stat.S_IFLNK | 0o777) if place.kind == "link" else (stat.S_IFDIR | 0o555)
        return {"st_mode": mode, "st_nlink": 1 if place.kind == "link" else 2,
                "st_size": len(os.fsencode(place.target)), "st_uid": self.uid,
                "st_gid": self.gid, "st_mtime": place.time_ns, "st_ctime": place.time_ns,
                "st_atime": place.time_ns}


def node_attrs(node: Node) -> Attrs:
    """The ``stat`` fields of a stored entry (times in nanoseconds)."""
    kind = {NODE_FILE: stat.S_IFREG, NODE_DIR: stat.S_IFDIR, NODE_SYMLINK: stat.S_IFLNK}
    size = node.size if node.type == NODE_FILE else (
        len(os.fsencode(node.target or "")) if node.type == NODE_SYMLINK else 0)
    return {"st_mode": kind[node.type] | stat.S_IMODE(node.mode),
            "st_nlink": 2 if node.type == NODE_DIR else 1, "st_size": size,
            "st_blocks": (size + 511) // 512, "st_uid": node.uid, "st_gid": node.gid,
            "st_mtime": node.mtime_ns, "st_atime": node.mtime_ns,
            "st_ctime": node.ctime_ns or node.mtime_ns}


def _parts(path: str) -> Parts:
    return tuple(p for p in path.split("/") if p)
