"""The value types and their msgpack encodings: round trips, determinism, version refusal."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapkit.format.errors import IntegrityError, RepositoryMissing
from snapkit.format.model import (
    FORMAT_VERSION,
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    BlobEntry,
    Node,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    content_id,
    decode_index,
    decode_lock,
    decode_pack_trailer,
    decode_snapshot,
    decode_tree,
    encode_index,
    encode_lock,
    encode_pack_trailer,
    encode_snapshot,
    encode_tree,
    sort_nodes,
)
from snapkit.store.cipher import Sealed
from snapkit.store.keys import sealed_config
from snapkit.store.repository import RepoConfig, Repository

ODD = os.fsdecode(b"\xff\xfe")  # not UTF-8: surrogate-escaped in Python
ID1, ID2, ID3 = "1" * 32, "2" * 32, "0123456789abcdef" * 2


def file_node(name: str = "f", **kw: object) -> Node:
    base = dict(name=name, type=NODE_FILE, mode=0o644, mtime_ns=1_700_000_000_123_456_789,
                ctime_ns=1_700_000_001_000_000_001, size=12, inode=99, uid=1000, gid=100,
                user="me", group="users", content=(ID1, ID2))
    base.update(kw)
    return Node(**base)  # type: ignore[arg-type]


def test_content_id_is_xxh3_128_hex() -> None:
    assert content_id(b"") == "99aa06d3014798d86001c324468d497f"
    assert len(content_id(b"abc")) == 32
    assert content_id(bytearray(b"abc")) == content_id(memoryview(b"abc")) == content_id(b"abc")


# --------------------------------------------------------------------------- trees


def test_tree_round_trip_all_node_types() -> None:
    tree = Tree(sort_nodes([
        file_node("file.txt"),
        Node("dir", NODE_DIR, 0o700, -5, subtree=ID3),
        Node("emptydir", NODE_DIR, 0o755, 0, subtree=None),
        Node("link", NODE_SYMLINK, 0o777, 7, target="../outside/x"),
        file_node("empty", size=0, content=()),
    ]))
    assert decode_tree(encode_tree(tree)) == tree


def test_non_utf8_names_and_targets_survive_as_raw_bytes() -> None:
    link_target = os.fsdecode(b"/tmp/\xe9t\xe9")
    tree = Tree(sort_nodes([file_node(ODD), Node("l", NODE_SYMLINK, 0o777, 0,
                                                  target=link_target)]))
    data = encode_tree(tree)
    raw = msgpack.unpackb(data, raw=True)
    names = [n[b"name"] for n in raw[b"nodes"]]
    assert b"\xff\xfe" in names
    assert all(isinstance(n, bytes) for n in names)
    back = decode_tree(data)
    assert back == tree
    assert back.by_name()[ODD].name_bytes == b"\xff\xfe"
    assert os.fsencode(back.by_name()["l"].target or "") == b"/tmp/\xe9t\xe9"


def test_sort_nodes_orders_by_raw_name_bytes() -> None:
    names = ["b", "B", "a", "é", "z", ODD, "ab", "a b", "日本"]
    got = [n.name_bytes for n in sort_nodes([file_node(x) for x in names])]
    assert got == sorted(os.fsencode(x) for x in names)


def test_tree_encoding_is_deterministic() -> None:
    nodes = [file_node("a"), Node("d", NODE_DIR, 0o755, 1, subtree=ID3)]
    one = encode_tree(Tree(sort_nodes(nodes)))
    two = encode_tree(Tree(sort_nodes(list(reversed(nodes)))))
    rebuilt = encode_tree(decode_tree(one))
    assert one == two == rebuilt
    assert content_id(one) == content_id(rebuilt)


def test_node_metadata_changes_change_the_tree_id() -> None:
    base = content_id(encode_tree(Tree((file_node(),))))
    for change in ({"mode": 0o600}, {"mtime_ns": 1}, {"size": 13}, {"content": (ID2,)},
                   {"name": "g"}, {"uid": 0}):
        other = content_id(encode_tree(Tree((file_node(**change),))))
        assert other != base, change


_names = st.binary(min_size=1, max_size=40).map(os.fsdecode)
_ids = st.binary(min_size=16, max_size=16).map(bytes.hex)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_uints = st.integers(min_value=0, max_value=2**64 - 1)
_nodes = st.one_of(
    st.builds(Node, name=_names, type=st.just(NODE_FILE), mode=st.integers(0, 0o7777),
              mtime_ns=_ints, ctime_ns=_ints, size=_uints, inode=_uints,
              uid=st.integers(0, 2**32 - 1), gid=st.integers(0, 2**32 - 1),
              user=st.text(max_size=10), group=st.text(max_size=10),
              content=st.lists(_ids, max_size=5).map(tuple)),
    st.builds(Node, name=_names, type=st.just(NODE_DIR), mode=st.integers(0, 0o7777),
              mtime_ns=_ints, subtree=st.one_of(st.none(), _ids)),
    st.builds(Node, name=_names, type=st.just(NODE_SYMLINK), mode=st.integers(0, 0o7777),
              mtime_ns=_ints, target=st.binary(max_size=60).map(os.fsdecode)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_nodes, max_size=8, unique_by=lambda n: n.name))
def test_tree_round_trip_property(nodes: list[Node]) -> None:
    tree = Tree(sort_nodes(nodes))
    data = encode_tree(tree)
    assert decode_tree(data) == tree
    assert encode_tree(decode_tree(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",
        msgpack.packb([1, 2]),
        msgpack.packb({"v": 1}),
        msgpack.packb({"v": 1, "nodes": [{"name": b"x", "type": "fifo", "mode": 0, "mtime": 0}]}),
        msgpack.packb({"v": 1, "nodes": [{"name": b"x", "type": "file"}]}),
        msgpack.packb({"v": 1, "nodes": [{"name": b"x", "type": "file", "mode": 0, "mtime": 0,
                                          "content": [b"short"]}]}),
        msgpack.packb({"v": 1, "nodes": [{"name": b"x", "type": "dir", "mode": 0, "mtime": 0,
                                          "subtree": b"\x01" * 15}]}),
        msgpack.packb({"v": 1, "nodes": ["not a map"]}),
    ],
    ids=["garbage", "list", "no-nodes", "unknown-type", "no-mode", "short-content-id",
         "short-subtree-id", "node-not-a-map"],
)
def test_malformed_tree_objects_are_integrity_errors(data: bytes) -> None:
    with pytest.raises(IntegrityError):
        decode_tree(data)


def test_unknown_keys_in_a_node_are_ignored() -> None:
    obj = msgpack.unpackb(encode_tree(Tree((file_node(),))))
    obj["nodes"][0]["xattrs"] = {"user.x": b"y"}
    obj["future"] = True
    assert decode_tree(msgpack.packb(obj, use_bin_type=True)) == Tree((file_node(),))


# --------------------------------------------------------------------------- snapshots


def full_snapshot() -> Snapshot:
    return Snapshot(
        time_ns=1_700_000_000_000_000_001,
        hostname="host",
        username="me",
        sources=("/home/me/.openclaw", "/srv/data"),
        tree=ID3,
        parent="a" * 32,
        tags=("nightly", "before-upgrade"),
        mode="config-only",
        program_version="0.1.0",
        summary=Summary(**{  # type: ignore[arg-type]  # every counter distinct, whatever they are
            k: (1.25 if k == "duration_s" else i + 1)
            for i, k in enumerate(Summary.__dataclass_fields__)
        }),
        skipped=(Skipped("/srv/data/l", "symlink", "../x"), Skipped("/srv/data/p", "fifo")),
        warnings=("/srv/data/f: changed during read; stored as last read",),
        rules=("/srv/data: none",),
        service={"gateway": "stopped", "pid": 12},
    )


def test_snapshot_round_trip() -> None:
    snap = full_snapshot()
    assert decode_snapshot(encode_snapshot(snap)) == snap
    minimal = Snapshot(time_ns=0, hostname="h", username="", sources=("/",), tree=ID1)
    assert decode_snapshot(encode_snapshot(minimal)) == minimal


def test_snapshot_encoding_is_deterministic() -> None:
    a = encode_snapshot(full_snapshot())
    b = encode_snapshot(full_snapshot())
    assert a == b
    assert content_id(a) == content_id(b)
    assert content_id(encode_snapshot(replace(full_snapshot(), tags=("x",)))) != content_id(a)


def test_non_utf8_source_and_skipped_paths_are_stored_escaped() -> None:
    src = "/data/" + ODD
    snap = replace(full_snapshot(), sources=(src,),
                   skipped=(Skipped(src + "/l", "symlink", os.fsdecode(b"\xe9")),),
                   warnings=(src + ": changed",))
    back = decode_snapshot(encode_snapshot(snap))
    assert back.sources == ("/data/\\xff\\xfe",)
    assert back.skipped[0].path == "/data/\\xff\\xfe/l"
    assert back.skipped[0].detail == "\\xe9"
    assert back.warnings == ("/data/\\xff\\xfe: changed",)


@pytest.mark.parametrize("version", [0, 2, 99, None, "1"])
def test_snapshot_of_another_format_version_is_refused(version: object) -> None:
    obj = msgpack.unpackb(encode_snapshot(full_snapshot()))
    obj["v"] = version
    with pytest.raises(IntegrityError, match="format version"):
        decode_snapshot(msgpack.packb(obj, use_bin_type=True))


@pytest.mark.parametrize(
    "data",
    [b"\xc1", msgpack.packb([]), msgpack.packb({"v": 1}),
     msgpack.packb({"v": 1, "time": 0, "hostname": "h", "sources": [], "tree": b"x"})],
    ids=["garbage", "list", "empty", "short-tree-id"],
)
def test_malformed_snapshots_are_integrity_errors(data: bytes) -> None:
    with pytest.raises(IntegrityError):
        decode_snapshot(data)


def test_summary_keys_a_newer_snapkit_adds_are_ignored() -> None:
    obj = msgpack.unpackb(encode_snapshot(full_snapshot()))
    obj["summary"]["files_teleported"] = 3
    obj["new_top_level_key"] = [1]
    assert decode_snapshot(msgpack.packb(obj, use_bin_type=True)) == full_snapshot()


# --------------------------------------------------------------------------- packs, index, locks


def test_pack_trailer_round_trip() -> None:
    entries = [BlobEntry(ID1, 0, "p" * 0 + "e" * 32, 8, 100, 200),
               BlobEntry(ID2, 1, "e" * 32, 108, 5, 5)]
    assert decode_pack_trailer(encode_pack_trailer(entries), "e" * 32) == entries


def test_index_round_trip_and_version_refusal() -> None:
    entries = [BlobEntry(ID1, 0, "a" * 32, 8, 100, 200), BlobEntry(ID2, 1, "b" * 32, 8, 5, 5)]
    data = encode_index(entries)
    assert sorted(decode_index(data, "x"), key=lambda e: e.id) == entries
    obj = msgpack.unpackb(data)
    obj["v"] = FORMAT_VERSION + 1
    with pytest.raises(IntegrityError, match="version"):
        decode_index(msgpack.packb(obj, use_bin_type=True), "x")


def test_lock_round_trip() -> None:
    info = {"host": "h", "pid": 12, "time": 1.5, "exclusive": True, "operation": "prune"}
    assert decode_lock(encode_lock(info)) == info
    with pytest.raises(IntegrityError):
        decode_lock(msgpack.packb([1]))


# --------------------------------------------------------------------------- repository config


def test_repository_config_round_trip(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "r")
    again = Repository.open(tmp_path / "r")
    assert again.config == repo.config
    assert RepoConfig.from_json(repo.config.to_json(), "r") == repo.config


@pytest.mark.parametrize("version", [0, 3, None])
def test_repository_of_another_format_version_is_refused(tmp_path: Path,
                                                        version: object) -> None:
    import json

    repo = Repository.init(tmp_path / "r")
    doc = json.loads(repo.config.to_json())
    doc["version"] = version
    (tmp_path / "r" / "config").write_text(json.dumps(doc))
    with pytest.raises(RepositoryMissing, match="format version") as err:
        Repository.open(tmp_path / "r")
    assert err.value.exit_code == 10


@pytest.mark.parametrize("text", ["not json", '{"format": "restic"}', "[]",
                                  '{"format": "snapkit-repository", "version": 1}'])
def test_damaged_or_foreign_config(tmp_path: Path, text: str) -> None:
    """In a repository (its packs/, index/ and snapshots/ are there) a config that is not one
    is damage: the repository opens with the version-1 defaults and a warning naming the
    repair. In any other folder it is refused: that is no snapkit repository."""
    made = Repository.init(tmp_path / "r")
    (tmp_path / "r" / "config").write_text(text)
    repo = Repository.open(tmp_path / "r")
    want = RepoConfig.fallback()
    if isinstance(repo.cipher, Sealed):  # the encrypted test mode: an encrypted one's defaults,
        # with the id this machine saw there under its key (the local cache)
        want = sealed_config(replace(want, id=made.config.id), repo.cipher)
    assert repo.config == want and repo.config_damaged
    assert len(repo.warnings) == 1 and "snapkit repair config" in repo.warnings[0]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config").write_text(text)
    with pytest.raises(RepositoryMissing) as err:
        Repository.open(tmp_path / "other")
    assert err.value.exit_code == 10
