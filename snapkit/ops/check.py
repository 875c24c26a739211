"""``check``: verify the repository and say what any damage costs
(:mod:`snapkit.maintain.check`): the index against the packs, every snapshot's trees and data
references and, with ``read_data`` (or ``read_data_subset``: ``N%`` or ``n/m`` of the packs),
every blob against its id; for every damaged or missing blob, which files of which snapshots
lose data, and which ``snapkit repair`` command helps.

It only reads, under a shared lock (:func:`snapkit.ops.repo.reading`), except that blobs found
damaged are recorded in the repository at the end, so the next ``snap`` stores them again.
"""

from __future__ import annotations

from snapkit.maintain.check import CheckReport, check_repository, parse_subset
from snapkit.ops.events import Event, OnEvent, RepositoryDamaged, ignore
from snapkit.ops.repo import Location, reading

#: The operation's result (frozen): counts, errors, notes, damaged blobs, affected snapshots.
CheckResult = CheckReport


def check(location: Location, *, read_data: bool = False, read_data_subset: str | None = None,
          no_lock: bool = False, on_event: OnEvent = ignore) -> CheckResult:
    """Check the repository at ``location``; the result lists every error found.
    ``read_data_subset`` (``"10%"``, ``"2/5"``) reads only those packs; a malformed value is a
    :class:`~snapkit.format.errors.UsageError` raised before the repository is opened."""
    subset = parse_subset(read_data_subset) if read_data_subset is not None else None
    checking = [True]

    def forward(event: Event) -> None:
        # What the repository skips as damaged while it is checked is in the report, as an
        # error naming the repair: not said twice. Later warnings (the damage found could
        # not be recorded) still pass.
        if not (checking[0] and isinstance(event, RepositoryDamaged)):
            on_event(event)

    with reading(location, no_lock, "check", forward) as repo:
        repo.backend = repo.backend.uncached()  # what is stored, not a cached copy of it
        report = check_repository(repo, read_data or subset is not None, subset=subset)
        checking[0] = False
    return report
