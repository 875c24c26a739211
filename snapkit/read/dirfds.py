"""Directories reached through open descriptors, never through a symlink: the restore's
:class:`DirFds` (each step ``openat`` with ``O_NOFOLLOW`` from its parent, a bounded number of
descriptors kept), used by its writer, its comparison with an existing target and
``restore --delete``; and :func:`dest_path`, where a stored path lands below the target.
"""

from __future__ import annotations

import errno
import os

from snapkit.format.errors import SnapkitError
from snapkit.read.treewalk import Parts

DIRFD = os.open in os.supports_dir_fd and os.name != "nt"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
BINARY = getattr(os, "O_BINARY", 0)


def dest_path(base: str, parts: Parts) -> str:
    """Where the stored path ``parts`` lands below ``base`` (a drive letter as a directory)."""
    if parts and parts[0].endswith(":") and os.name != "nt":
        parts = (parts[0][:-1], *parts[1:])
    return os.path.join(base, *parts)


#: Open directory descriptors the writer keeps: the deepest ones, plus one every
#: :data:`_FD_EVERY` levels to reopen the others from (a restore of any depth stays far below
#: the usual 1,024-descriptor limit).
_FD_KEEP = 64
_FD_EVERY = 64


class SymlinkInTheWay(SnapkitError):
    """A directory of the target is a symlink (or not a directory): never followed."""


class DirFds:
    """Open descriptors of the directories below a base, opened without following a symlink.

    Keeps the deepest :data:`_FD_KEEP` open plus one every :data:`_FD_EVERY` levels, reopening
    the others on demand (each checked to be the directory first opened), so any depth stays
    within a few hundred descriptors and no path is ever longer than one name.
    """

    def __init__(self, base: str, follow_parts: int, create: bool = False) -> None:
        self.base = base
        self.follow_parts = follow_parts  # leading components that may be symlinks (in-place)
        # (parts, fd or -1 when closed to save descriptors, (st_dev, st_ino) once closed:
        # taken from the descriptor before it closes, the directory it was opened on)
        self.stack: list[tuple[Parts, int, tuple[int, int] | None]] = []
        self.exists = True
        if create:
            os.makedirs(base, mode=0o700, exist_ok=True)
        try:
            fd = os.open(base, os.O_RDONLY | DIRECTORY | CLOEXEC)
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
        flags = os.O_RDONLY | DIRECTORY | CLOEXEC
        if i >= self.follow_parts:
            flags |= NOFOLLOW
        try:
            return os.open(parts[i], flags, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise SymlinkInTheWay(
                    f"{dest_path(self.base, parts[: i + 1])} is a symlink or not a directory; "
                    "refusing to follow it (remove it, or restore elsewhere)"
                ) from exc
            raise

    def _reopen(self, level: int) -> int:
        """The descriptor of stack level ``level``, reopened from the nearest open one above
        it if it was closed; each reopened directory must be the one first opened."""
        if self.stack[level][1] >= 0:
            return self.stack[level][1]
        start = max(i for i in range(level + 1) if self.stack[i][1] >= 0)
        fd = self.stack[start][1]
        for i in range(start + 1, level + 1):
            parts, _, ident = self.stack[i]
            new = self._open_child(fd, parts, i - 1)
            st = os.fstat(new)
            if (st.st_dev, st.st_ino) != ident:
                os.close(new)
                raise SnapkitError(f"{dest_path(self.base, parts)} was replaced while the restore "
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
            self.stack.append((parts[: i + 1], fd, None))
            self._trim()
        return fd

    def parent_of(self, parts: Parts) -> int:
        return self.dirfd(parts[:-1])

    def _trim(self) -> None:
        """Close a descriptor that fell out of the window of kept ones."""
        level = len(self.stack) - 1 - _FD_KEEP
        if level > 0 and level % _FD_EVERY:
            parts, fd, _ = self.stack[level]
            if fd >= 0:
                st = os.fstat(fd)  # (only now: most directories are never closed early)
                os.close(fd)
                self.stack[level] = (parts, -1, (st.st_dev, st.st_ino))
