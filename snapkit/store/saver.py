"""The writers' side of a repository: :class:`BlobSaver` deduplicates, compresses and packs
new blobs, and writes the index files that make them visible.

The thread that saves only hashes, deduplicates and queues: small blobs go to the pool in
batches, each compressed by one call that releases the GIL once for the whole batch
(``multi_compress_to_buffer``: the same frames as one ``compress`` per blob), and a full pack is
written (temp file, fsync, rename) outside the lock, so that saving never waits for the disk.

In an encrypted repository a blob's id is a keyed hash (HMAC-SHA256, about 2 GB/s: a tenth of a
first snapshot's time when computed on the saving thread). :meth:`BlobSaver.save_later` takes
a data blob without its id: a thread of its own hashes such blobs in batches while the saving
thread reads on, and :meth:`BlobSaver.settle` hands back the ids (and saves the blobs) once the
caller needs them, at the end of a directory's files.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, Tree, encode_tree
from snapkit.store import codec
from snapkit.store.backend import Backend
from snapkit.store.cipher import Cipher
from snapkit.store.index import Index, write_index
from snapkit.store.pack import PackBuilder

#: After this many new packs the saver writes an index file listing them.
INDEX_EVERY_PACKS = 8
#: Blobs up to this size go to the pool in batches (:data:`BATCH_BYTES` or
#: :data:`BATCH_BLOBS`, whichever comes first): one hand-over per blob costs more (locks,
#: wake-ups, context switches) than compressing a small one.
SMALL_MAX = 16 * 1024
BATCH_BYTES = 1024 * 1024
BATCH_BLOBS = 1024
#: Blobs of :meth:`BlobSaver.save_later` go to the id thread in hand-overs of this many bytes,
#: and are saved (deduplicated, queued for compression) at the latest once this many are held.
LATER_BATCH_BYTES = 128 * 1024
LATER_HOLD_BYTES = 8 * 1024 * 1024
#: What :func:`codec.encode` never compresses (shorter blobs are stored raw).
_MIN_COMPRESS = 64
_RAW = bytes((codec.CODEC_RAW,))
_ZSTD = bytes((codec.CODEC_ZSTD,))

Blob = tuple[int, str, bytes]  # kind, id, plain bytes


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
    @property
    def cipher(self) -> Cipher: ...


def encode_batch(datas: list[bytes], level: int) -> list[tuple[bytes, bytes | memoryview]]:
    """(codec byte, payload) of each blob, exactly as :func:`codec.encode` would store it,
    the compressible ones compressed in one call that holds the GIL once."""
    if level <= 0:
        return [(_RAW, d) for d in datas]
    todo: list[bytes | bytearray | memoryview] = [d for d in datas if len(d) >= _MIN_COMPRESS]
    if not todo:
        return [(_RAW, d) for d in datas]
    frames = iter(codec.compressor(level).multi_compress_to_buffer(todo, threads=1))
    out: list[tuple[bytes, bytes | memoryview]] = []
    for d in datas:
        n = len(d)
        if n < _MIN_COMPRESS:
            out.append((_RAW, d))
            continue
        frame = memoryview(next(frames))  # type: ignore[arg-type]  # a buffer (stubs lag)
        out.append((_ZSTD, frame) if len(frame) < n - (n >> 5) else (_RAW, d))
    return out


class BlobSaver:
    """Deduplicates, compresses (in a small thread pool; small blobs handed over in batches)
    and packs new blobs. :meth:`save` is called from one thread, and takes no lock: the
    workers add a blob to the index before they forget it was pending.

    Memory is bounded by ``max_inflight`` hand-overs (a chunk, or a batch of small blobs up to
    :data:`BATCH_BYTES`), the batch being filled and one pack buffer per worker. ``close()``
    writes the last pack and an index file; until then nothing saved is visible to other
    processes.
    """

    def __init__(self, repo: SaverTarget, workers: int = 2, zstd_level: int | None = None) -> None:
        self._repo = repo
        self._level = repo.config.zstd_level if zstd_level is None else zstd_level
        self._pack_size = repo.config.pack_size
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers),
                                        thread_name_prefix="snapkit-zstd")
        self._slots = threading.BoundedSemaphore(max(1, workers) * 4)
        self._lock = threading.Lock()  # the open pack, the unindexed entries, the counters
        #: ids handed over and not yet in the index (the saving thread adds, workers discard)
        self._pending: set[str] = set()
        self._cipher = repo.cipher
        self._pack = PackBuilder(self._cipher)
        self._unindexed: list[BlobEntry] = []
        self._packs_since_index = 0
        self._error: BaseException | None = None
        self._futures: list[Future[None]] = []  # the saving thread's hand-overs
        self._batch: list[Blob] = []  # small blobs not yet handed over
        self._batch_bytes = 0
        self._later = _Later(self._cipher.content_id)  # save_later's blobs, ids not yet known
        self.blobs_added = 0
        self.bytes_added_raw = 0
        self.bytes_added_stored = 0

    def known(self, blob_id: str) -> bool:
        # pending first: a worker adds an id to the index before it discards it from pending
        return blob_id in self._pending or blob_id in self._repo.index

    def blob_id(self, data: bytes) -> str:
        """The id the repository gives ``data`` (keyed in an encrypted one)."""
        return self._cipher.content_id(data)

    def save(self, kind: int, data: bytes, blob_id: str | None = None) -> str:
        """Store ``data`` unless a blob with the same id exists; return the id."""
        if self._error is not None:
            raise self._error
        if blob_id is None:
            blob_id = self._cipher.content_id(data)
        if blob_id in self._pending or blob_id in self._repo.index:
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

    def save_later(self, data: bytes) -> int:
        """Take data blob ``data`` whose id is not needed yet: its ticket, a number counted
        from 0 since the last :meth:`settle`, which returns the ids by ticket."""
        if self._error is not None:
            raise self._error
        later = self._later
        ticket = later.add(data)
        if later.held_bytes >= LATER_HOLD_BYTES:
            self._save_held()
        return ticket

    def settle(self) -> list[str]:
        """The ids of the blobs :meth:`save_later` took since the last call, by ticket (each
        blob saved as :meth:`save` would)."""
        self._save_held()
        return self._later.take_ids()

    def _save_held(self) -> None:
        for data, blob_id in self._later.hashed():
            self.save(KIND_DATA, data, blob_id)

    def _submit_batch(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._submit(batch)

    def _submit(self, blobs: list[Blob]) -> None:
        self._slots.acquire()
        try:
            fut = self._pool.submit(self._compress_and_add, blobs)
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(self._done)
        self._futures.append(fut)
        if len(self._futures) >= 64:
            self._futures = self._reap(self._futures, wait=False)

    def save_tree(self, tree: Tree) -> str:
        return self.save(KIND_TREE, encode_tree(tree))

    def save_data(self, data: bytes, blob_id: str | None = None) -> str:
        return self.save(KIND_DATA, data, blob_id)

    def _done(self, fut: Future[None]) -> None:
        self._slots.release()
        if fut.cancelled():  # abort(): fut.exception() would raise CancelledError here
            return
        exc = fut.exception()
        if exc is not None and self._error is None:
            self._error = exc

    def _compress_and_add(self, blobs: list[Blob]) -> None:
        stored = encode_batch([data for _, _, data in blobs], self._level)
        if self._cipher.encrypted:  # sealed here, outside the lock: the workers seal at once
            seal = self._cipher.seal_parts
            stored = [seal(head, payload, blob_id)
                      for (_, blob_id, _), (head, payload) in zip(blobs, stored, strict=True)]
        full: list[PackBuilder] = []
        with self._lock:
            pack = self._pack
            raw = packed = 0
            for (kind, blob_id, data), (head, payload) in zip(blobs, stored, strict=True):
                pack.add_encoded(kind, blob_id, head, payload, len(data))
                packed += len(head) + len(payload)
                raw += len(data)
                if pack.size >= self._pack_size:
                    full.append(pack)
                    pack = self._pack = PackBuilder(self._cipher)
            self.blobs_added += len(blobs)
            self.bytes_added_raw += raw
            self.bytes_added_stored += packed
        for done in full:
            self._write_pack(done)

    def _write_pack(self, pack: PackBuilder) -> None:
        """Write a full pack (outside the lock: the other workers go on), then list it."""
        pack_id, data, entries = pack.finish()
        self._repo.backend.save("packs", pack_id, data)
        with self._lock:
            self._unindexed.extend(entries)
            self._packs_since_index += 1
            if self._packs_since_index >= INDEX_EVERY_PACKS:
                self._write_index_locked()

    def _write_index_locked(self) -> None:
        if not self._unindexed:
            return
        entries = self._unindexed
        name = write_index(self._repo.backend, entries, cipher=self._cipher)
        self._repo.index.add(entries)  # before the ids leave pending (see known)
        self._repo.index.files.add(name)
        pending = self._pending
        for e in entries:
            pending.discard(e.id)
        self._unindexed = []
        self._packs_since_index = 0

    def _reap(self, futures: list[Future[None]], wait: bool) -> list[Future[None]]:
        """The hand-overs still running (all done when ``wait``); the first error is kept
        (read here: a future is done before its callback has run)."""
        running = []
        for f in futures:
            if not wait and not f.done():
                running.append(f)
            elif not f.cancelled() and f.exception() is not None and self._error is None:
                self._error = f.exception()
        return running

    def _wait(self) -> None:
        self._save_held()
        self._submit_batch()
        futures, self._futures = self._futures, []
        self._reap(futures, wait=True)
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        """Write everything pending: the open pack, then an index file for the new packs."""
        self._wait()
        with self._lock:
            pack, self._pack = self._pack, PackBuilder(self._cipher)
        if pack.count:
            self._write_pack(pack)
        with self._lock:
            self._write_index_locked()

    def close(self) -> None:
        try:
            self.flush()
        except BaseException:
            self._later.close()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._discard_unindexed()
            raise
        self._later.close()
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without writing the open pack (errors, interrupts). Packs already written but
        not yet listed by an index file are removed: nothing could ever use them, and on a
        full disk they are the space the next run needs. Indexed packs stay (unreferenced
        until ``prune``)."""
        self._later.close()
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


