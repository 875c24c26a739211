"""Library-level snapshot tests: round trips, incremental runs, dedup, symlinks, special files."""

from __future__ import annotations

import builtins
import json
import os
import random
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    IS_ROOT,
    Dir,
    Fifo,
    File,
    Socket,
    Symlink,
    assert_trees_equal,
    env_for,
    init_repo,
    invoke_main,
    make_tree,
    random_tree,
    restore,
    restored,
    take,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapkit.capture.file import Captured, capture_file
from snapkit.capture.files_cache import file_unchanged
from snapkit.capture.nodes import node_from_stat
from snapkit.format.model import (
    KIND_DATA,
    KIND_TREE,
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Skipped,
)
from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node, iter_tree
from snapkit.store.repository import Repository

MiB = 1024 * 1024


# --------------------------------------------------------------------------- tools


class OpenSpy:
    """Records every open (os.open, builtins.open) of a non-directory path below ``under``,
    and every call of its ``capture`` (the builder's file reader, injected: ``take(...,
    capture=spy.capture)``): proof of which files a snapshot read. (Directories are
    opened to be listed; that reads no file content.)"""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *under: Path) -> None:
        self.prefixes = tuple(os.fsencode(os.path.abspath(u)) for u in under)
        self.opened: list[str] = []
        self.captured: list[str] = []
        real_os_open, real_open = os.open, builtins.open

        def os_open(path: Any, *a: Any, **kw: Any) -> int:
            self._note(path, kw.get("dir_fd"))
            return real_os_open(path, *a, **kw)

        def b_open(file: Any, *a: Any, **kw: Any) -> Any:
            self._note(file, None)
            return real_open(file, *a, **kw)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(builtins, "open", b_open)

    def capture(self, path: str, *a: Any, **kw: Any) -> Captured:
        self.captured.append(path)
        return capture_file(path, *a, **kw)

    def _note(self, path: Any, dir_fd: int | None) -> None:
        if isinstance(path, int) or dir_fd is not None:
            return
        p = os.fsencode(os.path.abspath(os.fspath(path)))
        if os.path.isdir(p) and not os.path.islink(p):
            return
        if any(p == pre or p.startswith(pre + b"/") for pre in self.prefixes):
            self.opened.append(os.fsdecode(p))


def nodes_by_path(repo: Repository, tree_id: str) -> dict[str, Node]:
    return {"/" + "/".join(parts): node for parts, node, leaving in
            iter_tree(repo.load_tree, tree_id) if not leaving}


def source_node(repo: Repository, tree_id: str, src: Path) -> Node:
    node = find_node(repo.load_tree, tree_id, split_path(str(src)))
    assert node is not None
    return node


def index_entries(repo_path: Path) -> dict[str, Any]:
    return {e.id: e for e in Repository.open(repo_path).index}


def ancestors_stat(path: Path) -> list[tuple[int, int, int]]:
    out = []
    for p in path.parents:
        s = os.stat(p)
        out.append((s.st_mtime_ns, s.st_ctime_ns, s.st_mode))
    return out


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tree_round_trip(repo: Repository, tmp_path: Path, seed: int) -> None:
    src = tmp_path / "src"
    random_tree(src, random.Random(seed), files=40, big=1 if seed == 1 else 0)
    sid, snap = take(repo, src)
    assert snap.summary.files_new == snap.summary.total_files > 0
    result = restore(repo, sid, tmp_path / "target")
    assert result.files == snap.summary.total_files
    assert_trees_equal(src, restored(tmp_path / "target", src))


_name = st.binary(min_size=1, max_size=12).filter(
    lambda b: b not in (b".", b"..") and b"/" not in b and b"\0" not in b
)
_entry = st.tuples(
    st.binary(max_size=3000) | st.sampled_from([b"", b"x" * 70_000]),
    st.sampled_from([0o644, 0o600, 0o755, 0o4711, 0o444]),
    st.integers(min_value=-(2**40), max_value=2**62),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.dictionaries(st.lists(_name, min_size=1, max_size=3).map(tuple), _entry, max_size=12)
)
def test_round_trip_property(files: dict[tuple[bytes, ...], tuple[bytes, int, int]]) -> None:
    # A path that is a prefix of another can't be both a file and a directory.
    keys = sorted(files, key=len)
    spec: dict[bytes, File] = {}
    for k in keys:
        if any(k[: len(o)] == o for o in keys if len(o) < len(k)):
            continue
        content, mode, mtime = files[k]
        spec[b"/".join(k)] = File(content, mode=mode, mtime_ns=mtime)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        make_tree(src, spec)
        repo = init_repo(Path(tmp) / "repo")
        sid, _ = take(repo, src)
        restore(repo, sid, Path(tmp) / "target")
        assert_trees_equal(src, restored(Path(tmp) / "target", src))


