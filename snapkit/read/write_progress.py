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

import io
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol, cast, runtime_checkable

#: ``on_file(path, size)``: a file was written
OnFile = Callable[[str, int], None]

#: A file of at least this many bytes has its bytes counted as they are written (a smaller
#: one is done in a moment: counted when done, at no cost per chunk).
COUNTED_FROM = 4 * 1024 * 1024
#: The bytes of a member written are counted in steps of this many.
PASSED_STEP = 1024 * 1024


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


class HeldMembers:
    """Export's progress inside a big file when each file's content is read back whole
    before its member is written, and that member is written only when the next one is added
    (``tar_sink.Members`` holds the last one back): half a big file's bytes are counted as
    its content is read back (:meth:`reading`), the other half as its member passes to the
    archive (:attr:`sink`, during :meth:`write`); the file goes to ``on_file`` once its
    member is written. With no big file, or no :class:`WriteProgress`, nothing is counted
    and each file goes to ``on_file`` at once (:meth:`done`)."""

    def __init__(self, out: IO[bytes], on_file: OnFile | None, big: bool) -> None:
        self.on_file = on_file
        self.progress = write_progress(on_file) if big else None
        self.sink = out if self.progress is None else cast("IO[bytes]", _Sink(out, self))
        self.writing = False
        #: the big file whose member is held back: name, size, bytes counted of it
        self.held: list[Any] | None = None
        self._read_half = 0  # counted of the big file read back last
        self._passed = 0  # bytes of the held member written, not counted yet

    def reading(self, chunks: Iterator[bytes], size: int, name: str) -> Iterator[bytes]:
        """A file's content as it is read back; a big one's half counted."""
        if self.progress is None or size < COUNTED_FROM:
            return chunks
        return self._reading(chunks, self.progress, name)

    def _reading(self, chunks: Iterator[bytes], progress: WriteProgress,
                 name: str) -> Iterator[bytes]:
        done = 0
        try:
            for chunk in chunks:
                yield chunk
                done += len(chunk) // 2
                progress.wrote(len(chunk) // 2, name)
                progress.tick()
        except BaseException:
            progress.wrote(-done, name)
            raise
        self._read_half = done

    def write(self, add: Callable[..., None], *args: Any) -> None:
        """Call ``add`` (``Members.add``, ``finish``), which writes the member held back: its
        bytes counted as they pass, then the file goes to ``on_file``."""
        held = self.held
        if held is None:
            add(*args)
            return
        self.writing = True
        self._passed = 0
        try:
            add(*args)
        finally:
            self.writing = False
        self.held = None
        assert self.progress is not None
        self.progress.wrote(-held[2], held[0])
        if self.on_file is not None:
            self.on_file(held[0], held[1])

    def done(self, name: str, size: int, held: bool) -> None:
        """A file was added (``held``: its member held back, not written yet)."""
        if held and self.progress is not None and size >= COUNTED_FROM:
            self.held = [name, size, self._read_half]
            self._read_half = 0
        elif self.on_file is not None:
            self.on_file(name, size)

    def passed(self, n: int) -> None:
        """``n`` bytes of the archive were written (by :attr:`sink`): counted in steps of
        :data:`PASSED_STEP` (the archive is written in records of 10 KiB)."""
        held = self.held
        if held is None or self.progress is None:
            return
        self._passed += n
        if self._passed >= PASSED_STEP:
            k = min(self._passed // 2, held[1] - held[2])  # (half: the headers count too)
            self._passed = 0
            if k > 0:
                held[2] += k
                self.progress.wrote(k, held[0])
                self.progress.tick()


class _Sink(io.RawIOBase):
    """The stream an archive is written to, telling :class:`HeldMembers` what passes."""

    def __init__(self, out: IO[bytes], members: HeldMembers) -> None:
        self._out = out
        self._members = members

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = self._out.write(b)
        if self._members.writing:
            self._members.passed(len(b))
        return n
