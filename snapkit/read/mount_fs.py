"""What ``snapkit mount`` answers, by path: attributes, listings, link targets and file
content, with no FUSE in it (:mod:`snapkit.read.mount_fuse` hands the kernel's requests here).

Above the snapshots is the layout of :mod:`snapkit.read.mount_layout`; below a snapshot's
place are its stored trees, looked up name by name (each listing kept as a name → node map
for the most recently used trees). Entries have their stored mode, owner, size and times;
the directories of the layout are read-only and the mounting user's. A file is opened as a
:class:`~snapkit.read.mount_files.StoredFile` and read a range at a time.

Failures are ``OSError`` with the errno the caller gets: ``ENOENT`` for what is not there,
``EROFS`` for anything that would write, and ``EIO`` for what the repository cannot give back,
whatever the reason: the data is damaged, or the repository cannot be reached (an S3 endpoint
down, a directory moved away). Any read of the repository may be the first (its index is read
when first needed), so every request turns every exception into ``EIO`` and one line for
``on_warning``, never a traceback: damage once per mounted path, naming it; an outage once until
a read of the repository succeeds again (the catalog's readers retry on every request, so the
mount recovers by itself). Every ``refresh_s`` seconds at most, a look at the top asks
``refresh`` for a newer :class:`Catalog` (new snapshots taken since the mount).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

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
P = ParamSpec("P")


@dataclass(frozen=True)
class Catalog:
    """What the filesystem reads: the snapshots (oldest first) and the repository's readers."""

    snapshots: Sequence[tuple[str, Snapshot]]
    load_tree: Callable[[str], Tree]
    load_blob: Callable[[str], bytes]
    blob_size: Callable[[str], int]  # a data blob's plain length