def test_empty_files_and_empty_dirs(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {
        "empty": b"", "d/also-empty": b"", "d/e/": Dir(), "f/": Dir(mode=0o700),
    })
    sid, snap = take(repo, src)
    nodes = nodes_by_path(repo, snap.tree)
    assert nodes[f"{src}/empty"].content == ()
    assert nodes[f"{src}/empty"].size == 0
    assert snap.summary.total_bytes == 0
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_empty_source_directory(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {})
    sid, snap = take(repo, src)
    assert snap.summary.total_files == 0
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_modes_and_mtimes(repo: Repository, tmp_path: Path) -> None:
    spec: dict[str, Any] = {
        "setuid": File(b"x", mode=0o4755, mtime_ns=1),
        "setgid": File(b"x", mode=0o2755, mtime_ns=-1_000_000_001),
        "ro": File(b"x", mode=0o444, mtime_ns=1_234_567_890_123_456_789),
        "private": File(b"x", mode=0o600, mtime_ns=0),
        "sticky/": Dir(mode=0o1777, mtime_ns=5),
        "sticky/f": File(b"y", mode=0o640, mtime_ns=7),
        "rodir/": Dir(mode=0o555, mtime_ns=11),
        "rodir/inside": File(b"z", mode=0o755, mtime_ns=13),
        "closed/": Dir(mode=0o700, mtime_ns=17),
        "shared/": Dir(mode=0o2775, mtime_ns=23),
    }
    if IS_ROOT:
        spec["nothing"] = File(b"root reads it anyway", mode=0o000, mtime_ns=19)
    src = make_tree(tmp_path / "src", spec)
    sid, _ = take(repo, src)
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


@pytest.mark.skipif(not IS_ROOT, reason="only root can give files away and restore owners")
def test_owners_are_restored_as_root(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": File(b"x", mode=0o4750), "d/": Dir(mode=0o2750),
                                       "l": Symlink("f")})
    for name in ("f", "d", "l"):
        os.chown(src / name, 1234, 5678, follow_symlinks=False)
    os.chmod(src / "f", 0o4750)  # chown cleared the setuid bit
    os.chmod(src / "d", 0o2750)
    sid, _ = take(repo, src, symlinks="record")
    restore(repo, sid, tmp_path / "t")
    out = restored(tmp_path / "t", src)
    for name in ("f", "d", "l"):
        st_ = os.lstat(out / name)
        assert (st_.st_uid, st_.st_gid) == (1234, 5678), name
    assert stat.S_IMODE(os.lstat(out / "f").st_mode) == 0o4750
    assert stat.S_IMODE(os.lstat(out / "d").st_mode) == 0o2750


def test_deep_nesting_200_levels(repo: Repository, tmp_path: Path) -> None:
    deep = "/".join(f"d{i:03d}" for i in range(200))
    src = make_tree(tmp_path / "src", {
        f"{deep}/leaf.txt": File(b"bottom", mtime_ns=42),
        f"{deep[:500]}/mid.txt": b"middle",
        "d000/": Dir(mode=0o750, mtime_ns=3),
    })
    sid, snap = take(repo, src)
    assert snap.summary.dirs == 201
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))
    _, again = take(repo, src)
    assert again.summary.bytes_read == 0
    assert source_node(repo, again.tree, src) == source_node(repo, snap.tree, src)


