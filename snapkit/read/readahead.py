"""Read-ahead: the content of the files a restore or an export writes next, read and verified
in worker threads while the caller writes the current one.

The caller names its files up front, in the order it will write them, then takes each one's
chunks in turn with :meth:`ReadAhead.next_file`. ``read_blobs`` (``Repository.read_blobs``:
pack reads, zstd decoding, xxh3 checks — which release the GIL) runs in a small thread pool on
pieces of at most :data:`PIECE_BYTES` plain bytes, several small files' pieces to a task; at
most :data:`AHEAD_BYTES` are read ahead, so memory stays bounded whatever the file sizes.

Each file's chunks come out in order, and an error — damage among them — comes out where the
caller would meet it reading that file alone: when it reaches the piece that failed. The
pieces of a file the caller stopped reading are dropped when it asks for the next one.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from snapkit.read.treewalk import BlobReader

#: At most this many plain bytes (estimated from the file's size) are read in one piece.
PIECE_BYTES = 1024 * 1024
#: Pieces are grouped into tasks of about this many bytes (or :data:`TASK_PIECES` pieces).
TASK_BYTES = 1024 * 1024
TASK_PIECES = 64
#: At most this many plain bytes are read ahead of the caller.
AHEAD_BYTES = 2 * 1024 * 1024

#: A piece's outcome: its chunks, or the error reading them raised.
_Outcome = list[bytes] | Exception


def default_workers() -> int:
    """Reader threads: one per core, two to four."""
    return min(4, max(2, os.cpu_count() or 1))


@dataclass
class _Piece:
    file: int  # index of the file, in the order given
    ids: Sequence[str]
    size: int  # estimated plain bytes
    task: Future[list[_Outcome]] | None = None
    slot: int = 0  # index in the task's outcomes


def _read(read_blobs: BlobReader, pieces: list[Sequence[str]]) -> list[_Outcome]:
    out: list[_Outcome] = []
    for ids in pieces:
        try:
            out.append(list(read_blobs(ids)))
        except Exception as exc:  # raised to the caller when it reaches this piece
            out.append(exc)
    return out


def _pieces(files: Iterable[tuple[Sequence[str], int]]) -> Iterator[_Piece]:
    """Each file's content ids cut into pieces of about :data:`PIECE_BYTES`."""
    for i, (ids, size) in enumerate(files):
        if not ids:
            continue
        per = max(1, PIECE_BYTES * len(ids) // max(size, 1))
        for start in range(0, len(ids), per):
            part = ids[start:start + per] if per < len(ids) else ids
            yield _Piece(i, part, size * len(part) // len(ids))


class ReadAhead:
    """The content of ``files`` (content ids, size), read ahead in ``workers`` threads; use
    as a context manager (leaving it waits for the reads under way and drops the rest)."""

    def __init__(self, read_blobs: BlobReader, files: Iterable[tuple[Sequence[str], int]],
                 workers: int | None = None, ahead_bytes: int = AHEAD_BYTES) -> None:
        self._read_blobs = read_blobs
        self._source = _pieces(files)
        self._next: _Piece | None = next(self._source, None)
        self._pending: deque[_Piece] = deque()
        self._ahead = 0  # estimated bytes of the pending pieces
        self._limit = ahead_bytes
        self._file = -1
        self._pool = ThreadPoolExecutor(workers or default_workers(),
                                        thread_name_prefix="snapkit-read")

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _advance(self) -> None:
        """The next piece to read, past those of files the caller left unread."""
        self._next = next(self._source, None)
        while self._next is not None and self._next.file < self._file:
            self._next = next(self._source, None)

    def _fill(self) -> None:
        """Hand tasks to the pool until :data:`AHEAD_BYTES` are pending (at least one)."""
        while self._next is not None and (self._ahead < self._limit or not self._pending):
            batch: list[_Piece] = []
            size = 0
            while (self._next is not None and size < TASK_BYTES and len(batch) < TASK_PIECES
                   and (not batch or size + self._next.size <= PIECE_BYTES)):
                batch.append(self._next)
                size += self._next.size
                self._advance()
            task = self._pool.submit(_read, self._read_blobs, [p.ids for p in batch])
            for slot, piece in enumerate(batch):
                piece.task, piece.slot = task, slot
            self._pending.extend(batch)
            self._ahead += size

    def next_file(self) -> Iterator[bytes]:
        """The chunks of the next file, in order (verified as ``read_blobs`` verifies them)."""
        self._file += 1
        while self._pending and self._pending[0].file < self._file:  # left unread
            self._ahead -= self._pending.popleft().size
        if self._next is not None and self._next.file < self._file:
            self._advance()
        return self._chunks(self._file)

    def _chunks(self, file: int) -> Iterator[bytes]:
        while True:
            self._fill()
            if not self._pending or self._pending[0].file != file or file != self._file:
                return
            piece = self._pending.popleft()
            self._ahead -= piece.size
            assert piece.task is not None
            outcomes = piece.task.result()
            outcome, outcomes[piece.slot] = outcomes[piece.slot], []
            if isinstance(outcome, Exception):
                raise outcome
            yield from outcome
