"""The snapshot builder's reuse of the parent: an unchanged directory keeps the parent's tree
id without its tree being encoded again, a change gives exactly the ids a from-scratch
snapshot gives, and nothing damaged or unknown to the index is ever reused."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path
from typing import Any

import pytest
from helpers import init_twin, make_tree, random_tree, take
from hypothesis import given, settings
from hypothesis import strategies as st

from snapkit.capture import snapshot as snapshot_mod
from snapkit.capture.file import Captured, capture_file
from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.format.encoding import pack_obj
from snapkit.format.model import (
    FORMAT_VERSION,
    Node,
    Snapshot,
    Tree,
    encode_node,
    encode_tree,
)
from snapkit.format.paths import split_path
from snapkit.format.raw_tree import decode_tree_raw, encode_maps, encode_tree_raw
from snapkit.read.treewalk import find_node, iter_tree
from snapkit.store.repository import Repository


def subtree(repo: Repository, snap: Snapshot, path: Path) -> str:
    node = find_node(repo.load_tree, snap.tree, split_path(str(path)))
    assert node is not None and node.subtree is not None
    return node.subtree


def ids_below(repo: Repository, tree_id: str) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Every entry below a tree: path → (subtree or content ids, file hash)."""
    return {parts: (node.subtree, node.content, node.hash)
            for parts, node, leaving in iter_tree(repo.load_tree, tree_id) if not leaving}


