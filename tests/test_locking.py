"""Readers lock too (issue 11, item 5): every command that reads packs holds a shared lock,
so a concurrent ``prune`` (exclusive) can never delete what they read; ``--no-lock`` reads
without one, and a read-only repository is read without one after a warning."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import IS_ROOT, Sleeper, cli_env, make_tree, plant_lock, run_snapkit

from snapkit.format.errors import EXIT_LOCKED

READERS: list[list[str]] = [
    ["restore", "latest", "--target", "{tmp}/r"],
    ["export", "latest", "-o", "{tmp}/out.tar.gz"],
    ["diff", "latest", "latest"],
    ["ls", "latest"],
    ["cat", "latest", "a.txt"],
    ["find", "a.txt"],
    ["show", "latest"],
    ["check"],
]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha\n", "d/b.txt": b"beta\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    result = run_snapkit(["snap", "-q", str(src)], env, cwd=src)
    assert result.returncode == 0, result.stderr
    return tmp_path, env


def _args(args: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in args]


@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0])
def test_readers_wait_for_no_one_but_respect_an_exclusive_lock(
    world: tuple[Path, dict[str, str]], args: list[str]
) -> None:
    tmp, env = world
    sleeper = Sleeper()
    try:
        plant_lock(tmp / "repo", sleeper.pid, exclusive=True, operation="prune")
        result = run_snapkit(_args(args, tmp), env, cwd=tmp / "src")
        assert result.returncode == EXIT_LOCKED, (result.stdout, result.stderr)
        assert "locked by prune" in result.stderr
        # --no-lock reads anyway (for read-only media; the user takes the risk).
        shutil.rmtree(tmp / "r", ignore_errors=True)
        (tmp / "out.tar.gz").unlink(missing_ok=True)
        result = run_snapkit([*_args(args, tmp), "--no-lock"], env, cwd=tmp / "src")
        assert result.returncode == 0, (result.stdout, result.stderr)
    finally:
        sleeper.stop()


def test_a_reader_blocks_prune_while_it_reads(world: tuple[Path, dict[str, str]]) -> None:
    """A reader's shared lock is in the repository while it runs: prune (exclusive) refuses."""
    tmp, env = world
    sleeper = Sleeper()
    try:
        plant_lock(tmp / "repo", sleeper.pid, exclusive=False, operation="restore")
        result = run_snapkit(["prune"], env)
        assert result.returncode == EXIT_LOCKED
        assert "locked by restore" in result.stderr
    finally:
        sleeper.stop()
    assert run_snapkit(["prune"], env).returncode == 0


@contextlib.contextmanager
def read_only_mount(source: Path, where: Path) -> Iterator[Path]:
    where.mkdir()
    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root")
    for cmd in (["mount", "--bind", str(source), str(where)],
                ["mount", "-o", "remount,bind,ro", str(where)]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            subprocess.run(["umount", str(where)], capture_output=True, check=False)
            pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        # Lazily: a descriptor still open on it must not leave it mounted.
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def test_readers_work_on_a_read_only_repository(world: tuple[Path, dict[str, str]]) -> None:
    tmp, env = world
    with read_only_mount(tmp / "repo", tmp / "ro") as ro:
        ro_env = {**env, "SNAPKIT_REPO": str(ro)}
        for args in (["check", "--read-data"], ["restore", "latest", "--target", str(tmp / "r")],
                     ["ls", "latest"]):
            result = run_snapkit(args, ro_env, cwd=tmp / "src")
            assert result.returncode == 0, (args, result.stdout, result.stderr)
            assert "reading without a lock" in result.stderr
            quiet = run_snapkit([*args, "--no-lock"], ro_env, cwd=tmp / "src")
            assert "reading without a lock" not in quiet.stderr
            shutil.rmtree(tmp / "r", ignore_errors=True)
        assert (tmp / "r").exists() is False


def test_writers_on_a_read_only_repository_say_so_in_one_line(
        world: tuple[Path, dict[str, str]]) -> None:
    tmp, env = world
    with read_only_mount(tmp / "repo", tmp / "ro") as ro:
        ro_env = {**env, "SNAPKIT_REPO": str(ro)}
        for args, operation in ((["snap", "-q", "."], "snap"),
                                (["tag", "--add", "x", "latest"], "tag"),
                                (["forget", "--keep-last", "1"], "forget"), (["prune"], "prune")):
            result = run_snapkit(args, ro_env, cwd=tmp / "src")
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            assert result.stderr.splitlines() == [
                f"snapkit: error: cannot write to the repository {ro} (read-only file system), "
                f"and {operation} must write to it (its lock, if nothing else): make it writable "
                "(remount it read-write, fix its permissions) or use another repository"]
