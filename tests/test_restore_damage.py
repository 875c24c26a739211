"""Restore on a damaged repository (issue 13): every intact file is restored byte-identical,
nothing wrong or partial is written, each file (or directory) that cannot be restored is
listed with its reason, the exit code is 1; ``--fail-fast`` stops at the first damage."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from helpers import env_for, init_repo, invoke_main, listing, make_tree, take

from snapkit.format.model import Snapshot
from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node
from snapkit.store.repository import Repository

MiB = 1024 * 1024
DAMAGES = ("flip", "truncate", "delete")


def source_tree(base: Path) -> Path:
    rng = random.Random(13)
    return make_tree(base / "src", {
        "a.txt": b"alpha\n",
        "dir1/b.bin": rng.randbytes(300_000),
        "dir1/victim.bin": rng.randbytes(3 * MiB),
        "dir1/z.txt": b"after the victim\n",
        "dir2/c.txt": b"gamma\n",
        "dir2/sub/d.txt": b"delta\n",
        "dir2/sub/e.txt": b"eps\n",
    })


def damaged_repo(tmp_path: Path) -> tuple[Path, str, Snapshot]:
    """A repository with one blob per pack, and a snapshot of :func:`source_tree`."""
    repo = init_repo(tmp_path / "repo", pack_size=1)
    src = source_tree(tmp_path)
    sid, snap = take(repo, src)
    return src, sid, snap


def blob_of(tmp_path: Path, snap: Snapshot, path: Path, *, tree: bool = False) -> str:
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, snap.tree, split_path(str(path)))
    assert node is not None
    if tree:
        assert node.subtree is not None
        return node.subtree
    return node.content[len(node.content) // 2]


def damage(tmp_path: Path, blob: str, how: str) -> None:
    """Flip a byte of ``blob``, truncate its pack at the blob, or delete its pack."""
    entry = Repository.open(tmp_path / "repo").index.get(blob)
    assert entry is not None
    pack = tmp_path / "repo" / "packs" / entry.pack[:2] / entry.pack
    os.chmod(pack, 0o600)
    data = bytearray(pack.read_bytes())
    if how == "flip":
        data[entry.offset + entry.length // 2] ^= 0x55
        pack.write_bytes(bytes(data))
    elif how == "truncate":
        pack.write_bytes(bytes(data[: entry.offset + entry.length // 3]))
    else:
        pack.unlink()


def sk(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out = invoke_main(list(args), env_for(tmp_path))
    return out.code, out.stdout, out.stderr


def restored_files(target: Path, src: Path) -> dict[str, bytes]:
    root = target / str(src).lstrip("/")
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def source_files(src: Path) -> dict[str, bytes]:
    return {str(p.relative_to(src)): p.read_bytes()
            for p in sorted(src.rglob("*")) if p.is_file() and not p.is_symlink()}


def no_temp_files(target: Path) -> bool:
    return not [p for p in listing(target) if ".snapkit-restore-" in p]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_content_restores_the_rest_and_lists_the_file(tmp_path: Path, how: str) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), how)
    target = tmp_path / "t"
    code, stdout, stderr = sk(tmp_path, "restore", sid, "--target", str(target))
    assert code == 1, stderr
    want = source_files(src)
    del want["dir1/victim.bin"]
    assert restored_files(target, src) == want  # every intact file, byte-identical
    assert not (target / str(src).lstrip("/") / "dir1/victim.bin").exists()
    assert no_temp_files(target)
    victim = str(target / str(src).lstrip("/") / "dir1/victim.bin")
    lines = [ln for ln in stderr.splitlines() if ln.startswith("snapkit: could not restore")]
    assert lines and lines[0].startswith(f"snapkit: could not restore {victim}: ")
    assert len(lines) == 1, stderr
    assert "restored 6 files; 1 file could not be restored" in stderr
    assert "snapkit check" in stderr and "snapkit repair" in stderr
    assert "restored 6 files" in stdout


def test_json_lists_the_failed_files(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    target = tmp_path / "t"
    code, stdout, _ = sk(tmp_path, "--json", "restore", sid, "--target", str(target))
    assert code == 1
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["files"] == 6
    [failed] = summary["failed"]
    assert failed["path"].endswith("/dir1/victim.bin") and failed["type"] == "file"
    assert failed["reason"]


def test_damaged_tree_skips_its_directory_and_lists_it(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "flip")
    target = tmp_path / "t"
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(target))
    assert code == 1, stderr
    want = {k: v for k, v in source_files(src).items() if not k.startswith("dir2/sub/")}
    assert restored_files(target, src) == want
    sub = target / str(src).lstrip("/") / "dir2/sub"
    assert not sub.exists()  # its contents are unknown: not even an empty directory
    assert f"snapkit: could not restore {sub}: directory not restored" in stderr
    assert "1 directory could not be restored" in stderr


def test_fail_fast_stops_at_the_first_damage(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    target = tmp_path / "t"
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(target), "--fail-fast")
    assert code == 1
    victim = target / str(src).lstrip("/") / "dir1/victim.bin"  # one line, naming the file
    assert stderr.startswith(f"snapkit: error: could not restore {victim}: ") , stderr
    assert stderr.count("\n") == 1, stderr
    got = restored_files(target, src)
    assert "dir1/victim.bin" not in got and "dir1/z.txt" not in got  # stopped there
    assert no_temp_files(target)


def test_fail_fast_stops_at_a_damaged_tree_before_writing(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "delete")
    target = tmp_path / "t"
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(target), "--fail-fast")
    assert code == 1 and "snapkit: error:" in stderr
    assert not target.exists()


@pytest.mark.parametrize("how", DAMAGES)
def test_a_failed_file_leaves_the_existing_one_as_it_was(tmp_path: Path, how: str) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    target = tmp_path / "t"
    victim = target / str(src).lstrip("/") / "dir1/victim.bin"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"an older version")
    (victim.parent / "z.txt").write_bytes(b"old z")
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), how)
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(target),
                         "--overwrite", "always")
    assert code == 1, stderr
    assert victim.read_bytes() == b"an older version"
    assert (victim.parent / "z.txt").read_bytes() == b"after the victim\n"
    assert no_temp_files(target)


def test_dry_run_lists_a_damaged_tree(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "truncate")
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(tmp_path / "t"), "-n")
    assert code == 1 and "dir2/sub: directory not restored" in stderr
    assert not (tmp_path / "t").exists()


def test_include_outside_the_damage_restores_cleanly(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "flip")
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    target = tmp_path / "t"
    code, _, stderr = sk(tmp_path, "restore", sid, "--target", str(target),
                         "--include", str(src / "a.txt"))
    assert code == 0, stderr
    assert restored_files(target, src) == {"a.txt": b"alpha\n"}


def test_a_clean_restore_is_unchanged(tmp_path: Path) -> None:
    src, sid, _ = damaged_repo(tmp_path)
    target = tmp_path / "t"
    code, stdout, stderr = sk(tmp_path, "restore", sid, "--target", str(target))
    assert code == 0 and "could not" not in stderr
    assert restored_files(target, src) == source_files(src)
    assert "restored 7 files" in stdout