class _Later:
    """:meth:`BlobSaver.save_later`'s blobs: handed to one id thread in batches of about
    :data:`LATER_BATCH_BYTES` (a hand-over per blob would cost more than hashing a small one),
    held until their ids are known and they are saved. The thread that asks for the ids
    hashes every batch the id thread has not started yet itself (it would only wait for it):
    it waits at most for the batch being hashed, however busy the machine."""

    def __init__(self, blob_id: Callable[[bytes], str]) -> None:
        self._blob_id = blob_id
        self._pool: ThreadPoolExecutor | None = None  # started with the first blob
        #: batches handed over, not yet saved, with their ids to come
        self._handed: list[tuple[list[bytes], Future[list[str]]]] = []
        self._open: list[bytes] = []  # the batch being filled
        self._open_bytes = 0
        self.held_bytes = 0
        self._ids: list[str] = []  # by ticket, since the last take_ids
        self._tickets = 0

    def add(self, data: bytes) -> int:
        self._open.append(data)
        self._open_bytes += len(data)
        self.held_bytes += len(data)
        if self._open_bytes >= LATER_BATCH_BYTES:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapkit-ids")
            batch, self._open, self._open_bytes = self._open, [], 0
            self._handed.append((batch, self._pool.submit(_ids_of, self._blob_id, batch)))
        self._tickets += 1
        return self._tickets - 1

    def hashed(self) -> Iterator[tuple[bytes, str]]:
        """Every held blob with its id, in ticket order; none is held here any more."""
        handed, last = self._handed, self._open
        self._handed, self.held_bytes = [], 0
        self._open, self._open_bytes = [], 0
        ids = self._ids
        for batch, fut in handed:
            batch_ids = _ids_of(self._blob_id, batch) if fut.cancel() else fut.result()
            ids.extend(batch_ids)
            yield from zip(batch, batch_ids, strict=True)
        last_ids = _ids_of(self._blob_id, last)
        ids.extend(last_ids)
        yield from zip(last, last_ids, strict=True)

    def take_ids(self) -> list[str]:
        ids, self._ids, self._tickets = self._ids, [], 0
        return ids

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ids_of(blob_id: Callable[[bytes], str], batch: list[bytes]) -> list[str]:
    return [blob_id(data) for data in batch]
