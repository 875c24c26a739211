"""The in-memory blob index: blob id → where it is stored, and which copies are damaged.

Built at open time from every file under ``index/``; new entries are written as new index
files (never rewritten in place), named by the xxh3-128 of their content. An index file may
also record damage (``Damage``: this copy of this blob cannot be read back); a damaged copy is
still listed, but :meth:`Index.get` prefers any other copy and ``in`` (what the saver's dedup
and the files cache ask) answers no when every copy is damaged, so the blob is stored again
from the live file — bit rot heals instead of spreading.

An index file that cannot be read is skipped, not fatal: it is kept in :attr:`Index.broken`
(name → reason) for the caller to report, and the blobs only it listed look missing until
``snapkit repair index`` rebuilds the index from the pack trailers.

Every blob of the repository is in memory while it is open, so each costs as little as it can:
its hex id (the dict key) and one integer packing its pack's number, offset, length and plain
length (from the high bits down) and its kind (the low 8 bits); :meth:`Index.get` unpacks a
:class:`BlobEntry` on demand. A million blobs take ~165 B each instead of ~300 B as a key and a
``BlobEntry`` of separate integers (``benchmarks/bench_index.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from snapkit.format.blob_index import LIMIT, Damage, Row, decode_index_rows, encode_index
from snapkit.format.errors import IntegrityError
from snapkit.format.model import BlobEntry, content_id
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import PLAIN, Cipher

#: Bits of each of offset, length and plain length in a packed entry (``LIMIT``: an index file
#: with larger values is refused as malformed when it is read).
_BITS = 48
_MASK = (1 << _BITS) - 1
assert 1 << _BITS == LIMIT




class Index:
    """Blob id → BlobEntry for every blob the repository's index files list."""

    def __init__(self) -> None:
        #: blob id → its first listed copy, packed (see the module docstring)
        self._entries: dict[str, int] = {}
        #: pack number → pack id, and back
        self._packs: list[str] = []
        self._pack_no: dict[str, int] = {}
        #: further copies of a blob (listed by a second index file): rarely any
        self._others: dict[str, list[BlobEntry]] = {}
        #: (blob, pack) → why that copy is damaged
        self.damaged: dict[tuple[str, str], str] = {}
        self.files: set[str] = set()
        #: index files that could not be read: name → reason
        self.broken: dict[str, str] = {}
        #: ``blob_id in index`` without a Python-level call while nothing is known damaged
        #: (the dict's own lookup: a hot path of an unchanged snapshot), else ``__contains__``
        self.has: Callable[[str], bool] = self._entries.__contains__

    def __contains__(self, blob_id: object) -> bool:
        """Whether a copy of ``blob_id`` not known to be damaged is listed: what the saver
        may deduplicate against and the files cache may reuse."""
        if not isinstance(blob_id, str):
            return False
        packed = self._entries.get(blob_id)
        if packed is None:
            return False
        if not self.damaged or (blob_id, self._pack_of(packed)) not in self.damaged:
            return True
        return any((blob_id, e.pack) not in self.damaged for e in self._others.get(blob_id, ()))

    def _pack_of(self, packed: int) -> str:
        return self._packs[packed >> (3 * _BITS + 8)]

    def _entry(self, blob_id: str, packed: int) -> BlobEntry:
        kind = packed & 0xFF
        packed >>= 8
        raw_length = packed & _MASK
        packed >>= _BITS
        length = packed & _MASK
        packed >>= _BITS
        return BlobEntry(blob_id, kind, self._packs[packed >> _BITS], packed & _MASK, length,
                         raw_length)

    def _number(self, pack: str) -> int:
        number = self._pack_no.get(pack)
        if number is None:
            number = self._pack_no[pack] = len(self._packs)
            self._packs.append(pack)
        return number

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[BlobEntry]:
        """One entry per blob (the copy :meth:`get` returns)."""
        for blob_id, packed in self._entries.items():
            entry = self._entry(blob_id, packed)
            yield self.get(blob_id) or entry if self.damaged else entry

    def copies(self) -> Iterator[BlobEntry]:
        """Every listed copy of every blob, damaged ones included."""
        for blob_id, packed in self._entries.items():
            yield self._entry(blob_id, packed)
        for others in self._others.values():
            yield from others

    def get(self, blob_id: str) -> BlobEntry | None:
        """Where to read ``blob_id``: a copy not known to be damaged if there is one, else
        the damaged copy (reading it tells how it fails), else None."""
        packed = self._entries.get(blob_id)
        if packed is None:
            return None
        entry = self._entry(blob_id, packed)
        if not self.damaged or (blob_id, entry.pack) not in self.damaged:
            return entry
        for other in self._others.get(blob_id, ()):
            if (blob_id, other.pack) not in self.damaged:
                return other
        return entry

    def is_damaged(self, blob_id: str) -> bool:
        """Every listed copy of ``blob_id`` is known to be damaged."""
        return blob_id in self._entries and blob_id not in self

    def add(self, entries: Iterable[BlobEntry]) -> None:
        entries_ = self._entries
        pack, base = None, 0
        for e in entries:
            blob_id, kind, epack, offset, length, raw_length = e
            if (offset | length | raw_length) >> _BITS or kind >> 8:  # negative ones too
                raise ValueError(f"blob entry out of range: {e}")
            if epack != pack:  # entries come a pack at a time
                pack, base = epack, self._number(epack) << (3 * _BITS + 8)
            packed = base | ((((offset << _BITS | length) << _BITS | raw_length) << 8) | kind)
            first = entries_.setdefault(blob_id, packed)
            if first is not packed:
                self._another(blob_id, first, e)

    def _add_rows(self, pack: str, rows: list[Row]) -> None:
        """An index file's rows for one pack, checked (see :func:`decode_index_rows`)."""
        number = self._number(pack)
        base = number << (3 * _BITS + 8)
        entries = self._entries
        for kind, raw_id, offset, length, raw_length in rows:
            packed = base | ((((offset << _BITS | length) << _BITS | raw_length) << 8) | kind)
            blob_id = raw_id.hex()
            first = entries.setdefault(blob_id, packed)
            if first is not packed:
                self._another(blob_id, first,
                              BlobEntry(blob_id, kind, pack, offset, length, raw_length))

    def _another(self, blob_id: str, first: int, e: BlobEntry) -> None:
        """A second listing of ``blob_id``: kept when it is another pack's copy."""
        if self._pack_of(first) != e.pack:
            others = self._others.setdefault(blob_id, [])
            if all(o.pack != e.pack for o in others):
                others.append(e)

    def add_damage(self, records: Iterable[Damage]) -> None:
        for d in records:
            self.damaged.setdefault((d.blob, d.pack), d.reason)
        if self.damaged:
            self.has = self.__contains__

    def packs(self) -> set[str]:
        shift = 3 * _BITS + 8
        numbers = {packed >> shift for packed in self._entries.values()}
        return {self._packs[n] for n in numbers} | {
            e.pack for others in self._others.values() for e in others}

    @classmethod
    def load(cls, backend: Backend, cipher: Cipher = PLAIN) -> Index:
        """Every index file of ``backend`` (opened with ``cipher`` in an encrypted
        repository); one that cannot be read is kept in :attr:`broken`."""
        index = cls()
        for name in backend.list("index"):
            try:
                data = backend.load("index", name)
                if content_id(data) != name:
                    raise IntegrityError(f"index file {name} does not match its id (damaged)")
                packs, damaged = decode_index_rows(
                    cipher.open(data, "index", f"index file {name}"), name)
            except IntegrityError as exc:
                index.broken[name] = exc.message
                continue
            except NotFound:
                continue  # removed since the listing (a prune rewrote the index)
            for pack, rows in packs:
                index._add_rows(pack, rows)
            index.add_damage(damaged)
            index.files.add(name)
        return index


def write_index(backend: Backend, entries: list[BlobEntry], damaged: Iterable[Damage] = (),
                cipher: Cipher = PLAIN) -> str:
    """Write one new index file listing ``entries`` (and ``damaged``), sealed with ``cipher``
    in an encrypted repository; return its name (the id of its stored bytes)."""
    data = cipher.seal(encode_index(entries, tuple(damaged)), "index")
    name = content_id(data)
    backend.save("index", name, data)
    return name

