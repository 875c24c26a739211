"""Pack files: build, parse, and detect every kind of damage to their framing."""

from __future__ import annotations

import os
import struct

import pytest

from snapkit.format.errors import IntegrityError
from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, content_id, encode_pack_trailer
from snapkit.store import codec
from snapkit.store.pack import END_MAGIC, FOOTER, MAGIC, PackBuilder, parse_pack, read_trailer

BLOBS = [
    (KIND_DATA, b"hello world" * 100),
    (KIND_DATA, os.urandom(5000)),
    (KIND_TREE, b"\x82\xa1v\x01\xa5nodes\x90"),
    (KIND_DATA, b"z"),
]


def build(blobs: list[tuple[int, bytes]] = BLOBS) -> tuple[str, bytes, list[BlobEntry]]:
    pb = PackBuilder()
    for kind, plain in blobs:
        pb.add(kind, content_id(plain), codec.encode(plain), len(plain))
    return pb.finish()


def test_build_and_parse_round_trip() -> None:
    pack_id, data, entries = build()
    assert pack_id == content_id(data)
    assert data.startswith(MAGIC)
    assert data.endswith(END_MAGIC)
    assert parse_pack(pack_id, data) == entries
    for e, (kind, plain) in zip(entries, BLOBS, strict=True):
        assert e.pack == pack_id
        assert e.kind == kind
        assert e.raw_length == len(plain)
        assert codec.decode(data[e.offset : e.offset + e.length], e.raw_length) == plain
        assert e.id == content_id(plain)


def test_blobs_are_contiguous_after_the_magic() -> None:
    _, _data, entries = build()
    offset = len(MAGIC)
    for e in entries:
        assert e.offset == offset
        offset += e.length


def test_trailer_alone_rebuilds_the_entries() -> None:
    pack_id, data, entries = build()
    length = read_trailer(pack_id, data[-FOOTER.size :])
    start = len(data) - FOOTER.size - length
    from snapkit.format.model import decode_pack_trailer

    assert decode_pack_trailer(data[start : start + length], pack_id) == entries


def test_empty_pack_parses() -> None:
    pack_id, data, entries = PackBuilder().finish()
    assert entries == []
    assert parse_pack(pack_id, data) == []


def test_size_and_count() -> None:
    pb = PackBuilder()
    assert (pb.size, pb.count) == (len(MAGIC), 0)
    pb.add(KIND_DATA, content_id(b"a"), b"\x00a", 1)
    assert (pb.size, pb.count) == (len(MAGIC) + 2, 1)


def _corrupt(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value) :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:-1], id="truncated-by-one"),
        pytest.param(lambda d: d[: len(d) // 2], id="truncated-half"),
        pytest.param(lambda d: d[:5], id="shorter-than-footer"),
        pytest.param(lambda d: b"", id="empty"),
        pytest.param(lambda d: _corrupt(d, 0, b"XNAPKPK1"), id="bad-start-magic"),
        pytest.param(lambda d: _corrupt(d, len(d) - 8, b"SNAPKENX"), id="bad-end-magic"),
        pytest.param(
            lambda d: _corrupt(d, len(d) - FOOTER.size, struct.pack("<I", len(d))),
            id="trailer-longer-than-pack",
        ),
        pytest.param(
            lambda d: _corrupt(d, len(d) - FOOTER.size, struct.pack("<I", 3)),
            id="trailer-length-wrong",
        ),
        pytest.param(lambda d: d + b"garbage", id="appended-garbage"),
    ],
)
def test_damaged_framing_is_detected(damage) -> None:  # type: ignore[no-untyped-def]
    pack_id, data, _ = build()
    with pytest.raises(IntegrityError, match=pack_id):
        parse_pack(pack_id, damage(data))


def test_trailer_listing_a_blob_outside_the_data_area_is_detected() -> None:
    pb = PackBuilder()
    pb.add(KIND_DATA, content_id(b"abc"), b"\x00abc", 3)
    pack_id, _data, entries = pb.finish()
    bad = [type(entries[0])(entries[0].id, KIND_DATA, "", 8, 10_000, 3)]
    trailer = encode_pack_trailer(bad)
    forged = MAGIC + b"\x00abc" + trailer + FOOTER.pack(len(trailer), END_MAGIC)
    with pytest.raises(IntegrityError, match="outside"):
        parse_pack(pack_id, forged)
    bad = [type(entries[0])(entries[0].id, KIND_DATA, "", 2, 4, 3)]  # inside the magic
    trailer = encode_pack_trailer(bad)
    forged = MAGIC + b"\x00abc" + trailer + FOOTER.pack(len(trailer), END_MAGIC)
    with pytest.raises(IntegrityError, match="outside"):
        parse_pack(pack_id, forged)


def test_flipped_data_byte_changes_the_pack_id() -> None:
    pack_id, data, entries = build()
    e = entries[1]
    at = e.offset + e.length // 2
    flipped = data[:at] + bytes((data[at] ^ 0xFF,)) + data[at + 1 :]
    # The framing is intact, so parsing succeeds; the pack id (and the blob id) tell.
    assert parse_pack(pack_id, flipped) == entries
    assert content_id(flipped) != pack_id
    plain = codec.decode(flipped[e.offset : e.offset + e.length], e.raw_length)
    assert content_id(plain) != e.id


def test_read_trailer_wants_exactly_the_footer() -> None:
    with pytest.raises(IntegrityError, match="truncated"):
        read_trailer("p", b"short")
    assert read_trailer("p", FOOTER.pack(42, END_MAGIC)) == 42
