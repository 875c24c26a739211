"""The storage backend interface and the local-directory backend.

A backend stores named files of a few kinds (``config``, ``packs``, ``index``, ``snapshots``,
``locks``, ``keys``) knowing nothing of their content; an object store implements the same
interface (``s3.py``; both run ``tests/store/test_backend_conformance.py``). What differs is in
it: :meth:`Backend.local_root`, the temp files of interrupted writes (:meth:`temp_files`: none
where writes are atomic) and a local cache (:meth:`Backend.uncached` reads past it).

The local backend writes every file atomically: a temp file in the same directory, fsync,
rename, then fsync of the directory. Files are created ``0600`` and directories ``0700``
because the store holds credentials.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from snapkit.format.errors import RepositoryFull

KINDS = ("config", "packs", "index", "snapshots", "locks", "keys")
FILE_MODE = 0o600
DIR_MODE = 0o700
TMP_PREFIX = ".tmp-"
#: Pack descriptors a LocalBackend keeps open for reading.
OPEN_PACKS = 64
_PREAD = hasattr(os, "pread")
#: errno values of a write that does not fit: the disk is full, or the quota used up.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class NotFound(Exception):
    """The named file does not exist in the backend."""


@dataclass(frozen=True)
class TempFile:
    """A temp file an interrupted write left behind."""

    name: str  # relative to the repository's root, "/"-separated ("packs/0a/.tmp-…")
    size: int
    modified: float  # seconds since the epoch


class Backend(Protocol):
    """What the repository needs from a place that stores files."""

    location: str

    def exists(self) -> bool:
        """True when the repository's config file exists."""
        ...

    def create(self) -> None:
        """Create the layout (idempotent)."""
        ...

    def save(self, kind: str, name: str, data: bytes) -> None:
        """Store ``data`` atomically under (kind, name); replace an existing file."""
        ...

    def load(self, kind: str, name: str, offset: int = 0, length: int | None = None) -> bytes:
        """Read a file, or ``length`` bytes of it from ``offset``; raise NotFound."""
        ...

    def load_ranges(self, kind: str, name: str,
                    ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ``(offset, length)`` ranges of one file, in the order given, read together
        (one open file, or a few ranged requests); raise NotFound. A range past the end of the
        file comes back short."""
        ...

    def size(self, kind: str, name: str) -> int:
        """Size in bytes; raise NotFound."""
        ...

    def list(self, kind: str) -> Iterator[str]:
        """Names of the files of one kind, in no particular order."""
        ...

    def remove(self, kind: str, name: str) -> None:
        """Delete a file; a missing file is not an error."""
        ...

    def modified(self, kind: str, name: str) -> float | None:
        """When the file was written (seconds since the epoch), None if the backend cannot
        tell; raise NotFound."""
        ...

    def local_root(self) -> Path | None:
        """The directory holding the repository when it is on the local filesystem, else
        None."""
        ...

    def uncached(self) -> Backend:
        """This backend reading the store itself, never a local copy (``check``)."""
        ...

    def temp_files(self) -> Iterator[TempFile]:
        """Temp files (``.tmp-*``) of interrupted writes anywhere in the layout, in no
        particular order; none where writes are atomic."""
        ...

    def remove_temp(self, name: str) -> bool:
        """Delete a temp file :meth:`temp_files` listed; False when it is gone already.
        Refuse (ValueError) a name that is not a temp file of the layout."""
        ...


def check_temp_name(name: str) -> None:
    """Refuse a name that is not a temp file of the layout (``.tmp-*`` at the root, in a kind's
    directory or in a pack prefix directory: at most three components, none escaping)."""
    parts = name.split("/")
    if (not parts[-1].startswith(TMP_PREFIX) or len(parts) > 3
            or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts)):
        raise ValueError(f"not a temp file of the repository: {name!r}")


def check_name(kind: str, name: str) -> None:
    """Refuse unknown kinds and names that could escape the layout or hide as temp files."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"invalid store file name {name!r}")


def fsync_dir(path: Path) -> None:
    """Flush a directory entry change to disk (no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename + directory fsync (without the
    two fsyncs when not ``durable``: still atomic, but a crash of the machine may lose it)."""
    tmp = path.parent / f"{TMP_PREFIX}{path.name}-{os.urandom(4).hex()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


#: Kinds written and removed without fsync: a lock only matters to processes running now (a
#: shared filesystem's clients see it on close); after a crash it is gone or stale, and removed.
_VOLATILE = frozenset({"locks"})


class LocalBackend:
    """A repository in a directory of the local filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        # Packs are read through descriptors kept open (most recently used last), so reading
        # many blobs does not open a pack for each; removing a pack closes its descriptor.
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._fds_lock = threading.Lock()
        # Readers in other threads may be using a descriptor the cache lets go of: it is
        # closed when the last of them is done.
        self._users: dict[int, int] = {}
        self._dropped: set[int] = set()

    def _path(self, kind: str, name: str) -> Path:
        check_name(kind, name)
        if kind == "config":
            return self.root / "config"
        if kind == "packs":
            return self.root / "packs" / name[:2] / name
        return self.root / kind / name

    def exists(self) -> bool:
        return (self.root / "config").is_file()

    def create(self) -> None:
        old = os.umask(0o077)
        try:
            self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            for kind in KINDS[1:]:
                (self.root / kind).mkdir(mode=DIR_MODE, exist_ok=True)
        finally:
            os.umask(old)
        fsync_dir(self.root)

    def save(self, kind: str, name: str, data: bytes) -> None:
        path = self._path(kind, name)
        try:
            if kind in ("packs", "keys") and not path.parent.is_dir():  # (keys: made by a
                # repository created before key files existed)
                path.parent.mkdir(mode=DIR_MODE, exist_ok=True)
                fsync_dir(path.parent.parent)
            atomic_write(path, data, durable=kind not in _VOLATILE)
        except OSError as exc:
            if exc.errno in _FULL:
                free = None
                with contextlib.suppress(OSError):
                    import shutil  # (only on a full disk: with bz2 and lzma, 2 ms of start-up)
                    free = shutil.disk_usage(self.root).free
                raise RepositoryFull(self.location, f"{kind}/{name}", len(data), free) from exc
            raise

    def load(self, kind: str, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if kind == "packs" and length is not None and _PREAD:
            return self.load_ranges(kind, name, [(offset, length)])[0]
        path = self._path(kind, name)
        try:
            with open(path, "rb") as f:
                if offset:
                    f.seek(offset)
                return f.read() if length is None else f.read(length)
        except FileNotFoundError as exc:
            raise NotFound(f"{kind}/{name}") from exc

    def load_ranges(self, kind: str, name: str,
                    ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        if kind == "packs" and _PREAD:
            fd = self._pack_fd(name)
            try:
                return [os.pread(fd, length, offset) for offset, length in ranges]
            finally:
                self._done_with(fd)
        try:
            fd = os.open(self._path(kind, name), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError as exc:
            raise NotFound(f"{kind}/{name}") from exc
        try:
            out = []
            for offset, length in ranges:  # no pread (Windows), or not a pack
                os.lseek(fd, offset, os.SEEK_SET)
                out.append(os.read(fd, length))
            return out
        finally:
            os.close(fd)

    def _pack_fd(self, name: str) -> int:
        """An open descriptor of a pack, from the cache of :data:`OPEN_PACKS` most recent;
        the caller hands it back with :meth:`_done_with`."""
        with self._fds_lock:
            fd = self._fds.get(name)
            if fd is not None:
                self._fds.move_to_end(name)
            else:
                try:
                    fd = os.open(self._path("packs", name),
                                 os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except FileNotFoundError as exc:
                    raise NotFound(f"packs/{name}") from exc
                self._fds[name] = fd
                while len(self._fds) > OPEN_PACKS:
                    self._drop(self._fds.popitem(last=False)[1])
            self._users[fd] = self._users.get(fd, 0) + 1
            return fd

    def _done_with(self, fd: int) -> None:
        with self._fds_lock:
            left = self._users.pop(fd) - 1
            if left:
                self._users[fd] = left
            elif fd in self._dropped:
                self._dropped.discard(fd)
                os.close(fd)

    def _drop(self, fd: int) -> None:
        """Close a descriptor the cache lets go of, or once its last reader is done."""
        if fd in self._users:
            self._dropped.add(fd)
        else:
            os.close(fd)

    def _forget_fd(self, name: str) -> None:
        with self._fds_lock:
            fd = self._fds.pop(name, None)
            if fd is not None:
                self._drop(fd)

    def close(self) -> None:
        """Close the pack descriptors kept open (also done when the backend is dropped)."""
        with self._fds_lock:
            while self._fds:
                self._drop(self._fds.popitem()[1])

    def __del__(self) -> None:
        fds = getattr(self, "_fds", None)
        while fds:
            with contextlib.suppress(OSError):
                os.close(fds.popitem()[1])

    def size(self, kind: str, name: str) -> int:
        try:
            return self._path(kind, name).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"{kind}/{name}") from exc

    def modified(self, kind: str, name: str) -> float | None:
        try:
            return self._path(kind, name).lstat().st_mtime
        except FileNotFoundError as exc:
            raise NotFound(f"{kind}/{name}") from exc

    def list(self, kind: str) -> Iterator[str]:
        if kind == "config":
            if self.exists():
                yield "config"
            return
        base = self.root / kind
        dirs = [base]
        if kind == "packs":
            try:
                dirs = [Path(e.path) for e in os.scandir(base) if e.is_dir(follow_symlinks=False)]
            except FileNotFoundError:
                return
        for d in dirs:
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if not e.name.startswith(".") and e.is_file(follow_symlinks=False):
                            yield e.name
            except FileNotFoundError:
                continue

    def uncached(self) -> LocalBackend:  # (it keeps no cache)
        return self

    def local_root(self) -> Path | None:
        return self.root

    def _temp_dirs(self) -> Sequence[Path]:
        dirs = [self.root, *(self.root / kind for kind in ("index", "snapshots", "locks", "keys"))]
        packs = self.root / "packs"
        with contextlib.suppress(OSError):
            dirs += [packs, *sorted(Path(e.path) for e in os.scandir(packs)
                                    if e.is_dir(follow_symlinks=False))]
        return dirs

    def temp_files(self) -> Iterator[TempFile]:
        for d in self._temp_dirs():
            try:
                names = sorted(n for n in os.listdir(d) if n.startswith(TMP_PREFIX))
            except OSError:
                continue
            for name in names:
                path = d / name
                try:
                    st = path.lstat()
                except OSError:
                    continue
                yield TempFile(path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime)

    def remove_temp(self, name: str) -> bool:
        check_temp_name(name)
        try:
            (self.root / name).unlink()
        except FileNotFoundError:
            return False
        return True

    def remove(self, kind: str, name: str) -> None:
        if kind == "packs":
            self._forget_fd(name)
        path = self._path(kind, name)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:  # pragma: no cover - platform specific
            if exc.errno != errno.ENOENT:
                raise
        if kind not in _VOLATILE:
            fsync_dir(path.parent)