def test_odd_names(repo: Repository, tmp_path: Path) -> None:
    names = [b"\xff\xfe", b"caf\xe9", "ünïcödé".encode(), "日本語.txt".encode(), b"new\nline",
             b" leading space", b"trailing space ", b"-dash", b"...", b"\\back", b"*?[]",
             b"x" * 255, "🎉".encode(), b"c:", b"a\\b"]
    spec: dict[bytes, Any] = {n: File(n * 2, mtime_ns=i) for i, n in enumerate(names)}
    spec[b"dir-\xff/" + b"inner-\xfe"] = b"nested odd"
    src = make_tree(tmp_path / "src", spec)
    sid, snap = take(repo, src)
    stored = {n.name_bytes for n in repo.load_tree(source_node(repo, snap.tree, src).subtree
                                                   or "").nodes}
    assert stored == {*names, b"dir-\xff"}
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_large_file_round_trip(repo: Repository, tmp_path: Path) -> None:
    data = random.Random(5).randbytes(6 * MiB + 12345)
    src = make_tree(tmp_path / "src", {"big.bin": data, "big.txt": b"line\n" * 800_000})
    sid, snap = take(repo, src)
    node = nodes_by_path(repo, snap.tree)[f"{src}/big.bin"]
    assert len(node.content) > 6  # chunked, max chunk 1 MiB
    assert all(repo.index.get(c).raw_length <= MiB for c in node.content)  # type: ignore[union-attr]
    assert snap.summary.bytes_added_stored < snap.summary.bytes_added_raw  # text compressed
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_single_file_source(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"only.txt": File(b"just me", mode=0o600, mtime_ns=9)})
    sid, snap = take(repo, src / "only.txt")
    node = nodes_by_path(repo, snap.tree)[f"{src}/only.txt"]
    assert node.type == NODE_FILE
    restore(repo, sid, tmp_path / "t")
    out = restored(tmp_path / "t", src / "only.txt")
    assert out.read_bytes() == b"just me"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.stat().st_mtime_ns == 9
    _, again = take(repo, src / "only.txt")
    assert again.summary.bytes_read == 0


