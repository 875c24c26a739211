"""Restore a snapshot into a directory: plan first, then write, never outside the target.

The plan pass walks the stored tree (names checked by ``treewalk``), applies the path filter
and compares each entry with what the target already holds, so a conflict under
``--overwrite never`` is reported before a single byte is written. The write pass creates
directories and files relative to open directory descriptors with ``O_NOFOLLOW``, so a
symlink planted in the target is never followed; files are written to a temp name, checked
chunk by chunk against their ids, then renamed into place. Memory does not grow with file
size: content streams one chunk at a time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from snapkit.chunker import Chunker
from snapkit.errors import IntegrityError, SnapkitError, UsageError
from snapkit.model import (
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Snapshot,
    Tree,
    content_id,
    file_hasher,
)
from snapkit.partials import is_orphan, partial_name
from snapkit.paths import split_path
from snapkit.rules import path_filter
from snapkit.treewalk import BlobReader, Parts, iter_tree, original_path, select_entries

Overwrite = Literal["never", "if-changed", "always"]
OVERWRITE_POLICIES: tuple[Overwrite, ...] = ("never", "if-changed", "always")
_DIRFD = os.open in os.supports_dir_fd and os.name != "nt"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class RestoreOptions:
    target: str  # directory; "/" (or a drive root) with in_place
    in_place: bool = False
    overwrite: Overwrite = "never"
    dry_run: bool = False
    includes: tuple[str, ...] = ()  # gitignore-style, against the original absolute path
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    parts: Parts
    node: Node
    action: str  # "create" | "overwrite" | "identical"
    dest: str


@dataclass
class RestoreResult:
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes: int = 0
    identical: int = 0
    #: partial files that an interrupted earlier restore had left in the target, removed
    leftovers_removed: int = 0
    actions: list[Action] = field(default_factory=list)


def _dest(base: str, parts: Parts) -> str:
    if parts and parts[0].endswith(":") and os.name != "nt":
        parts = (parts[0][:-1], *parts[1:])
    return os.path.join(base, *parts)


def _follow_parts(snap: Snapshot, opts: RestoreOptions) -> int:
    """Leading path components that may be symlinks: with ``--in-place`` the directories
    above each source are the system's own."""
    if not opts.in_place:
        return 0
    return min((len(split_path(s)) - 1 for s in snap.sources), default=0)


def plan_restore(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: RestoreOptions, chunker: Chunker
) -> list[Action]:
    """Every entry to restore with what will happen to it; raise on conflicts (nothing written)."""
    if opts.overwrite not in OVERWRITE_POLICIES:
        raise UsageError(f"--overwrite must be one of {', '.join(OVERWRITE_POLICIES)}")
    if not opts.in_place and os.path.islink(opts.target):
        raise UsageError(f"--target {opts.target} is a symlink (to {os.readlink(opts.target)}); "
                         "restore never follows one — name the directory it points to")
    entries = list(iter_tree(load_tree, snap.tree))
    if opts.includes or opts.excludes:
        select = path_filter(opts.includes, opts.excludes)
        entries = select_entries(
            entries, lambda parts, node: select(original_path(parts), node.type == NODE_DIR),
            keep_dirs=not opts.includes,
        )
    actions: list[Action] = []
    conflicts: list[str] = []
    created: set[Parts] = set()  # directories this restore creates: nothing below exists yet
    prober = _DirFds(opts.target, _follow_parts(snap, opts)) if _DIRFD else None
    try:
        for parts, node, leaving in entries:
            if leaving:
                continue
            dest = _dest(opts.target, parts)
            if parts[:-1] in created or (prober is not None and not prober.exists):
                action, problem = "create", ""
            else:
                action, problem = _compare(prober, parts, dest, node, opts.overwrite, chunker)
            if action == "create" and node.type == NODE_DIR:
                created.add(parts)
            if problem:
                conflicts.append(f"{dest} ({problem})")
            actions.append(Action(parts, node, action, dest))
    finally:
        if prober is not None:
            prober.close()
    if conflicts:
        more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
        fix = ("--overwrite always" if opts.overwrite == "if-changed"
               else "--overwrite if-changed (or always)")
        raise SnapkitError(
            f"restore would overwrite {conflicts[0]}{more}; nothing was written — pass "
            f"{fix} to replace them, or restore into an empty --target"
        )
    return actions


