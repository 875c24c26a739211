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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from snapkit.format.blob_index import Damage, decode_index_file, encode_index
from snapkit.format.errors import IntegrityError
from snapkit.format.model import BlobEntry, content_id
from snapkit.store.backend import Backend, NotFound


class Index:
    """Blob id → BlobEntry for every blob the repository's index files list."""

    def __init__(self) -> None:
        self._entries: dict[str, BlobEntry] = {}
        #: further copies of a blob (listed by a second index file): rarely any
        self._others: dict[str, list[BlobEntry]] = {}
        #: (blob, pack) → why that copy is damaged
        self.damaged: dict[tuple[str, str], str] = {}
        self.files: set[str] = set()
        #: index files that could not be read: name → reason
        self.broken: dict[str, str] = {}

    def __contains__(self, blob_id: object) -> bool:
        """Whether a copy of ``blob_id`` not known to be damaged is listed: what the saver
        may deduplicate against and the files cache may reuse."""
        if not isinstance(blob_id, str):
            return False
        entry = self._entries.get(blob_id)
        if entry is None:
            return False
        if not self.damaged or (blob_id, entry.pack) not in self.damaged:
            return True
        return any((blob_id, e.pack) not in self.damaged for e in self._others.get(blob_id, ()))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[BlobEntry]:
        """One entry per blob (the copy :meth:`get` returns)."""
        for blob_id, entry in self._entries.items():
            yield self.get(blob_id) or entry if self.damaged else entry

    def copies(self) -> Iterator[BlobEntry]:
        """Every listed copy of every blob, damaged ones included."""
        yield from self._entries.values()
        for others in self._others.values():
            yield from others

    def get(self, blob_id: str) -> BlobEntry | None:
        """Where to read ``blob_id``: a copy not known to be damaged if there is one, else
        the damaged copy (reading it tells how it fails), else None."""
        entry = self._entries.get(blob_id)
        if entry is None or not self.damaged or (blob_id, entry.pack) not in self.damaged:
            return entry
        for other in self._others.get(blob_id, ()):
            if (blob_id, other.pack) not in self.damaged:
                return other
        return entry

    def is_damaged(self, blob_id: str) -> bool:
        """Every listed copy of ``blob_id`` is known to be damaged."""
        return blob_id in self._entries and blob_id not in self

    def add(self, entries: Iterable[BlobEntry]) -> None:
        for e in entries:
            first = self._entries.setdefault(e.id, e)
            if first is not e and first.pack != e.pack:
                others = self._others.setdefault(e.id, [])
                if all(o.pack != e.pack for o in others):
                    others.append(e)

    def add_damage(self, records: Iterable[Damage]) -> None:
        for d in records:
            self.damaged.setdefault((d.blob, d.pack), d.reason)

    def packs(self) -> set[str]:
        return {e.pack for e in self.copies()}

    @classmethod
    def load(cls, backend: Backend) -> Index:
        index = cls()
        for name in backend.list("index"):
            try:
                data = backend.load("index", name)
                if content_id(data) != name:
                    raise IntegrityError(f"index file {name} does not match its id (damaged)")
                entries, damaged = decode_index_file(data, name)
            except IntegrityError as exc:
                index.broken[name] = exc.message
                continue
            except NotFound:
                continue  # removed since the listing (a prune rewrote the index)
            index.add(entries)
            index.add_damage(damaged)
            index.files.add(name)
        return index


def write_index(backend: Backend, entries: list[BlobEntry],
                damaged: Iterable[Damage] = ()) -> str:
    """Write one new index file listing ``entries`` (and ``damaged``); return its name."""
    data = encode_index(entries, tuple(damaged))
    name = content_id(data)
    backend.save("index", name, data)
    return name

