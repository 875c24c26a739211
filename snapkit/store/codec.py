"""Blob codecs: the one-byte header in front of every stored blob.

``0x00`` raw, ``0x01`` zstd frame. Values ``0x10``–``0x1f`` are reserved for encrypted
variants. Incompressible data is stored raw, so restoring it costs nothing.
"""

from __future__ import annotations

import threading

import zstandard

from snapkit.format.errors import IntegrityError
from snapkit.format.repo_config import DEFAULT_ZSTD_LEVEL as DEFAULT_ZSTD_LEVEL

CODEC_RAW = 0
CODEC_ZSTD = 1

_local = threading.local()


def compressor(level: int) -> zstandard.ZstdCompressor:
    """This thread's zstd compressor for ``level`` (one per thread and level, reused)."""
    cache = getattr(_local, "compressors", None)
    if cache is None:
        cache = _local.compressors = {}
    comp = cache.get(level)
    if comp is None:
        comp = cache[level] = zstandard.ZstdCompressor(level=level)
    return comp


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    return d


def encode(data: bytes, level: int = DEFAULT_ZSTD_LEVEL) -> bytes:
    """Codec byte + payload: zstd when it saves at least 1/32 of the size, else raw."""
    if level > 0 and len(data) >= 64:
        packed = compressor(level).compress(data)
        if len(packed) < len(data) - (len(data) >> 5):
            return bytes((CODEC_ZSTD,)) + packed
    return bytes((CODEC_RAW,)) + data


def decode(stored: bytes, raw_length: int) -> bytes:
    """Undo :func:`encode`; raise IntegrityError on an unknown codec or a damaged frame."""
    if not stored:
        raise IntegrityError("empty stored blob")
    codec = stored[0]
    if codec == CODEC_RAW:
        return stored[1:]
    if codec == CODEC_ZSTD:
        try:
            return _decompressor().decompress(stored[1:], max_output_size=max(raw_length, 1))
        except zstandard.ZstdError as exc:
            raise IntegrityError(f"damaged zstd blob: {exc}") from exc
    raise IntegrityError(f"unknown blob codec 0x{codec:02x} (written by a newer snapkit?)")
