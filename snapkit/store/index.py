"""The in-memory blob index: blob id → where it is stored.

Built at open time from every file under ``index/``; new entries are written as new index
files (never rewritten in place), named by the xxh3-128 of their content.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from snapkit.model import BlobEntry, content_id, decode_index, encode_index
from snapkit.store.backend import Backend


class Index:
    """Blob id → BlobEntry for every blob the repository's index files list."""

    def __init__(self) -> None:
        self._entries: dict[str, BlobEntry] = {}
        self.files: set[str] = set()

    def __contains__(self, blob_id: object) -> bool:
        return blob_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[BlobEntry]:
        return iter(self._entries.values())

    def get(self, blob_id: str) -> BlobEntry | None:
        return self._entries.get(blob_id)

    def add(self, entries: Iterable[BlobEntry]) -> None:
        for e in entries:
            self._entries.setdefault(e.id, e)

    def packs(self) -> set[str]:
        return {e.pack for e in self._entries.values()}

    @classmethod
    def load(cls, backend: Backend) -> Index:
        index = cls()
        for name in backend.list("index"):
            index.add(decode_index(backend.load("index", name), name))
            index.files.add(name)
        return index


def write_index(backend: Backend, entries: list[BlobEntry]) -> str:
    """Write one new index file listing ``entries``; return its name."""
    data = encode_index(entries)
    name = content_id(data)
    backend.save("index", name, data)
    return name
