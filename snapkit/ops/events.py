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

import threading
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
    """No repository was at the location, so an empty one was created there (plain, as the
    default is where one is made by itself: ``encrypted`` says what it is)."""

    location: str
    encrypted: bool = False


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
    #: what the run will write in all (known once planned), else None
    total_files: int | None = None
    total_bytes: int | None = None


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


class FileCounter:
    """An ``on_file(path, size)`` callback for a sink (restore, export): it keeps the running
    totals and reports them as :class:`FileWritten` events, at most once per ``interval``;
    :meth:`planned` gives the totals the run will reach, when the sink knows them.

    It is also the sink's :class:`~snapkit.read.write_progress.WriteProgress`: the bytes of
    big files under way (:meth:`wrote`, from any thread) count in the bytes reported, which
    :meth:`tick` reports when due, so a file of gigabytes shows its progress. The bytes
    reported never go back (a file's counted bytes are taken back just before it is counted
    whole)."""

    def __init__(self, on_event: OnEvent, interval: float) -> None:
        self._on_event = on_event
        self._throttle = Throttle(interval)
        self.files = self.bytes = 0
        self._planned: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._under_way = 0  # bytes written of the big files not done yet
        self._path = ""  # the file last reported or under way
        self._shown = 0

    def planned(self, files: int, size: int) -> None:
        self._planned = (files, size)

    def __call__(self, path: str, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self._throttle.due():
            self._report(path, size)

    def wrote(self, n: int, path: str) -> None:
        with self._lock:
            self._under_way += n
            self._path = path

    def tick(self) -> None:
        if self._under_way > 0 and self._throttle.due():
            self._report(self._path, 0)

    def _report(self, path: str, size: int) -> None:
        self._shown = max(self._shown, self.bytes + self._under_way)
        total_files, total_bytes = self._planned or (None, None)
        self._on_event(FileWritten(path, size, self.files, self._shown, total_files,
                                   total_bytes))


def file_counter(on_event: OnEvent, interval: float) -> FileCounter:
    """A :class:`FileCounter` reporting to ``on_event``."""
    return FileCounter(on_event, interval)
