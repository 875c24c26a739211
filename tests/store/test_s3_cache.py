"""The S3 backend's local cache of immutable objects (``snapkit.store.s3_cache``), on a real
``rclone serve s3``: a pack's trees are cached as it is uploaded, or from its trailer when a
tree of it is first read, and then read with no request; index files and manifests are
cached and checked against their names; listings still come from S3, and entries of objects
gone from the bucket (removed by anyone) are dropped; a damaged or unwritable cache is
ignored. The backend conformance suite passes with the cache on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import make_tree, take
from s3server import S3Server
from store.test_backend_conformance import TestBackendConformance as Conformance

from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams, MasterKey
from snapkit.format.errors import BlobUnreadable
from snapkit.format.model import KIND_DATA, KIND_TREE, content_id
from snapkit.store import s3_cache
from snapkit.store.backend import Backend
from snapkit.store.cipher import Sealed
from snapkit.store.location import S3Location
from snapkit.store.pack import PackBuilder
from snapkit.store.repository import Repository
from snapkit.store.s3 import S3Backend
from snapkit.store.s3_cache import (
    ObjectCache,
    decode_ranges,
    default_cache_dir,
    encode_ranges,
    tree_runs,
)


def _backend(server: S3Server, bucket: str, cache: Path | None) -> S3Backend:
    backend = S3Backend(S3Location(bucket, "pre", server.endpoint), access_key=server.key,
                        secret_key=server.secret, cache_dir=cache)
    backend.create()
    return backend


@contextmanager
def _requests(backend: S3Backend) -> Iterator[list[str]]:
    """The requests ``backend``'s client sends meanwhile, as "METHOD path [range]"."""
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        rng = request.headers.get("Range", b"")
        rng = rng.decode() if isinstance(rng, bytes) else rng
        sent.append(f"{request.method} {request.url.split('/', 3)[-1]} {rng}".strip())

    events = backend._client.meta.events
    events.register("before-send.s3", record, unique_id="test-s3-cache")
    try:
        yield sent
    finally:
        events.unregister("before-send.s3", unique_id="test-s3-cache")


def _pack(trees: int = 3, data_blobs: int = 3, size: int = 5000) -> tuple[str, bytes,
                                                                          list[Any]]:
    """A pack of trees and data blobs, interleaved as the saver writes them."""
    builder = PackBuilder()
    for i in range(max(trees, data_blobs)):
        if i < data_blobs:
            blob = os.urandom(size)
            builder.add(KIND_DATA, content_id(blob), b"\0" + blob, size)
        if i < trees:
            tree = f"tree {i} ".encode() * 40
            builder.add(KIND_TREE, content_id(tree), b"\0" + tree, len(tree))
    return builder.finish()


def _written_elsewhere(server: S3Server, bucket: str, pack: str, data: bytes) -> None:
    """A pack stored by another machine (a backend with no cache), the upload done."""
    writer = _backend(server, bucket, None)
    writer.save("packs", pack, data)
    writer._uploads.wait_all()


def test_ranges_round_trip_and_a_damaged_file_is_refused() -> None:
    ranges = {8: b"abc", 100: b"", 40: b"x" * 1000}
    data = encode_ranges(ranges)
    assert decode_ranges(data) == ranges
    assert decode_ranges(encode_ranges({})) == {}
    damaged = bytearray(data)
    damaged[-1] ^= 1
    assert decode_ranges(bytes(damaged)) is None
    assert decode_ranges(data[:-1]) is None
    assert decode_ranges(b"nonsense") is None


def test_tree_runs_join_ranges_close_together() -> None:
    assert tree_runs([(100, 10), (0, 10), (15, 5), (200, 1)], gap=5) == [(0, 20), (100, 110),
                                                                        (200, 201)]
    assert tree_runs([], gap=5) == []


def test_default_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert default_cache_dir({"SNAPKIT_CACHE_DIR": str(tmp_path), "XDG_CACHE_HOME": "/x"}) \
        == tmp_path
    assert default_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/snapkit")
    assert default_cache_dir({"HOME": "/h"}) in (Path("/h/.cache/snapkit"),
                                                 Path("/h/Library/Caches/snapkit"))
    assert default_cache_dir({"SNAPKIT_NO_CACHE": "1", "SNAPKIT_CACHE_DIR": "/c"}) is None
    assert default_cache_dir({"SNAPKIT_NO_CACHE": "0", "SNAPKIT_CACHE_DIR": "/c"}) == Path("/c")


