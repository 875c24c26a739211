"""The FUSE side of ``snapkit mount``: the kernel's requests handed to a
:class:`~snapkit.read.mount_fs.SnapshotFS` through ``mfusepy`` (ctypes bindings of libfuse 2
and 3), and the mount run in the foreground until it is unmounted.

Imported only by ``snapkit mount`` (``mfusepy`` loads libfuse when imported, and is an
optional extra). The mount is read-only (``ro``: the kernel itself answers every write with
``EROFS``) and single-threaded (one request at a time, as the repository is read). Ctrl-C,
SIGTERM and SIGHUP are left to libfuse, which ends its loop and unmounts; ``umount`` or
``fusermount -u`` from outside end it the same way. Either way :func:`serve` returns.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mfusepy

from snapkit.read.mount_fs import Attrs, SnapshotFS


class _Operations(mfusepy.Operations):  # type: ignore[misc]  # (mfusepy is untyped)
    """The callbacks libfuse calls, each answered by the :class:`SnapshotFS`."""

    use_ns = True  # times in nanoseconds

    def __init__(self, fs: SnapshotFS, on_ready: Callable[[], None]) -> None:
        self.fs = fs
        self.on_ready = on_ready

    def init(self, path: str) -> None:
        self.on_ready()

    def getattr(self, path: str, fh: int | None = None) -> Attrs:
        return self.fs.getattr(path)

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *self.fs.readdir(path)]

    def readlink(self, path: str) -> str:
        return self.fs.readlink(path)

    def open(self, path: str, flags: int) -> int:
        return self.fs.open(path, flags)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self.fs.read(fh, offset, size)

    def release(self, path: str, fh: int) -> int:
        self.fs.release(fh)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_namemax": 255}


def serve(fs: SnapshotFS, mountpoint: Path, on_ready: Callable[[], None]) -> None:
    """Mount ``fs`` at ``mountpoint`` and answer requests until it is unmounted;
    ``on_ready`` once it is mounted. A mount libfuse refuses raises ``RuntimeError`` (libfuse
    has said why on stderr).

    Once mounted, the end is not an error: libfuse 3 returns 8 from ``fuse_main`` when a
    signal ended its loop (it unmounted all the same), libfuse 2 returns 0."""
    mounted: list[bool] = []

    def ready() -> None:
        mounted.append(True)
        on_ready()

    with _signals_to_libfuse():
        try:
            mfusepy.FUSE(_Operations(fs, ready), str(mountpoint), foreground=True,
                         nothreads=True, ro=True, fsname="snapkit", subtype="snapkit")
        except RuntimeError:
            if not mounted:
                raise


@contextmanager
def _signals_to_libfuse() -> Iterator[None]:
    """Default dispositions for SIGTERM and SIGHUP while mounted (mfusepy does it for SIGINT):
    libfuse installs its own handlers, which unmount, only over the default ones."""
    saved: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            saved[number] = signal.signal(number, signal.SIG_DFL)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
