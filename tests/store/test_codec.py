"""Blob codecs: the codec byte, the raw fallback for incompressible data, damage detection."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import zstandard

from snapkit.format.errors import IntegrityError
from snapkit.store import codec

COMPRESSIBLE = b"openclaw session transcript line\n" * 2000
RANDOM = random.Random(7).randbytes(100_000)


@pytest.mark.parametrize(
    "data",
    [b"", b"a", b"x" * 63, b"x" * 64, COMPRESSIBLE, RANDOM, bytes(1 << 20)],
    ids=["empty", "one", "63", "64", "text", "random", "zeros-1MiB"],
)
@pytest.mark.parametrize("level", [0, 1, 3, 19])
def test_round_trip(data: bytes, level: int) -> None:
    stored = codec.encode(data, level)
    assert codec.decode(stored, len(data)) == data


def test_compressible_data_is_zstd_and_smaller() -> None:
    stored = codec.encode(COMPRESSIBLE)
    assert stored[0] == codec.CODEC_ZSTD
    assert len(stored) < len(COMPRESSIBLE) // 10


@pytest.mark.parametrize("data", [RANDOM, b"tiny", b"y" * 63], ids=["random", "tiny", "63"])
def test_incompressible_or_tiny_data_is_raw(data: bytes) -> None:
    stored = codec.encode(data)
    assert stored[0] == codec.CODEC_RAW
    assert stored[1:] == data


def test_level_zero_disables_compression() -> None:
    assert codec.encode(COMPRESSIBLE, 0) == b"\x00" + COMPRESSIBLE


def test_saving_less_than_a_32nd_is_stored_raw() -> None:
    # Random bytes with a short compressible tail: zstd saves a little, not enough.
    data = RANDOM + b"z" * (len(RANDOM) // 64)
    assert codec.encode(data)[0] == codec.CODEC_RAW


def test_empty_stored_blob_is_an_error() -> None:
    with pytest.raises(IntegrityError, match="empty"):
        codec.decode(b"", 0)


@pytest.mark.parametrize("byte", [0x02, 0x10, 0x1F, 0x7F, 0xFF])
def test_unknown_codec_is_refused(byte: int) -> None:
    with pytest.raises(IntegrityError, match=f"0x{byte:02x}"):
        codec.decode(bytes((byte,)) + b"payload", 7)


def test_damaged_zstd_frame_is_detected() -> None:
    stored = bytearray(codec.encode(COMPRESSIBLE))
    assert stored[0] == codec.CODEC_ZSTD
    stored[1:5] = b"\x00\x00\x00\x00"  # break the frame magic
    with pytest.raises(IntegrityError, match="zstd"):
        codec.decode(bytes(stored), len(COMPRESSIBLE))


def test_truncated_zstd_frame_is_detected() -> None:
    stored = codec.encode(COMPRESSIBLE)
    with pytest.raises(IntegrityError):
        codec.decode(stored[: len(stored) // 2], len(COMPRESSIBLE))


def test_frame_without_content_size_respects_raw_length() -> None:
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(COMPRESSIBLE)
    assert codec.decode(b"\x01" + frame, len(COMPRESSIBLE)) == COMPRESSIBLE


def test_threads_share_nothing() -> None:
    blobs = [os.urandom(50) * (i + 100) for i in range(64)]
    with ThreadPoolExecutor(4) as pool:
        stored = list(pool.map(codec.encode, blobs))
        plain = list(pool.map(codec.decode, stored, [len(b) for b in blobs]))
    assert plain == blobs
