"""What a file created in a directory gets without being asked, for the restore's writer: the
mode bits left by the umask (unless a default ACL decides instead), and the group; and the
shared copy of a directory's descriptor its worker threads write through.

A restore creates its files with their final mode where that is exactly what creation gives,
and does not chown root's own files (two system calls a file fewer). That needs to know, per
directory: which mode bits a new file keeps — ``0777 & ~umask``, read from
``/proc/self/status`` (setting the umask to read it would race with other threads), unless a
default ACL on the directory cuts the mode instead (``system.posix_acl_default``), or the file
system cannot say — and which group it gets: its creator's, or the directory's when that is
set-group-ID (or mounted ``grpid``); both agree when the directory's group is ours. A
directory the restore creates inherits all of this from the one it is created in (its default
ACL, its set-group-ID bit and group), so it is probed once per directory the restore found,
not once per directory it makes (:class:`Traits`, kept by the writer).
"""

from __future__ import annotations

import errno
import os
import threading
from typing import NamedTuple

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
EUID = os.geteuid() if hasattr(os, "geteuid") else -1
EGID = os.getegid() if hasattr(os, "getegid") else -1
#: A symlink's own time can be set (and so is restored, and compared).
LINK_TIMES = os.utime in os.supports_follow_symlinks


class Traits(NamedTuple):
    """What a file created in a directory gets: the mode bits it keeps of the mode it is
    created with (0: unknown, always chmod), and (root only) its group (None: unsure)."""

    keep: int
    gid: int | None


def probe(fd: int, keep: int) -> Traits:
    """The traits of the directory open at ``fd``, where the umask keeps the bits ``keep``
    (0 when unknown)."""
    gid = None
    if ROOT:
        own = os.fstat(fd).st_gid
        gid = own if own == EGID else None
    return Traits(keep if keep and modes_as_asked(fd) else 0, gid)


def modes_as_asked(fd: int) -> bool:
    """Whether a file created in the directory open at ``fd`` gets the mode it is created
    with less the umask: not where a default ACL gives it (POSIX ACLs cut the mode instead of
    the umask), nor where the file system cannot say (``getxattr`` failing otherwise than
    "no such attribute": no POSIX ACLs, perhaps other ones); never off Linux."""
    if not hasattr(os, "getxattr"):
        return False
    try:
        os.getxattr(fd, "system.posix_acl_default")
    except OSError as exc:
        return exc.errno == errno.ENODATA
    return False


def current_umask() -> int | None:
    """The process's umask, read without setting it (which would race with other threads):
    from ``/proc/self/status`` (Linux 4.7+); None where it cannot be read."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


class SharedFd:
    """One copy (``dup``) of a directory's descriptor for the worker threads writing files in
    it, held by each of their jobs and by the writer while it prepares jobs there; closed when
    the last holder releases it (a ``dup`` per file cost a tenth of a restore's time). Its
    ``traits`` say what a file created there gets (keep 0 where files must not be created with
    their final mode: a directory the restore did not make)."""

    def __init__(self, fd: int, traits: Traits | None = None) -> None:
        self.fd = os.dup(fd)
        self._holders = 1
        self._lock = threading.Lock()
        self.traits = traits if traits is not None else probe(self.fd, 0)

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            os.close(self.fd)
