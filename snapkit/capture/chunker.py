"""Content-defined chunking: FastCDC 2020 via ``pyfastcdc`` with the repository's parameters.

Files smaller than the minimum chunk size are one chunk and never touch the chunker.
Chunk data handed out is an independent ``bytes`` object, so callers may keep it (for the
compression pool) after the next chunk is produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from pyfastcdc import FastCDC

from snapkit.format.model import ChunkerParams, content_id


class Chunker:
    """Cuts byte streams into chunks with fixed FastCDC parameters; :meth:`blob_id` is the id
    the repository gives a chunk (keyed in an encrypted one)."""

    def __init__(self, params: ChunkerParams,
                 blob_id: Callable[[bytes], str] = content_id) -> None:
        self.blob_id = blob_id
        if params.algorithm != "fastcdc2020":
            raise ValueError(f"unknown chunker {params.algorithm!r}")
        self.params = params
        self._cdc = FastCDC(
            params.avg_size,
            min_size=params.min_size,
            max_size=params.max_size,
            normalized_chunking=params.normalization,  # type: ignore[arg-type]
            seed=params.seed,
        )

    def chunks(self, stream: BinaryIO, size_hint: int) -> Iterator[bytes]:
        """Yield the chunks of ``stream`` read to its end (``size_hint`` picks the fast path)."""
        if size_hint <= self.params.min_size:
            head = stream.read(self.params.min_size + 1)
            if len(head) <= self.params.min_size:
                if head:
                    yield head
                return
            # The file grew since it was measured: chunk it as a stream after all.
            stream = _Prefixed(head, stream)  # type: ignore[assignment]
        for chunk in self._cdc.cut_stream(stream):
            yield bytes(chunk.data)


class _Prefixed:
    """A reader that yields ``head`` and then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def read(self, n: int) -> bytes:
        if self._head:
            out = bytes(self._head[:n])
            self._head = self._head[n:]
            return out
        return self._stream.read(n)