def _compare(prober: _DirFds | None, parts: Parts, dest: str, node: Node, policy: Overwrite,
             chunker: Chunker) -> tuple[str, str]:
    """(action, conflict or "") for one destination, looked at through directory
    descriptors (no path length limit, no symlink followed) where the platform has them."""
    try:
        if prober is not None:
            dfd, name = prober.parent_of(parts), parts[-1]
            st = os.lstat(name, dir_fd=dfd)
        else:
            dfd, name = None, dest
            st = os.lstat(dest)
    except FileNotFoundError:
        return "create", ""
    except (NotADirectoryError, _SymlinkInTheWay):
        return ("overwrite", "") if policy == "always" else ("create", "a parent is not a dir")
    if stat.S_ISDIR(st.st_mode) and node.type == NODE_DIR:
        return "identical", ""
    if (
        stat.S_ISLNK(st.st_mode)
        and node.type == NODE_SYMLINK
        and (os.readlink(name, dir_fd=dfd) if dfd is not None else os.readlink(name))
        == node.target
    ):
        return "identical", ""
    if (
        stat.S_ISREG(st.st_mode)
        and node.type == NODE_FILE
        and st.st_size == node.size
        and _same_content(dfd, name, node, chunker)
    ):
        return ("overwrite" if policy == "always" else "identical"), ""
    if policy == "never":
        return "overwrite", "exists and differs"
    if stat.S_ISDIR(st.st_mode) and node.type != NODE_DIR and policy != "always":
        return "overwrite", "a directory is in the way"
    return "overwrite", ""


def _same_content(dfd: int | None, name: str, node: Node, chunker: Chunker) -> bool:
    try:
        flags = os.O_RDONLY | _NOFOLLOW | _BINARY
        fd = os.open(name, flags, dir_fd=dfd) if dfd is not None else os.open(name, flags)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        ids = [content_id(c) for c in chunker.chunks(f, node.size)]
    return tuple(ids) == node.content


#: Open directory descriptors the writer keeps: the deepest ones, plus one every
#: :data:`_FD_EVERY` levels to reopen the others from (a restore of any depth stays far below
#: the usual 1,024-descriptor limit).
_FD_KEEP = 64
_FD_EVERY = 64
#: Partial files an interrupted restore leaves are named ``<prefix><pid>-<hex>``; a later
#: restore into the same directory removes those whose process is gone.
TEMP_PREFIX = ".snapkit-restore-"


class _SymlinkInTheWay(SnapkitError):
    """A directory of the target is a symlink (or not a directory): never followed."""


