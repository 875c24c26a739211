"""The local cache of directory digests: an unchanged directory of files keeps the parent's
tree without the tree being read, every change is still seen, and the cache is trusted only
while the index files it names are all there and nothing is recorded damaged."""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, init_repo, init_twin, make_tree, random_tree, run_snapkit, take

from snapkit.capture import parent as parent_mod
from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.capture.tree_digests import TreeDigests, stat_digest, tree_digest
from snapkit.format.model import Snapshot
from snapkit.format.paths import split_path
from snapkit.format.raw_tree import decode_tree_raw
from snapkit.read.treewalk import find_node, iter_tree
from snapkit.store import local_cache
from snapkit.store.repository import Repository


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return init_repo(tmp_path / "repo")


class ReadSpy:
    """Counts the parent's trees the builder reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read: list[str] = []
        real = parent_mod.ParentTrees.tree

        def spy(trees: parent_mod.ParentTrees, tree_id: str) -> Any:
            self.read.append(tree_id)
            return real(trees, tree_id)

        monkeypatch.setattr(parent_mod.ParentTrees, "tree", spy)


def tree_ids(repo: Repository, snap: Snapshot) -> dict[tuple[str, ...], str]:
    """Tree id of each directory of the snapshot's source and below."""
    (source,) = snap.sources
    top = split_path(source)
    return {parts: node.subtree for parts, node, leaving in iter_tree(repo.load_tree, snap.tree)
            if not leaving and node.subtree and parts[:len(top)] == top}


def leaf_dirs(root: Path) -> list[Path]:
    return [Path(d) for d, dirs, _ in os.walk(root) if not dirs]


