"""The directories ``snapkit mount`` shows above the snapshots, laid out as ``restic mount``
lays them out (restic ``internal/fuse/snapshots_dirstruct.go``, its default path templates).

- ``ids/<short id>/`` — every snapshot by the first 8 characters of its id;
- ``snapshots/<time>/`` — by its time, plus ``snapshots/latest``, a link to the newest;
- ``hosts/<host>/<time>/`` and ``tags/<tag>/<time>/``, each with its own ``latest`` link.

A time is the snapshot's local time to the second, as ``snapkit snapshots`` shows it, with a
``T``: ``2026-11-20T14:45:00``. Two snapshots that would get the same name are told apart as
restic does, the later one by ``-1``, ``-2``... A host or tag is made a file name by an
escaping that keeps every two of them apart (restic's ``_`` for ``/`` would merge ``a/b`` with
``a_b``): ``%`` becomes ``%25``, ``/`` ``%2F``, NUL ``%00``; the names ``.`` and ``..`` become
``%2E`` and ``%2E%2E``, an empty one ``%``.

:func:`layout` is a pure function of the snapshot list (oldest first, so ``latest`` is the
one ``latest`` selects everywhere else); each snapshot's own files are below its entry.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from snapkit.format.model import Snapshot

Parts = tuple[str, ...]
PlaceKind = Literal["dir", "snapshot", "link"]

#: The directories at the top, always there (empty in an empty repository).
TOP = ("hosts", "ids", "snapshots", "tags")
LATEST = "latest"


@dataclass(frozen=True)
class Place:
    """One entry above the snapshots' own files: a directory of the layout, the root of one
    snapshot, or a ``latest`` link (``target``: the name of the snapshot beside it)."""

    kind: PlaceKind
    time_ns: int  # the mtime shown: the snapshot's time, a directory's newest snapshot's
    snapshot_id: str = ""
    target: str = ""


@dataclass(frozen=True)
class Layout:
    """Every place by its path, and each directory's entries in order."""

    places: Mapping[Parts, Place]
    children: Mapping[Parts, tuple[str, ...]]


def time_name(time_ns: int) -> str:
    """A snapshot's directory name: its local time, ``2026-11-20T14:45:00``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time_ns // 1_000_000_000))


#: The names a host or tag cannot have as they are.
_SPECIAL = {"": "%", ".": "%2E", "..": "%2E%2E"}


def file_name(text: str) -> str:
    """A host or tag as a file name: the same text as far as it can be, and never the name of
    another (``%`` escapes, undone by reading ``%XX`` as a byte)."""
    special = _SPECIAL.get(text)
    if special is not None:
        return special
    return text.replace("%", "%25").replace("/", "%2F").replace("\0", "%00")


def layout(snapshots: Sequence[tuple[str, Snapshot]]) -> Layout:
    """The places of ``snapshots`` (oldest first)."""
    places: dict[Parts, Place] = {(): Place("dir", 0)}
    children: dict[Parts, list[str]] = {(): []}

    def add(path: Parts, place: Place) -> None:
        for i in range(1, len(path)):  # the directories leading to it
            here = path[:i]
            if here in places:
                places[here] = Place("dir", max(places[here].time_ns, place.time_ns))
                continue
            children[here[:-1]].append(here[-1])
            children[here] = []
            places[here] = Place("dir", place.time_ns)
        if path not in places:
            children[path[:-1]].append(path[-1])
            if place.kind == "dir":
                children[path] = []
        places[path] = place

    for top in TOP:
        add((top,), Place("dir", 0))
    for sid, snap in snapshots:
        place = Place("snapshot", snap.time_ns, sid)
        add(_unique(places, ("ids",), sid[:8]), place)
        for base in (("snapshots",), ("hosts", file_name(snap.hostname)),
                     *(("tags", file_name(tag)) for tag in dict.fromkeys(snap.tags))):
            path = _unique(places, base, time_name(snap.time_ns))
            add(path, place)
            add((*base, LATEST), Place("link", snap.time_ns, sid, path[-1]))
    places[()] = Place("dir", max(p.time_ns for p in places.values()))
    return Layout(places, {path: tuple(sorted(names)) for path, names in children.items()})


def _unique(places: Mapping[Parts, Place], base: Parts, name: str) -> Parts:
    """``base/name``, or ``base/name-1``, ``-2``... when that is taken (restic's
    ``uniqueName``)."""
    candidate, n = name, 0
    while (*base, candidate) in places:
        n += 1
        candidate = f"{name}-{n}"
    return (*base, candidate)


def snapshot_at(lay: Layout, parts: Parts) -> tuple[Place, Parts] | None:
    """The snapshot whose root is at the start of ``parts`` and the path below it, or None
    when ``parts`` is not inside a snapshot."""
    for i in range(1, len(parts) + 1):
        place = lay.places.get(parts[:i])
        if place is None:
            return None
        if place.kind == "snapshot":
            return place, parts[i:]
    return None
