"""Pack uploads of the S3 backend in the background, so that a snapshot goes on chunking and
compressing while a finished pack is sent (its ``PutObject`` takes a while, and the saver
writes a pack under its lock).

:meth:`Uploads.start` hands a pack to a background thread and returns (at most
:data:`DEPTH` uploads under way: beyond that it waits for one to end, so memory stays at a
few packs). The write order that makes a crash safe — packs, then the index files that list
them, then the manifest — holds all the same: the backend calls :meth:`Uploads.wait` before
it writes an index file or a manifest, and before it reads, sizes, lists or removes a pack
being uploaded. A failed upload is raised there: by the next index or manifest write (which
then does not happen: nothing lists a pack that is not stored), or by whatever reads that
pack first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

#: Pack uploads under way at most.
DEPTH = 2


class Uploads:
    """Background ``put(name, data)`` calls, waited for by name or all together."""

    def __init__(self, put: Callable[[str, bytes], None], depth: int = DEPTH) -> None:
        self._put = put
        self._slots = threading.BoundedSemaphore(depth)
        self._lock = threading.Lock()
        self._pending: dict[str, Future[None]] = {}
        self._failed: dict[str, BaseException] = {}  # name → why its upload failed
        self._pool: ThreadPoolExecutor | None = None
        self._depth = depth

    def start(self, name: str, data: bytes) -> None:
        """Upload ``data`` as ``name`` in the background (after an upload of the same name
        under way, if any)."""
        self.wait(name, forget=True)
        self._slots.acquire()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._depth, thread_name_prefix="snapkit-s3-put")
            self._pending[name] = self._pool.submit(self._run, name, data)

    def _run(self, name: str, data: bytes) -> None:
        try:
            self._put(name, data)
        except BaseException as exc:
            with self._lock:
                self._failed[name] = exc
            raise
        finally:
            self._slots.release()

    def wait(self, name: str, *, forget: bool = False) -> None:
        """Wait for the upload of ``name``, if one is under way; raise its error if it failed
        (unless ``forget``: the pack is being written again or removed)."""
        with self._lock:
            future = self._pending.get(name)
        if future is not None:
            future.exception()
        with self._lock:
            if future is not None and self._pending.get(name) is future:
                del self._pending[name]
            error = self._failed.pop(name, None) if forget else self._failed.get(name)
        if error is not None and not forget:
            raise error

    def wait_all(self, *, check: bool = True) -> None:
        """Wait for every upload under way; with ``check``, raise the error of one that failed
        (once: the write this guards does not happen, so nothing lists the packs that
        failed)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.exception()
        with self._lock:
            for name, future in list(self._pending.items()):
                if future.done():
                    del self._pending[name]
            if not check:
                return
            errors, self._failed = list(self._failed.values()), {}
        if errors:
            raise errors[0]