def test_named_objects_are_checked_against_their_name(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, "s3:http://h/b")
    data = b"an index file"
    cache.put("index", "0" * 32, data)  # not its name: not kept
    assert cache.get("index", "0" * 32) is None
    cache.put("index", content_id(data), data)
    assert cache.get("index", content_id(data)) == data
    path = cache.root / "index" / content_id(data)
    path.write_bytes(b"tampered")
    assert cache.get("index", content_id(data)) is None
    assert not path.exists()


def test_the_cache_is_private_and_tagged(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "c", "s3:http://h/b")
    cache.put_trees("ab" * 16, {8: b"tree"})
    assert stat.S_IMODE(cache.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache.root / "trees" / "ab" / ("ab" * 16)).stat().st_mode) == 0o600
    folders = [tmp_path / "c", *(p for p in (tmp_path / "c").rglob("*") if p.is_dir())]
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o700}  # every one
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_bytes().startswith(
        b"Signature: 8a477f597d28d172789f06886806bc55")


def test_an_unwritable_cache_is_ignored(tmp_path: Path, s3_server: S3Server) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    backend = _backend(s3_server, s3_server.new_bucket(), blocker / "cache")
    pack_id, data, entries = _pack()
    backend.save("packs", pack_id, data)
    tree = next(e for e in entries if e.kind == KIND_TREE)
    assert backend.load("packs", pack_id, tree.offset, tree.length) == \
        data[tree.offset:tree.offset + tree.length]
    backend.save("index", content_id(b"i"), b"i")
    assert backend.load("index", content_id(b"i")) == b"i"


