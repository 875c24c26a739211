"""Consistent bytes for one file: open without following links, chunk, detect change.

``capture_file`` reads a regular file through the chunker into the blob saver and returns
its chunk ids with the ``fstat`` taken on the open descriptor, so the stored metadata always
describes the bytes stored. A file that vanished (ENOENT/ENOTDIR, or replaced by something
that is not a regular file) raises :class:`Vanished`; other OS errors raise
:class:`Unreadable`. A file whose size or mtime changes while it is read is read again, up to
``MAX_ATTEMPTS`` times, then stored as last read and flagged.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from snapkit.chunker import Chunker

MAX_ATTEMPTS = 3
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class Vanished(Exception):
    """The file is gone (or is no longer a regular file)."""


class Unreadable(Exception):
    """The file exists but cannot be read; the message is the OS error."""


@dataclass(frozen=True)
class Captured:
    content: tuple[str, ...]
    size: int  # bytes stored (the last read)
    st: os.stat_result
    bytes_read: int
    changed_during_read: bool


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def capture_file(
    path: str,
    chunker: Chunker,
    save: Callable[[bytes], str],
    on_bytes: Callable[[int], None] | None = None,
) -> Captured:
    """Read ``path`` into the store; see the module docstring for the error contract."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise Vanished(path) from exc
        raise Unreadable(exc.strerror or str(exc)) from exc
    try:
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise Vanished(path)
            total = 0
            for attempt in range(MAX_ATTEMPTS):
                if attempt:
                    f.seek(0)
                content: list[str] = []
                size = 0
                for chunk in chunker.chunks(f, before.st_size):
                    content.append(save(chunk))
                    size += len(chunk)
                    total += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                after = os.fstat(fd)
                if _same(before, after):
                    return Captured(tuple(content), size, after, total, False)
                before = after
            return Captured(tuple(content), size, after, total, True)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Vanished(path) from exc
        raise Unreadable(exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
