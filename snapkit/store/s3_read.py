"""Read-ahead for the S3 backend: a pack read front to back is fetched in aligned blocks, the
blocks ahead of the reader in background threads, and kept in a small cache bounded in bytes.

A restore reads each pack in order, a file (a few ranges) at a time: one ranged GET per file
costs a request's latency for a few kilobytes. :class:`PackReader` serves each span asked:

* from cached blocks of :data:`BLOCK` bytes when they hold it (or are being fetched: then it
  waits for that fetch instead of sending its own);
* when the span continues a read (it starts in or right after a cached block, or within
  :data:`GAP` after the end of the last span read alone), by fetching the blocks it lacks in
  one request, and then up to :data:`MAX_AHEAD` blocks after it in the background — as many
  as the blocks read in a row just before it, so the read-ahead grows while the reading goes
  on in order and stays small for a short run;
* otherwise (a blob here and there, a tree) by fetching the span alone, as before.

Blocks are aligned, so two threads reading one pack never fetch the same bytes twice. Packs
are content-addressed and never change, so a cached block is never stale;
:meth:`PackReader.forget` drops a pack's blocks anyway when it is written or removed. A failed
fetch is dropped from the cache and raised to every caller that waited for it (a read-ahead
nobody waited for fails silently: the caller's own fetch then raises the error).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

BLOCK = 1024 * 1024
#: A span starting this close after the end of the last span read alone continues it.
GAP = 256 * 1024
#: Blocks read ahead of a reader at most.
MAX_AHEAD = 8
#: Bytes of blocks kept (blocks still being fetched are never dropped).
CACHE_BYTES = 32 * 1024 * 1024
#: Background fetches (read-ahead, and the other spans of one call).
WORKERS = 4

#: ``fetch(pack, offset, length)``: the bytes (short at the end of the object) and the
#: object's size when the response says it (else None).
Fetch = Callable[[str, int, int], tuple[bytes, int | None]]


class _Job:
    """One request: ``count`` blocks from block ``first``, or (``first`` None) a span alone of
    ``count`` bytes from ``offset``; a future per block (one for a span)."""

    __slots__ = ("count", "first", "futures", "offset", "pack")

    def __init__(self, pack: str, first: int | None, offset: int, count: int) -> None:
        self.pack, self.first, self.offset, self.count = pack, first, offset, count
        self.futures: list[Future[bytes]] = [Future()]


class PackReader:
    """Spans of packs through a cache of aligned blocks, fetched by ``fetch`` (thread-safe)."""

    def __init__(self, fetch: Fetch, cache_bytes: int = CACHE_BYTES) -> None:
        self._fetch = fetch
        self._limit = max(MAX_AHEAD + 1, cache_bytes // BLOCK)
        self._lock = threading.Lock()
        self._blocks: OrderedDict[tuple[str, int], Future[bytes]] = OrderedDict()  # LRU
        self._ends: dict[str, deque[int]] = {}  # ends of the last spans read alone
        self._sizes: dict[str, int] = {}  # object sizes seen in responses
        self._pool: ThreadPoolExecutor | None = None

    def read(self, pack: str, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``(start, end)`` span of ``pack``, in the order given; what is
        not cached is fetched together (all but the first request in background threads)."""
        plans: list[tuple[int, int, list[Future[bytes]]]] = []  # (offset, end, futures)
        jobs: list[_Job] = []
        ahead: list[_Job] = []
        with self._lock:
            for start, end in spans:
                first, last = start // BLOCK, (end - 1) // BLOCK
                if self._continues(pack, start, first):
                    jobs += self._missing(pack, first, last + 1)
                    plans.append((first * BLOCK, end, [self._blocks[pack, b]
                                                       for b in range(first, last + 1)]))
                    ahead += self._ahead(pack, first, last)
                else:
                    jobs.append(_Job(pack, None, start, end - start))
                    self._ends.setdefault(pack, deque(maxlen=4)).append(end)
                    plans.append((start, end, jobs[-1].futures))
            self._evict()
        for job in jobs[1:] + ahead:
            self._submit(job)
        if jobs:
            self._run(jobs[0])
        out = []
        for (offset, end), (base, _, futures) in zip(spans, plans, strict=True):
            parts = [f.result() for f in futures]
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            out.append(data[offset - base:end - base])
        return out

    def read_alone(self, pack: str, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``(start, end)`` span of ``pack``, one request per span (all but
        the first in background threads), past the cache and without read-ahead: for spans
        known to be wanted and nothing around them (the trees of a pack)."""
        jobs = [_Job(pack, None, start, end - start) for start, end in spans]
        for job in jobs[1:]:
            self._submit(job)
        if jobs:
            self._run(jobs[0])
        return [job.futures[0].result() for job in jobs]

    def forget(self, pack: str) -> None:
        """Drop the blocks of ``pack`` (written again or removed)."""
        with self._lock:
            for key in [k for k in self._blocks if k[0] == pack]:
                del self._blocks[key]
            self._ends.pop(pack, None)
            self._sizes.pop(pack, None)

    # ------------------------------------------------------------------ under the lock

    def _continues(self, pack: str, start: int, first: int) -> bool:
        """Whether a span from ``start`` continues a read of ``pack``."""
        if (pack, first) in self._blocks or (first and (pack, first - 1) in self._blocks):
            return True
        return any(e <= start <= e + GAP for e in self._ends.get(pack, ()))

    def _missing(self, pack: str, first: int, stop: int) -> list[_Job]:
        """Jobs fetching the blocks of ``[first, stop)`` not cached, one per run of them."""
        jobs: list[_Job] = []
        for b in range(first, stop):
            if (pack, b) in self._blocks:
                self._blocks.move_to_end((pack, b))
                continue
            if jobs and jobs[-1].offset + jobs[-1].count * BLOCK == b * BLOCK:
                jobs[-1].count += 1
                jobs[-1].futures.append(Future())
            else:
                jobs.append(_Job(pack, b, b * BLOCK, 1))
            self._blocks[pack, b] = jobs[-1].futures[-1]
        return jobs

    def _ahead(self, pack: str, first: int, last: int) -> list[_Job]:
        """The read-ahead after block ``last``: as many blocks as were read in a row up to
        ``first`` (at least one, at most :data:`MAX_AHEAD`), when half of them are missing."""
        streak = 1
        while streak < MAX_AHEAD and (pack, first - streak) in self._blocks:
            streak += 1
        stop = last + 1 + streak
        size = self._sizes.get(pack)
        if size is not None:
            stop = min(stop, -(-size // BLOCK))
        missing = sum((pack, b) not in self._blocks for b in range(last + 1, stop))
        return self._missing(pack, last + 1, stop) if missing * 2 >= streak else []

    def _evict(self) -> None:
        while len(self._blocks) > self._limit:
            oldest = next((k for k, f in self._blocks.items() if f.done()), None)
            if oldest is None:
                return
            del self._blocks[oldest]

    # ------------------------------------------------------------------ fetching

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="snapkit-s3-read")
            pool = self._pool
        pool.submit(self._run, job)

    def _run(self, job: _Job) -> None:
        length = job.count if job.first is None else job.count * BLOCK
        try:
            data, size = self._fetch(job.pack, job.offset, length)
        except BaseException as exc:
            if job.first is not None:
                with self._lock:
                    for b in range(job.first, job.first + job.count):
                        self._blocks.pop((job.pack, b), None)
            for future in job.futures:
                future.set_exception(exc)
            return
        if len(data) < length:  # the end of the pack
            size = job.offset + len(data)
        if size is not None:
            with self._lock:
                self._sizes[job.pack] = size
        if job.first is None:
            job.futures[0].set_result(data)
            return
        for i, future in enumerate(job.futures):
            future.set_result(data[i * BLOCK:(i + 1) * BLOCK])
