"""Reading blobs ahead from a remote backend, for readers that know what they will ask next.

A walk over a snapshot's trees (the builder comparing with the parent snapshot, a restore, a
diff) reads one tree at a time, and on S3 each is a request: a round trip per directory. A
reader that has just decoded a tree knows its subdirectories' tree ids, so it calls
:meth:`Prefetcher.want` with them; the blobs are fetched in the background, one
``load_ranges`` per pack, and :meth:`Prefetcher.take` hands the stored bytes to
``Repository.load_blob``, which verifies them exactly as bytes it read itself. A fetch that
fails, or a blob taken before it was asked for, is simply read again the usual way (its error,
if any, reported there). Local repositories read ahead nothing: the page cache does it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from snapkit.format.model import BlobEntry
from snapkit.store.backend import Backend

#: At most this many blobs asked for and not yet taken (a walk that skips a subtree never
#: takes its blobs: the oldest are dropped).
LIMIT = 4096
#: Fetches under way at once (each one ``load_ranges`` of one pack).
WORKERS = 4

Where = tuple[str, int, int]  # pack, offset, length: the copy a blob was fetched from


class Prefetcher:
    """Blobs fetched ahead, by id (see the module docstring)."""

    def __init__(self, backend: Backend, entry: Callable[[str], BlobEntry | None]) -> None:
        self._backend = backend
        self._entry = entry
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="snapkit-prefetch")
        self._lock = threading.Lock()
        #: blob id -> (where it is fetched from, the fetch of its pack's ranges)
        self._wanted: dict[str, tuple[Where, Future[dict[Where, bytes]]]] = {}

    def want(self, blob_ids: Iterable[str]) -> None:
        """Start fetching ``blob_ids`` (those not already wanted, and known to the index)."""
        by_pack: dict[str, list[tuple[str, Where]]] = {}
        with self._lock:
            for blob_id in blob_ids:
                if blob_id in self._wanted:
                    continue
                e = self._entry(blob_id)
                if e is not None:
                    by_pack.setdefault(e.pack, []).append((blob_id, (e.pack, e.offset, e.length)))
            for pack, items in by_pack.items():
                ranges = sorted({(off, n) for _, (_, off, n) in items})
                future = self._pool.submit(self._fetch, pack, ranges)
                for blob_id, where in items:
                    self._wanted[blob_id] = (where, future)
            while len(self._wanted) > LIMIT:  # the oldest first: dicts keep insertion order
                del self._wanted[next(iter(self._wanted))]

    def _fetch(self, pack: str, ranges: list[tuple[int, int]]) -> dict[Where, bytes]:
        data = self._backend.load_ranges("packs", pack, ranges)
        return {(pack, off, n): d for (off, n), d in zip(ranges, data, strict=True)}

    def take(self, blob_id: str, entry: BlobEntry) -> bytes | None:
        """The stored bytes of ``blob_id`` at ``entry`` if they were fetched ahead (waiting for
        a fetch under way), else None: the caller reads it itself."""
        with self._lock:
            wanted = self._wanted.pop(blob_id, None)
        if wanted is None:
            return None
        where, future = wanted
        if where != (entry.pack, entry.offset, entry.length):
            return None  # the index now prefers another copy (damage was found)
        try:
            return future.result().get(where)
        except Exception:  # read again the usual way, which reports it
            return None

    def close(self) -> None:
        """Stop: fetches not started are cancelled, none is waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._wanted.clear()
