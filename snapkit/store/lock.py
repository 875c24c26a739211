"""Repository locks: shared for adding snapshots and for reading, exclusive for removing data.

A lock is a small file under ``locks/`` naming host, pid (and the process's start time),
when it was taken, when it was last refreshed, and whether it is exclusive. Adding data never
conflicts with adding data (content addressing makes concurrent writers safe), so ``snap``,
``import`` and every reader (``restore``, ``export``, ``diff``, ``ls``, ``cat``, ``find``,
``show``, ``check``) take a shared lock; ``forget`` and ``prune`` take an exclusive one, so
they never delete a pack a reader is reading.

While held, a lock is refreshed every :data:`REFRESH_S` seconds by a background thread (as
restic does). Stale, and removed by the next locker, is only a lock whose holder is certainly
gone: on this host, a pid that no longer runs (or now runs another process — its start time
differs); on another host, where processes cannot be seen, a lock not refreshed for
:data:`STALE_AFTER_S`. A live holder on this host is never stale, however old its lock.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from snapkit.format.errors import (
    IntegrityError,
    RepositoryLocked,
    RepositoryReadOnly,
    SnapkitError,
)
from snapkit.format.host import host_name
from snapkit.format.model import decode_lock, encode_lock
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import PLAIN, Cipher

#: How often a held lock is rewritten with a new ``refreshed`` time.
REFRESH_S = 300.0
#: A lock of another host not refreshed for this long is stale (six missed refreshes).
STALE_AFTER_S = 1800.0


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), as psutil's ``create_time``."""
    linux = _linux_start_time(pid)
    if linux is not None:
        return linux
    import psutil  # here, not at the top: listing snapshots takes no lock and skips its import

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _linux_start_time(pid: int) -> float | None:
    """psutil's computation on Linux (boot time + the start tick of ``/proc/PID/stat``),
    without importing psutil (taking a lock records this process's); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            boot = next(line for line in f if line.startswith(b"btime "))
        ticks = int(stat[stat.rindex(b")") + 2:].split()[19])  # field 22, starttime
        return float(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _is_stale(info: dict[str, object], now: float | None = None) -> bool:
    now = time.time() if now is None else now
    if info.get("host") == host_name():
        pid = info.get("pid")
        if isinstance(pid, int):
            import psutil

            if not psutil.pid_exists(pid):
                return True
            recorded = info.get("pid_start")
            actual = _start_time(pid)
            # The pid was reused by another process since the lock was taken.
            return (isinstance(recorded, (int, float)) and actual is not None
                    and abs(actual - recorded) > 1.0)
    last = info.get("refreshed", info.get("time"))
    return isinstance(last, (int, float)) and now - last > STALE_AFTER_S


class _Refresher:
    """Rewrites a held lock every :data:`REFRESH_S` seconds until stopped."""

    def __init__(self, backend: Backend, name: str, info: dict[str, Any],
                 cipher: Cipher) -> None:
        self.backend, self.name, self.info, self.cipher = backend, name, info, cipher
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="snapkit-lock-refresh",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(REFRESH_S):
            self.info["refreshed"] = time.time()
            # A failed refresh is retried at the next tick; the lock stays valid for
            # STALE_AFTER_S since the last good one.
            with suppress(Exception):
                self.backend.save("locks", self.name, _encoded(self.cipher, self.info))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


#: What writing a lock file fails with where the repository cannot be written (a read-only
#: mount; no permission): reading commands then go on without a lock, writing ones stop.
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def repository_lock(backend: Backend, exclusive: bool, operation: str,
                    cipher: Cipher = PLAIN) -> Iterator[None]:
    """Hold a lock on the repository for the duration of the block (lock files sealed with
    ``cipher`` in an encrypted repository)."""
    name = os.urandom(16).hex()
    now = time.time()
    info: dict[str, Any] = {
        "host": host_name(),
        "pid": os.getpid(),
        "pid_start": _start_time(os.getpid()),
        "time": now,
        "refreshed": now,
        "exclusive": exclusive,
        "operation": operation,
    }
    _check_conflicts(backend, exclusive, None, cipher)
    try:
        backend.save("locks", name, _encoded(cipher, info))
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise
        reason = exc.strerror or str(exc)
        raise RepositoryReadOnly(
            f"cannot write to the repository {backend.location} ({reason.lower()}), and "
            f"{operation} must write to it (its lock, if nothing else): make it writable "
            "(remount it read-write, fix its permissions) or use another repository",
            reason) from None
    refresher: _Refresher | None = None
    try:
        # Re-check after writing ours: two processes racing both see each other's lock.
        _check_conflicts(backend, exclusive, name, cipher)
        refresher = _Refresher(backend, name, info, cipher)
        yield
    finally:
        if refresher is not None:
            refresher.stop()
        backend.remove("locks", name)


def _encoded(cipher: Cipher, info: dict[str, Any]) -> bytes:
    return cipher.seal(encode_lock(info), "lock")


def _decoded(cipher: Cipher, backend: Backend, name: str) -> dict[str, Any]:
    """A lock file's record; IntegrityError when it does not decode (or open)."""
    return decode_lock(cipher.open(backend.load("locks", name), "lock", f"lock {name}"))


