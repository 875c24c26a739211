"""``snapkit mount``: every snapshot as a read-only filesystem, until it is unmounted.

The mount point must be an empty directory, and FUSE usable here: ``/dev/fuse``, libfuse
(2 or 3) and the ``mfusepy`` binding (the ``mount`` extra) — each missing one is named with
its fix before the repository is opened. The repository is then held open under the shared
read lock (:func:`snapkit.ops.repo.read_lock`) for as long as it is mounted, so ``prune`` does
not delete what the mount reads, and served by :mod:`snapkit.read.mount_fuse` in the
foreground. Snapshots taken meanwhile appear within a minute: the next look at the top
finds the snapshot list changed and opens the repository afresh (its index then has their
data).

The mount outlives its repository's outages (:class:`Reader`): a read that fails because the
repository cannot be reached (an S3 endpoint down, a directory moved away) drops the opened
repository, and the next read opens it again — the mount answers ``EIO`` meanwhile and
recovers by itself once the repository is back. A repository that is no longer there is
said to be so, not reported as damaged.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from snapkit.format.errors import IntegrityError, RepositoryMissing, SnapkitError, UsageError
from snapkit.format.model import Tree
from snapkit.ops.events import OnEvent, RepositoryDamaged, ignore
from snapkit.ops.repo import Location, open_repository, read_lock
from snapkit.read.mount_fs import Catalog, SnapshotFS
from snapkit.store.repository import Repository

#: The device FUSE needs.
FUSE_DEVICE = Path("/dev/fuse")
INSTALL_BINDING = "pip install 'snapkit[mount]'"
T = TypeVar("T")


@dataclass(frozen=True)
class Mounted:
    """The filesystem is mounted and answering."""

    mountpoint: str
    snapshots: int


def mount(location: Location, mountpoint: Path, on_mounted: Callable[[Mounted], None], *,
          no_lock: bool = False, on_event: OnEvent = ignore) -> Path:
    """Mount the repository at ``location`` on ``mountpoint`` and serve it until unmounted
    (Ctrl-C, SIGTERM, ``umount``); ``on_mounted`` once the mount answers. The absolute mount
    point, once unmounted."""
    where = check_mountpoint(mountpoint)
    fuse = load_binding()
    repo = open_repository(location, on_event=on_event)
    with read_lock(repo, no_lock, "mount", on_event):
        reader = Reader(location, repo, on_event)
        known = set(repo.snapshot_ids())

        def refresh() -> Catalog | None:
            nonlocal known
            now = set(reader.snapshot_ids())
            if now == known:
                return None
            reader.reopen()
            known = now
            return reader.catalog()

        fs = SnapshotFS(reader.catalog(), refresh=refresh,
                        on_warning=lambda message: on_event(RepositoryDamaged(message)))
        try:
            fuse.serve(fs, where, lambda: on_mounted(Mounted(str(where),
                                                             len(fs.catalog.snapshots))))
        except RuntimeError as exc:
            raise SnapkitError(f"could not mount at {where} (libfuse failed with {exc}; its "
                               "reason is on the line above)") from exc
        finally:
            reader.flush()
    return where


def check_mountpoint(mountpoint: Path) -> Path:
    """The absolute mount point, when it is an empty directory that is not mounted on."""
    where = Path(os.path.abspath(mountpoint))
    try:
        where.stat()
    except FileNotFoundError as exc:
        raise UsageError(f"mount point {where} does not exist; create it (mkdir) first") from exc
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:  # a FUSE mount whose process has ended
            raise UsageError(f"{where} is a FUSE mount whose process has ended; unmount it "
                             f"(fusermount -u {where}, or umount {where}) first") from exc
        raise UsageError(f"cannot use mount point {where} ({exc.strerror})") from exc
    if not where.is_dir():
        raise UsageError(f"mount point {where} is not a directory; give an empty directory")
    if os.path.ismount(where):
        raise UsageError(f"{where} is already a mount point; unmount it (umount {where}) or "
                         "give another empty directory")
    try:
        with os.scandir(where) as entries:
            if next(entries, None) is not None:
                raise UsageError(f"mount point {where} is not empty; give an empty directory")
    except PermissionError as exc:
        raise UsageError(f"cannot read mount point {where} ({exc.strerror})") from exc
    return where


def load_binding() -> ModuleType:
    """:mod:`snapkit.read.mount_fuse`, when FUSE can be used here; else the one-line reason."""
    if not FUSE_DEVICE.exists():
        raise SnapkitError(f"FUSE is not available here: no {FUSE_DEVICE} (load the fuse "
                           "kernel module: `modprobe fuse`; in a container, pass the device "
                           "in, e.g. `docker run --device /dev/fuse --cap-add SYS_ADMIN`)")
    try:
        import mfusepy  # noqa: F401  (the binding, loaded here to name what is missing)
    except ImportError as exc:
        raise SnapkitError(f"`snapkit mount` needs the FUSE binding mfusepy: "
                           f"{INSTALL_BINDING}") from exc
    except OSError as exc:  # mfusepy found no libfuse to load
        raise SnapkitError(f"FUSE is not available here: libfuse is not installed ({exc}); "
                           "install it (Debian/Ubuntu: `apt install fuse3`; Fedora: `dnf "
                           "install fuse3`; macOS: macFUSE)") from exc
    from snapkit.read import mount_fuse

    return mount_fuse


class Reader:
    """The repository the mount reads, opened again after a failure to reach it.

    Blobs found damaged are recorded in the repository (:func:`snapkit.ops.repo.reading`
    does the same) when it is opened afresh and at the end, by :meth:`flush` — except
    what was found while it could not be reached, which may be no damage at all."""

    def __init__(self, location: Location, repo: Repository, on_event: OnEvent) -> None:
        self.location, self.on_event = location, on_event
        self.repo: Repository | None = repo

    def reopen(self) -> None:
        """Open the repository afresh (a new index, the snapshots taken meanwhile)."""
        self.flush()
        self.repo = None
        self._read(lambda repo: repo)

    def flush(self) -> None:
        """Record the damage found (best-effort, warned about when it cannot be)."""
        if self.repo is not None:
            self.repo.flush_damage()

    def catalog(self) -> Catalog:
        return Catalog(self._read(lambda repo: repo.snapshots()), self.load_tree,
                       self.load_blob, self.blob_size)

    def snapshot_ids(self) -> list[str]:
        """The ids of the snapshots; a repository that is not there (no snapshots listed)
        is an error, so that its snapshots are not taken off the mount."""
        ids = self._read(lambda repo: repo.snapshot_ids())
        if not ids:
            self._read(_there)
        return ids

    def load_tree(self, tree_id: str) -> Tree:
        return self._read(lambda repo: repo.load_tree(tree_id))

    def load_blob(self, blob_id: str) -> bytes:
        return self._read(lambda repo: repo.load_blob(blob_id))

    def blob_size(self, blob_id: str) -> int:
        """A data blob's plain length, from the index."""

        def size(repo: Repository) -> int:
            entry = repo.index.get(blob_id)
            if entry is None:
                raise IntegrityError(f"blob {blob_id} is not in the index (repository "
                                     "damaged; run `snapkit check`)")
            return entry.raw_length

        return self._read(size)

    def _read(self, read: Callable[[Repository], T]) -> T:
        """``read`` of the repository, opened first when it is not. Damage met where the
        repository is not there any more is its absence, not damage."""
        repo = self.repo
        try:
            if repo is None:
                repo = self.repo = open_repository(self.location, on_event=self.on_event)
            try:
                return read(repo)
            except IntegrityError:
                _there(repo)
                raise
        except IntegrityError:
            raise
        except Exception:
            self.repo = None  # opened again by the next read
            raise


def _there(repo: Repository) -> None:
    """Nothing, when the repository is still there; else :class:`RepositoryMissing`."""
    if not repo.backend.exists():
        raise RepositoryMissing(f"the repository {repo.backend.location} is not there any "
                                "more (moved, deleted, or its disk unmounted?)")
