"""Restore: hostile manifests, planted symlinks, overwrite policies, dry runs, selection,
corruption detection, streaming."""

from __future__ import annotations

import json
import os
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    Dir,
    File,
    Symlink,
    assert_trees_equal,
    cli_env,
    describe,
    invoke_main,
    listing,
    make_tree,
    restore,
    restored,
    run_snapkit,
    take,
)

from snapkit.capture.chunker import Chunker
from snapkit.format.errors import IntegrityError, SnapkitError, UsageError
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, Snapshot, Tree
from snapkit.format.paths import split_path
from snapkit.read.restore import RestoreOptions, restore_snapshot
from snapkit.read.treewalk import UnsafeName, find_node, iter_tree
from snapkit.store.backend import LocalBackend
from snapkit.store.repository import Repository

MiB = 1024 * 1024


# --------------------------------------------------------------------------- hostile manifests


def _file(name: str, content_id: str, size: int) -> Node:
    return Node(name, NODE_FILE, 0o644, 0, size=size, content=(content_id,))


def _dir(name: str, subtree: str) -> Node:
    return Node(name, NODE_DIR, 0o755, 0, subtree=subtree)


def build_hostile(repo: Repository, layout: Any) -> Snapshot:
    """Encode a tree straight through a BlobSaver. ``layout`` maps names to ``bytes``
    (a file), a nested dict (a directory) or ``("link", target)``; it is kept in order so
    hostile entries can come after harmless ones."""
    with repo.saver() as saver:

        def tree(spec: dict[str, Any]) -> str:
            nodes = []
            for name, value in spec.items():
                if isinstance(value, bytes):
                    nodes.append(_file(name, saver.save_data(value), len(value)))
                elif isinstance(value, dict):
                    nodes.append(_dir(name, tree(value)))
                else:
                    nodes.append(Node(name, NODE_SYMLINK, 0o777, 0, target=value[1]))
            return saver.save_tree(Tree(tuple(nodes)))  # unsorted on purpose: hostile

        root = tree(layout)
    return Snapshot(time_ns=1, hostname="evil", username="", sources=("/evil",), tree=root)


HOSTILE = {
    "dotdot-file": {"..": b"escaped"},
    "dotdot-dir": {"..": {"escaped.txt": b"x"}},
    "dot-dir": {".": {"x": b"x"}},
    "empty-name": {"": b"x"},
    "slash-in-name": {"evil": {"a/b": b"x"}},
    "parent-path": {"evil": {"../../escaped.txt": b"x"}},
    "absolute-name": {"/tmp/escaped.txt": b"x"},
    "nul": {"evil": {"x\0y": b"x"}},
    "deep-dotdot": {"evil": {"ok": {"ok2": {"..": {"..": {"..": {"escaped": b"x"}}}}}}},
    "after-good-entries": {"aaa-good": b"fine", "evil": {"good": b"fine", "zz": {"..": b"x"}}},
    "link-named-dotdot": {"evil": {"..": ("link", "/etc")}},
}


