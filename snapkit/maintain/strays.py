"""Files no index lists: packs and ``.tmp-*`` files that interrupted or failed writes left.

:mod:`snapkit.maintain.prune` removes them; while another process holds a lock, only those older
than
its grace period (see there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from snapkit.store.backend import Backend, NotFound


@dataclass(frozen=True)
class StrayFile:
    """A file no index lists: a pack (``name`` is its id) or a temp file (repo-relative)."""

    name: str
    size: int
    age_s: float | None  # None when the backend cannot tell


def find_strays(
    backend: Backend, unlisted: list[str], grace: float
) -> tuple[list[StrayFile], list[StrayFile], list[StrayFile]]:
    """Packs no index lists, split into old enough to remove and recent; and old temp files."""
    unindexed: list[StrayFile] = []
    recent: list[StrayFile] = []
    for pack in unlisted:
        stray = StrayFile(pack, backend.size("packs", pack), pack_age(backend, pack))
        old = grace == 0.0 or (stray.age_s is not None and stray.age_s >= grace)
        (unindexed if old else recent).append(stray)
    temps = [t for t in temp_files(backend)
             if grace == 0.0 or (t.age_s is not None and t.age_s >= grace)]
    return unindexed, recent, temps


def pack_age(backend: Backend, pack: str) -> float | None:
    """Seconds since the pack was written (by the backend's clock); None when unknown."""
    try:
        written = backend.modified("packs", pack)
    except (NotFound, OSError):
        return None
    return None if written is None else max(0.0, time.time() - written)


def temp_files(backend: Backend) -> list[StrayFile]:
    """Temp files of interrupted writes anywhere in the repository (an object store's writes
    are atomic and leave none)."""
    now = time.time()
    return [StrayFile(t.name, t.size, max(0.0, now - t.modified)) for t in backend.temp_files()]
