"""The progress hook of the sinks that write files (``restore``, ``export``): a big file's
bytes are counted as its chunks are written, so that a live line moves while one file of
gigabytes is written instead of standing still until it is done.

A sink is given ``on_file(path, size)``, called once a file is written. When that callback
is also a :class:`WriteProgress` (the operation's ``FileCounter`` is), a file of at least
:data:`COUNTED_FROM` bytes has its chunks counted as they pass (:func:`counted`): from any
thread, through :meth:`WriteProgress.wrote`; the thread that reports (the sink's own) calls
:meth:`WriteProgress.tick`, which reports when due. What a file counted is taken back when it
ends, written or not: ``on_file`` then counts the written file whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

#: A file of at least this many bytes has its bytes counted as they are written (a smaller
#: one is done in a moment: counted when done, at no cost per chunk).
COUNTED_FROM = 4 * 1024 * 1024


@runtime_checkable
class WriteProgress(Protocol):
    """What a sink tells of the files under way, beside ``on_file``."""

    def wrote(self, n: int, path: str) -> None:
        """``n`` more bytes of the file ``path`` were written (negative: taken back as the
        file ends). Safe from any thread."""

    def tick(self) -> None:
        """A chance to report the bytes under way (in the thread that reports)."""


def write_progress(on_file: object) -> WriteProgress | None:
    """``on_file`` as a :class:`WriteProgress`, or None when it is a plain callback."""
    return on_file if isinstance(on_file, WriteProgress) else None


def counted(chunks: Iterator[bytes], progress: WriteProgress | None, size: int, path: str,
            tick: bool = False) -> Iterator[bytes]:
    """``chunks``, each counted once the consumer asks for the next (it has written it),
    when ``progress`` is given and the file is big; with ``tick`` (the consumer runs in the
    reporting thread) a report is offered after each."""
    if progress is None or size < COUNTED_FROM:
        return chunks
    return _counting(chunks, progress, path, tick)


def _counting(chunks: Iterator[bytes], progress: WriteProgress, path: str,
              tick: bool) -> Iterator[bytes]:
    done = 0
    try:
        for chunk in chunks:
            yield chunk
            done += len(chunk)
            progress.wrote(len(chunk), path)
            if tick:
                progress.tick()
    finally:
        progress.wrote(-done, path)
