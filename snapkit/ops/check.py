"""``check``: verify the repository — the index against the packs, every snapshot's trees and
data references and, with ``read_data``, every blob against its id (:mod:`snapkit.maintain.check`).

It only reads, under a shared lock (:func:`snapkit.ops.repo.reading`).
"""

from __future__ import annotations

from dataclasses import dataclass

from snapkit.maintain.check import check_repository
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.repo import Location, reading


@dataclass(frozen=True)
class CheckResult:
    packs: int
    blobs: int
    snapshots: int
    trees: int
    files: int
    bytes_read: int
    errors: tuple[str, ...]
    notes: tuple[str, ...]  # not errors: leftovers of interrupted runs and the like

    @property
    def ok(self) -> bool:
        return not self.errors


def check(location: Location, *, read_data: bool = False, no_lock: bool = False,
          on_event: OnEvent = ignore) -> CheckResult:
    """Check the repository at ``location``; the result lists every error found."""
    with reading(location, no_lock, "check", on_event) as repo:
        r = check_repository(repo, read_data)
    return CheckResult(r.packs, r.blobs, r.snapshots, r.trees, r.files, r.bytes_read,
                       tuple(r.errors), tuple(r.notes))
