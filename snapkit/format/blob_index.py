"""Pack trailers, index files and lock files: where each stored blob lives, encoded.

The layout is specified in ``docs/format.md``; :mod:`snapkit.format.model` re-exports these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from snapkit.format.encoding import FORMAT_VERSION, id_bytes, id_hex, pack_obj, unpack_obj
from snapkit.format.errors import IntegrityError


class BlobEntry(NamedTuple):
    """Where one stored blob lives: its pack, byte range, kind and plain length.

    One per stored blob, all of them in memory while a repository is open: an immutable
    ``NamedTuple`` rather than a frozen dataclass, cheaper to build and smaller (with the
    one-pass decoding below, an index of a million blobs loads 1.28× faster:
    ``benchmarks/bench_index.py``).
    """

    id: str
    kind: int
    pack: str
    offset: int
    length: int
    raw_length: int


def encode_pack_trailer(entries: Sequence[BlobEntry]) -> bytes:
    return pack_obj([[e.kind, id_bytes(e.id), e.offset, e.length, e.raw_length] for e in entries])


def decode_pack_trailer(data: bytes, pack_id: str) -> list[BlobEntry]:
    obj = unpack_obj(data, f"trailer of pack {pack_id}")
    try:
        return [
            BlobEntry(id_hex(i), int(k), pack_id, int(o), int(n), int(r)) for k, i, o, n, r in obj
        ]
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"malformed trailer in pack {pack_id}: {exc}") from exc


@dataclass(frozen=True)
class Damage:
    """A blob found damaged at one place: the copy of ``blob`` in ``pack`` cannot be read
    back (``reason`` says why). Recorded in an index file's ``damaged`` list, so no later run
    trusts that copy: readers prefer another copy, and the saver stores the blob again."""

    blob: str
    pack: str
    reason: str


def encode_index(entries: Sequence[BlobEntry], damaged: Sequence[Damage] = ()) -> bytes:
    packs: dict[str, list[list[Any]]] = {}
    for e in entries:
        packs.setdefault(e.pack, []).append(
            [e.kind, id_bytes(e.id), e.offset, e.length, e.raw_length]
        )
    doc: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "packs": [{"id": id_bytes(p), "blobs": blobs} for p, blobs in sorted(packs.items())],
    }
    if damaged:  # optional: readers that do not know the key ignore it
        doc["damaged"] = [[id_bytes(d.blob), id_bytes(d.pack), d.reason]
                          for d in sorted(damaged, key=lambda d: (d.pack, d.blob))]
    return pack_obj(doc)


def decode_index(data: bytes, name: str) -> list[BlobEntry]:
    """The blob entries of an index file (see :func:`decode_index_file` for its damage)."""
    return decode_index_file(data, name)[0]


def decode_index_file(data: bytes, name: str) -> tuple[list[BlobEntry], list[Damage]]:
    """An index file: its blob entries and its ``damaged`` records (none in most files)."""
    packs, damaged = decode_index_rows(data, name)
    return [BlobEntry(i.hex(), k, pack_id, o, n, r)
            for pack_id, rows in packs for k, i, o, n, r in rows], damaged


#: One row of an index file as stored: kind, 16-byte blob id, offset, length, plain length.
Row = tuple[int, bytes, int, int, int]
#: Offsets and lengths are below this (256 TiB; no pack comes near it), kinds below 256: a
#: reader refuses an index file that says otherwise as malformed.
LIMIT = 1 << 48


def decode_index_rows(data: bytes, name: str) -> tuple[list[tuple[str, list[Row]]], list[Damage]]:
    """An index file as (pack id, its rows) pairs, every row checked to be
    ``[int, 16-byte id, int, int, int]``, and its ``damaged`` records: for a reader that builds
    its own records (the in-memory index keeps no :class:`BlobEntry` per blob)."""
    obj = unpack_obj(data, f"index file {name}")
    if not isinstance(obj, dict) or obj.get("v") != FORMAT_VERSION:
        raise IntegrityError(f"index file {name} has an unknown format version")
    out: list[tuple[str, list[Row]]] = []
    damaged: list[Damage] = []
    try:
        for p in obj["packs"]:
            rows = p["blobs"]
            # The common case checked at C speed; anything else goes through the slow path,
            # which names what is wrong.
            if not all(type(k) is type(o) is type(n) is type(r) is int and type(i) is bytes
                       and len(i) == 16 and 0 <= k < 256 and 0 <= o < LIMIT and 0 <= n < LIMIT
                       and 0 <= r < LIMIT for k, i, o, n, r in rows):
                rows = [_checked_row(k, i, o, n, r) for k, i, o, n, r in rows]
            out.append((id_hex(p["id"]), rows))
        for blob, pack, reason in obj.get("damaged", ()):
            damaged.append(Damage(id_hex(blob), id_hex(pack), str(reason)))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(f"malformed index file {name}: {exc}") from exc
    return out, damaged


def _checked_row(kind: Any, raw: Any, offset: Any, length: Any, raw_length: Any) -> Row:
    id_hex(raw)  # IntegrityError unless 16 bytes
    row = (int(kind), raw, int(offset), int(length), int(raw_length))
    if not (0 <= row[0] < 256 and all(0 <= v < LIMIT for v in row[2:])):
        raise ValueError(f"entry out of range {row[:1] + row[2:]}")
    return row


# --------------------------------------------------------------------------- locks


def encode_lock(info: Mapping[str, Any]) -> bytes:
    return pack_obj(dict(info))


def decode_lock(data: bytes) -> dict[str, Any]:
    obj = unpack_obj(data, "lock file")
    if not isinstance(obj, dict):
        raise IntegrityError("lock file is not a map")
    return obj
