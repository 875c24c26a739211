"""The read-ahead of restore and export (``snapkit.read.readahead``): each file's chunks in
order, an error where the file is read, unread pieces dropped, memory bounded; and the local
backend's pack descriptors shared by reader threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from snapkit.format.errors import BlobUnreadable
from snapkit.read.readahead import ReadAhead
from snapkit.store import backend as backend_module
from snapkit.store.backend import LocalBackend


class Reader:
    """A ``read_blobs``: blob ``"x"`` reads as ``b"x"``, ``"bad"`` raises; calls counted."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, ids: Sequence[str]) -> Iterator[bytes]:
        with self.lock:
            self.calls.append(tuple(ids))
        for blob in ids:
            if blob == "bad":
                raise BlobUnreadable("blob bad is damaged", "bad", "pack")
            yield blob.encode()


def test_each_file_in_order() -> None:
    files = [(("a", "b"), 2), ((), 0), (("c",), 1), (tuple(f"{i}" for i in range(300)), 300)]
    with ReadAhead(Reader(), files, workers=2) as ahead:
        got = [b"".join(ahead.next_file()) for _ in files]
    assert got == [b"ab", b"", b"c", "".join(f"{i}" for i in range(300)).encode()]


def test_an_error_comes_out_at_its_file_and_the_rest_reads() -> None:
    files = [(("a",), 1), (("b", "bad", "c"), 3), (("d",), 1)]
    with ReadAhead(Reader(), files, workers=2) as ahead:
        assert list(ahead.next_file()) == [b"a"]
        second = ahead.next_file()
        with pytest.raises(BlobUnreadable):
            list(second)
        assert list(ahead.next_file()) == [b"d"]


def test_a_file_left_unread_is_skipped() -> None:
    big = tuple(f"{i:04d}" for i in range(1000))
    files = [(big, 1024 * 1024 * 1000), (("z",), 1)]  # 1 MB a blob: one piece per blob
    with ReadAhead(Reader(), files, workers=2) as ahead:
        first = ahead.next_file()
        assert next(first) == b"0000"
        assert list(ahead.next_file()) == [b"z"]
        assert list(first) == []  # an older file's iterator ends


def test_reads_stay_within_the_ahead_limit() -> None:
    reader = Reader()
    files = [((f"{i}",), 1024 * 1024) for i in range(100)]  # 1 MiB each, by their size
    with ReadAhead(reader, files, workers=2, ahead_bytes=4 * 1024 * 1024) as ahead:
        assert list(ahead.next_file()) == [b"0"]
        assert len(reader.calls) <= 6
        for _ in range(99):
            list(ahead.next_file())
    assert len(reader.calls) == 100


def test_pack_descriptor_outlives_the_cache_while_read(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_module, "OPEN_PACKS", 1)
    backend = LocalBackend(tmp_path / "repo")
    backend.create()
    names = [f"{i:064x}" for i in range(2)]
    for name in names:
        backend.save("packs", name, name.encode())
    fd = backend._pack_fd(names[0])  # a reader thread holds it ...
    assert backend.load("packs", names[1], 0, 4) == names[1][:4].encode()  # ... evicted
    assert backend.load_ranges("packs", names[0], [(0, 3)]) == [names[0][:3].encode()]
    backend._done_with(fd)
    backend.close()
    assert not backend._users and not backend._dropped
