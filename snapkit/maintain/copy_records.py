"""The records of a ``copy`` run (:mod:`snapkit.maintain.copy`): what it reports per snapshot,
its progress and what it sent, and the working state of one snapshot's copy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from snapkit.format.model import BlobEntry, Snapshot

Pair = tuple[str, Snapshot]


@dataclass(frozen=True)
class SnapshotCopied:
    """A snapshot whose manifest is now in the destination (with ``dry_run``: would be), and
    the new blobs and plain bytes its copy needed (those an earlier one sent not counted).
    ``destination_id`` is its id there: the same unless the copy re-keyed it."""

    snapshot_id: str
    snapshot: Snapshot
    blobs: int
    bytes: int
    destination_id: str = ""

    @property
    def new_id(self) -> str:
        """The snapshot's id in the destination."""
        return self.destination_id or self.snapshot_id


@dataclass(frozen=True)
class SnapshotDamaged:
    """A snapshot not copied: data it needs cannot be read from the source (``reason``);
    ``snapshot`` is None when its manifest itself cannot be read."""

    snapshot_id: str
    snapshot: Snapshot | None
    reason: str


@dataclass(frozen=True)
class CopyProgress:
    """The data of snapshot ``number`` of ``count`` being copied: blobs and plain bytes done
    of those it needs."""

    snapshot_id: str
    number: int
    count: int
    blobs: int
    blobs_total: int
    bytes: int
    bytes_total: int


@dataclass(frozen=True)
class Sent:
    """What the run added to the destination (with ``dry_run``: would add; stored bytes are
    then the source's)."""

    blobs: int = 0
    bytes_raw: int = 0
    bytes_stored: int = 0
    #: of those, the blobs (plain bytes) only snapshots not copied reach: ``prune`` frees them
    unused_blobs: int = 0
    unused_bytes: int = 0


class CopyStopped(Exception):
    """The run stopped at a safe point because :attr:`Hooks.stopping` said so (Ctrl-C or
    SIGTERM, deferred by the caller): the snapshots whose data was complete are committed."""


def _never() -> bool:
    return False


@dataclass
class Hooks:
    """Where a run reports: each snapshot done, and paced progress; ``stopping``: asked at
    safe points (between blobs and tree levels), True to stop there (:class:`CopyStopped`)."""

    on_done: Callable[[SnapshotCopied | SnapshotDamaged], None]
    on_progress: Callable[[CopyProgress], None]
    progress_due: Callable[[], bool]
    stopping: Callable[[], bool] = _never


@dataclass
class Work:
    """One snapshot's share of the run: the data blobs it must send (with their entries in
    the source's index), the trees it walked, what it counted, and the first damage found.
    Ids in ``saved`` and ``reused`` are the destination's."""

    data: list[tuple[str, BlobEntry | None]] = field(default_factory=list)
    trees: list[str] = field(default_factory=list)
    #: the blobs it sent (id, plain bytes); those an earlier, damaged one sent that it reaches
    saved: list[tuple[str, int]] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    blobs: int = 0
    bytes: int = 0
    damage: str | None = None
