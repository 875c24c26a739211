"""The writers' side of a repository: :class:`BlobSaver` deduplicates, compresses and packs
new blobs, and writes the index files that make them visible.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, Tree, content_id, encode_tree
from snapkit.store import codec
from snapkit.store.backend import Backend
from snapkit.store.index import Index, write_index
from snapkit.store.pack import PackBuilder

#: After this many new packs the saver writes an index file listing them.
INDEX_EVERY_PACKS = 8
#: Blobs up to this size go to the pool in batches (:data:`BATCH_BYTES` or
#: :data:`BATCH_BLOBS`, whichever comes first): one hand-over per blob costs more (locks,
#: wake-ups, context switches) than compressing a small one.
SMALL_MAX = 16 * 1024
BATCH_BYTES = 256 * 1024
BATCH_BLOBS = 256


class SaverConfig(Protocol):
    """What the saver reads of a repository's config."""

    @property
    def zstd_level(self) -> int: ...
    @property
    def pack_size(self) -> int: ...


class SaverTarget(Protocol):
    """What the saver needs of a repository (:class:`~snapkit.store.repository.Repository`)."""

    @property
    def backend(self) -> Backend: ...
    @property
    def index(self) -> Index: ...
    @property
    def config(self) -> SaverConfig: ...


class BlobSaver:
    """Deduplicates, compresses (in a small thread pool; small blobs handed over in batches)
    and packs new blobs. :meth:`save` is called from one thread.

    Memory is bounded by ``max_inflight`` hand-overs (a chunk, or a batch of small blobs up to
    :data:`BATCH_BYTES`), the batch being filled and one pack buffer. ``close()`` writes the
    last pack and an index file; until then nothing saved is visible to other processes.
    """

    def __init__(self, repo: SaverTarget, workers: int = 2, zstd_level: int | None = None) -> None:
        self._repo = repo
        self._level = repo.config.zstd_level if zstd_level is None else zstd_level
        self._pack_size = repo.config.pack_size
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers),
                                        thread_name_prefix="snapkit-zstd")
        self._slots = threading.BoundedSemaphore(max(1, workers) * 4)
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._pack = PackBuilder()
        self._unindexed: list[BlobEntry] = []
        self._packs_since_index = 0
        self._error: BaseException | None = None
        self._futures: set[Future[None]] = set()
        self._batch: list[tuple[int, str, bytes]] = []  # small blobs not yet handed over
        self._batch_bytes = 0
        self.blobs_added = 0
        self.bytes_added_raw = 0
        self.bytes_added_stored = 0

    def known(self, blob_id: str) -> bool:
        return blob_id in self._repo.index or blob_id in self._pending

    def save(self, kind: int, data: bytes, blob_id: str | None = None) -> str:
        """Store ``data`` unless a blob with the same id exists; return the id."""
        if self._error is not None:
            raise self._error
        if blob_id is None:
            blob_id = content_id(data)
        with self._lock:
            if self.known(blob_id):
                return blob_id
            self._pending.add(blob_id)
        if len(data) <= SMALL_MAX:
            self._batch.append((kind, blob_id, data))
            self._batch_bytes += len(data)
            if self._batch_bytes >= BATCH_BYTES or len(self._batch) >= BATCH_BLOBS:
                self._submit_batch()
            return blob_id
        self._submit([(kind, blob_id, data)])
        return blob_id

    def _submit_batch(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._submit(batch)

    def _submit(self, blobs: list[tuple[int, str, bytes]]) -> None:
        self._slots.acquire()
        fut = self._pool.submit(self._compress_and_add, blobs)
        with self._lock:
            self._futures.add(fut)
        fut.add_done_callback(self._done)

    def save_tree(self, tree: Tree) -> str:
        return self.save(KIND_TREE, encode_tree(tree))

    def save_data(self, data: bytes, blob_id: str | None = None) -> str:
        return self.save(KIND_DATA, data, blob_id)

    def _done(self, fut: Future[None]) -> None:
        with self._lock:
            self._futures.discard(fut)
        self._slots.release()
        if fut.cancelled():  # abort(): fut.exception() would raise CancelledError here
            return
        exc = fut.exception()
        if exc is not None and self._error is None:
            self._error = exc

    def _compress_and_add(self, blobs: list[tuple[int, str, bytes]]) -> None:
        stored = [codec.encode(data, self._level) for _, _, data in blobs]
        with self._lock:
            for (kind, blob_id, data), packed in zip(blobs, stored, strict=True):
                self._pack.add(kind, blob_id, packed, len(data))
                self.blobs_added += 1
                self.bytes_added_raw += len(data)
                self.bytes_added_stored += len(packed)
                if self._pack.size >= self._pack_size:
                    self._flush_pack_locked()

    def _flush_pack_locked(self) -> None:
        if self._pack.count == 0:
            return
        pack_id, data, entries = self._pack.finish()
        self._pack = PackBuilder()
        self._repo.backend.save("packs", pack_id, data)
        self._unindexed.extend(entries)
        self._packs_since_index += 1
        if self._packs_since_index >= INDEX_EVERY_PACKS:
            self._write_index_locked()

    def _write_index_locked(self) -> None:
        if not self._unindexed:
            return
        entries = self._unindexed
        name = write_index(self._repo.backend, entries)
        self._repo.index.add(entries)
        self._repo.index.files.add(name)
        for e in entries:
            self._pending.discard(e.id)
        self._unindexed = []
        self._packs_since_index = 0

    def _wait(self) -> None:
        self._submit_batch()
        while True:
            with self._lock:
                futures = list(self._futures)
            if not futures:
                break
            for f in futures:
                f.exception()
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        """Write everything pending: the open pack, then an index file for the new packs."""
        self._wait()
        with self._lock:
            self._flush_pack_locked()
            self._write_index_locked()

    def close(self) -> None:
        try:
            self.flush()
        except BaseException:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._discard_unindexed()
            raise
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without writing the open pack (errors, interrupts). Packs already written but
        not yet listed by an index file are removed: nothing could ever use them, and on a
        full disk they are the space the next run needs. Indexed packs stay (unreferenced
        until ``prune``)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._discard_unindexed()

    def _discard_unindexed(self) -> None:
        with self._lock:
            packs = sorted({e.pack for e in self._unindexed})
            self._unindexed = []
        for pack in packs:
            with contextlib.suppress(Exception):
                self._repo.backend.remove("packs", pack)

    def __enter__(self) -> BlobSaver:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