def _request(method: Callable[Concatenate[SnapshotFS, P], T]) -> Callable[
        Concatenate[SnapshotFS, P], T]:
    """A request of the kernel's: an exception that is not already the answer (an ``OSError``
    with its errno) is reported once and answered with ``EIO``, never left to the binding
    (which prints a traceback and answers ``EINVAL``)."""

    @wraps(method)
    def answer(fs: SnapshotFS, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(fs, *args, **kwargs)
        except OSError:
            raise
        except Exception as exc:
            raise fs.failed(str(args[0]) if args else method.__name__, exc) from exc

    return answer


class SnapshotFS:
    """The mounted view of a repository (single-threaded: one request at a time)."""

    def __init__(self, catalog: Catalog, *, refresh: Callable[[], Catalog | None] | None = None,
                 on_warning: Callable[[str], None] = lambda message: None,
                 refresh_s: float = REFRESH_S) -> None:
        self.refresh, self.refresh_s, self.on_warning = refresh, refresh_s, on_warning
        self.uid, self.gid = os.getuid(), os.getgid()
        self._use(catalog)
        self._files: dict[int, tuple[str, StoredFile]] = {}  # handle → (path, file)
        self._next_fh = 1
        self._damage_said: set[str] = set()  # the paths whose damage was reported
        self._down = False  # a read of the repository failed, none has succeeded since

    def _use(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.layout: Layout = layout(catalog.snapshots)
        self._by_id = dict(catalog.snapshots)
        self.cache = BlobCache(catalog.load_blob)
        self._maps: OrderedDict[str, dict[str, Node]] = OrderedDict()
        self._checked = time.monotonic()

    # ------------------------------------------------------------------ the requests

    @_request
    def getattr(self, path: str) -> Attrs:
        found = self._find(path)
        return self._place_attrs(found) if isinstance(found, Place) else node_attrs(found)

    @_request
    def readdir(self, path: str) -> list[str]:
        found = self._find(path)
        if isinstance(found, Place):
            if found.kind == "snapshot":
                return list(self._map(self._snapshot_root(found).subtree, path))
            if found.kind == "dir":
                return list(self.layout.children[_parts(path)])
        elif found.type == NODE_DIR:
            return list(self._map(found.subtree, path))
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)

    @_request
    def readlink(self, path: str) -> str:
        found = self._find(path)
        if isinstance(found, Place):
            if found.kind == "link":
                return found.target
        elif found.type == NODE_SYMLINK:
            return found.target or ""
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)

    @_request
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
        self._files[fh] = (path, file)
        return fh

    @_request
    def read(self, fh: int, offset: int, size: int) -> bytes:
        path, file = self._files.get(fh, ("", None))
        if file is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return self._guarded(path, lambda: read_range(file, offset, size, self.cache))

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
            child = self._map(node.subtree, path).get(name) if node.type == NODE_DIR else None
            if child is None:
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            node = child
        return node

    def _snapshot_root(self, place: Place) -> Node:
        snap = self._by_id[place.snapshot_id]
        return Node("", NODE_DIR, 0o555, snap.time_ns, snap.time_ns, uid=self.uid, gid=self.gid,
                    subtree=snap.tree)

    def _map(self, tree_id: str | None, path: str) -> dict[str, Node]:
        """The entries of one tree by name (unsafe names left out, with a warning); ``path``,
        the one asked for, is named if the tree cannot be read."""
        if tree_id is None:
            return {}
        found = self._maps.get(tree_id)
        if found is not None:
            self._maps.move_to_end(tree_id)
            return found
        tree = self._guarded(path, lambda: self.catalog.load_tree(tree_id))
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

    def _guarded(self, path: str, read: Callable[[], T]) -> T:
        """``read()`` of the repository for ``path``; any failure reported (:meth:`failed`)
        and turned into ``EIO`` for the reader."""
        try:
            done = read()
        except Exception as exc:
            raise self.failed(path, exc) from exc
        self._down = False
        return done

    def failed(self, path: str, exc: Exception, meanwhile: str = "the mount answers with I/O "
               "errors until the repository can be read again") -> OSError:
        """The ``EIO`` to answer for ``exc``, met while reading the repository for ``path``,
        and its one warning: damage once per path, an outage once until a read succeeds
        (saying what happens ``meanwhile``)."""
        where = path.lstrip("/") or "/"
        if isinstance(exc, IntegrityError):
            if where not in self._damage_said:
                self._damage_said.add(where)
                self.on_warning(f"{where}: {exc.message}")
        elif not self._down:
            self._down = True
            self.on_warning(f"{where}: {_reason(exc)}; {meanwhile}")
        return OSError(errno.EIO, os.strerror(errno.EIO), path)

    def _maybe_refresh(self) -> None:
        if self.refresh is None or time.monotonic() - self._checked < self.refresh_s:
            return
        self._checked = time.monotonic()
        try:
            newer = self.refresh()
        except Exception as exc:  # the snapshots there were are still shown
            self.failed("looking for new snapshots", exc, "showing the snapshots there were")
            return
        self._down = False
        if newer is not None:
            self._use(newer)

    def _place_attrs(self, place: Place) -> Attrs:
        mode = (stat.S_IFLNK | 0o777) if place.kind == "link" else (stat.S_IFDIR | 0o555)
        return {"st_mode": mode, "st_nlink": 1 if place.kind == "link" else 2,
                "st_size": len(os.fsencode(place.target)), "st_uid": self.uid,
                "st_gid": self.gid, "st_mtime": place.time_ns, "st_ctime": place.time_ns,
                "st_atime": place.time_ns}


def node_attrs(node: Node) -> Attrs:
    """The ``stat`` fields of a stored entry (times in nanoseconds). A symlink's size is the
    length of its target (POSIX); only a file's content takes blocks."""
    kind = {NODE_FILE: stat.S_IFREG, NODE_DIR: stat.S_IFDIR, NODE_SYMLINK: stat.S_IFLNK}
    size = node.size if node.type == NODE_FILE else (
        len(os.fsencode(node.target or "")) if node.type == NODE_SYMLINK else 0)
    return {"st_mode": kind[node.type] | stat.S_IMODE(node.mode),
            "st_nlink": 2 if node.type == NODE_DIR else 1, "st_size": size,
            "st_blocks": (size + 511) // 512 if node.type == NODE_FILE else 0,
            "st_uid": node.uid, "st_gid": node.gid,
            "st_mtime": node.mtime_ns, "st_atime": node.mtime_ns,
            "st_ctime": node.ctime_ns or node.mtime_ns}


def _reason(exc: Exception) -> str:
    """One line saying why a read of the repository failed."""
    if isinstance(exc, SnapkitError):
        text = exc.message
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def _parts(path: str) -> Parts:
    return tuple(p for p in path.split("/") if p)
