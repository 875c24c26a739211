"""The blob index: index files, loading their union, and rebuilding it from packs alone."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import pytest
from helpers import init_repo

from snapkit.format.errors import BlobUnreadable, IntegrityError
from snapkit.format.model import (
    KIND_DATA,
    KIND_TREE,
    BlobEntry,
    Damage,
    Tree,
    content_id,
    decode_index_file,
    encode_index,
)
from snapkit.store.backend import LocalBackend
from snapkit.store.index import Index, write_index
from snapkit.store.pack import parse_pack
from snapkit.store.repository import Repository


def entry(n: int, pack: int, kind: int = KIND_DATA) -> BlobEntry:
    return BlobEntry(f"{n:032x}", kind, f"{pack:032x}", 8 + n, 10 + n, 20 + n)


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    b = LocalBackend(tmp_path / "repo")
    b.create()
    return b


def test_write_and_load(backend: LocalBackend) -> None:
    first = [entry(1, 1), entry(2, 1), entry(3, 2, KIND_TREE)]
    second = [entry(4, 3)]
    n1 = write_index(backend, first)
    n2 = write_index(backend, second)
    assert n1 == content_id(backend.load("index", n1))
    index = Index.load(backend)
    assert index.files == {n1, n2}
    assert len(index) == 4
    assert sorted(index, key=lambda e: e.id) == sorted(first + second, key=lambda e: e.id)
    assert index.get(entry(3, 2).id) == entry(3, 2, KIND_TREE)
    assert entry(1, 1).id in index
    assert "f" * 32 not in index
    assert index.get("f" * 32) is None
    assert index.packs() == {f"{p:032x}" for p in (1, 2, 3)}


def test_empty_repository_has_an_empty_index(backend: LocalBackend) -> None:
    index = Index.load(backend)
    assert len(index) == 0
    assert index.files == set()


def test_a_blob_in_two_packs_is_kept_once(backend: LocalBackend) -> None:
    a = BlobEntry("a" * 32, KIND_DATA, "1" * 32, 8, 5, 4)
    b = BlobEntry("a" * 32, KIND_DATA, "2" * 32, 8, 5, 4)
    write_index(backend, [a])
    write_index(backend, [b])
    index = Index.load(backend)
    assert len(index) == 1
    assert index.get("a" * 32) in (a, b)


def test_index_encoding_is_deterministic_and_grouped_by_pack() -> None:
    entries = [entry(1, 2), entry(2, 1), entry(3, 2)]
    data = encode_index(entries)
    assert data == encode_index(list(entries))
    obj = msgpack.unpackb(data)
    assert obj["v"] == 1
    assert [p["id"].hex() for p in obj["packs"]] == [f"{1:032x}", f"{2:032x}"]
    assert [len(p["blobs"]) for p in obj["packs"]] == [1, 2]


@pytest.mark.parametrize(
    "data",
    [
        b"not msgpack \xc1",
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"v": 2, "packs": []}),
        msgpack.packb({"v": 1}),
        msgpack.packb({"v": 1, "packs": [{"id": b"short", "blobs": []}]}),
        msgpack.packb({"v": 1, "packs": [{"id": bytes(16), "blobs": [[0, bytes(16), 1]]}]}),
        msgpack.packb({"v": 1, "packs": [{"id": bytes(16), "blobs": [
            [0, bytes(16), 1, 2, 3], [0, bytes(15) + b"x", 1 << 48, 2, 3]]}]}),
        msgpack.packb({"v": 1, "packs": [{"id": bytes(16), "blobs": [[0, bytes(16), -1, 2, 3]]}]}),
        msgpack.packb({"v": 1, "packs": [{"id": bytes(16), "blobs": [[256, bytes(16), 1, 2, 3]]}]}),
        msgpack.packb({"v": 1, "packs": [{"id": bytes(16), "blobs": [[0, "0" * 32, 1, 2, 3]]}]}),
    ],
    ids=["garbage", "list", "version-2", "no-packs", "short-id", "short-blob-row",
         "offset-over-256TiB", "negative-offset", "kind-over-255", "id-as-text"],
)
def test_damaged_index_file_is_refused(backend: LocalBackend, data: bytes) -> None:
    """Decoding refuses it; loading skips it, keeps the reason, and reads the other files."""
    with pytest.raises(IntegrityError):
        decode_index_file(data, "x")
    good = write_index(backend, [entry(1, 1)])
    name = content_id(data)  # named by its content, as a writer would: only decoding fails
    backend.save("index", name, data)
    index = Index.load(backend)
    assert index.files == {good}
    assert set(index.broken) == {name}
    assert index.get(f"{1:032x}") == entry(1, 1)


def test_entries_round_trip_through_the_packed_index(backend: LocalBackend) -> None:
    """Each entry is kept as one packed integer: every field comes back, at its limits too,
    and a second copy in another pack is kept beside the first."""
    top = (1 << 48) - 1
    edge = [BlobEntry(f"{n:032x}", kind, f"{p:032x}", off, length, raw)
            for n, (kind, p, off, length, raw) in enumerate([
                (KIND_DATA, 1, 0, 0, 0), (KIND_TREE, 2, top, top, top), (255, 3, 1, top, 0)])]
    copy = edge[1]._replace(pack=f"{9:032x}", offset=5)
    index = Index()
    index.add([*edge, copy, edge[0]])  # the same copy listed twice is kept once
    assert [index.get(e.id) for e in edge] == edge
    assert sorted(index.copies()) == sorted([*edge, copy])
    assert index.packs() == {e.pack for e in edge} | {copy.pack}
    name = write_index(backend, [*edge, copy])
    loaded = Index.load(backend)
    assert loaded.files == {name} and loaded.broken == {}
    assert [loaded.get(e.id) for e in edge] == edge
    assert sorted(loaded.copies()) == sorted([*edge, copy])
    with pytest.raises(ValueError):
        index.add([edge[0]._replace(offset=1 << 48)])


def test_an_index_file_that_does_not_match_its_name_is_skipped(backend: LocalBackend) -> None:
    """A bit flip that still decodes (an offset changed) is caught by the file's id."""
    name = write_index(backend, [entry(1, 1), entry(2, 1)])
    data = bytearray(backend.load("index", name))
    data[-1] ^= 0x01  # the last raw_length: still valid msgpack
    (Path(backend.location) / "index" / name).write_bytes(bytes(data))
    assert decode_index_file(bytes(data), name)[0] != [entry(1, 1), entry(2, 1)]
    index = Index.load(backend)
    assert len(index) == 0
    assert index.broken == {name: f"index file {name} does not match its id (damaged)"}