@pytest.mark.parametrize("layout", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_hostile_names_are_refused_before_anything_is_written(
    repo: Repository, tmp_path: Path, layout: dict[str, Any], dry_run: bool
) -> None:
    snap = build_hostile(repo, layout)
    target = tmp_path / "inner" / "target"
    (tmp_path / "inner").mkdir()
    before = listing(tmp_path)
    with pytest.raises(UnsafeName) as err:
        restore_snapshot(repo.load_tree, repo.read_blobs, snap,
                         RestoreOptions(target=str(target), dry_run=dry_run),
                         _chunker(repo))
    assert isinstance(err.value, IntegrityError)
    assert "unsafe path name" in err.value.message
    assert listing(tmp_path) == before  # not even the target directory
    assert not Path("/tmp/escaped.txt").exists()


def test_hostile_names_are_refused_in_place(repo: Repository, tmp_path: Path) -> None:
    snap = build_hostile(repo, {"..": {"escaped": b"x"}})
    with pytest.raises(UnsafeName):
        restore_snapshot(repo.load_tree, repo.read_blobs, snap,
                         RestoreOptions(target="/", in_place=True, overwrite="always"),
                         _chunker(repo))


def test_harmless_hand_built_tree_restores(repo: Repository, tmp_path: Path) -> None:
    """The builder itself is fine: the same shape with safe names restores."""
    snap = build_hostile(repo, {"evil": {"ok": {"f": b"content"}, "l": ("link", "ok/f")}})
    restore_snapshot(repo.load_tree, repo.read_blobs, snap,
                     RestoreOptions(target=str(tmp_path / "t")), _chunker(repo))
    assert (tmp_path / "t" / "evil" / "ok" / "f").read_bytes() == b"content"
    assert os.readlink(tmp_path / "t" / "evil" / "l") == "ok/f"


# --------------------------------------------------------------------------- planted symlinks


@pytest.fixture
def snapped(repo: Repository, tmp_path: Path) -> tuple[str, Path]:
    src = make_tree(tmp_path / "src", {"top.txt": b"top", "sub/file.txt": b"in sub",
                                       "sub/deeper/x": b"x"})
    sid, _ = take(repo, src)
    return sid, src


POLICIES = ["never", "if-changed", "always"]


def _first_component(tmp_path: Path) -> str:
    return Path(os.path.abspath(tmp_path)).parts[1]  # "tmp" for /tmp/pytest-of-...


@pytest.mark.parametrize("policy", POLICIES)
def test_planted_symlink_at_the_top_of_the_target_is_not_followed(
    repo: Repository, tmp_path: Path, snapped: tuple[str, Path], policy: str
) -> None:
    sid, src = snapped
    outside = make_tree(tmp_path / "outside", {})
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / _first_component(tmp_path))  # target/tmp -> outside
    try:
        restore(repo, sid, target, overwrite=policy)
    except SnapkitError as exc:
        # never: the link is an existing entry that differs; if-changed: it stands where a
        # directory goes. Both are refused before anything is written.
        assert policy in ("never", "if-changed"), exc
        assert "nothing was written" in exc.message
    else:
        assert policy == "always", "an existing differing entry must be a conflict"
        assert not (target / _first_component(tmp_path)).is_symlink()
        assert_trees_equal(src, restored(target, src), check_dir_mtime=False)
    assert listing(outside) == set()


@pytest.mark.parametrize("policy", POLICIES)
def test_planted_symlink_inside_the_restored_tree_is_not_followed(
    repo: Repository, tmp_path: Path, snapped: tuple[str, Path], policy: str
) -> None:
    sid, src = snapped
    outside = make_tree(tmp_path / "outside", {"keep": b"k"})
    target = tmp_path / "target"
    base = restored(target, src)
    base.mkdir(parents=True)
    os.symlink(outside, base / "sub")
    try:
        restore(repo, sid, target, overwrite=policy)
    except SnapkitError as exc:
        assert policy in ("never", "if-changed"), exc  # as at the top of the target
        assert "nothing was written" in exc.message
        # The way out it names is one that would work from here.
        assert ("--overwrite always" if policy == "if-changed"
                else "--overwrite if-changed") in exc.message
    else:
        assert policy == "always"
        assert not (base / "sub").is_symlink()
    assert listing(outside) == {"keep"}
    assert (outside / "keep").read_bytes() == b"k"


@pytest.mark.parametrize("policy", POLICIES)
def test_planted_symlink_in_place_of_a_file_is_not_written_through(
    repo: Repository, tmp_path: Path, snapped: tuple[str, Path], policy: str
) -> None:
    sid, src = snapped
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"original")
    os.chmod(victim, 0o640)
    target = tmp_path / "target"
    base = restored(target, src)
    base.mkdir(parents=True)
    os.symlink(victim, base / "top.txt")
    try:
        restore(repo, sid, target, overwrite=policy)
    except SnapkitError:
        assert policy == "never"
    else:
        assert policy != "never"
        assert not (base / "top.txt").is_symlink()
        assert (base / "top.txt").read_bytes() == b"top"
    assert victim.read_bytes() == b"original"
    assert oct(victim.stat().st_mode & 0o7777) == oct(0o640)