def test_trees_of_an_uploaded_pack_are_read_without_a_request(tmp_path: Path,
                                                             s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    writer = _backend(s3_server, bucket, tmp_path / "cache")
    pack_id, data, entries = _pack()
    writer.save("packs", pack_id, data)
    writer.save("index", content_id(b"listing"), b"listing")  # waits for the upload
    reader = _backend(s3_server, bucket, tmp_path / "cache")  # a later run, same machine
    with _requests(reader) as sent:
        for e in entries:
            if e.kind == KIND_TREE:
                assert reader.load("packs", pack_id, e.offset, e.length) == \
                    data[e.offset:e.offset + e.length]
    assert sent == []
    blob = next(e for e in entries if e.kind == KIND_DATA)  # data blobs: from S3, as before
    with _requests(reader) as sent:
        assert reader.load("packs", pack_id, blob.offset, blob.length) == \
            data[blob.offset:blob.offset + blob.length]
    assert len(sent) == 1


@pytest.mark.parametrize("tail", [s3_cache.TAIL, 64], ids=["trailer-in-tail", "long-trailer"])
@pytest.mark.parametrize("size", [5000, 40_000], ids=["small-pack", "pack-past-the-tail"])
def test_a_cold_cache_reads_the_trailer_then_every_tree_once(
        tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch,
        tail: int, size: int) -> None:
    monkeypatch.setattr(s3_cache, "TAIL", tail)
    monkeypatch.setattr(s3_cache, "TREE_GAP", 100)  # trees a data blob apart: one each
    bucket = s3_server.new_bucket()
    pack_id, data, entries = _pack(trees=4, size=size)
    _written_elsewhere(s3_server, bucket, pack_id, data)
    reader = _backend(s3_server, bucket, tmp_path / "cache")
    trees = [e for e in entries if e.kind == KIND_TREE]
    with _requests(reader) as sent:
        for e in trees:
            assert reader.load("packs", pack_id, e.offset, e.length) == \
                data[e.offset:e.offset + e.length]
    assert sent[0].endswith(f"bytes=-{tail}")  # the end of the pack: its trailer
    assert 1 < len(sent) <= 2 + len(trees) - 1  # the last two trees are one run
    again = _backend(s3_server, bucket, tmp_path / "cache")
    with _requests(again) as sent:
        for e in trees:
            assert again.load("packs", pack_id, e.offset, e.length) == \
                data[e.offset:e.offset + e.length]
    assert sent == []


def test_what_is_not_a_pack_is_read_as_before(tmp_path: Path, s3_server: S3Server) -> None:
    backend = _backend(s3_server, s3_server.new_bucket(), tmp_path / "cache")
    name = "ab" * 16
    _written_elsewhere(s3_server, backend.bucket, name, b"0123456789" * 100)
    assert backend.load("packs", name, 10, 5) == b"01234"
    with _requests(backend) as sent:  # the trailer is not asked for again
        assert backend.load("packs", name, 20, 5) == b"01234"
    assert len(sent) == 1


def test_reading_a_trailer_reads_no_tree(tmp_path: Path, s3_server: S3Server) -> None:
    """``check`` and ``repair index`` read each pack's footer and trailer: that fetches
    nothing more."""
    from snapkit.store.pack import FOOTER, read_trailer

    pack_id, data, _ = _pack()
    backend = _backend(s3_server, s3_server.new_bucket(), tmp_path / "cache")
    _written_elsewhere(s3_server, backend.bucket, pack_id, data)
    size = backend.size("packs", pack_id)
    with _requests(backend) as sent:
        length = read_trailer(pack_id, backend.load("packs", pack_id, size - FOOTER.size,
                                                    FOOTER.size))
        backend.load("packs", pack_id, size - FOOTER.size - length, length)
    assert len(sent) == 2 and not any("bytes=-" in s for s in sent)


def test_index_and_manifests_are_cached_and_dropped_when_gone(tmp_path: Path,
                                                              s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    backend = _backend(s3_server, bucket, tmp_path / "cache")
    index, manifest = b"index file", b"manifest"
    backend.save("index", content_id(index), index)
    other = _backend(s3_server, bucket, tmp_path / "elsewhere")  # another machine
    other.save("snapshots", content_id(manifest), manifest)
    with _requests(backend) as sent:
        assert backend.load("index", content_id(index)) == index
        assert backend.load("snapshots", content_id(manifest)) == manifest  # read, cached
        assert backend.load("snapshots", content_id(manifest)) == manifest
    assert [s.split()[0] for s in sent] == ["GET"]
    other.remove("index", content_id(index))  # removed by the other machine
    assert list(backend.list("index")) == []
    assert not (backend._cache.root / "index" / content_id(index)).exists()  # type: ignore[union-attr]
    assert list(backend.list("snapshots")) == [content_id(manifest)]
    assert backend.load("snapshots", content_id(manifest)) == manifest


def test_a_removed_pack_leaves_the_cache(tmp_path: Path, s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    backend = _backend(s3_server, bucket, tmp_path / "cache")
    kept, gone = _pack(), _pack()
    for pack_id, data, _ in (kept, gone):
        backend.save("packs", pack_id, data)
    backend.remove("packs", gone[0])
    s3_server.client().delete_object(Bucket=bucket, Key=f"pre/packs/{kept[0][:2]}/{kept[0]}")
    trees = backend._cache.root / "trees"  # type: ignore[union-attr]
    assert sorted(p.name for p in trees.glob("*/*")) == [kept[0]]
    assert list(backend.list("packs")) == []
    assert list(trees.glob("*/*")) == []


def _sealed_pack(cipher: Sealed, trees: int = 3, size: int = 5000) -> tuple[str, bytes,
                                                                          list[Any]]:
    """:func:`_pack` as an encrypted repository writes it: blobs and trailer sealed."""
    builder = PackBuilder(cipher)
    for i in range(trees):
        blob = os.urandom(size)
        blob_id = cipher.content_id(blob)
        builder.add(KIND_DATA, blob_id, cipher.seal_blob(b"\0" + blob, blob_id), size)
        tree = f"tree {i} ".encode() * 40
        tree_id = cipher.content_id(tree)
        builder.add(KIND_TREE, tree_id, cipher.seal_blob(b"\0" + tree, tree_id), len(tree))
    return builder.finish()


@pytest.mark.parametrize("written", ["here", "elsewhere"])
def test_the_trees_of_a_sealed_pack_are_cached_with_the_cipher(
        tmp_path: Path, s3_server: S3Server, written: str) -> None:
    """An encrypted repository's trailers are sealed: with its cipher the cache keeps its
    trees (as stored: sealed), uploaded here or read from the trailer on first use."""
    cipher = Sealed(MasterKey.generate())
    bucket = s3_server.new_bucket()
    pack_id, data, entries = _sealed_pack(cipher)
    if written == "here":
        writer = _backend(s3_server, bucket, tmp_path / "cache")
        writer.use_cipher(cipher)
        writer.save("packs", pack_id, data)
        writer._uploads.wait_all()
    else:
        _written_elsewhere(s3_server, bucket, pack_id, data)
        first = _backend(s3_server, bucket, tmp_path / "cache")
        first.use_cipher(cipher)
        tree = next(e for e in entries if e.kind == KIND_TREE)
        with _requests(first) as sent:
            first.load("packs", pack_id, tree.offset, tree.length)
        assert sent[0].endswith(f"bytes=-{s3_cache.TAIL}")  # its trailer, then its trees
    reader = _backend(s3_server, bucket, tmp_path / "cache")  # a later run, same machine
    reader.use_cipher(cipher)
    with _requests(reader) as sent:
        for e in entries:
            if e.kind == KIND_TREE:
                stored = reader.load("packs", pack_id, e.offset, e.length)
                assert stored == data[e.offset:e.offset + e.length]
                assert cipher.open_blob(stored, e.raw_length, e.id).startswith(b"tree ")
    assert sent == []


def test_without_the_cipher_a_sealed_pack_is_read_from_s3(tmp_path: Path,
                                                          s3_server: S3Server) -> None:
    cipher = Sealed(MasterKey.generate())
    pack_id, data, entries = _sealed_pack(cipher)
    backend = _backend(s3_server, s3_server.new_bucket(), tmp_path / "cache")
    backend.save("packs", pack_id, data)
    backend._uploads.wait_all()
    other = Sealed(MasterKey.generate())  # a key that does not open the trailer
    for attempt, use in enumerate((None, other)):
        reader = _backend(s3_server, backend.bucket, tmp_path / "cache")
        if use is not None:
            reader.use_cipher(use)
        tree = [e for e in entries if e.kind == KIND_TREE][attempt]
        with _requests(reader) as sent:
            assert reader.load("packs", pack_id, tree.offset, tree.length) == \
                data[tree.offset:tree.offset + tree.length]
        assert len(sent) >= 1 and sent[-1].endswith(f"bytes={tree.offset}-"
                                                    f"{tree.offset + tree.length - 1}")
    assert not list((backend._cache.root / "trees").glob("*/*"))  # type: ignore[union-attr]


def test_an_encrypted_repository_on_s3_reads_its_trees_from_the_cache_verified(
        tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-snapshot of an unchanged tree into an encrypted repository on S3 reads no pack;
    a cached tree altered on disk (its entry's checksum made right) is refused on use, as a
    tree altered in the bucket is: the cache is never trusted unverified."""
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SNAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    loc = s3_server.location(s3_server.new_bucket(), "sealed")
    src = make_tree(tmp_path / "src", {"a/b/c.txt": b"c" * 100, "a/d.txt": b"d" * 5000,
                                       "e.txt": b"e"})
    repo = Repository.init(loc, passphrase=b"pw", kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    take(repo, src)
    again = Repository.open(loc, lambda: b"pw")
    backend = again.backend
    assert isinstance(backend, S3Backend) and backend._cache is not None
    parent = again.snapshots()[-1]
    opts = SnapOptions(sources=(str(src),), cache=None)  # no tree digests: every tree read
    with _requests(backend) as sent:
        _, snap = create_snapshot(again, opts, parent)
    assert snap.summary.files_unmodified == 3
    assert not [s for s in sent if s.startswith("GET") and "/packs/" in s], sent
    cached = list((backend._cache.root / "trees").glob("*/*"))
    assert cached
    for path in cached:
        ranges = decode_ranges(path.read_bytes())
        assert ranges is not None
        path.write_bytes(encode_ranges({o: r[:-1] + bytes([r[-1] ^ 1])
                                        for o, r in ranges.items()}))
    damaged = Repository.open(loc, lambda: b"pw")
    root = damaged.snapshots()[-1][1].tree
    with pytest.raises(BlobUnreadable, match="damaged"):
        damaged.load_blob(root)


class TestCachedS3Conformance(Conformance):
    """The whole conformance suite on an S3 backend with a cache."""


@pytest.fixture
def be(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    server = request.getfixturevalue("s3_server")
    backend = _backend(server, server.new_bucket(), tmp_path / "cache")
    yield backend