def test_damage_records_round_trip_and_steer_reads(backend: LocalBackend) -> None:
    """A copy recorded damaged is not what ``in`` or ``get`` trust: a second copy is preferred,
    and with none left ``in`` says no (the saver stores the blob again) while ``get`` still
    answers (the read then tells how it fails)."""
    blob = f"{7:032x}"
    bad = BlobEntry(blob, KIND_DATA, f"{1:032x}", 8, 10, 20)
    good = BlobEntry(blob, KIND_DATA, f"{2:032x}", 8, 10, 20)
    write_index(backend, [bad, entry(1, 1)])
    record = Damage(blob, bad.pack, "does not match its id")
    name = write_index(backend, [], [record])
    assert decode_index_file(backend.load("index", name), name) == ([], [record])
    index = Index.load(backend)
    assert index.damaged == {(blob, bad.pack): "does not match its id"}
    assert blob not in index and index.is_damaged(blob)
    assert index.get(blob) == bad
    assert f"{1:032x}" in index and not index.is_damaged(f"{1:032x}")
    write_index(backend, [good])  # the next snap stored it again
    index = Index.load(backend)
    assert blob in index and not index.is_damaged(blob)
    assert index.get(blob) == good
    assert sorted(e.pack for e in index.copies() if e.id == blob) == [bad.pack, good.pack]


