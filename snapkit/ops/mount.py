"""``snapkit mount``: every snapshot as a read-only filesystem, until it is unmounted.

The mount point must be an empty directory, and FUSE usable here: ``/dev/fuse``, libfuse
(2 or 3) and the ``mfusepy`` binding (the ``mount`` extra) — each missing one is named with
its fix before the repository is opened. The repository is then held open under the shared
read lock (:func:`snapkit.ops.repo.reading`) for as long as it is mounted, so ``prune`` does
not delete what the mount reads, and served by :mod:`snapkit.read.mount_fuse` in the
foreground. Snapshots taken meanwhile appear within a minute: the next look at the top
finds the snapshot list changed and opens the repository afresh (its index then has their
data).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from snapkit.format.errors import IntegrityError, SnapkitError, UsageError
from snapkit.ops.events import OnEvent, RepositoryDamaged, ignore
from snapkit.ops.repo import Location, open_repository, reading
from snapkit.read.mount_fs import Catalog, SnapshotFS
from snapkit.store.repository import Repository

#: The device FUSE needs.
FUSE_DEVICE = Path("/dev/fuse")
INSTALL_BINDING = "pip install 'snapkit[mount]'"


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
    with reading(location, no_lock, "mount", on_event) as repo:
        catalog = _catalog(repo)
        known = set(repo.snapshot_ids())

        def refresh() -> Catalog | None:
            nonlocal known
            now = set(repo.snapshot_ids())
            if now == known:
                return None
            known = now
            return _catalog(open_repository(location, on_event=on_event))

        fs = SnapshotFS(catalog, refresh=refresh,
                        on_warning=lambda message: on_event(RepositoryDamaged(message)))
        try:
            fuse.serve(fs, where, lambda: on_mounted(Mounted(str(where),
                                                             len(fs.catalog.snapshots))))
        except RuntimeError as exc:
            raise SnapkitError(f"could not mount at {where} (libfuse failed with {exc}; its "
                               "reason is on the line above)") from exc
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


def _catalog(repo: Repository) -> Catalog:
    def blob_size(blob_id: str) -> int:
        entry = repo.index.get(blob_id)
        if entry is None:
            raise IntegrityError(f"blob {blob_id} is not in the index (repository damaged; "
                                 "run `snapkit check`)")
        return entry.raw_length

    return Catalog(repo.snapshots(), repo.load_tree, repo.load_blob, blob_size)
