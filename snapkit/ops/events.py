"""What an operation reports while it runs: small frozen events, and the throttle that paces
the frequent ones.

An operation takes an ``on_event`` callback (:data:`OnEvent`) and calls it with an
:class:`Event` as things happen: a repository created, a lock that could not be taken, a file
written, the plan of a prune before it is carried out. Progress events (:class:`FileWritten`,
:class:`Step`, ``snap``'s ``SnapProgress``) come at most once per the operation's progress
interval (:class:`Throttle`); the others always come. The events several operations share are
here; one operation's own events are defined in its module. None of them carries behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """Base of everything an operation reports."""


OnEvent = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The default ``on_event``: report nothing."""


@dataclass(frozen=True)
class RepositoryCreated(Event):
    """No repository was at the location, so an empty one was created there."""

    location: str


@dataclass(frozen=True)
class ReadingUnlocked(Event):
    """The shared lock could not be written (read-only media, no permission): the operation
    reads without one."""

    reason: str


@dataclass(frozen=True)
class RepositoryDamaged(Event):
    """Something stored was found damaged and skipped (an index file, a snapshot manifest),
    or damage found could not be recorded: one line naming it and the repair."""

    message: str


@dataclass(frozen=True)
class FileWritten(Event):
    """A file was restored or added to an archive; ``files``/``bytes`` are running totals."""

    path: str
    size: int
    files: int
    bytes: int


@dataclass(frozen=True)
class Step(Event):
    """A step of a long maintenance operation (``prune``: ``phase`` plan or execute)."""

    phase: str
    message: str


class Throttle:
    """Lets an event through at most once per ``interval`` seconds (the first at once)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: float | None = None

    def due(self) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True


def file_counter(on_event: OnEvent, interval: float) -> Callable[[str, int], None]:
    """An ``on_file(path, size)`` callback for a sink (restore, export): it keeps the running
    totals and reports them as :class:`FileWritten` events, at most once per ``interval``."""
    throttle = Throttle(interval)
    files = total = 0

    def on_file(path: str, size: int) -> None:
        nonlocal files, total
        files += 1
        total += size
        if throttle.due():
            on_event(FileWritten(path, size, files, total))

    return on_file
