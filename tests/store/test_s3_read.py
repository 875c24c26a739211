"""The S3 backend's read-ahead (``snapkit.store.s3_read.PackReader``) on a fake object store:
the bytes asked for, in order, whatever is cached; a pack read front to back costs a few
requests of aligned blocks instead of one per span, and no byte is fetched twice, by one
thread or several; random access fetches no more than asked; errors reach every caller and
are not cached; the cache stays bounded."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from snapkit.store.backend import NotFound
from snapkit.store.s3_read import BLOCK, MAX_AHEAD, PackReader

MiB = 1024 * 1024


class FakeStore:
    """Packs in memory; every fetch recorded as (pack, offset, length)."""

    def __init__(self, **packs: bytes) -> None:
        self.packs = packs
        self.fetches: list[tuple[str, int, int]] = []
        self.fail: BaseException | None = None
        self._lock = threading.Lock()

    def fetch(self, pack: str, offset: int, length: int) -> tuple[bytes, int | None]:
        with self._lock:
            self.fetches.append((pack, offset, length))
        if self.fail is not None:
            raise self.fail
        if pack not in self.packs:
            raise NotFound(f"packs/{pack}")
        data = self.packs[pack]
        return data[offset:offset + length], len(data)

    def fetched(self) -> int:
        return sum(min(length, len(self.packs.get(p, b"")) - off)
                   for p, off, length in self.fetches)


def _spans(size: int, step: int) -> list[tuple[int, int]]:
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def test_a_pack_read_front_to_back_takes_a_few_windowed_requests() -> None:
    data = os.urandom(20 * MiB)
    store = FakeStore(p=data)
    reader = PackReader(store.fetch)
    spans = _spans(len(data), 3000)  # a restore: one small file after the other
    got = [reader.read("p", [span])[0] for span in spans]
    assert b"".join(got) == data
    assert len(store.fetches) < 16, store.fetches
    assert max(length for _, _, length in store.fetches) <= MAX_AHEAD * BLOCK
    assert all(off < len(data) for _, off, _ in store.fetches)  # nothing past the end
    assert store.fetched() <= len(data) + 3000  # the first span alone, then each block once


def test_random_access_fetches_only_what_is_asked() -> None:
    data = os.urandom(8 * MiB)
    store = FakeStore(p=data)
    reader = PackReader(store.fetch)
    spans = [(7 * MiB, 7 * MiB + 100), (5 * MiB, 5 * MiB + 40), (MiB, MiB + 7)]
    for start, end in spans:
        assert reader.read("p", [(start, end)]) == [data[start:end]]
    assert store.fetches == [("p", s, e - s) for s, e in spans]


def test_several_spans_of_one_call_come_back_in_the_order_asked() -> None:
    data = os.urandom(4 * MiB)
    store = FakeStore(p=data)
    reader = PackReader(store.fetch)
    spans = [(3 * MiB, 3 * MiB + 5), (0, 10), (2 * MiB, 2 * MiB + MiB // 2), (10, 20)]
    assert reader.read("p", spans) == [data[s:e] for s, e in spans]


def test_past_the_end_comes_back_short() -> None:
    store = FakeStore(p=b"x" * 100)
    reader = PackReader(store.fetch)
    assert reader.read("p", [(50, 150), (200, 300)]) == [b"x" * 50, b""]


def test_threads_reading_one_pack_share_the_requests() -> None:
    data = os.urandom(16 * MiB)
    store = FakeStore(p=data)
    reader = PackReader(store.fetch)
    spans = _spans(len(data), 4096)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda span: reader.read("p", [span])[0], spans))
    assert b"".join(got) == data
    assert store.fetched() < len(data) + 4 * 4096  # aligned blocks: none fetched twice
    assert len(store.fetches) < len(spans) // 20


def test_a_missing_pack_raises_not_found_every_time() -> None:
    store = FakeStore()
    reader = PackReader(store.fetch)
    for _ in range(2):
        with pytest.raises(NotFound, match="packs/gone"):
            reader.read("gone", [(0, 10)])
    assert len(store.fetches) == 2  # a failure is not cached


def test_an_error_reaches_the_caller_and_the_next_read_tries_again() -> None:
    data = os.urandom(3 * MiB)
    store = FakeStore(p=data)
    reader = PackReader(store.fetch)
    reader.read("p", [(0, 1000)])
    store.fail = ConnectionError("connection reset")
    with pytest.raises(ConnectionError, match="connection reset"):
        reader.read("p", [(1000, 5000)])  # continues the read: blocks and read-ahead fail
    store.fail = None
    assert reader.read("p", [(1000, 5000)]) == [data[1000:5000]]
    assert reader.read("p", [(BLOCK, BLOCK + 10)]) == [data[BLOCK:BLOCK + 10]]


def test_forget_drops_a_packs_extents() -> None:
    store = FakeStore(p=b"old" * 100)
    reader = PackReader(store.fetch)
    assert reader.read("p", [(0, 3)]) == [b"old"]
    store.packs["p"] = b"new" * 100
    reader.forget("p")
    assert reader.read("p", [(0, 3)]) == [b"new"]


def test_the_cache_stays_bounded() -> None:
    packs = {f"p{i}": os.urandom(3 * BLOCK) for i in range(12)}
    store = FakeStore(**packs)
    reader = PackReader(store.fetch, cache_bytes=4 * BLOCK)
    for name, data in packs.items():
        for start, end in _spans(len(data), 64 * 1024):
            assert reader.read(name, [(start, end)]) == [data[start:end]]
    assert len(reader._blocks) <= MAX_AHEAD + 1