def _check_conflicts(backend: Backend, exclusive: bool, ignore: str | None,
                     cipher: Cipher) -> None:
    for other in list(backend.list("locks")):
        if other == ignore:
            continue
        try:
            info = _decoded(cipher, backend, other)
        except NotFound:
            continue
        except IntegrityError:
            # Lock files are written whole (temp + rename, or one PutObject): one that does not
            # decode was damaged at rest, and locks no one. Removed like a stale lock.
            _remove_quietly(backend, other)
            continue
        if _is_stale(info):
            backend.remove("locks", other)
            continue
        if exclusive or info.get("exclusive"):
            if ignore is not None:
                backend.remove("locks", ignore)
            raise RepositoryLocked(
                f"repository {backend.location} is locked by {info.get('operation', '?')} "
                f"(pid {info.get('pid')} on {info.get('host')}); wait for it to finish, or, "
                f"if that process is gone, run `snapkit unlock --all --repo {backend.location}` "
                f"or remove {backend.location}/locks/{other}"
            )


def _remove_quietly(backend: Backend, name: str) -> None:
    with suppress(OSError, NotFound, SnapkitError):  # read-only: it stays, ignored
        backend.remove("locks", name)


def other_holders(backend: Backend, cipher: Cipher = PLAIN) -> list[dict[str, Any]]:
    """The locks of the repository that this process does not hold and that are not stale:
    what may be writing (or reading) besides us right now."""
    here = (host_name(), os.getpid())
    found: list[dict[str, Any]] = []
    for name in list(backend.list("locks")):
        try:
            info = _decoded(cipher, backend, name)
        except (NotFound, IntegrityError):
            continue
        if (info.get("host"), info.get("pid")) == here or _is_stale(info):
            continue
        found.append(info)
    return found


@dataclass(frozen=True)
class LockInfo:
    """One lock file, as ``snapkit unlock`` reports it (``damaged``: it did not decode)."""

    name: str
    host: str = ""
    pid: int | None = None
    operation: str = ""
    time: float | None = None
    exclusive: bool = False
    damaged: bool = False


def unlock(backend: Backend, remove_all: bool = False,
           cipher: Cipher = PLAIN) -> tuple[list[LockInfo], list[LockInfo]]:
    """Remove the stale locks (a holder certainly gone, or a lock file that does not decode),
    or with ``remove_all`` every lock; the locks removed and those kept (live holders)."""
    removed: list[LockInfo] = []
    kept: list[LockInfo] = []
    for name in sorted(backend.list("locks")):
        try:
            info = _decoded(cipher, backend, name)
        except NotFound:
            continue
        except IntegrityError:
            _remove_quietly(backend, name)
            removed.append(LockInfo(name, damaged=True))
            continue
        pid, when = info.get("pid"), info.get("time")
        found = LockInfo(name, str(info.get("host", "")), pid if isinstance(pid, int) else None,
                         str(info.get("operation", "")),
                         float(when) if isinstance(when, (int, float)) else None,
                         bool(info.get("exclusive")))
        if remove_all or _is_stale(info):
            backend.remove("locks", name)
            removed.append(found)
        else:
            kept.append(found)
    return removed, kept
