"""The restore's write side: directories and files created relative to open directory
descriptors with ``O_NOFOLLOW`` (a symlink planted in the target is never followed), files
checked chunk by chunk against their ids as they are written, and the partial files of
interrupted restores removed.

Where something may be in the way (a directory the restore did not create), a file is
written to a temp name and renamed into place once complete, so an existing file is never
left half overwritten. In a directory the restore created (empty, ``0700`` until the restore
ends) it is created under its own name with ``O_EXCL`` — no temp name, no rename, as tar,
borg and restic do — and with its final mode when the umask leaves it whole (no ``fchmod``;
for root, no ``fchown`` when it is already ours): four system calls a file instead of seven.
Not under a default ACL, which cuts the mode instead of the umask. A file that fails, or
whose restore is stopped by Ctrl-C or SIGTERM, is removed either way; only a SIGKILL or a
crash can leave one cut short (the next restore names it as differing) or without its
metadata (set again by the next restore: ``restore_compare``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Container, Iterator
from typing import NamedTuple

from snapkit.format.errors import IntegrityError, SnapkitError
from snapkit.format.model import NODE_SYMLINK, Node, file_hasher
from snapkit.read.created import (
    EUID,
    LINK_TIMES,
    ROOT,
    SharedFd,
    Traits,
    current_umask,
    probe,
)
from snapkit.read.dirfds import (
    BINARY,
    CLOEXEC,
    DIRFD,
    NOFOLLOW,
    DirFds,
    dest_path,
)
from snapkit.read.partials import is_orphan, partial_name
from snapkit.read.treewalk import Parts, original_path

#: Partial files an interrupted restore leaves are named ``<prefix><pid>-<hex>``; a later
#: restore into the same directory removes those whose process is gone.
TEMP_PREFIX = ".snapkit-restore-"


class Writer(DirFds):
    """Creates entries below a base directory without ever following a symlink in it, and
    removes the partial files an interrupted restore left in the directories it writes to."""

    def __init__(self, base: str, follow_parts: int, planned: Container[Parts] = ()) -> None:
        """``planned``: entries of the restore named like partial files (a snapshot may hold
        one): never swept away."""
        self.leftovers = 0  # partial files of interrupted restores removed
        self._planned = planned
        self._temp_stem = partial_name(TEMP_PREFIX)[:-6]  # + 6 hex digits of a counter
        self._made = 0
        self._swept: set[Parts] = set()
        self._made_dirs: set[Parts] = set()  # created by this writer
        #: the directory whose shared descriptor the jobs being prepared get (see prepare)
        self._shared: tuple[Parts, SharedFd] | None = None
        umask = current_umask()
        self._keep = 0 if umask is None else 0o777 & ~umask  # mode bits a new file keeps
        #: what a file created in a directory this writer made gets (see snapkit.read.created)
        self._traits: dict[Parts, Traits] = {}
        if DIRFD:
            super().__init__(base, follow_parts, create=True)
        else:
            self.base, self.follow_parts, self.stack, self.exists = base, follow_parts, [], True

    def _dirfd(self, parts: Parts) -> int:
        fd = self.dirfd(parts)
        if parts not in self._swept:
            self._swept.add(parts)
            self._sweep(fd, parts)
        return fd

    def _sweep(self, fd: int, parts: Parts) -> None:
        """Remove partial files that an interrupted restore left in this directory."""
        try:
            names = [n for n in os.listdir(fd) if is_orphan(n, TEMP_PREFIX)
                     and (*parts, n) not in self._planned]
        except OSError:
            return
        for name in names:
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode):
                    os.unlink(name, dir_fd=fd)
                    self.leftovers += 1

    def _where(self, parts: Parts) -> tuple[int | None, str]:
        if DIRFD:
            return self._dirfd(parts[:-1]), parts[-1]
        path = dest_path(self.base, parts)
        parent = os.path.dirname(path)
        for i in range(self.follow_parts, len(parts)):
            p = dest_path(self.base, parts[:i])
            if os.path.islink(p):
                raise SnapkitError(f"{p} is a symlink; refusing to follow it")
        os.makedirs(parent, exist_ok=True)
        return None, path

    def remove(self, parts: Parts) -> None:
        _remove_at(*self._where(parts), dest_path(self.base, parts))

    def mkdir(self, parts: Parts) -> None:
        dfd, name = self._where(parts)
        try:
            os.mkdir(name, 0o700, dir_fd=dfd) if dfd is not None else os.mkdir(name, 0o700)
            self._swept.add(parts)  # new and empty: nothing to clean up in it
            self._made_dirs.add(parts)
            if dfd is not None:  # the traits of the directory it was made in, inherited
                parent = parts[:-1]
                traits = self._traits.get(parent)
                if traits is None:
                    traits = self._traits[parent] = probe(dfd, self._keep)
                self._traits[parts] = traits
        except FileExistsError:
            st = os.lstat(name, dir_fd=dfd) if dfd is not None else os.lstat(name)
            if not stat.S_ISDIR(st.st_mode):
                self.remove(parts)
                self.mkdir(parts)
            elif DIRFD:  # swept even if no file in it is written (all already identical)
                self._dirfd(parts)

    def symlink(self, parts: Parts, target: str) -> None:
        dfd, name = self._where(parts)
        self.remove(parts)
        os.symlink(target, name, dir_fd=dfd) if dfd is not None else os.symlink(target, name)

    def prepare(self, parts: Parts, own_fd: bool = False) -> FileJob:
        """What :func:`write_job` needs to write the file ``parts``; with ``own_fd`` the job
        holds a copy of the directory's descriptor (for another thread: the writer may close
        its own meanwhile), shared by the jobs of one directory and released by
        :func:`write_job`."""
        parent = parts[:-1]
        # In a directory it made, nothing is in the way, and the file is written under its own
        # name (no temp name, no rename), as tar does; elsewhere to a temp name.
        clear = parent not in self._made_dirs
        if clear or not DIRFD:
            self._made += 1  # a fresh random name costs a syscall: a counter instead
            tmp = f"{self._temp_stem}{self._made:06x}"
        else:
            tmp = ""
        if own_fd and self._shared is not None and self._shared[0] == parent:
            shared = self._shared[1]  # the run of files in one directory: nothing to look up
            shared.hold()
            return FileJob(parts, shared.fd, parts[-1], tmp, clear, self.base, shared)
        dfd, name = self._where(parts)
        if not own_fd or dfd is None:
            return FileJob(parts, dfd, name, tmp, clear, self.base)
        if self._shared is not None:
            self._shared[1].release()  # the writer's own hold: it has moved on
        # A directory this restore made stays 0700 until the end: its files may be created
        # with their own mode (no fchmod), where the umask (or an ACL) does not cut it.
        shared = SharedFd(dfd, None if clear else self._traits.get(parent))
        self._shared = (parent, shared)
        shared.hold()
        return FileJob(parts, shared.fd, name, tmp, clear, self.base, shared)

    def close(self) -> None:
        if self._shared is not None:
            self._shared[1].release()
            self._shared = None
        super().close()

    def write_file(self, parts: Parts, chunks: Iterator[bytes], node: Node) -> int:
        return write_job(self.prepare(parts), chunks, node)

    def set_meta(self, parts: Parts, node: Node) -> None:
        dfd, name = self._where(parts)
        # Owner before mode: chown clears the setuid/setgid bits.
        if ROOT and hasattr(os, "chown"):
            with contextlib.suppress(OSError):
                os.chown(name, node.uid, node.gid, dir_fd=dfd, follow_symlinks=False)
        if node.type != NODE_SYMLINK:
            os.chmod(name, node.mode, dir_fd=dfd)
        if node.type != NODE_SYMLINK or LINK_TIMES:
            os.utime(name, ns=(node.mtime_ns, node.mtime_ns), dir_fd=dfd, follow_symlinks=False)


class FileJob(NamedTuple):
    """A file to write: where (its directory's descriptor, or None: ``name`` is a path), the
    temp name to write it to ("": its own name, in a directory the restore made), and whether
    something may be in the way of the rename.

    One per file written, built in the restore's main thread: an immutable ``NamedTuple``
    rather than a frozen dataclass, three times cheaper to build."""

    parts: Parts
    dfd: int | None
    name: str
    tmp: str
    clear: bool
    base: str
    shared: SharedFd | None = None  # ``dfd``'s holder, released when done


def write_job(job: FileJob, chunks: Iterator[bytes], node: Node) -> int:
    """Write ``chunks`` to the file (or its temp name), check them against ``node``'s size and
    checksum, set its metadata and rename it into place; on any error remove what it wrote and
    raise."""
    try:
        return _write(job, chunks, node)
    finally:
        if job.shared is not None:
            job.shared.release()


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC | BINARY


def _open_temp(job: FileJob, mode: int = 0o600) -> tuple[str, int]:
    """The name the file is written to (its own, or a temp name) and its descriptor."""
    flags = _TEMP_FLAGS
    dfd, tmp = job.dfd, job.tmp
    if not tmp and dfd is not None:  # in a directory this restore made: its own name
        try:
            return job.name, os.open(job.name, flags, mode, dir_fd=dfd)
        except FileExistsError:  # a snapshot naming a file twice: the last one wins
            tmp = partial_name(TEMP_PREFIX)
    if dfd is not None:  # the usual case, first try
        try:
            return tmp, os.open(tmp, flags, mode, dir_fd=dfd)
        except FileExistsError:
            tmp = partial_name(TEMP_PREFIX)
    while True:
        if dfd is None:
            tmp = os.path.join(os.path.dirname(job.name), tmp)
        try:
            return tmp, (os.open(tmp, flags, mode, dir_fd=dfd) if dfd is not None
                         else os.open(tmp, flags, mode))
        except FileExistsError:
            tmp = partial_name(TEMP_PREFIX)


def _write(job: FileJob, chunks: Iterator[bytes], node: Node) -> int:
    dfd, name, shared = job.dfd, job.name, job.shared
    # created with its own mode (in a directory made by this restore, if the umask allows)
    traits = shared.traits if shared is not None else None
    moded = traits is not None and not node.mode & ~traits.keep
    owned = (traits is not None and traits.gid is not None and node.gid == traits.gid
             and node.uid == EUID)
    tmp, fd = _open_temp(job, node.mode if moded else 0o600)
    written = 0
    # One chunk whose id is the file's checksum: checked as it was read (ids are the same
    # xxh3-128 of the same bytes), no second pass over it.
    hasher = None if node.content == (node.hash,) else file_hasher()
    try:
        pending: list[bytes] = []  # written together: one system call (and GIL release)
        size = 0
        for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if hasher is not None:
                hasher.update(chunk)
            if size >= WRITE_BYTES or len(pending) >= WRITE_CHUNKS:
                _write_all(fd, pending, size)
                written += size
                pending, size = [], 0
        if pending:
            _write_all(fd, pending, size)
            written += size
        if written != node.size or (node.hash and hasher is not None
                                    and hasher.hexdigest() != node.hash):
            raise IntegrityError(f"{original_path(job.parts)}: restored content does not match "
                                 "the snapshot's size or checksum (repository damaged; run "
                                 "`snapkit check`)")
        _set_meta_fd(fd, node, owned, moded)
    except BaseException:
        os.close(fd)
        os.unlink(tmp, dir_fd=dfd) if dfd is not None else os.unlink(tmp)
        raise
    os.close(fd)
    if job.clear:
        _remove_at(dfd, name, dest_path(job.base, job.parts))
    if tmp == name:  # written under its own name
        pass
    elif dfd is not None:
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    else:
        os.replace(tmp, name)
    return written


def _remove_at(dfd: int | None, name: str, shown: str) -> None:
    try:
        st = os.lstat(name, dir_fd=dfd) if dfd is not None else os.lstat(name)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise SnapkitError(f"{shown} is a directory in the way of a file; remove it by hand")
    os.unlink(name, dir_fd=dfd) if dfd is not None else os.unlink(name)


#: A file's chunks are written together, up to this many bytes or chunks at a time: one
#: ``writev`` instead of a ``write`` per chunk (each a system call, and a release and retake
#: of the GIL, which the worker may then wait for while the main thread plans).
WRITE_BYTES = 1024 * 1024
WRITE_CHUNKS = 256
_WRITEV = hasattr(os, "writev")


def _write_all(fd: int, chunks: list[bytes], size: int) -> None:
    """Write ``chunks`` (``size`` bytes in all) one after the other."""
    if len(chunks) == 1 or not _WRITEV:
        for chunk in chunks:
            if (n := os.write(fd, chunk)) < len(chunk):  # a short write (rare): the rest
                _write_rest(fd, chunk, n)
        return
    n = os.writev(fd, chunks)
    if n < size:  # a short write (rare): the rest, chunk by chunk
        for chunk in chunks:
            if n >= len(chunk):
                n -= len(chunk)
                continue
            _write_rest(fd, chunk, n)
            n = 0


def _write_rest(fd: int, data: bytes, done: int) -> None:
    """Finish writing ``data`` after a short write of its first ``done`` bytes."""
    view = memoryview(data)[done:]
    while view:
        view = view[os.write(fd, view):]


def _set_meta_fd(fd: int, node: Node, owned: bool = False, moded: bool = False) -> None:
    """Owner (root only), mode and mtime of the file open at ``fd``; ``owned``: it already
    has the node's owner, ``moded``: its mode (created so)."""
    # Owner before mode: chown clears the setuid/setgid bits (``moded`` never has them).
    if ROOT and not owned:
        try:  # noqa: SIM105 (once per file: a try costs less than contextlib.suppress)
            os.fchown(fd, node.uid, node.gid)
        except OSError:
            pass
    if _FCHMOD and not moded:
        os.fchmod(fd, node.mode)
    os.utime(fd, ns=(node.mtime_ns, node.mtime_ns))


_FCHMOD = hasattr(os, "fchmod")
