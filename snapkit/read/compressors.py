"""The export's compressors: gzip through ISA-L's threads (the standard format, at several
times zlib's speed), zstd through its own threads; each with what ends the stream once the
archive is complete and what abandons it when the export stops short.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any, BinaryIO

import zstandard

#: A tar.zst export's stream reaches zstd in writes of this size (tar writes 10 KiB records).
_ZSTD_BUFFER = 1024 * 1024


def isal_level(gzip_level: int) -> int:
    """Map the familiar gzip scale 0–9 onto ISA-L's levels 0–3."""
    if gzip_level <= 0:
        return 0
    return 1 if gzip_level <= 3 else 2 if gzip_level <= 6 else 3


def compressor(out: BinaryIO, fmt: str, gzip_level: int, zstd_level: int, threads: int,
               ) -> tuple[IO[bytes], Callable[[], None], Callable[[], None]]:
    """The stream the tar goes into, what ends the archive once it is complete, and what
    abandons it when the export stops short (its threads stopped, nothing more written: an
    archive cut short must not end as a complete one would)."""
    if fmt == "tar.gz":
        from isal import igzip_threaded

        gz = igzip_threaded.open(  # type: ignore[no-untyped-call]
            out, "wb", compresslevel=isal_level(gzip_level),
            threads=max(1, threads))
        return gz, gz.close, lambda: _abandon_gzip(gz)
    if fmt == "tar.zst":
        # zstd's own threads compress, off the GIL (the bytes are the same for any number of
        # them from 1 up); the tar stream's 10 KiB records reach it in 1 MiB writes.
        cctx = zstandard.ZstdCompressor(level=zstd_level, write_checksum=True,
                                        threads=max(1, threads))
        zw = cctx.stream_writer(out, closefd=False, write_return_read=True)
        buffered = io.BufferedWriter(zw, _ZSTD_BUFFER)  # type: ignore[type-var]
        return buffered, buffered.close, lambda: None
    return out, lambda: None, lambda: None


def _abandon_gzip(gz: Any) -> None:
    """Stop ISA-L's threaded writer without flushing it: its ``close`` waits for every block
    queued to be written, which a reader gone away, or a queue an interrupt left uneven, never
    lets happen (an export stopped by SIGTERM hung there, holding its lock)."""
    # The writer under the buffer ``open`` wraps it in. First what makes it let go whatever
    # happens next (a second signal during the stop): closed, neither its close nor the
    # buffer's (called again when they are dropped) flushes and waits; not running, its
    # threads end at their next look at their queues.
    gz = getattr(gz, "raw", gz)
    if hasattr(gz, "_closed"):
        gz._closed = True
    if hasattr(gz, "running"):
        gz.running = False
    if hasattr(gz, "stop"):
        gz.stop()