class EncodeSpy:
    """Counts the trees the builder encodes for the sources' directories."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = encode_maps

        def spy(maps: Any) -> bytes:
            self.calls += 1
            return real(maps)

        monkeypatch.setattr(snapshot_mod, "encode_maps", spy)


class CaptureSpy:
    def __init__(self) -> None:
        self.captured: list[str] = []

    def __call__(self, path: str, *args: Any, **kw: Any) -> Captured:
        self.captured.append(path)
        return capture_file(path, *args, **kw)


def snap(repo: Repository, src: Path, parent: tuple[str, Snapshot] | None,
         capture: Any = capture_file) -> tuple[str, Snapshot]:
    opts = SnapOptions(sources=(str(src),), hostname=socket.gethostname())
    return create_snapshot(repo, opts, parent, capture=capture)


def test_an_unchanged_re_snapshot_reuses_every_tree_id(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    random_tree(src, random.Random(5), files=60)
    _, s1 = take(repo, src)
    spy = EncodeSpy(monkeypatch)
    _, s2 = take(repo, src)
    assert spy.calls == 0  # no tree of the sources encoded, hashed or saved again
    assert subtree(repo, s2, src) == subtree(repo, s1, src)
    assert ids_below(repo, subtree(repo, s2, src)) == ids_below(repo, subtree(repo, s1, src))


def test_recorded_symlinks_are_reused_too(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a", "e/b": b"b"})
    (src / "d" / "link").symlink_to("a")
    _, s1 = take(repo, src, symlinks="record")
    spy = EncodeSpy(monkeypatch)
    _, s2 = take(repo, src, symlinks="record")
    assert spy.calls == 0
    assert subtree(repo, s2, src) == subtree(repo, s1, src)
    (src / "d" / "link").unlink()
    (src / "d" / "link").symlink_to("elsewhere")
    _, s3 = take(repo, src, symlinks="record")
    assert spy.calls == 2  # d and the source above it
    assert subtree(repo, s3, src) != subtree(repo, s1, src)


@pytest.mark.parametrize("change", ["edit", "add", "remove", "chmod"])
def test_a_change_gives_the_ids_of_a_snapshot_from_scratch(
    repo: Repository, tmp_path: Path, change: str
) -> None:
    rng = random.Random(7)
    spec = {f"d{i % 3}/s{i % 2}/f{i}.bin": rng.randbytes(rng.choice([0, 10, 5000, 70_000]))
            for i in range(30)}
    src = make_tree(tmp_path / "src", spec)
    take(repo, src)
    target = src / "d1" / "s0" / "f4.bin"
    if change == "edit":
        target.write_bytes(b"changed")
    elif change == "add":
        (src / "d1" / "s0" / "new.txt").write_bytes(b"new")
    elif change == "remove":
        target.unlink()
    else:
        target.chmod(0o600)
    _, incremental = take(repo, src)
    _, forced = take(repo, src, force=True, parent=None)
    fresh = init_twin(tmp_path / "fresh", repo)
    _, scratch = take(fresh, src, parent=None)
    ids = subtree(repo, incremental, src)
    assert ids == subtree(repo, forced, src) == subtree(fresh, scratch, src)
    assert ids_below(repo, ids) == ids_below(fresh, ids)


def _first_pack(repo: Repository, blob_id: str) -> str:
    entry = repo.index.get(blob_id)
    assert entry is not None
    return entry.pack


def test_a_damaged_subtree_is_not_reused(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a/x": b"x" * 100, "a/y": b"y" * 200, "b/z": b"z"})
    first = snap(repo, src, None)
    tree_a = find_node(repo.load_tree, first[1].tree, split_path(str(src / "a")))
    assert tree_a is not None and tree_a.subtree is not None
    repo.record_damage(tree_a.subtree, _first_pack(repo, tree_a.subtree), "test")
    assert tree_a.subtree not in repo.index
    spy = CaptureSpy()
    _, second = snap(repo, src, first, capture=spy)
    assert sorted(spy.captured) == [str(src / "a" / "x"), str(src / "a" / "y")]
    again = find_node(repo.load_tree, second.tree, split_path(str(src / "a")))
    assert again is not None and again.subtree == tree_a.subtree
    assert tree_a.subtree in repo.index  # stored again: the damage healed


def test_a_file_with_a_damaged_chunk_is_read_again(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a/x": b"x" * 100, "a/y": b"y" * 200})
    first = snap(repo, src, None)
    node = find_node(repo.load_tree, first[1].tree, split_path(str(src / "a" / "y")))
    assert node is not None
    repo.record_damage(node.content[0], _first_pack(repo, node.content[0]), "test")
    spy = CaptureSpy()
    _, second = snap(repo, src, first, capture=spy)
    assert spy.captured == [str(src / "a" / "y")]
    assert subtree(repo, second, src) == subtree(repo, first[1], src)
    assert node.content[0] in repo.index


def test_tree_maps_round_trip_and_other_spellings_are_not_reused() -> None:
    nodes = (Node("a", "file", 0o644, 1, 2, 3, 4, 5, 6, "u", "g", ("ab" * 16,), "cd" * 16),
             Node("b", "dir", 0o755, 1, subtree="ef" * 16),
             Node("c", "symlink", 0o777, 1, target="a"))
    data = encode_tree(Tree(nodes))
    maps, canonical = decode_tree_raw(data)
    assert canonical and maps == [encode_node(n) for n in nodes]
    assert encode_tree_raw([maps[2], nodes[0], maps[1]]) == data
    reordered = [dict(reversed(list(m.items()))) for m in maps]
    other = pack_obj({"v": FORMAT_VERSION, "nodes": reordered})
    maps2, canonical2 = decode_tree_raw(other)
    assert not canonical2 and maps2 == maps
    assert os.fsencode("a") == maps[0]["name"]


def _is_id(raw: object) -> bool:
    return type(raw) is bytes and len(raw) == 16


def _canonical_oracle(d: object) -> bool:
    """The per-node rule :func:`snapkit.format.raw_tree._all_canonical` checks in columns."""
    keys = {"file": (*BASE_KEYS, "content", "hash"), "dir": (*BASE_KEYS, "subtree"),
            "symlink": (*BASE_KEYS, "target")}
    if not isinstance(d, dict) or tuple(d) != keys.get(str(d.get("type")), ()):
        return False
    if type(d["name"]) is not bytes:
        return False
    if d["type"] == "file":
        return (type(d["content"]) is list and all(map(_is_id, d["content"]))
                and (d["hash"] is None or _is_id(d["hash"])))
    if d["type"] == "dir":
        return d["subtree"] is None or _is_id(d["subtree"])
    return True


BASE_KEYS = ("name", "type", "mode", "mtime", "ctime", "size", "inode", "uid", "gid", "user",
             "group")
_ids = st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20), st.none(),
                 st.text(max_size=3), st.integers(0, 3))


@st.composite
def _node_map(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["file", "dir", "symlink", "other", 7, None]))
    d: dict[str, object] = {k: 0 for k in BASE_KEYS}
    d["name"] = draw(st.one_of(st.binary(max_size=4), st.text(max_size=2)))
    d["type"] = kind
    if kind == "file" or draw(st.booleans()):
        d["content"] = draw(st.one_of(st.lists(_ids, max_size=3), st.none(), _ids))
        d["hash"] = draw(_ids)
    if kind == "dir" or draw(st.integers(0, 5)) == 0:
        d["subtree"] = draw(_ids)
    if kind == "symlink":
        d["target"] = "t"
    if draw(st.integers(0, 6)) == 0:  # keys in another order
        d = dict(reversed(list(d.items())))
    if draw(st.integers(0, 8)) == 0:
        return draw(st.sampled_from([[1], "x", None, 3]))
    return d


@settings(max_examples=400, deadline=None)
@given(st.lists(_node_map(), max_size=6))
def test_the_column_check_of_tree_maps_is_the_per_node_rule(nodes: list[object]) -> None:
    from snapkit.format.raw_tree import _all_canonical

    assert _all_canonical(nodes) == all(map(_canonical_oracle, nodes))
