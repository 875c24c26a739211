"""Reading a stored file at any offset, for ``snapkit mount``: only the blobs a read touches.

A file's content is its data blobs in order; their plain lengths (from the index) place each
blob in the file, so a read of ``size`` bytes at ``offset`` finds its first blob by bisection
and loads that blob and the next ones it needs — never the whole file. Decoded blobs are kept
in a small cache (:class:`BlobCache`, least recently used dropped first) shared by every open
file: the kernel reads a file 128 KiB at a time, and a blob of a few hundred KiB or more then
serves several reads from one load and one decompression.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: How many decoded bytes :class:`BlobCache` keeps by default.
CACHE_BYTES = 64 * 2**20


class BlobCache:
    """Decoded blobs by id, at most ``max_bytes`` of them, least recently used dropped first."""

    def __init__(self, load_blob: Callable[[str], bytes], max_bytes: int = CACHE_BYTES) -> None:
        self.load_blob = load_blob
        self.max_bytes = max_bytes
        self.size = 0
        self.loads = 0  # blobs loaded from the repository (for tests and curiosity)
        self._blobs: OrderedDict[str, bytes] = OrderedDict()

    def get(self, blob_id: str) -> bytes:
        data = self._blobs.get(blob_id)
        if data is not None:
            self._blobs.move_to_end(blob_id)
            return data
        data = self.load_blob(blob_id)
        self.loads += 1
        self._blobs[blob_id] = data
        self.size += len(data)
        while self.size > self.max_bytes and len(self._blobs) > 1:
            _, dropped = self._blobs.popitem(last=False)
            self.size -= len(dropped)
        return data


@dataclass(frozen=True)
class StoredFile:
    """One file's blobs and where each ends in the file (``ends[i]``: the offset after blob
    ``i``), so that a read finds its blobs without loading the ones before."""

    content: tuple[str, ...]
    ends: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.ends[-1] if self.ends else 0


def stored_file(content: Sequence[str], blob_size: Callable[[str], int]) -> StoredFile:
    """The :class:`StoredFile` of ``content`` (blob ids), placed by ``blob_size``."""
    ends: list[int] = []
    end = 0
    for blob_id in content:
        end += blob_size(blob_id)
        ends.append(end)
    return StoredFile(tuple(content), tuple(ends))


def read_range(file: StoredFile, offset: int, size: int, cache: BlobCache) -> bytes:
    """Up to ``size`` bytes of ``file`` from ``offset`` (fewer at its end, none past it)."""
    stop = min(offset + size, file.size)
    if offset >= stop:
        return b""
    pieces: list[memoryview] = []
    i = bisect.bisect_right(file.ends, offset)
    while offset < stop:
        start = file.ends[i - 1] if i else 0
        blob = memoryview(cache.get(file.content[i]))
        take = blob[offset - start:min(stop, file.ends[i]) - start]
        if not take:  # a blob shorter than the index says: the rest of the file is not there
            break
        pieces.append(take)
        offset += len(take)
        i += 1
    return pieces[0].tobytes() if len(pieces) == 1 else b"".join(pieces)