def test_several_sources_in_one_snapshot(repo: Repository, tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", {"x": b"from a", "sub/y": b"deeper"})
    b = make_tree(tmp_path / "elsewhere" / "b", {"z": b"from b"})
    sid, snap = take(repo, b, a, a / "sub")  # a/sub is covered by a
    assert snap.sources == tuple(sorted(map(str, (a, b, a / "sub"))))
    assert snap.summary.total_files == 3
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(a, restored(tmp_path / "t", a))
    assert_trees_equal(b, restored(tmp_path / "t", b))


# --------------------------------------------------------------------------- incremental


def test_unchanged_tree_reads_no_file_content(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    random_tree(src, random.Random(11), files=30)
    id1, s1 = take(repo, src)
    before = index_entries(tmp_path / "repo")
    parents_before = ancestors_stat(src)
    spy = OpenSpy(monkeypatch, src)
    id2, s2 = take(repo, src, capture=spy.capture)
    monkeypatch.undo()
    assert spy.opened == []
    assert spy.captured == []
    assert s2.parent == id1
    assert s2.summary.bytes_read == 0
    assert s2.summary.files_unmodified == s1.summary.total_files
    assert s2.summary.files_new == s2.summary.files_changed == 0
    assert s2.summary.total_bytes == s1.summary.total_bytes
    assert source_node(repo, s2.tree, src) == source_node(repo, s1.tree, src)
    added = [e for i, e in index_entries(tmp_path / "repo").items() if i not in before]
    assert [e for e in added if e.kind == KIND_DATA] == []
    if ancestors_stat(src) == parents_before:  # nothing else touched /tmp meanwhile
        assert s2.tree == s1.tree
        assert added == []
        assert s2.summary.blobs_added == 0
    restore(repo, id2, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_one_changed_file_is_the_only_one_read(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(12)
    spec = {f"d{i % 3}/f{i}.bin": rng.randbytes(rng.choice([10, 5000, 300_000]))
            for i in range(24)}
    spec["d1/target.bin"] = rng.randbytes(400_000)
    src = make_tree(tmp_path / "src", spec)
    _, s1 = take(repo, src)
    before = index_entries(tmp_path / "repo")
    new_content = rng.randbytes(450_000)
    (src / "d1" / "target.bin").write_bytes(new_content)

    spy = OpenSpy(monkeypatch, src)
    _, s2 = take(repo, src, capture=spy.capture)
    monkeypatch.undo()
    target = str(src / "d1" / "target.bin")
    assert spy.captured == [target]
    assert spy.opened == [target]
    assert s2.summary.files_changed == 1
    assert s2.summary.files_unmodified == len(spec) - 1
    assert s2.summary.files_new == 0
    assert s2.summary.bytes_read == len(new_content)

    node = nodes_by_path(repo, s2.tree)[target]
    added = {i: e for i, e in index_entries(tmp_path / "repo").items() if i not in before}
    added_data = {i for i, e in added.items() if e.kind == KIND_DATA}
    assert added_data == set(node.content) - set(before)
    assert added_data  # the new content really was stored
    assert sum(added[i].raw_length for i in added_data) <= len(new_content)
    # Unchanged sibling directories keep their tree ids (Merkle).
    old_nodes, new_nodes = nodes_by_path(repo, s1.tree), nodes_by_path(repo, s2.tree)
    for d in ("d0", "d2"):
        assert new_nodes[f"{src}/{d}"].subtree == old_nodes[f"{src}/{d}"].subtree
    assert new_nodes[f"{src}/d1"].subtree != old_nodes[f"{src}/d1"].subtree
    assert all(e.kind == KIND_TREE for i, e in added.items() if i not in added_data)


def _append(data: bytes, rng: random.Random) -> bytes:
    return data + rng.randbytes(100 * 1024)


def _middle_edit(data: bytes, rng: random.Random) -> bytes:
    mid = len(data) // 2
    return data[:mid] + rng.randbytes(4096) + data[mid + 4096 :]


def _prepend(data: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(10) + data


@pytest.mark.parametrize("edit", [_append, _middle_edit, _prepend],
                         ids=["append-100KiB", "overwrite-4KiB-middle", "insert-10B-front"])
def test_editing_a_20mib_file_stores_only_the_changed_chunks(
    repo: Repository, tmp_path: Path, edit: Any
) -> None:
    rng = random.Random(13)
    data = rng.randbytes(20 * MiB)
    src = make_tree(tmp_path / "src", {"db.sqlite": data})
    _, s1 = take(repo, src)
    old = nodes_by_path(repo, s1.tree)[f"{src}/db.sqlite"].content
    changed = edit(data, rng)
    (src / "db.sqlite").write_bytes(changed)
    sid, s2 = take(repo, src)
    new = nodes_by_path(repo, s2.tree)[f"{src}/db.sqlite"].content
    assert s2.summary.bytes_read == len(changed)
    assert s2.summary.bytes_added_raw < 2 * MiB  # not ~20 MiB
    assert s2.summary.bytes_added_raw < len(changed) // 10
    assert len(set(new) - set(old)) <= 3
    restore(repo, sid, tmp_path / "t")
    assert restored(tmp_path / "t", src / "db.sqlite").read_bytes() == changed


def test_force_rereads_everything(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"a": b"1" * 1000, "b/c": b"2" * 2000})
    take(repo, src)
    spy = OpenSpy(monkeypatch, src)
    _, snap = take(repo, src, force=True, capture=spy.capture)
    monkeypatch.undo()
    assert sorted(spy.captured) == [str(src / "a"), str(src / "b" / "c")]
    assert snap.summary.bytes_read == 3000
    assert snap.summary.blobs_added == 0 or snap.summary.bytes_added_raw < 1000  # deduped


def test_changes_are_seen(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"keep": b"k", "gone": b"g", "grow": b"1"})
    take(repo, src)
    (src / "gone").unlink()
    (src / "grow").write_bytes(b"12")
    (src / "new").write_bytes(b"n")
    os.chmod(src / "keep", 0o600)
    sid, snap = take(repo, src)
    assert snap.summary.files_new == 1
    # "grow"; and "keep" too unless its chmod fell in the same ctime tick as its creation
    # (a chmod moves the ctime, so it is read again; same content, no new data).
    assert snap.summary.files_changed in (1, 2)
    assert snap.summary.files_new + snap.summary.files_changed + \
        snap.summary.files_unmodified == 3
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))


# --------------------------------------------------------------------------- dedup


def test_two_copies_are_stored_once(repo: Repository, tmp_path: Path) -> None:
    blob = random.Random(21).randbytes(2 * MiB + 333)
    small = b"identical small file\n"
    src = make_tree(tmp_path / "src", {
        "a.bin": blob, "sub/copy.bin": blob, "s1": small, "sub/s2": small,
    })
    _, snap = take(repo, src)
    nodes = nodes_by_path(repo, snap.tree)
    assert nodes[f"{src}/a.bin"].content == nodes[f"{src}/sub/copy.bin"].content
    assert nodes[f"{src}/s1"].content == nodes[f"{src}/sub/s2"].content
    data = [e for e in index_entries(tmp_path / "repo").values() if e.kind == KIND_DATA]
    assert sum(e.raw_length for e in data) == len(blob) + len(small)
    assert snap.summary.total_bytes == 2 * (len(blob) + len(small))

    # The same content under another source later adds no data at all.
    other = make_tree(tmp_path / "other", {"third-copy": blob})
    _, snap2 = take(repo, other)
    assert snap2.summary.bytes_read == len(blob)
    after = [e for e in index_entries(tmp_path / "repo").values() if e.kind == KIND_DATA]
    assert len(after) == len(data)


# --------------------------------------------------------------------------- symlinks


@pytest.fixture
def linky(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    outside = make_tree(tmp_path / "outside", {"secret.txt": b"secret", "dir/inner": b"i"})
    src = tmp_path / "src"
    links = {
        "in_rel": "real/file.txt",
        "in_abs": str(src / "real" / "file.txt"),
        "in_dir": "real",
        "out_file": str(outside / "secret.txt"),
        "out_dir": str(outside),
        "out_rel": "../outside/dir",
        "dangling": "does/not/exist",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "self": "self",
        "real/up": "..",
        "real/root": "/",
    }
    spec: dict[str, Any] = {"real/file.txt": b"data"}
    spec.update({k: Symlink(v) for k, v in links.items()})
    make_tree(src, spec)
    return src, outside, links


def test_symlinks_are_skipped_and_listed_by_default(
    repo: Repository, linky: tuple[Path, Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src, outside, links = linky
    spy = OpenSpy(monkeypatch, outside, src)
    _, snap = take(repo, src, capture=spy.capture)
    monkeypatch.undo()
    assert spy.captured == [str(src / "real" / "file.txt")]
    assert all(not p.startswith(str(outside)) for p in spy.opened)
    skipped = {s for s in snap.skipped if s.reason == "symlink"}
    assert skipped == {Skipped(str(src / k), "symlink", v) for k, v in links.items()}
    below = {p for p in nodes_by_path(repo, snap.tree) if p.startswith(str(src))}
    assert below == {str(src), f"{src}/real", f"{src}/real/file.txt"}
    assert snap.summary.symlinks == 0


def test_symlinks_are_recorded_not_followed(
    repo: Repository, tmp_path: Path, linky: tuple[Path, Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src, outside, links = linky
    spy = OpenSpy(monkeypatch, outside, src)
    sid, snap = take(repo, src, symlinks="record", capture=spy.capture)
    monkeypatch.undo()
    assert spy.captured == [str(src / "real" / "file.txt")]
    assert snap.skipped == ()
    assert snap.summary.symlinks == len(links)
    nodes = nodes_by_path(repo, snap.tree)
    for k, v in links.items():
        assert nodes[f"{src}/{k}"].type == NODE_SYMLINK
        assert nodes[f"{src}/{k}"].target == v
    assert not any(p.startswith(str(outside)) for p in nodes)
    restore(repo, sid, tmp_path / "t")
    out = restored(tmp_path / "t", src)
    assert_trees_equal(src, out)
    assert not restored(tmp_path / "t", outside).exists()  # nothing behind a link came along


def test_a_symlink_root_is_followed_once(repo: Repository, tmp_path: Path) -> None:
    real = make_tree(tmp_path / "real", {"f": b"x", "l": Symlink("f")})
    os.symlink(real, tmp_path / "alias")
    _, snap = take(repo, tmp_path / "alias")
    nodes = nodes_by_path(repo, snap.tree)
    assert nodes[f"{tmp_path}/alias"].type == NODE_DIR
    assert f"{tmp_path}/alias/f" in nodes
    assert f"{tmp_path}/alias/l" not in nodes
    assert [s.reason for s in snap.skipped] == ["symlink"]


def test_special_files_are_skipped(repo: Repository, tmp_path: Path) -> None:
    spec: dict[str, Any] = {"regular": b"r", "pipe": Fifo(), "sock": Socket(), "sub/pipe2": Fifo()}
    src = make_tree(tmp_path / "src", spec)
    want = {Skipped(str(src / "pipe"), "fifo"), Skipped(str(src / "sub" / "pipe2"), "fifo"),
            Skipped(str(src / "sock"), "socket")}
    if IS_ROOT:
        os.mknod(src / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        want.add(Skipped(str(src / "null"), "device"))
    sid, snap = take(repo, src)  # a FIFO that were opened would block here
    assert set(snap.skipped) == want
    below = {p for p in nodes_by_path(repo, snap.tree) if p.startswith(str(src))}
    assert below == {str(src), f"{src}/regular", f"{src}/sub"}
    restore(repo, sid, tmp_path / "t")
    assert sorted(os.listdir(restored(tmp_path / "t", src))) == ["regular", "sub"]


# --------------------------------------------------------------------------- file_unchanged


def _st(mode: int = stat.S_IFREG | 0o644, ino: int = 7, size: int = 10,
        mtime_ns: int = 1_000_000_000_111, ctime_ns: int = 2_000_000_000_222) -> os.stat_result:
    return os.stat_result(
        (mode, ino, 1, 1, 0, 0, size, 0, mtime_ns // 10**9, ctime_ns // 10**9),
        {"st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns},
    )


_OLD = Node("f", NODE_FILE, 0o644, 1_000_000_000_111, ctime_ns=2_000_000_000_222, size=10,
            inode=7, content=("1" * 32,))


@pytest.mark.parametrize(
    ("old", "st", "unchanged"),
    [
        (_OLD, _st(), True),
        (None, _st(), False),
        (Node("f", NODE_DIR, 0o755, 1_000_000_000_111, ctime_ns=2_000_000_000_222, inode=7),
         _st(), False),
        (Node("f", NODE_SYMLINK, 0o777, 1_000_000_000_111, ctime_ns=2_000_000_000_222,
              size=10, inode=7, target="x"), _st(), False),
        (_OLD, _st(mode=stat.S_IFDIR | 0o644), False),
        (_OLD, _st(mode=stat.S_IFLNK | 0o644), False),
        (_OLD, _st(size=11), False),
        (_OLD, _st(size=0), False),
        (_OLD, _st(mtime_ns=1_000_000_000_112), False),  # 1 ns later
        (_OLD, _st(mtime_ns=1_000_000_000_110), False),  # 1 ns earlier
        (_OLD, _st(ctime_ns=2_000_000_000_223), False),  # chmod/rename/touch -m back
        (_OLD, _st(ino=8), False),  # replaced by another file
        (_OLD, _st(mode=stat.S_IFREG | 0o600), True),  # mode alone: content not re-read
    ],
    ids=["same", "no-parent-node", "was-dir", "was-symlink", "is-dir-now", "is-link-now",
         "size", "truncated", "mtime+1ns", "mtime-1ns", "ctime", "inode", "mode-only"],
)
def test_file_unchanged(old: Node | None, st: os.stat_result, unchanged: bool) -> None:
    assert file_unchanged(old, st) is unchanged


def test_file_unchanged_on_a_real_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"0123456789")
    s = os.lstat(p)
    node = node_from_stat("f", NODE_FILE, s, content=())
    assert file_unchanged(node, os.lstat(p))
    os.utime(p, ns=(s.st_atime_ns, s.st_mtime_ns))  # same mtime, but ctime moves
    assert not file_unchanged(node, os.lstat(p)) or os.lstat(p).st_ctime_ns == s.st_ctime_ns


def _walk_all(repo: Repository, tree: str) -> Iterator[Node]:
    for _parts, node, leaving in iter_tree(repo.load_tree, tree):
        if not leaving:
            yield node


def test_force_reads_every_file_and_still_tells_changed_from_unmodified(tmp_path: Path) -> None:
    """`snap --force` reads every file again; the parent (recorded) only sorts them: the one
    edited is changed, the others unmodified, none new."""
    src = make_tree(tmp_path / "src", {f"f{i}.txt": b"x" * (i + 1) for i in range(5)})
    env = env_for(tmp_path)
    first = json.loads(invoke_main(["snap", str(src), "--json"], env).lines[-1])
    (src / "f1.txt").write_bytes(b"edited")
    out = invoke_main(["snap", "--force", str(src), "--json"], env)
    assert out.code == 0, out.stderr
    doc = json.loads(out.lines[-1])
    assert (doc["files_new"], doc["files_changed"], doc["files_unmodified"]) == (0, 1, 4)
    assert doc["bytes_read"] == sum(p.stat().st_size for p in src.iterdir())
    assert doc["parent"] == first["snapshot_id"]
