"""The snapshot builder's running counts, the manifest summary made from them, and the live
counters the progress display reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snapkit.format.model import Summary

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver


@dataclass
class Progress:
    """Live counters of a running snapshot, read by the progress display."""

    files: int = 0
    dirs: int = 0
    bytes_seen: int = 0
    bytes_read: int = 0
    current: str = ""
    started: float = field(default_factory=time.monotonic)
    #: of the file being read, when it is big (:data:`READ_SHOWN_FROM`), what is not read
    #: yet: ``bytes_seen`` counts a file whole as it is reached, :attr:`bytes_done` does not,
    #: so a big file's progress shows
    unread: int = 0

    @property
    def bytes_done(self) -> int:
        """The bytes seen, less what the big file being read still holds."""
        return self.bytes_seen - self.unread

    def reading(self, size: int) -> None:
        """A file of ``size`` bytes is about to be read."""
        self.unread = size if size >= READ_SHOWN_FROM else 0


#: A file of at least this many bytes has its progress shown as it is read (a smaller one:
#: when done, with no cost per piece read).
READ_SHOWN_FROM = 1 << 20


@dataclass
class Counts:
    """What the builder has seen so far (files new, changed or reused, bytes read)."""

    new: int = 0
    changed: int = 0
    unmodified: int = 0
    dirs: int = 0
    symlinks: int = 0
    total_bytes: int = 0
    bytes_read: int = 0
    excluded: int = 0

    def summary(self, saver: BlobSaver, started: int) -> Summary:
        """The manifest's summary: these counts and what ``saver`` added."""
        c = self  # (short name: one line per field below)
        return Summary(
            files_new=c.new,
            files_changed=c.changed,
            files_unmodified=c.unmodified,
            dirs=c.dirs,
            symlinks=c.symlinks,
            total_files=c.new + c.changed + c.unmodified,
            total_bytes=c.total_bytes,
            bytes_read=c.bytes_read,
            blobs_added=saver.blobs_added,
            bytes_added_raw=saver.bytes_added_raw,
            bytes_added_stored=saver.bytes_added_stored,
            excluded_entries=c.excluded,
            duration_s=round((time.time_ns() - started) / 1e9, 3),
        )
