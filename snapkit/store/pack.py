"""Pack files: many stored blobs in one file, with a trailer that lists them.

Layout (see docs/format.md)::

    "SNAPKPK1"                       8-byte magic
    blob, blob, ...                  codec byte + payload each
    trailer                          msgpack [[kind, id16, offset, length, raw_length], ...]
    trailer length                   uint32 little-endian
    "SNAPKEND"                       8-byte magic

The pack id is the xxh3-128 of the whole file, so a damaged pack is detectable, and the
trailer alone is enough to rebuild the index.
"""

from __future__ import annotations

import struct

from snapkit.format.errors import IntegrityError
from snapkit.format.model import BlobEntry, content_id, decode_pack_trailer, encode_pack_trailer
from snapkit.store.backend import Backend
from snapkit.store.cipher import PLAIN, Cipher

MAGIC = b"SNAPKPK1"
END_MAGIC = b"SNAPKEND"
FOOTER = struct.Struct("<I8s")


class PackBuilder:
    """Collects stored blobs in memory until the pack is big enough to write (its trailer
    sealed with ``cipher`` in an encrypted repository)."""

    def __init__(self, cipher: Cipher = PLAIN) -> None:
        self._cipher = cipher
        self._parts: list[bytes | memoryview] = [MAGIC]
        self._size = len(MAGIC)
        self._entries: list[tuple[int, str, int, int, int]] = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def count(self) -> int:
        return len(self._entries)

    def add(self, kind: int, blob_id: str, stored: bytes, raw_length: int) -> None:
        self._entries.append((kind, blob_id, self._size, len(stored), raw_length))
        self._parts.append(stored)
        self._size += len(stored)

    def add_encoded(self, kind: int, blob_id: str, head: bytes, payload: bytes | memoryview,
                    raw_length: int) -> None:
        """:meth:`add` of ``head + payload`` (codec byte, then payload), without joining them."""
        length = len(head) + len(payload)
        self._entries.append((kind, blob_id, self._size, length, raw_length))
        self._parts += (head, payload)
        self._size += length

    def finish(self) -> tuple[str, bytes, list[BlobEntry]]:
        """Return (pack id, pack bytes, entries with the pack id filled in)."""
        provisional = [BlobEntry(i, k, "", o, n, r) for k, i, o, n, r in self._entries]
        trailer = self._cipher.seal(encode_pack_trailer(provisional), "trailer")
        data = b"".join([*self._parts, trailer, FOOTER.pack(len(trailer), END_MAGIC)])
        pack_id = content_id(data)
        entries = [BlobEntry(i, k, pack_id, o, n, r) for k, i, o, n, r in self._entries]
        return pack_id, data, entries


def read_trailer(pack_id: str, tail: bytes) -> int:
    """Given the last FOOTER.size bytes of a pack, return the trailer length."""
    if len(tail) != FOOTER.size:
        raise IntegrityError(f"pack {pack_id} is truncated")
    length, magic = FOOTER.unpack(tail)
    if magic != END_MAGIC:
        raise IntegrityError(f"pack {pack_id} has no trailer (damaged or incomplete)")
    return int(length)


def decode_trailer(raw: bytes, pack_id: str, cipher: Cipher = PLAIN) -> list[BlobEntry]:
    """The entries of a pack's stored trailer ``raw`` (opened with ``cipher``)."""
    return decode_pack_trailer(cipher.open(raw, "trailer", f"the trailer of pack {pack_id}"),
                               pack_id)


def parse_pack(pack_id: str, data: bytes, cipher: Cipher = PLAIN) -> list[BlobEntry]:
    """List the blobs of a whole pack held in memory, checking its framing."""
    if not data.startswith(MAGIC):
        raise IntegrityError(f"pack {pack_id} does not start with the pack magic")
    length = read_trailer(pack_id, data[-FOOTER.size :])
    start = len(data) - FOOTER.size - length
    if start < len(MAGIC):
        raise IntegrityError(f"pack {pack_id} has a trailer longer than the pack")
    entries = decode_trailer(data[start : start + length], pack_id, cipher)
    for e in entries:
        if e.offset < len(MAGIC) or e.offset + e.length > start:
            raise IntegrityError(f"pack {pack_id} lists blob {e.id} outside its data area")
    return entries


def load_runs(backend: Backend, pack: str, ranges: list[tuple[int, int]]) -> list[bytes]:
    """Each of ``ranges`` (sorted by offset) of ``pack``; a run of adjacent ones (the blobs of a
    file, stored one after the other) read as one range and cut: one read per run, not per
    blob. A range past the end of the pack comes back short, as from ``load_ranges``."""
    runs: list[tuple[int, int]] = []
    bounds: list[tuple[int, int]] = []  # per run: its first and past-last index in ranges
    for i, (offset, length) in enumerate(ranges):
        if runs and runs[-1][0] + runs[-1][1] == offset:
            runs[-1] = (runs[-1][0], runs[-1][1] + length)
            bounds[-1] = (bounds[-1][0], i + 1)
        else:
            runs.append((offset, length))
            bounds.append((i, i + 1))
    if len(runs) == len(ranges):
        return backend.load_ranges("packs", pack, ranges)
    out: list[bytes] = []
    for (start, _), (first, last), data in zip(runs, bounds,
                                               backend.load_ranges("packs", pack, runs),
                                               strict=True):
        if last == first + 1:
            out.append(data)
            continue
        for offset, length in ranges[first:last]:
            out.append(data[offset - start:offset - start + length])
    return out
