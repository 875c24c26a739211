"""The blob saver: small blobs compressed in batches exactly as one by one, deduplicated
without a lock, packed, indexed; a failing write surfaces and leaves no unindexed pack."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from helpers import init_repo

from snapkit.format.model import KIND_DATA, KIND_TREE, content_id
from snapkit.store import codec
from snapkit.store import saver as saver_module
from snapkit.store.pack import PackBuilder, parse_pack
from snapkit.store.repository import Repository
from snapkit.store.saver import BATCH_BLOBS, SMALL_MAX, encode_batch


def _samples(seed: int = 0) -> list[bytes]:
    rnd = random.Random(seed)
    text = b"the quick brown fox jumps over the lazy dog " * 400
    out = [b"", b"a", b"z" * 63, b"z" * 64, os.urandom(64), os.urandom(3000), b"\0" * 16384]
    for _ in range(200):
        start = rnd.randrange(len(text) - 8000)
        out.append(text[start : start + rnd.randrange(1, 8000)])
    return out


@pytest.mark.parametrize("level", [0, 1, 3, 9])
def test_a_batch_is_stored_as_encode_stores_each_blob(level: int) -> None:
    datas = _samples()
    got = [head + bytes(payload) for head, payload in encode_batch(datas, level)]
    assert got == [codec.encode(d, level) for d in datas]


def test_a_batch_of_short_blobs_only_is_stored_raw() -> None:
    datas = [b"", b"x" * 10, b"y" * 63]
    assert [h + bytes(p) for h, p in encode_batch(datas, 3)] == [codec.encode(d) for d in datas]


def test_add_encoded_builds_the_same_pack_as_add() -> None:
    datas = _samples(1)[:50]
    one, two = PackBuilder(), PackBuilder()
    for d, (head, payload) in zip(datas, encode_batch(datas, 3), strict=True):
        one.add(KIND_DATA, content_id(d), head + bytes(payload), len(d))
        two.add_encoded(KIND_DATA, content_id(d), head, payload, len(d))
    assert one.finish() == two.finish()


def test_many_small_blobs_round_trip_deduplicated(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pack_size=256 * 1024)
    datas = [d for d in _samples(2) if d] + [os.urandom(SMALL_MAX + 1)]
    ids = []
    with repo.saver() as saver:
        for _ in range(3):  # the same blobs again: pending, then indexed, never stored twice
            ids = [saver.save_data(d) for d in datas]
        tree = saver.save(KIND_TREE, b"\x90")
        assert all(saver.known(i) for i in ids)
    unique = {repo.cipher.content_id(d): d for d in datas}
    assert ids == [repo.cipher.content_id(d) for d in datas]
    assert saver.blobs_added == len(unique) + 1
    assert saver.bytes_added_raw == sum(map(len, unique.values())) + 1
    reopened = Repository.open(tmp_path / "repo")
    listed = [e for p in reopened.backend.list("packs")
              for e in parse_pack(p, reopened.backend.load("packs", p), reopened.cipher)]
    assert sorted(e.id for e in listed) == sorted([*unique, tree])  # each blob once
    assert sum(e.length for e in listed) == saver.bytes_added_stored
    for blob_id, d in unique.items():
        assert reopened.load_blob(blob_id) == d


@pytest.mark.parametrize("hold", [saver_module.LATER_HOLD_BYTES, 20_000],
                         ids=["held-to-settle", "saved-while-held"])
def test_save_later_gives_the_ids_save_gives_and_stores_each_blob_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold: int) -> None:
    """Blobs whose ids are computed on the id thread (an encrypted repository's keyed ids):
    settle() gives each ticket its id, in order, and every blob is stored once, whether it
    was saved at once or held until settled, and however often it came."""
    monkeypatch.setattr(saver_module, "LATER_BATCH_BYTES", 5000)
    monkeypatch.setattr(saver_module, "LATER_HOLD_BYTES", hold)
    repo = init_repo(tmp_path / "repo", pack_size=64 * 1024)
    datas = [*[d for d in _samples(3) if d][:60], os.urandom(SMALL_MAX * 2)]
    with repo.saver() as saver:
        first = saver.save_data(datas[0])  # known already: save_later dedups against it
        tickets = [saver.save_later(d) for d in [*datas, *datas[:10]]]
        assert tickets == list(range(len(datas) + 10))
        ids = saver.settle()
        assert saver.settle() == []
        assert saver.save_later(datas[1]) == 0  # tickets count again from 0
        assert saver.settle() == [repo.cipher.content_id(datas[1])]
    assert ids == [repo.cipher.content_id(d) for d in [*datas, *datas[:10]]]
    assert ids[0] == first
    unique = {repo.cipher.content_id(d): d for d in datas}
    assert saver.blobs_added == len(unique)
    reopened = Repository.open(tmp_path / "repo")
    for blob_id, d in unique.items():
        assert reopened.load_blob(blob_id) == d


def test_blobs_held_for_their_ids_are_stored_on_close(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    datas = [os.urandom(100), os.urandom(40_000)]
    with repo.saver() as saver:
        for d in datas:
            saver.save_later(d)
    reopened = Repository.open(tmp_path / "repo")
    for d in datas:
        assert reopened.load_blob(repo.cipher.content_id(d)) == d


def test_more_blobs_than_a_batch_holds(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    datas = [f"blob {i}\n".encode() * (1 + i % 7) for i in range(BATCH_BLOBS * 2 + 5)]
    with repo.saver() as saver:
        ids = [saver.save_data(d) for d in datas]
    reopened = Repository.open(tmp_path / "repo")
    assert [reopened.load_blob(i) for i in ids] == datas


def test_a_failed_pack_write_is_raised_and_leaves_no_pack(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pack_size=64 * 1024)
    real = repo.backend.save
    calls = {"packs": 0}

    def save(kind: str, name: str, data: bytes) -> None:
        if kind == "packs":
            calls["packs"] += 1
            if calls["packs"] == 3:
                raise OSError(28, "No space left on device")
        real(kind, name, data)

    repo.backend.save = save  # type: ignore[method-assign]
    with pytest.raises(OSError, match="No space"), repo.saver() as saver:
        for _ in range(5):  # fewer packs than INDEX_EVERY_PACKS: none is indexed
            saver.save_data(os.urandom(70_000))
    assert calls["packs"] >= 3
    assert list(repo.backend.list("packs")) == []  # written but never indexed: removed
    assert list(repo.backend.list("index")) == []