def test_a_read_that_finds_damage_records_it_for_the_next_run(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    with repo.saver() as saver:
        blob = saver.save_data(b"x" * 5000)
        saver.save_data(b"y" * 5000)  # so the pack stored again below is another pack
    entry_ = repo.index.get(blob)
    assert entry_ is not None
    path = tmp_path / "repo" / "packs" / entry_.pack[:2] / entry_.pack
    data = bytearray(path.read_bytes())
    data[entry_.offset + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = Repository.open(tmp_path / "repo")
    with pytest.raises(BlobUnreadable) as caught:
        reader.load_blob(blob)
    assert (caught.value.blob, caught.value.pack) == (blob, entry_.pack)
    assert blob in caught.value.message and entry_.pack in caught.value.message
    assert blob not in reader.index  # at once, in this process
    reader.flush_damage()
    later = Repository.open(tmp_path / "repo")
    assert later.index.is_damaged(blob)
    with later.saver() as saver:  # dedup no longer trusts it: stored again
        assert saver.save_data(b"x" * 5000) == blob
    again = Repository.open(tmp_path / "repo")
    assert blob in again.index and again.load_blob(blob) == b"x" * 5000


def test_a_damaged_manifest_is_skipped_with_a_warning(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("f")
    from helpers import take

    first, _ = take(repo, src)
    (src / "f").write_text("g")
    second, _ = take(repo, src)
    path = tmp_path / "repo" / "snapshots" / first
    path.write_bytes(path.read_bytes()[:-3])
    reader = Repository.open(tmp_path / "repo")
    seen: list[str] = []
    reader.set_on_warning(seen.append)
    assert [sid for sid, _ in reader.snapshots()] == [second]
    assert list(reader.damaged_snapshots) == [first]
    assert len(seen) == 1 and first in seen[0] and "snapkit repair snapshots --forget" in seen[0]
    with pytest.raises(IntegrityError):
        reader.load_snapshot(first)


def test_index_can_be_rebuilt_from_packs_alone(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pack_size=256 * 1024)
    with repo.saver() as saver:
        for i in range(40):
            saver.save_data(os.urandom(30_000) if i % 2 else bytes([i]) * 30_000)
        saver.save_tree(Tree())
    written = {e.id: e for e in Repository.open(tmp_path / "repo").index}
    assert len(written) == 41
    assert len({e.pack for e in written.values()}) > 2
    for name in list(repo.backend.list("index")):
        repo.backend.remove("index", name)
    assert len(Repository.open(tmp_path / "repo").index) == 0
    rebuilt: dict[str, BlobEntry] = {}
    for pack in repo.backend.list("packs"):
        assert content_id(repo.backend.load("packs", pack)) == pack
        for e in parse_pack(pack, repo.backend.load("packs", pack), repo.cipher):
            rebuilt[e.id] = e
    assert rebuilt == written


def test_saver_writes_an_index_every_few_packs(tmp_path: Path) -> None:
    from snapkit.store.saver import INDEX_EVERY_PACKS

    repo = init_repo(tmp_path / "repo", pack_size=64 * 1024)
    with repo.saver() as saver:
        for _ in range(INDEX_EVERY_PACKS * 2 + 3):
            saver.save_data(os.urandom(70_000))
    packs = list(repo.backend.list("packs"))
    assert len(packs) == INDEX_EVERY_PACKS * 2 + 3
    assert len(list(repo.backend.list("index"))) == 3
    index = Repository.open(tmp_path / "repo").index
    assert index.packs() == set(packs)


def test_has_is_the_dicts_lookup_until_damage_is_known(backend: LocalBackend) -> None:
    index = Index()
    a, b = entry(1, 1), entry(2, 1)
    index.add([a, b])
    assert index.has(a.id) and not index.has(f"{9:032x}")
    index.add_damage([Damage(a.id, a.pack, "flipped")])
    assert not index.has(a.id) and index.has(b.id)  # now the damage-aware test
    assert index.has(a.id) == (a.id in index)
