"""A local cache of the S3 backend's immutable objects, so that an unchanged snapshot reads
its parent's trees, the index and the snapshot manifests from the local disk instead of S3
(restic keeps such a cache for the same reason).

What is cached is only what never changes under its name, so the cache is right whoever
writes the bucket (another machine, another snapkit): a listing is always asked of S3, and
only names S3 listed are looked up here.

* ``index/<id>`` and ``snapshots/<id>``: a file whose name is the xxh3-128 of its bytes, stored
  as is and checked against its name when read (a mismatch drops the entry);
* ``trees/<xx>/<pack-id>``: the tree blobs of a pack (a pack never changes: its id is the hash
  of its bytes), as ``(offset, stored bytes)`` ranges, written when the pack is uploaded or
  when a tree of it is first read; the file carries the xxh3-128 of its body, checked when
  read. Which blobs are trees the pack's trailer says, opened with the repository's cipher
  (an encrypted repository's trailers are sealed); the ranges are kept as stored, sealed
  ones sealed, and every tree read from the cache is verified on use as one read from S3 is
  (opened under its id, or checked against it).

Entries live below :func:`default_cache_dir` (``$SNAPKIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/snapkit``, else the platform's cache folder, ``~/.cache/snapkit`` on Linux;
``SNAPKIT_NO_CACHE=1`` turns it off), in ``s3/<digest of the location>/``: a folder ``0700``
with files ``0600`` (trees name private files), the top folder tagged with a ``CACHEDIR.TAG``
so that backups leave it out. Writes go to a temp file renamed into place, so readers and
other processes see a whole entry or none. The cache is only ever a shortcut: an entry that
cannot be read or written, or that fails its check, is ignored (and removed), and the object
is read from S3 as it would be without a cache. Entries of objects no longer listed are
removed when their kind is listed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from snapkit.format.errors import IntegrityError
from snapkit.format.model import KIND_TREE, content_id
from snapkit.store import local_cache
from snapkit.store.cipher import PLAIN, Cipher
from snapkit.store.pack import FOOTER, decode_trailer, parse_pack, read_trailer

#: Tree ranges of packs kept in memory (a pack's trees are read together).
MEMORY_BYTES = 32 * 1024 * 1024
#: A pack's trailer is read with this many bytes of its end (a second request when longer).
TAIL = 64 * 1024
#: Trees of a pack this close together are read in one request.
TREE_GAP = 16 * 1024
_MAGIC = b"SNAPKTC1"
_HEAD = struct.Struct("<8s32sI")  # magic, xxh3-128 hex of the body, number of ranges
_RANGE = struct.Struct("<QI")  # offset, length
Ranges = dict[int, bytes]  # offset → stored bytes of one tree blob


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """snapkit's cache folder (:func:`snapkit.store.local_cache.cache_root`): None when
    ``$SNAPKIT_NO_CACHE`` turns the cache off."""
    return local_cache.cache_root(env)


def encode_ranges(ranges: Mapping[int, bytes]) -> bytes:
    """A tree cache file: header, the ``(offset, length)`` of each range, their bytes."""
    order = sorted(ranges)
    body = b"".join([*(_RANGE.pack(o, len(ranges[o])) for o in order),
                     *(ranges[o] for o in order)])
    return _HEAD.pack(_MAGIC, content_id(body).encode(), len(order)) + body


def decode_ranges(data: bytes) -> Ranges | None:
    """The ranges of a tree cache file; None when it is not one or fails its check."""
    if len(data) < _HEAD.size:
        return None
    magic, digest, count = _HEAD.unpack_from(data)
    body = memoryview(data)[_HEAD.size:]
    if magic != _MAGIC or content_id(body).encode() != digest:
        return None
    pos = count * _RANGE.size
    out: Ranges = {}
    for i in range(count):
        offset, length = _RANGE.unpack_from(body, i * _RANGE.size)
        out[offset] = bytes(body[pos:pos + length])
        pos += length
    return out if pos == len(body) else None


class ObjectCache:
    """The cache of one S3 location (thread-safe; every failure to read or write is
    ignored: the caller asks S3 instead)."""

    def __init__(self, root: Path, location: str) -> None:
        tag = hashlib.sha256(location.encode()).hexdigest()[:20]
        self.top = root
        self.root = root / "s3" / tag
        self._made: set[Path] = set()  # folders known to exist
        self._lock = threading.Lock()
        self._trees: OrderedDict[str, Ranges] = OrderedDict()  # LRU of packs read
        self._tree_bytes = 0

    # ------------------------------------------------------------------ named objects

    def get(self, kind: str, name: str) -> bytes | None:
        """The cached bytes of ``kind/name`` (index or snapshots), checked against the name."""
        path = self.root / kind / name
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if content_id(data) == name:
            return data
        self._unlink(path)
        return None

    def put(self, kind: str, name: str, data: bytes) -> None:
        """Keep ``data`` as ``kind/name`` when it is what the name says (its xxh3-128)."""
        if content_id(data) == name:
            self._write(self.root / kind / name, data)

    def drop(self, kind: str, name: str) -> None:
        if kind == "packs":
            with self._lock:
                ranges = self._trees.pop(name, None)
                self._tree_bytes -= _size(ranges)
            self._unlink(self._tree_path(name))
        else:
            self._unlink(self.root / kind / name)

    def keep_only(self, kind: str, names: Iterable[str]) -> None:
        """Remove the entries of ``kind`` whose object is not among ``names`` (a listing)."""
        listed = set(names)
        top = self.root / ("trees" if kind == "packs" else kind)
        try:
            dirs = [top] if kind != "packs" else [d for d in top.iterdir() if d.is_dir()]
            for folder in dirs:
                for entry in os.scandir(folder):
                    if entry.name not in listed:
                        self._unlink(Path(entry.path))
        except OSError:
            return

    # ------------------------------------------------------------------ trees of packs

    def tree(self, pack: str, offset: int, length: int) -> bytes | None:
        """The stored bytes of the tree at ``offset`` in ``pack``, when cached."""
        ranges = self.trees(pack)
        found = ranges.get(offset) if ranges is not None else None
        return found if found is not None and len(found) == length else None

    def trees(self, pack: str) -> Ranges | None:
        """Every cached tree range of ``pack`` (None: no entry)."""
        with self._lock:
            ranges = self._trees.get(pack)
            if ranges is not None:
                self._trees.move_to_end(pack)
                return ranges
        path = self._tree_path(pack)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        ranges = decode_ranges(data)
        if ranges is None:
            self._unlink(path)
            return None
        self._remember(pack, ranges)
        return ranges

    def put_trees(self, pack: str, ranges: Mapping[int, bytes]) -> None:
        """Keep the tree ranges of ``pack`` (all of them: the entry replaces any other)."""
        self._remember(pack, dict(ranges))
        self._write(self._tree_path(pack), encode_ranges(ranges))

    def _remember(self, pack: str, ranges: Ranges) -> None:
        with self._lock:
            self._tree_bytes -= _size(self._trees.pop(pack, None))
            self._trees[pack] = ranges
            self._tree_bytes += _size(ranges)
            while self._tree_bytes > MEMORY_BYTES and len(self._trees) > 1:
                self._tree_bytes -= _size(self._trees.popitem(last=False)[1])

    # ------------------------------------------------------------------ files

    def _tree_path(self, pack: str) -> Path:
        return self.root / "trees" / pack[:2] / pack

    def _write(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` (``0600``, through a temp file); errors ignored."""
        try:
            self._folder(path.parent)
            local_cache.write(path, data, checked=False)
        except OSError:
            pass

    def _folder(self, folder: Path) -> None:
        """Create ``folder`` (this location's folder ``0700``, the top one tagged)."""
        if folder in self._made:
            return
        local_cache.make_private(self.root)
        tag = self.top / "CACHEDIR.TAG"
        if not tag.exists():
            local_cache.write(tag, local_cache.TAG, checked=False)
        local_cache.make_private(folder)
        self._made.add(folder)

    @staticmethod
    def _unlink(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()


def _size(ranges: Mapping[int, bytes] | None) -> int:
    return sum(map(len, ranges.values())) if ranges else 0


def pack_trees(pack: str, data: bytes, cipher: Cipher = PLAIN) -> Ranges | None:
    """The tree ranges of a whole pack in memory, its trailer opened with ``cipher`` (None:
    not a pack snapkit wrote with it)."""
    try:
        entries = parse_pack(pack, data, cipher)
    except IntegrityError:
        return None
    return {e.offset: data[e.offset:e.offset + e.length] for e in entries if e.kind == KIND_TREE}


def fetch_trees(pack: str, get: Callable[[int, int | None], tuple[bytes, int | None]],
                read_spans: Callable[[list[tuple[int, int]]], list[bytes]],
                cipher: Cipher = PLAIN) -> Ranges | None:
    """The tree ranges of ``pack``, from its trailer (opened with ``cipher``): ``get(offset,
    length)`` reads a range and says the pack's size (a negative offset: the last bytes, or
    nothing when the pack is shorter, as some servers answer), ``read_spans`` reads ``(start,
    end)`` spans in parallel (runs of trees :data:`TREE_GAP` apart; trees in the end read for
    the trailer are not read again). None when a tree came back short; IntegrityError for a
    damaged trailer (or one sealed under another key)."""
    tail, size = get(-TAIL, None)
    if not tail:
        tail, size = get(0, None)
    base = None if size is None else size - len(tail)  # where ``tail`` starts in the pack
    length = read_trailer(pack, tail[-FOOTER.size:])
    start = len(tail) - FOOTER.size - length
    if start < 0:  # a trailer longer than the end read
        if size is None or size < length + FOOTER.size:
            raise IntegrityError(f"pack {pack} has a trailer longer than the pack")
        base = size - FOOTER.size - length
        tail, start = get(base, length)[0], 0
    trees = sorted((e.offset, e.length) for e in
                   decode_trailer(tail[start:start + length], pack, cipher)
                   if e.kind == KIND_TREE)
    found: Ranges = {}
    if base is not None:
        found = {o: tail[o - base:o - base + n] for o, n in trees
                 if o >= base and o + n <= base + len(tail)}
    rest = [(o, n) for o, n in trees if o not in found]
    spans = tree_runs(rest, TREE_GAP)
    i = 0
    for (first, end), data in zip(spans, read_spans(spans), strict=True):
        while i < len(rest) and rest[i][0] < end:  # the trees of this span, in order
            offset, n = rest[i]
            i += 1
            if offset + n <= first + len(data):
                found[offset] = data[offset - first:offset - first + n]
    return found if len(found) == len(trees) else None


def tree_runs(ranges: Sequence[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """``(start, end)`` spans covering the sorted ``(offset, length)`` ranges, ranges at most
    ``gap`` bytes apart in one span."""
    runs: list[tuple[int, int]] = []
    for offset, length in sorted(ranges):
        if runs and offset - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], max(runs[-1][1], offset + length))
        else:
            runs.append((offset, offset + length))
    return runs
