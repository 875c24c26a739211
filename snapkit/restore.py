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
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

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
from snapkit.rules import path_filter
from snapkit.snapshot import split_path
from snapkit.treewalk import Parts, iter_tree, original_path, select_entries

OVERWRITE_POLICIES = ("never", "if-changed", "always")
_DIRFD = os.open in os.supports_dir_fd and os.name != "nt"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class RestoreOptions:
    target: str  # directory; "/" (or a drive root) with in_place
    in_place: bool = False
    overwrite: str = "never"
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
    actions: list[Action] = field(default_factory=list)


def _dest(base: str, parts: Parts) -> str:
    if parts and parts[0].endswith(":") and os.name != "nt":
        parts = (parts[0][:-1], *parts[1:])
    return os.path.join(base, *parts)


def plan_restore(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: RestoreOptions, chunker: Chunker
) -> list[Action]:
    """Every entry to restore with what will happen to it; raise on conflicts (nothing written)."""
    if opts.overwrite not in OVERWRITE_POLICIES:
        raise UsageError(f"--overwrite must be one of {', '.join(OVERWRITE_POLICIES)}")
    entries = list(iter_tree(load_tree, snap.tree))
    if opts.includes or opts.excludes:
        select = path_filter(opts.includes, opts.excludes)
        entries = select_entries(
            entries, lambda parts, node: select(original_path(parts), node.type == NODE_DIR),
            keep_dirs=not opts.includes,
        )
    actions: list[Action] = []
    conflicts: list[str] = []
    for parts, node, leaving in entries:
        if leaving:
            continue
        dest = _dest(opts.target, parts)
        action, problem = _compare(dest, node, opts.overwrite, chunker)
        if problem:
            conflicts.append(f"{dest} ({problem})")
        actions.append(Action(parts, node, action, dest))
    if conflicts:
        more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
        raise SnapkitError(
            f"restore would overwrite {conflicts[0]}{more}; nothing was written — pass "
            "--overwrite if-changed (or always) to replace them, or restore into an empty "
            "--target"
        )
    return actions


def _compare(dest: str, node: Node, policy: str, chunker: Chunker) -> tuple[str, str]:
    """(action, conflict or "") for one destination path."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return "create", ""
    except NotADirectoryError:
        return ("overwrite", "") if policy == "always" else ("create", "a parent is not a dir")
    if stat.S_ISDIR(st.st_mode) and node.type == NODE_DIR:
        return "identical", ""
    if (
        stat.S_ISLNK(st.st_mode)
        and node.type == NODE_SYMLINK
        and os.readlink(dest) == node.target
    ):
        return "identical", ""
    if (
        stat.S_ISREG(st.st_mode)
        and node.type == NODE_FILE
        and st.st_size == node.size
        and _same_content(dest, node, chunker)
    ):
        return ("overwrite" if policy == "always" else "identical"), ""
    if policy == "never":
        return "overwrite", "exists and differs"
    if stat.S_ISDIR(st.st_mode) and node.type != NODE_DIR and policy != "always":
        return "overwrite", "a directory is in the way"
    return "overwrite", ""


def _same_content(path: str, node: Node, chunker: Chunker) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        ids = [content_id(c) for c in chunker.chunks(f, node.size)]
    return tuple(ids) == node.content


class _Writer:
    """Creates entries below a base directory without ever following a symlink in it."""

    def __init__(self, base: str, follow_parts: int) -> None:
        self.base = base
        self.follow_parts = follow_parts  # leading components that may be symlinks (in-place)
        self.stack: list[tuple[Parts, int]] = []
        if _DIRFD:
            os.makedirs(base, mode=0o700, exist_ok=True)
            self.stack.append(((), os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)))

    def close(self) -> None:
        while self.stack:
            os.close(self.stack.pop()[1])

    def _dirfd(self, parts: Parts) -> int:
        """An fd for the directory ``parts`` (which must exist, created by ``mkdir``)."""
        while self.stack and self.stack[-1][0] != parts[: len(self.stack[-1][0])]:
            os.close(self.stack.pop()[1])
        have = self.stack[-1][0]
        for i in range(len(have), len(parts)):
            parent = self.stack[-1][1]
            flags = os.O_RDONLY | _DIRECTORY | _CLOEXEC
            if i >= self.follow_parts:
                flags |= _NOFOLLOW
            try:
                fd = os.open(parts[i], flags, dir_fd=parent)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SnapkitError(
                        f"{_dest(self.base, parts[: i + 1])} is a symlink or not a directory; "
                        "refusing to follow it (remove it, or restore elsewhere)"
                    ) from exc
                raise
            self.stack.append((parts[: i + 1], fd))
        return self.stack[-1][1]

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
        tmp = f".snapkit-restore-{secrets.token_hex(6)}"
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
    load_blob: Callable[[str], bytes],
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
    follow = 0
    if opts.in_place:
        # Directories above each source are the system's own; they may be symlinks.
        follow = min((len(split_path(s)) - 1 for s in snap.sources), default=0)
    writer = _Writer(opts.target, follow)
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
                n = writer.write_file(a.parts, _chunks(load_blob, node), node)
                result.files += 1
                result.bytes += n
                if on_file is not None:
                    on_file(a.dest, n)
        for a in reversed(dirs):  # deepest first, so setting an mtime is not undone by a child
            writer.set_meta(a.parts, a.node)
    finally:
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


def _chunks(load_blob: Callable[[str], bytes], node: Node) -> Iterator[bytes]:
    for blob_id in node.content:
        yield load_blob(blob_id)  # load_blob verifies the id
