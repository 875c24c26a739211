"""``snapkit restore --delete`` through the CLI (issue 16): after a clean restore the target
holds just the snapshot below its paths — what else is there is removed, files, directories
and symlinks (never followed), within the ``--include``/``--exclude`` selection only, never
beside the restored paths; ``--dry-run`` lists it and removes nothing; a restore that failed
removes nothing; the JSON summary counts what was deleted; a combination that makes no sense
is refused in one line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import (
    CliResult,
    assert_trees_equal,
    describe,
    env_for,
    init_repo,
    invoke_main,
    make_tree,
    restored,
    take,
)

from snapkit.format.errors import EXIT_FATAL, EXIT_USAGE
from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node
from snapkit.store.repository import Repository


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """A snapshot of ``src``, and an environment whose repository holds it."""
    src = make_tree(tmp_path / "src", {
        "a.txt": b"alpha\n",
        "keep.log": b"log\n",
        "sub/b.txt": b"beta\n",
        "sub/deeper/c.txt": b"gamma\n",
        "empty/": b"",
    })
    take(init_repo(tmp_path / "repo"), src)
    return env_for(tmp_path), src, tmp_path / "target"


def run(env: dict[str, str], target: Path, *args: str) -> CliResult:
    return invoke_main(["restore", "latest", "--target", str(target), *args], env)


def extras(where: Path) -> None:
    """Entries the snapshot does not hold, of every kind, below the restored ``where``."""
    (where / "extra.txt").write_bytes(b"x\n")
    (where / "extra.log").write_bytes(b"x\n")
    (where / "sub" / "deeper" / "extra.txt").write_bytes(b"x\n")
    (where / "newdir" / "inner").mkdir(parents=True)
    (where / "newdir" / "inner" / "f.txt").write_bytes(b"x\n")
    (where / "emptydir").mkdir()
    os.symlink("/", where / "link-to-root")


def test_delete_makes_the_target_equal_to_the_snapshot(
        world: tuple[dict[str, str], Path, Path], tmp_path: Path) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)
    outside = make_tree(target / "beside", {"mine.txt": b"not the restore's\n"})
    (where.parent / "sibling.txt").write_bytes(b"beside the source\n")
    (where / "sub" / "b.txt").write_bytes(b"changed\n")
    root_before = sorted(os.listdir("/"))

    out = run(env, target, "--delete", "--overwrite", "if-changed", "--json")

    assert out.code == 0, out.stderr
    summary = out.json_lines()[-1]
    assert summary["deleted"] == 8 and summary["kept"] == [] and not summary["delete_skipped"]
    assert_trees_equal(src, where)
    assert (outside / "mine.txt").read_bytes() == b"not the restore's\n"
    assert (where.parent / "sibling.txt").exists()  # beside the source: not the restore's
    assert sorted(os.listdir("/")) == root_before  # the symlink was removed, not followed


def test_dry_run_lists_what_would_be_deleted_and_removes_nothing(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)

    out = run(env, target, "--delete", "--dry-run")
    assert out.code == 0, out.stderr
    deleted = sorted(line.split(maxsplit=1)[1] for line in out.lines
                     if line.startswith("delete "))
    assert deleted == sorted(str(where / p) for p in (
        "extra.txt", "extra.log", "sub/deeper/extra.txt", "newdir", "newdir/inner",
        "newdir/inner/f.txt", "emptydir", "link-to-root"))
    assert "would delete 8 entries the snapshot does not hold" in out.text
    assert (where / "newdir" / "inner" / "f.txt").exists() and (where / "link-to-root").is_symlink()

    plan = [e for e in run(env, target, "--delete", "--dry-run", "--json").json_lines()
            if e.get("action") == "delete"]
    assert len(plan) == 8 and {e["type"] for e in plan} == {"file", "dir", "symlink"}


def test_only_what_the_filters_select_is_deleted(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)

    out = run(env, target, "--delete", "--exclude", "*.log", "--exclude", "newdir/")
    assert out.code == 0, out.stderr
    assert (where / "extra.log").exists()  # excluded: not the restore's to remove
    assert (where / "newdir" / "inner" / "f.txt").exists()
    assert not (where / "extra.txt").exists() and not (where / "emptydir").exists()

    out = run(env, target, "--delete", "--include", "sub/**")
    assert out.code == 0, out.stderr
    assert not (where / "sub" / "deeper" / "extra.txt").exists()
    assert (where / "extra.log").exists() and (where / "newdir").exists()


def test_a_restore_that_failed_deletes_nothing(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha\n", "victim.bin": os.urandom(4096)})
    _, snap = take(init_repo(tmp_path / "repo", pack_size=1), src)
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, snap.tree, split_path(str(src / "victim.bin")))
    assert node is not None
    entry = repo.index.get(node.content[0])
    assert entry is not None
    (tmp_path / "repo" / "packs" / entry.pack[:2] / entry.pack).unlink()
    env, target = env_for(tmp_path), tmp_path / "target"
    where = restored(target, src)
    where.mkdir(parents=True)
    (where / "extra.txt").write_bytes(b"x\n")

    out = run(env, target, "--delete", "--json")

    assert out.code == EXIT_FATAL
    summary = out.json_lines()[-1]
    assert summary["delete_skipped"] and summary["deleted"] == 0
    assert (where / "extra.txt").exists() and (where / "a.txt").exists()
    text = run(env, target, "--delete", "--overwrite", "if-changed")
    assert "--delete removed nothing: 1 entry could not be restored" in text.stderr


def test_a_symlinked_directory_is_removed_as_a_link(
        world: tuple[dict[str, str], Path, Path], tmp_path: Path) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    victim = make_tree(tmp_path / "victim", {"precious.txt": b"keep me\n"})
    os.symlink(victim, where / "sub" / "planted")

    assert run(env, target, "--delete").code == 0
    assert not os.path.lexists(where / "sub" / "planted")
    assert (victim / "precious.txt").read_bytes() == b"keep me\n"


def test_delete_into_the_filesystem_root_needs_in_place(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, _, _ = world
    out = invoke_main(["restore", "latest", "--target", "/", "--delete", "--dry-run"], env)
    assert out.code == EXIT_USAGE
    assert "--in-place" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_help_names_delete(world: tuple[dict[str, str], Path, Path]) -> None:
    out = invoke_main(["restore", "--help"], world[0])
    assert out.code == 0 and "--delete" in out.text and "Make the target equal" in out.text


def test_in_place_delete_rolls_a_directory_back(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, _ = world
    before = describe(src)
    (src / "new.txt").write_bytes(b"written after the snapshot\n")
    (src / "sub" / "newdir").mkdir()
    (src / "a.txt").write_bytes(b"changed\n")

    out = invoke_main(["restore", "latest", "--in-place", "--overwrite", "if-changed",
                       "--delete"], env)

    assert out.code == 0, out.stderr
    assert "deleted 2 entries the snapshot does not hold" in out.text
    assert_trees_equal(before, src)


def test_an_entry_that_cannot_be_removed_is_named_and_exits_1(
        world: tuple[dict[str, str], Path, Path]) -> None:
    """An immutable file (``chattr +i``: even root cannot remove it) is kept and named; the
    rest is deleted and the directories still get their times back."""
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    stuck, other = where / "sub" / "stuck.txt", where / "other.txt"
    stuck.write_bytes(b"x\n")
    other.write_bytes(b"x\n")
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        out = run(env, target, "--delete")
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=False)
    assert out.code == EXIT_FATAL
    assert f"snapkit: could not delete {stuck}: cannot remove it" in out.stderr
    assert stuck.exists() and not other.exists()
    assert "deleted 1 entry the snapshot does not hold" in out.text
    for d in (where, where / "sub"):  # their times set after the deletions
        assert d.stat().st_mtime_ns == (src / d.relative_to(where)).stat().st_mtime_ns