def test_digest_of_a_stored_tree_is_the_digest_of_its_files_lstat(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a" * 10, "d/b": b"", "d/c é": b"c" * 70_000})
    (src / "d" / "b").chmod(0o600)
    _, snap = take(repo, src)
    node = find_node(repo.load_tree, snap.tree, split_path(str(src / "d")))
    assert node is not None and node.subtree is not None
    maps, canonical = decode_tree_raw(repo.load_blob(node.subtree))
    assert canonical
    items = [(n, os.lstat(src / "d" / n)) for n in sorted(os.listdir(src / "d"))]
    assert stat_digest(items) == tree_digest(maps)
    (src / "d" / "b").chmod(0o644)
    changed = [(n, os.lstat(src / "d" / n)) for n in sorted(os.listdir(src / "d"))]
    assert stat_digest(changed) != tree_digest(maps)


def test_a_tree_with_anything_but_hashed_files_has_no_digest(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a", "d/sub/b": b"b"})
    _, snap = take(repo, src)
    node = find_node(repo.load_tree, snap.tree, split_path(str(src / "d")))
    assert node is not None and node.subtree is not None
    maps, _ = decode_tree_raw(repo.load_blob(node.subtree))
    assert tree_digest(maps) is None  # a directory in it
    file_map = next(m for m in maps if m["type"] == "file")
    assert tree_digest([{**file_map, "hash": None}]) is None
    assert tree_digest([{**file_map, "user": None}]) is None
    assert tree_digest([file_map]) is not None


def test_an_unchanged_directory_of_files_is_not_read_again(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    random_tree(src, random.Random(11), files=80)
    _, first = take(repo, src)
    spy = ReadSpy(monkeypatch)
    _, second = take(repo, src)
    leaves = {tree_ids(repo, first)[split_path(str(d))] for d in leaf_dirs(src)}
    assert leaves and not leaves & set(spy.read)  # no leaf directory's tree read
    assert tree_ids(repo, second) == tree_ids(repo, first)
    assert second.summary.files_unmodified == first.summary.files_new


@pytest.mark.parametrize("change", ["edit", "same-size", "add", "remove", "chmod", "rename",
                                    "touch", "wal", "empty"])
def test_every_change_to_a_cached_directory_is_seen(
    repo: Repository, tmp_path: Path, change: str
) -> None:
    rng = random.Random(3)
    src = make_tree(tmp_path / "src", {f"d{i % 3}/f{i}.bin": rng.randbytes(rng.choice(
        [0, 10, 5000, 70_000])) for i in range(24)})
    take(repo, src)
    take(repo, src)  # the cache holds every directory now
    target = src / "d1" / "f4.bin"
    if change == "edit":
        target.write_bytes(b"changed")
    elif change == "same-size":
        before = target.stat()
        target.write_bytes(bytes(len(target.read_bytes())))
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # only ctime tells
    elif change == "add":
        (src / "d1" / "new.txt").write_bytes(b"new")
    elif change == "remove":
        target.unlink()
    elif change == "chmod":
        target.chmod(0o600)
    elif change == "rename":
        target.rename(src / "d1" / "g4.bin")
    elif change == "touch":
        os.utime(target, ns=(1, 1))
    elif change == "wal":
        (src / "d1" / "f4.bin-wal").write_bytes(b"")
    else:
        for f in (src / "d1").iterdir():
            f.unlink()
    _, incremental = take(repo, src)
    fresh = init_twin(tmp_path / "fresh", repo)
    _, scratch = take(fresh, src, parent=None)
    assert tree_ids(repo, incremental) == tree_ids(fresh, scratch)


def test_the_cache_is_not_trusted_once_an_index_file_it_names_is_gone(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a", "d/b": b"b"})
    take(repo, src)
    take(repo, src)
    root = local_cache.cache_root()
    assert TreeDigests.load(root, repo, (str(src),)).known
    gone = sorted(repo.index.files)[0]
    (repo.backend.root / "index" / gone).unlink()  # type: ignore[attr-defined]
    reopened = Repository.open(repo.backend.root)  # type: ignore[attr-defined]
    assert TreeDigests.load(root, reopened, (str(src),)).known == {}


def test_the_cache_is_not_trusted_while_damage_is_recorded(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a" * 100, "d/b": b"b" * 200})
    first = take(repo, src)
    take(repo, src)
    node = find_node(repo.load_tree, first[1].tree, split_path(str(src / "d" / "b")))
    assert node is not None
    entry = repo.index.get(node.content[0])
    assert entry is not None
    repo.record_damage(node.content[0], entry.pack, "test")
    spy = ReadSpy(monkeypatch)
    captured: list[str] = []
    from snapkit.capture.file import capture_file

    def capture(path: str, *args: Any, **kw: Any) -> Any:
        captured.append(path)
        return capture_file(path, *args, **kw)

    opts = SnapOptions(sources=(str(src),), cache=local_cache.cache_root())
    create_snapshot(repo, opts, repo.snapshots()[-1], capture=capture)
    assert captured == [str(src / "d" / "b")]  # the damaged chunk's file read again
    assert spy.read  # the trees were read: the cache was not used


def test_a_damaged_or_foreign_cache_file_is_ignored(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"d/a": b"a", "e/b": b"b"})
    take(repo, src)
    root = local_cache.cache_root()
    digests = TreeDigests.load(root, repo, (str(src),))
    assert digests.path is not None and digests.known
    data = bytearray(digests.path.read_bytes())
    data[5] ^= 1
    digests.path.write_bytes(bytes(data))
    assert TreeDigests.load(root, repo, (str(src),)).known == {}
    digests.path.write_bytes(b"")
    assert TreeDigests.load(root, repo, (str(src),)).known == {}
    take(repo, src)  # and the run writes a sound one again
    assert TreeDigests.load(root, repo, (str(src),)).known


def test_the_cache_is_private_tagged_and_can_be_turned_off(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    src = make_tree(tmp_path / "src", {"d/a": b"a"})
    take(repo, src)
    folder = tmp_path / "cache" / repo.config.id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700  # the top one too
    (cache_file,) = folder.iterdir()
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_bytes().startswith(
        b"Signature: 8a477f597d28d172789f06886806bc55")
    monkeypatch.setenv("SNAPKIT_NO_CACHE", "1")
    assert local_cache.cache_root() is None
    other = init_repo(tmp_path / "other")
    take(other, src)
    assert not (tmp_path / "cache" / other.config.id).exists()


def test_where_the_cache_lives() -> None:
    root = local_cache.cache_root
    assert root({"SNAPKIT_CACHE_DIR": "/c"}) == Path("/c")
    assert root({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/snapkit")
    assert root({"HOME": "/h"}) in (Path("/h/.cache/snapkit"), Path("/h/Library/Caches/snapkit"))
    assert root({"SNAPKIT_NO_CACHE": "1", "SNAPKIT_CACHE_DIR": "/c"}) is None
    assert root({"SNAPKIT_NO_CACHE": "0", "SNAPKIT_CACHE_DIR": "/c"}) == Path("/c")


def test_snap_keeps_its_cache_where_the_environment_says(tmp_path: Path) -> None:
    """Through a real `snapkit snap` process: the cache under $XDG_CACHE_HOME/snapkit, the
    second run finds every file unchanged through it, and SNAPKIT_NO_CACHE=1 writes none."""
    src = tmp_path / "src"
    random_tree(src, random.Random(2), files=40)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    runs = [run_snapkit(["snap", "--json", "--service-policy", "never", str(src)], env)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    cache = tmp_path / "xdg-cache" / "snapkit"
    (folder,) = (p for p in cache.iterdir() if p.is_dir())
    assert [p.name.startswith("trees-") for p in folder.iterdir()] == [True]
    summary = json.loads(runs[1].stdout.splitlines()[-1])
    assert (summary["files_new"], summary["files_changed"]) == (0, 0)
    assert summary["files_unmodified"] == summary["total_files"] == 40
    off = cli_env(tmp_path / "off", SNAPKIT_REPO=str(tmp_path / "off" / "repo2"),
                  SNAPKIT_NO_CACHE="1")
    assert run_snapkit(["snap", "--service-policy", "never", str(src)], off).returncode == 0
    assert not (tmp_path / "off" / "xdg-cache").exists()
