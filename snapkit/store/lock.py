"""Repository locks: shared for adding snapshots, exclusive for removing data.

A lock is a small file under ``locks/`` naming host, pid, time and whether it is exclusive.
Adding data never conflicts with adding data (content addressing makes concurrent writers
safe), so ``snap`` takes a shared lock; ``prune`` takes an exclusive one. A lock whose
process is gone (same host, pid not alive) or that is older than a day without refresh is
stale and removed.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from snapkit.errors import IntegrityError, RepositoryLocked
from snapkit.model import decode_lock, encode_lock
from snapkit.store.backend import Backend, NotFound

STALE_AFTER_S = 24 * 3600


def _is_stale(info: dict[str, object]) -> bool:
    if info.get("host") == socket.gethostname():
        pid = info.get("pid")
        if isinstance(pid, int) and not psutil.pid_exists(pid):
            return True
    started = info.get("time")
    return isinstance(started, (int, float)) and time.time() - started > STALE_AFTER_S


@contextmanager
def repository_lock(backend: Backend, exclusive: bool, operation: str) -> Iterator[None]:
    """Hold a lock on the repository for the duration of the block."""
    name = f"{secrets.token_hex(16)}"
    info = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": time.time(),
        "exclusive": exclusive,
        "operation": operation,
    }
    _check_conflicts(backend, exclusive, ignore=None)
    backend.save("locks", name, encode_lock(info))
    try:
        # Re-check after writing ours: two processes racing both see each other's lock.
        _check_conflicts(backend, exclusive, ignore=name)
        yield
    finally:
        backend.remove("locks", name)


def _check_conflicts(backend: Backend, exclusive: bool, ignore: str | None) -> None:
    for other in list(backend.list("locks")):
        if other == ignore:
            continue
        try:
            info = decode_lock(backend.load("locks", other))
        except (NotFound, IntegrityError):
            continue
        if _is_stale(info):
            backend.remove("locks", other)
            continue
        if exclusive or info.get("exclusive"):
            if ignore is not None:
                backend.remove("locks", ignore)
            raise RepositoryLocked(
                f"repository {backend.location} is locked by {info.get('operation', '?')} "
                f"(pid {info.get('pid')} on {info.get('host')}); wait for it to finish, or "
                f"remove {backend.location}/locks/{other} if that process is gone"
            )