def test_planted_symlink_conflict_is_reported_before_writing(
    repo: Repository, tmp_path: Path, snapped: tuple[str, Path]
) -> None:
    sid, src = snapped
    target = tmp_path / "target"
    base = restored(target, src)
    base.mkdir(parents=True)
    os.symlink("/", base / "sub")
    before = listing(target)
    with pytest.raises(SnapkitError, match="nothing was written"):
        restore(repo, sid, target)
    assert listing(target) == before


# --------------------------------------------------------------------------- overwrite policies


@pytest.fixture
def restored_once(
    repo: Repository, tmp_path: Path
) -> tuple[str, Path, Path, Path]:
    src = make_tree(tmp_path / "src", {
        "same.txt": File(b"same", mtime_ns=10), "edited.txt": File(b"original", mtime_ns=20),
        "deleted.txt": File(b"del", mtime_ns=30), "d/inner": File(b"inner", mtime_ns=40),
    })
    sid, _ = take(repo, src)
    target = tmp_path / "target"
    restore(repo, sid, target)
    out = restored(target, src)
    assert_trees_equal(src, out)
    return sid, src, target, out


def test_restoring_again_over_identical_files_is_fine(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, _src, target, out = restored_once
    inode = (out / "same.txt").stat().st_ino
    result = restore(repo, sid, target)
    assert result.files == 0
    assert result.identical == 4
    assert (out / "same.txt").stat().st_ino == inode


def _edit(out: Path) -> None:
    (out / "edited.txt").write_bytes(b"EDITED BY USER")
    (out / "deleted.txt").unlink()


def test_overwrite_never_refuses_and_writes_nothing(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, _src, target, out = restored_once
    _edit(out)
    before = describe(target)
    with pytest.raises(SnapkitError, match=r"edited\.txt") as err:
        restore(repo, sid, target, overwrite="never")
    assert "nothing was written" in err.value.message
    assert describe(target) == before  # deleted.txt not recreated either


def test_overwrite_if_changed_replaces_only_differing_files(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, src, target, out = restored_once
    _edit(out)
    inode = (out / "same.txt").stat().st_ino
    result = restore(repo, sid, target, overwrite="if-changed")
    assert result.files == 2  # edited + deleted
    assert result.identical == 2
    assert (out / "same.txt").stat().st_ino == inode  # untouched
    assert_trees_equal(src, out)


def test_overwrite_always_rewrites_everything(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, src, target, out = restored_once
    _edit(out)
    inode = (out / "same.txt").stat().st_ino
    result = restore(repo, sid, target, overwrite="always")
    assert result.files == 4
    assert (out / "same.txt").stat().st_ino != inode  # written anew (temp + rename)
    assert_trees_equal(src, out)


@pytest.mark.parametrize("policy", ["never", "if-changed"])
def test_a_directory_in_the_way_of_a_file_is_a_conflict(
    repo: Repository, restored_once: tuple[str, Path, Path, Path], policy: str
) -> None:
    sid, _src, target, out = restored_once
    (out / "deleted.txt").unlink()
    (out / "deleted.txt").mkdir()
    (out / "deleted.txt" / "precious").write_bytes(b"p")
    before = describe(target)
    with pytest.raises(SnapkitError):
        restore(repo, sid, target, overwrite=policy)
    assert describe(target) == before


def test_unknown_overwrite_policy_is_a_usage_error(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, _, target, _ = restored_once
    with pytest.raises(UsageError):
        restore(repo, sid, target, overwrite="sometimes")


def test_in_place_restore(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": File(b"a", mtime_ns=1), "b/c": File(b"c")})
    sid, _ = take(repo, src)
    snapshot_view = describe(src)
    (src / "a").write_bytes(b"changed")
    (src / "b" / "c").unlink()
    restore(repo, sid, "/", in_place=True, overwrite="if-changed",
            includes=(str(src),))
    assert describe(src) == snapshot_view


# --------------------------------------------------------------------------- dry run


def test_dry_run_into_a_new_target_writes_nothing(
    repo: Repository, tmp_path: Path, snapped: tuple[str, Path]
) -> None:
    sid, src = snapped
    before = listing(tmp_path)
    result = restore(repo, sid, tmp_path / "target", dry_run=True)
    assert listing(tmp_path) == before
    assert result.files == 3
    files = {a.dest for a in result.actions if a.node.type == NODE_FILE}
    assert files == {str(restored(tmp_path / "target", src / p))
                     for p in ("top.txt", "sub/file.txt", "sub/deeper/x")}
    assert {a.action for a in result.actions} == {"create"}


def test_dry_run_over_an_existing_target_changes_nothing(
    repo: Repository, restored_once: tuple[str, Path, Path, Path]
) -> None:
    sid, _src, target, out = restored_once
    _edit(out)
    before = describe(target)
    result = restore(repo, sid, target, dry_run=True, overwrite="always")
    assert describe(target) == before
    actions = {Path(a.dest).name: a.action for a in result.actions
               if a.node.type == NODE_FILE}
    assert actions == {"same.txt": "overwrite", "edited.txt": "overwrite",
                       "deleted.txt": "create", "inner": "overwrite"}
    result = restore(repo, sid, target, dry_run=True, overwrite="if-changed")
    actions = {Path(a.dest).name: a.action for a in result.actions
               if a.node.type == NODE_FILE}
    assert actions["same.txt"] == "identical"
    assert describe(target) == before
    with pytest.raises(SnapkitError, match="would overwrite"):
        restore(repo, sid, target, dry_run=True)  # never: the conflict shows in a dry run too


# --------------------------------------------------------------------------- selection


@pytest.fixture
def mixed(repo: Repository, tmp_path: Path) -> tuple[str, Path]:
    src = make_tree(tmp_path / "src", {
        "a.txt": b"a", "b.log": b"b", "sub/c.txt": b"c", "sub/d.log": b"d",
        "sub/e.tmp": b"e", "other/f.json": b"{}", "empty/": Dir(),
    })
    sid, _ = take(repo, src)
    return sid, src


def _restored_files(target: Path, src: Path) -> set[str]:
    base = restored(target, src)
    return listing(base) if base.exists() else set()


@pytest.mark.parametrize(
    ("includes", "excludes", "want"),
    [
        ((), ("*.log",), {"a.txt", "sub", "sub/c.txt", "sub/e.tmp", "other", "other/f.json",
                          "empty"}),
        (("*.txt",), (), {"a.txt", "sub", "sub/c.txt"}),
        (("{src}/sub",), (), {"sub", "sub/c.txt", "sub/d.log", "sub/e.tmp"}),
        (("{src}/sub",), ("*.tmp",), {"sub", "sub/c.txt", "sub/d.log"}),
        (("*.txt", "*.json"), (), {"a.txt", "sub", "sub/c.txt", "other", "other/f.json"}),
        ((), ("{src}/sub",), {"a.txt", "b.log", "other", "other/f.json", "empty"}),
        (("*.nothing",), (), set()),
    ],
    ids=["exclude-glob", "include-glob", "include-dir", "include-dir-exclude-glob",
         "two-includes", "exclude-dir", "matches-nothing"],
)
def test_include_exclude(
    repo: Repository, tmp_path: Path, mixed: tuple[str, Path],
    includes: tuple[str, ...], excludes: tuple[str, ...], want: set[str],
) -> None:
    sid, src = mixed
    inc = tuple(p.format(src=src) for p in includes)
    exc = tuple(p.format(src=src) for p in excludes)
    dry = restore(repo, sid, tmp_path / "dry", includes=inc, excludes=exc, dry_run=True)
    restore(repo, sid, tmp_path / "t", includes=inc, excludes=exc)
    assert _restored_files(tmp_path / "t", src) == want
    planned = {os.path.relpath(a.dest, restored(tmp_path / "dry", src)) for a in dry.actions}
    assert {p for p in planned if not p.startswith("..") and p != "."} == want
    for rel in want:
        if (src / rel).is_file():
            assert (restored(tmp_path / "t", src) / rel).read_bytes() == (src / rel).read_bytes()


@pytest.mark.parametrize(
    ("includes", "excludes", "path", "is_dir", "selected"),
    [
        (("*.txt",), (), "/a/b/c.txt", False, True),
        (("*.txt",), (), "/a/b/c.log", False, False),
        (("/a/b",), (), "/a/b", True, True),
        (("/a/b",), (), "/a/bb", True, False),
        (("/a/b",), (), "/x/a/b", True, False),  # a pattern with a slash is anchored
        ((), ("*.log",), "/a/c.log", False, False),
        ((), ("*.log",), "/a/c.txt", False, True),
        ((), ("/a/secret",), "/a/secret", True, False),
        ((), ("/a/secret",), "/b/a/secret", True, True),
        (("*.txt",), ("/a/private",), "/a/private", True, False),
    ],
)
def test_path_filter(includes: tuple[str, ...], excludes: tuple[str, ...], path: str,
                     is_dir: bool, selected: bool) -> None:
    from snapkit.select.rules import path_filter

    assert path_filter(includes, excludes)(path, is_dir) is selected


# --------------------------------------------------------------------------- corruption
# (with fail_fast, the first damage raises; without, see tests/test_restore_damage.py)


def _flip(repo_path: Path, repo: Repository, blob_id: str, where: str = "payload") -> None:
    entry = repo.index.get(blob_id)
    assert entry is not None
    pack = repo_path / "packs" / entry.pack[:2] / entry.pack
    data = bytearray(pack.read_bytes())
    at = entry.offset if where == "codec" else entry.offset + 1 + (entry.length - 1) // 2
    data[at] = 0x7F if where == "codec" else data[at] ^ 0x55
    os.chmod(pack, 0o600)
    pack.write_bytes(bytes(data))


def _temp_files(target: Path) -> list[str]:
    return [p for p in listing(target) if ".snapkit-restore-" in p] if target.exists() else []


@pytest.mark.parametrize(
    ("content", "chunk", "where"),
    [
        (random.Random(1).randbytes(3 * MiB), -1, "payload"),  # raw blob, last chunk
        (b"compressible line\n" * 50_000, 0, "payload"),  # zstd blob
        (b"small file", 0, "codec"),
    ],
    ids=["raw-last-chunk", "zstd", "codec-byte"],
)
def test_corrupted_pack_is_detected_and_leaves_no_partial_file(
    repo: Repository, tmp_path: Path, content: bytes, chunk: int, where: str
) -> None:
    src = make_tree(tmp_path / "src", {"aaa-good.txt": b"fine", "victim.bin": content})
    sid, snap = take(repo, src)
    victim = find_node(repo.load_tree, snap.tree, split_path(str(src / "victim.bin")))
    assert victim is not None
    _flip(tmp_path / "repo", repo, victim.content[chunk], where)
    target = tmp_path / "target"
    with pytest.raises(IntegrityError):
        restore(Repository.open(tmp_path / "repo"), sid, target, fail_fast=True)
    assert not restored(target, src / "victim.bin").exists()
    assert _temp_files(target) == []


def test_corrupted_pack_keeps_the_existing_file_intact(repo: Repository, tmp_path: Path) -> None:
    content = random.Random(2).randbytes(2 * MiB)
    src = make_tree(tmp_path / "src", {"victim.bin": content})
    sid, snap = take(repo, src)
    target = tmp_path / "target"
    restore(repo, sid, target)
    out = restored(target, src / "victim.bin")
    victim = find_node(repo.load_tree, snap.tree, split_path(str(src / "victim.bin")))
    assert victim is not None
    _flip(tmp_path / "repo", repo, victim.content[len(victim.content) // 2])
    with pytest.raises(IntegrityError):
        restore(Repository.open(tmp_path / "repo"), sid, target, overwrite="always",
                fail_fast=True)
    assert out.read_bytes() == content
    assert _temp_files(target) == []


def test_missing_pack_is_an_integrity_error(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": b"data" * 100})
    sid, snap = take(repo, src)
    fresh = Repository.open(tmp_path / "repo")
    for parts, node, _ in iter_tree(fresh.load_tree, snap.tree):  # trees now cached
        assert parts and node
    # The local backend keeps packs it read open (a pack deleted under an open descriptor is
    # still readable, and verified): close them, so the packs are really gone for the read.
    assert isinstance(fresh.backend, LocalBackend)
    fresh.backend.close()
    for pack in {e.pack for e in fresh.index}:
        (tmp_path / "repo" / "packs" / pack[:2] / pack).unlink()
    with pytest.raises(IntegrityError, match="missing"):
        restore(fresh, sid, tmp_path / "t", fail_fast=True)
    assert _temp_files(tmp_path / "t") == []


# --------------------------------------------------------------------------- streaming


def test_restore_memory_does_not_grow_with_file_size(repo: Repository, tmp_path: Path) -> None:
    content = random.Random(3).randbytes(24 * MiB)
    src = make_tree(tmp_path / "src", {"big.bin": content})
    del content
    sid, _ = take(repo, src)
    tracemalloc.start()
    try:
        restore(repo, sid, tmp_path / "t")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"restore peaked at {peak / MiB:.1f} MiB for a 24 MiB file"
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_symlinks_restore_with_their_targets(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": b"x", "rel": Symlink("f"), "abs": Symlink("/etc"),
                                       "dangling": Symlink("nope")})
    sid, _ = take(repo, src, symlinks="record")
    restore(repo, sid, tmp_path / "t")
    assert_trees_equal(src, restored(tmp_path / "t", src))
    # And again over itself: identical links are left alone.
    result = restore(repo, sid, tmp_path / "t")
    assert result.symlinks == 0


def test_a_target_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    """`--target link` used to be followed; restore never follows a symlink, the target
    included (issue 11, item 13): exit 2, nothing written, the real directory works."""
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    result = run_snapkit(["restore", "latest", "--target", str(tmp_path / "link")], env)
    assert result.returncode == 2
    assert "is a symlink" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert os.listdir(real) == []
    assert run_snapkit(["restore", "latest", "--target", str(real)], env).returncode == 0


def test_verify_reads_every_written_file_back(tmp_path: Path) -> None:
    from snapkit.read.restore import _Tally, _verify, plan_restore

    src = make_tree(tmp_path / "src", {"a.txt": b"a" * 1000, "d/b.bin": os.urandom(300_000),
                                       "empty": b""})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["snap", str(src), "-q"], env).code == 0
    out = invoke_main(["restore", "latest", "--target", str(tmp_path / "t"), "--verify"], env)
    assert out.code == 0, out.stderr
    assert "verified 3 files: read back, equal to the snapshot" in out.stdout
    doc = json.loads(invoke_main(["restore", "latest", "--target", str(tmp_path / "t2"),
                                  "--verify", "--json"], env).lines[-1])
    assert doc["verified"] == 3 and doc["failed"] == []
    # A file whose bytes on the target differ from the snapshot's is listed, not counted.
    repo = Repository.open(tmp_path / "repo")
    snap = repo.load_snapshot(repo.snapshot_ids()[-1])
    opts = RestoreOptions(target=str(tmp_path / "t3"))
    actions = plan_restore(repo.load_tree, snap, opts, _chunker(repo))
    restore(repo, repo.snapshot_ids()[-1], tmp_path / "t3")
    victim = restored(tmp_path / "t3", src) / "a.txt"
    victim.write_bytes(b"b" * 1000)
    tally = _Tally()
    _verify(actions, tally, _chunker(repo))
    assert tally.verified == 2
    assert [f.path for f in tally.failed] == [str(victim)]
    assert "reading it back from the target gives other content" in tally.failed[0].reason


def _chunker(repo: Repository) -> Chunker:
    return Chunker(repo.config.chunker, repo.cipher.content_id)
