"""Restore's files written by worker threads: each file read, checked, written to its temp
name and renamed into place by one worker, several files at once.

The restore (the main thread) walks its plan in order: it creates the directories, resolves
each file's directory descriptor and temp name (:meth:`Writer.prepare`, a copy of the
descriptor for the worker), and hands the files over in batches (:data:`BATCH_FILES` files or
about :data:`BATCH_BYTES` bytes). Each worker streams its batch's content through one
``read_blobs`` call (pack reads, zstd decoding and xxh3 checks release the GIL, as do the
writes) — a big file's pieces read ahead by helper threads while it writes — so memory stays
at a few read windows whatever the file sizes. The outcomes come back in plan order — the
size written, or the error (a damaged file leaves nothing, as :func:`write_job` guarantees) —
with at most :data:`AHEAD_FILES` files under way.

Only a restore that goes on past damage uses it: ``--fail-fast`` writes in plan order in the
main thread (its files read ahead, :mod:`snapkit.read.readahead`), so that nothing after the
first damage is written.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from itertools import islice
from typing import Generic, TypeVar

from snapkit.format.model import Node
from snapkit.read.dirfds import dest_path
from snapkit.read.readahead import ReadAhead, default_workers
from snapkit.read.restore_writer import FileJob, write_job
from snapkit.read.treewalk import BlobReader
from snapkit.read.write_progress import WriteProgress, counted

#: Files handed to a worker at once (a batch: one task, one ``read_blobs`` call). 64 files
#: or 4 MiB instead of 16 or 1 MiB took 10 % off a restore of the stdlib (fewer hand-overs
#: between the threads, each a GIL round trip; benchmarks/README.md).
BATCH_FILES = 64
BATCH_BYTES = 4 * 1024 * 1024


def _ahead_files() -> int:
    """How many files may be under way: each holds a descriptor of its directory (shared by
    the files of one directory), so a third of the descriptor limit at most (macOS's default
    256 allows 85), 384 at most, a batch at least."""
    limit = 1024
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            limit = soft
    except (ImportError, OSError, ValueError):  # (no resource module on Windows)
        pass
    return max(BATCH_FILES, min(384, limit // 3))


AHEAD_FILES = _ahead_files()
#: A file of at least this many bytes (and more than one chunk) is read ahead in pieces by
#: helper threads (:class:`~snapkit.read.readahead.ReadAhead`) while its worker writes: a
#: database of 20 MiB is no longer read, decoded and written by one thread alone.
BIG_FILE = 4 * 1024 * 1024
#: Helper threads reading a big file ahead: one per two cores. More only add hand-overs of
#: the GIL: with two (the reading pool's default) a restore of the fixture's 20 MiB databases
#: (2,500 blobs each) took 0.220 s, with one 0.200 s, and one big file alone 0.155 vs 0.138 s
#: (benchmarks/README.md, session 22); with none, the file's worker reads it itself, slower
#: for a single big file (0.206 s).
BIG_FILE_HELPERS = max(1, default_workers() // 2)
#: While the restore waits for a file being written, it offers a progress report this often.
TICK_S = 0.1
#: The interpreter's switch interval while the workers write (Python's default is 5 ms).
#: Each file costs its worker a handful of system calls, each a release and retake of the
#: GIL; a thread back from one waits until the thread holding the GIL lets go, up to the
#: switch interval: 0.5 ms took 4-6 % off a restore of the stdlib (benchmarks/README.md).
SWITCH_INTERVAL_S = 0.0005

K = TypeVar("K")
#: What writing a file gave: the bytes written, or the error it raised.
Outcome = int | Exception


def _run(read_blobs: BlobReader, batch: list[tuple[FileJob, Node]],
         progress: WriteProgress | None = None) -> list[Outcome]:
    """Write a batch's files in order, their content read by one ``read_blobs`` call (a pack
    read per window of blobs, not per file); after a file that failed, the reading starts
    again at the next file, so an error stays with the file it belongs to. A big file's
    pieces are read ahead by helper threads while this one writes (:data:`BIG_FILE`), and
    counted in ``progress`` as they are written."""
    out: list[Outcome] = []
    chunks = _contents(read_blobs, batch, 0)
    for i, (job, node) in enumerate(batch):
        try:
            if _is_big(node):
                with ReadAhead(read_blobs, [(node.content, node.size)],
                               workers=BIG_FILE_HELPERS) as ahead:
                    out.append(write_job(job, counted(ahead.next_file(), progress, node.size,
                                                      dest_path(job.base, job.parts)), node))
            else:
                out.append(write_job(job, islice(chunks, len(node.content)), node))
        except Exception as exc:  # handed to the restore, in plan order
            out.append(exc)
            chunks = _contents(read_blobs, batch, i + 1)
    return out


def _is_big(node: Node) -> bool:
    return node.size >= BIG_FILE and len(node.content) > 1


def _contents(read_blobs: BlobReader, batch: list[tuple[FileJob, Node]],
              start: int) -> Iterator[bytes]:
    """The chunks of the files of ``batch`` from ``start`` on, one after the other (a big
    file's are read on their own)."""
    return read_blobs([blob for _, node in batch[start:] if not _is_big(node)
                       for blob in node.content])


class ParallelFiles(Generic[K]):
    """Files written by ``workers`` threads; :meth:`add` one (with a key of the caller's),
    take the finished ones in order from :meth:`finished`; use as a context manager."""

    def __init__(self, read_blobs: BlobReader, workers: int | None = None,
                 progress: WriteProgress | None = None) -> None:
        self._read_blobs = read_blobs
        self._progress = progress  # told of big files' bytes, ticked while waiting
        self._pool = ThreadPoolExecutor(workers or default_workers(),
                                        thread_name_prefix="snapkit-restore")
        self._batch: list[tuple[FileJob, Node]] = []
        self._keys: list[K] = []
        self._bytes = 0
        self._running: deque[tuple[list[K], list[FileJob], Future[list[Outcome]]]] = deque()
        self._ahead = 0  # files handed over, not yet taken back
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL_S))

    def __enter__(self) -> ParallelFiles[K]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add(self, key: K, job: FileJob, node: Node) -> bool:
        """Hand a file over; True when that completed a batch (some may have finished)."""
        self._batch.append((job, node))
        self._keys.append(key)
        self._bytes += node.size
        if len(self._batch) >= BATCH_FILES or self._bytes >= BATCH_BYTES:
            self._submit()
            return True
        return False

    def _submit(self) -> None:
        if not self._batch:
            return
        batch, keys = self._batch, self._keys
        self._batch, self._keys, self._bytes = [], [], 0
        self._running.append((keys, [job for job, _ in batch],
                              self._pool.submit(_run, self._read_blobs, batch,
                                                self._progress)))
        self._ahead += len(keys)

    def finished(self, wait: bool = False) -> Iterator[tuple[K, Outcome]]:
        """The outcomes of the files done, in the order added: those ready (waiting while
        more than :data:`AHEAD_FILES` are under way), or with ``wait`` all of them."""
        if wait:
            self._submit()
        while self._running and (wait or self._ahead > AHEAD_FILES
                                 or self._running[0][2].done()):
            keys, _, task = self._running.popleft()
            self._ahead -= len(keys)
            if self._progress is not None:
                while not wait_for([task], timeout=TICK_S).done:  # a big file: its bytes shown
                    self._progress.tick()
            yield from zip(keys, task.result(), strict=True)

    def close(self) -> None:
        """Drop what was not started (closing its descriptors) and wait for the rest."""
        jobs = [job for job, _ in self._batch]
        self._batch, self._keys = [], []
        while self._running:
            _, batch_jobs, task = self._running.popleft()
            if task.cancel():
                jobs += batch_jobs
        self._pool.shutdown(wait=True)
        sys.setswitchinterval(self._switch)
        for job in jobs:
            if job.shared is not None:
                job.shared.release()