class _DirFds:
    """Open descriptors of the directories below a base, opened without following a symlink.

    Keeps the deepest :data:`_FD_KEEP` open plus one every :data:`_FD_EVERY` levels, reopening
    the others on demand (each checked to be the directory first opened), so any depth stays
    within a few hundred descriptors and no path is ever longer than one name.
    """

    def __init__(self, base: str, follow_parts: int, create: bool = False) -> None:
        self.base = base
        self.follow_parts = follow_parts  # leading components that may be symlinks (in-place)
        # (parts, fd or -1 when closed to save descriptors, (st_dev, st_ino))
        self.stack: list[tuple[Parts, int, tuple[int, int]]] = []
        self.exists = True
        if create:
            os.makedirs(base, mode=0o700, exist_ok=True)
        try:
            fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            self.exists = False
            return
        st = os.fstat(fd)
        self.stack.append(((), fd, (st.st_dev, st.st_ino)))

    def close(self) -> None:
        while self.stack:
            fd = self.stack.pop()[1]
            if fd >= 0:
                os.close(fd)

    def _open_child(self, parent: int, parts: Parts, i: int) -> int:
        flags = os.O_RDONLY | _DIRECTORY | _CLOEXEC
        if i >= self.follow_parts:
            flags |= _NOFOLLOW
        try:
            return os.open(parts[i], flags, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _SymlinkInTheWay(
                    f"{_dest(self.base, parts[: i + 1])} is a symlink or not a directory; "
                    "refusing to follow it (remove it, or restore elsewhere)"
                ) from exc
            raise

    def _reopen(self, level: int) -> int:
        """The descriptor of stack level ``level``, reopened from the nearest open one above
        it if it was closed; each reopened directory must be the one first opened."""
        start = max(i for i in range(level + 1) if self.stack[i][1] >= 0)
        fd = self.stack[start][1]
        for i in range(start + 1, level + 1):
            parts, _, ident = self.stack[i]
            new = self._open_child(fd, parts, i - 1)
            st = os.fstat(new)
            if (st.st_dev, st.st_ino) != ident:
                os.close(new)
                raise SnapkitError(f"{_dest(self.base, parts)} was replaced while the restore "
                                   "ran; restore again")
            self.stack[i] = (parts, new, ident)
            fd = new
        return fd

    def dirfd(self, parts: Parts) -> int:
        """An fd for the existing directory ``parts``."""
        while self.stack and self.stack[-1][0] != parts[: len(self.stack[-1][0])]:
            fd = self.stack.pop()[1]
            if fd >= 0:
                os.close(fd)
        fd = self._reopen(len(self.stack) - 1)
        for i in range(len(self.stack) - 1, len(parts)):
            fd = self._open_child(fd, parts, i)
            st = os.fstat(fd)
            self.stack.append((parts[: i + 1], fd, (st.st_dev, st.st_ino)))
            self._trim()
        return fd

    def parent_of(self, parts: Parts) -> int:
        return self.dirfd(parts[:-1])

    def _trim(self) -> None:
        """Close a descriptor that fell out of the window of kept ones."""
        level = len(self.stack) - 1 - _FD_KEEP
        if level > 0 and level % _FD_EVERY:
            parts, fd, ident = self.stack[level]
            if fd >= 0:
                os.close(fd)
                self.stack[level] = (parts, -1, ident)


class _Writer(_DirFds):
    """Creates entries below a base directory without ever following a symlink in it, and
    removes the partial files an interrupted restore left in the directories it writes to."""

    def __init__(self, base: str, follow_parts: int) -> None:
        self.leftovers = 0  # partial files of interrupted restores removed
        self._swept: set[Parts] = set()
        if _DIRFD:
            super().__init__(base, follow_parts, create=True)
        else:
            self.base, self.follow_parts, self.stack, self.exists = base, follow_parts, [], True

    def _dirfd(self, parts: Parts) -> int:
        fd = self.dirfd(parts)
        if parts not in self._swept:
            self._swept.add(parts)
            self._sweep(fd)
        return fd

    def _sweep(self, fd: int) -> None:
        """Remove partial files that an interrupted restore left in this directory."""
        try:
            names = [n for n in os.listdir(fd) if is_orphan(n, TEMP_PREFIX)]
        except OSError:
            return
        for name in names:
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode):
                    os.unlink(name, dir_fd=fd)
                    self.leftovers += 1

    def _where(self, parts: Parts) -> tuple[int | None, str]:
        if _DIRFD:
            return self._dirfd(parts[:-1]), parts[-1]
        path = _dest(self.base, parts)
        parent = os.path.dirname(path)
        for i in range(self.follow_parts, len(parts)):
            p = _dest(self.base, parts[:i])
            if os.path.islink(p):
                raise SnapkitError(f"{p} is a symlink; refusing to follow it")
        os.makedirs(parent, exist_ok=True)
        return None, path

    def remove(self, parts: Parts) -> None:
        dfd, name = self._where(parts)
        try:
            st = os.lstat(name, dir_fd=dfd) if dfd is not None else os.lstat(name)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise SnapkitError(f"{_dest(self.base, parts)} is a directory in the way of a file; "
                               "remove it by hand")
        os.unlink(name, dir_fd=dfd) if dfd is not None else os.unlink(name)

    def mkdir(self, parts: Parts) -> None:
        dfd, name = self._where(parts)
        try:
            os.mkdir(name, 0o700, dir_fd=dfd) if dfd is not None else os.mkdir(name, 0o700)
            self._swept.add(parts)  # new and empty: nothing to clean up in it
        except FileExistsError:
            st = os.lstat(name, dir_fd=dfd) if dfd is not None else os.lstat(name)
            if not stat.S_ISDIR(st.st_mode):
                self.remove(parts)
                self.mkdir(parts)

    def symlink(self, parts: Parts, target: str) -> None:
        dfd, name = self._where(parts)
        self.remove(parts)
        os.symlink(target, name, dir_fd=dfd) if dfd is not None else os.symlink(target, name)

    def write_file(self, parts: Parts, chunks: Iterator[bytes], node: Node) -> int:
        dfd, name = self._where(parts)
        tmp = partial_name(TEMP_PREFIX)
        if dfd is None:
            tmp = os.path.join(os.path.dirname(name), tmp)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
        fd = os.open(tmp, flags, 0o600, dir_fd=dfd) if dfd is not None else os.open(tmp, flags,
                                                                                     0o600)
        written = 0
        hasher = file_hasher()
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                for chunk in chunks:
                    f.write(chunk)
                    hasher.update(chunk)
                    written += len(chunk)
            if written != node.size or (node.hash and hasher.hexdigest() != node.hash):
                raise IntegrityError(f"{original_path(parts)}: restored content does not match the "
                                     "snapshot's size or checksum (repository damaged; run "
                                     "`snapkit check`)")
            _set_meta_fd(fd, node)
        except BaseException:
            os.close(fd)
            os.unlink(tmp, dir_fd=dfd) if dfd is not None else os.unlink(tmp)
            raise
        os.close(fd)
        self.remove(parts)
        if dfd is not None:
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        else:
            os.replace(tmp, name)
        return written

    def set_meta(self, parts: Parts, node: Node) -> None:
        dfd, name = self._where(parts)
        # Owner before mode: chown clears the setuid/setgid bits.
        if _is_root() and hasattr(os, "chown"):
            with contextlib.suppress(OSError):
                os.chown(name, node.uid, node.gid, dir_fd=dfd, follow_symlinks=False)
        if node.type != NODE_SYMLINK:
            os.chmod(name, node.mode, dir_fd=dfd)
        if node.type != NODE_SYMLINK or os.utime in os.supports_follow_symlinks:
            os.utime(name, ns=(node.mtime_ns, node.mtime_ns), dir_fd=dfd, follow_symlinks=False)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _set_meta_fd(fd: int, node: Node) -> None:
    # Owner before mode: chown clears the setuid/setgid bits.
    if _is_root():
        with contextlib.suppress(OSError):
            os.fchown(fd, node.uid, node.gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, node.mode)
    os.utime(fd, ns=(node.mtime_ns, node.mtime_ns))


def restore_snapshot(
    load_tree: Callable[[str], Tree],
    read_blobs: BlobReader,
    snap: Snapshot,
    opts: RestoreOptions,
    chunker: Chunker,
    on_file: Callable[[str, int], None] | None = None,
) -> RestoreResult:
    """Plan, then (unless ``dry_run``) write; see the module docstring."""
    actions = plan_restore(load_tree, snap, opts, chunker)
    result = RestoreResult(actions=actions)
    if opts.dry_run:
        for a in actions:
            _count(result, a, a.node.size)
        return result
    writer = _Writer(opts.target, _follow_parts(snap, opts))
    dirs: list[Action] = []
    try:
        for a in actions:
            node = a.node
            if node.type == NODE_DIR:
                writer.mkdir(a.parts)
                dirs.append(a)
                result.dirs += 1
                continue
            if a.action == "identical":
                result.identical += 1
                continue
            if node.type == NODE_SYMLINK:
                writer.symlink(a.parts, node.target or "")
                writer.set_meta(a.parts, node)
                result.symlinks += 1
            elif node.type == NODE_FILE:
                n = writer.write_file(a.parts, read_blobs(node.content), node)
                result.files += 1
                result.bytes += n
                if on_file is not None:
                    on_file(a.dest, n)
        for a in reversed(dirs):  # deepest first, so setting an mtime is not undone by a child
            writer.set_meta(a.parts, a.node)
    finally:
        result.leftovers_removed = writer.leftovers
        writer.close()
    return result


def _count(result: RestoreResult, a: Action, size: int) -> None:
    if a.node.type == NODE_DIR:
        result.dirs += 1
    elif a.action == "identical":
        result.identical += 1
    elif a.node.type == NODE_SYMLINK:
        result.symlinks += 1
    else:
        result.files += 1
        result.bytes += size


