"""Trees of any depth: every reader walks iteratively (issue 11, item 4).

Two scales. On disk, 1,500 directories deep (the deepest a path-based walk can reach within
Linux's 4,096-byte PATH_MAX with one-letter names): snapshot, restore, export, diff, ls, find and
check through the CLI. In the repository, 5,000 deep (a snapshot whose trees are written
directly, since no path that deep can be passed to the kernel): restore — which works through
directory descriptors and keeps only a bounded number open — export, diff, ls -R, find and
check, each in its own process with Python's default recursion limit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_env, run_snapkit

from snapkit import __version__
from snapkit.format.model import NODE_DIR, NODE_FILE, Node, Snapshot, Tree, file_hasher
from snapkit.store.repository import Repository

ON_DISK = 1500
IN_REPO = 5000


def _mkdeep(root: Path, depth: int, leaf: bytes) -> None:
    """``root/d/d/…/d/leaf.txt`` with ``depth`` directories, made through directory fds."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        out = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, leaf)
        os.close(out)
    finally:
        os.close(fd)


def _read_deep(root: Path, depth: int) -> bytes:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.txt", os.O_RDONLY, dir_fd=fd)
        try:
            return os.read(leaf, 1 << 16)
        finally:
            os.close(leaf)
    finally:
        os.close(fd)


def _rmdeep(root: Path) -> None:
    """Remove every ``…/d/d/…`` chain below ``root`` without recursion (pytest's clean-up,
    ``shutil.rmtree``, recurses once per level): ``x/d/d`` is moved up to ``x/d`` until each
    chain is one level deep."""
    if not root.exists():
        return
    stack = [root]
    while stack:
        here = stack.pop()
        while (here / "d" / "d").is_dir() and not (here / "d" / "d").is_symlink():
            os.rename(here / "d" / "d", here / "d.up")
            shutil.rmtree(here / "d")
            os.rename(here / "d.up", here / "d")
        stack.extend(c for c in here.iterdir() if c.is_dir() and not c.is_symlink())
    shutil.rmtree(root)


@pytest.fixture(autouse=True)
def _clean_up_deep_trees(tmp_path: Path) -> Iterator[None]:
    yield
    for child in tmp_path.iterdir():
        if child.is_dir():
            _rmdeep(child)


def ok(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = run_snapkit(args, env, timeout=300)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


def test_deep_tree_on_disk(tmp_path: Path) -> None:
    src = tmp_path / "s"
    _mkdeep(src, ON_DISK, b"one\n")
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    ok(["snap", str(src), "--tag", "one"], env)
    # Change the leaf, snapshot again, and diff: the one change at the bottom is found.
    deep_leaf = src.joinpath(*(["d"] * ON_DISK), "leaf.txt")
    deep_leaf.write_bytes(b"two!\n")
    ok(["snap", str(src), "--tag", "two"], env)
    diff = ok(["diff", "one", "two", "--name-only"], env).stdout.split()
    assert diff == [str(deep_leaf)]
    ok(["check", "--read-data"], env)
    target = tmp_path / "r"
    ok(["restore", "two", "--target", str(target)], env)
    assert _read_deep(target / str(src).lstrip("/"), ON_DISK) == b"two!\n"
    archive = tmp_path / "deep.tar.gz"
    ok(["export", "two", "-o", str(archive)], env)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1].endswith("/".join(["d"] * ON_DISK) + "/leaf.txt")
    found = ok(["find", "leaf.txt"], env).stdout
    assert str(deep_leaf) in found


def _deep_repository(path: Path, depth: int) -> tuple[Repository, str]:
    """A repository with one snapshot of ``/deep/d/…/d/leaf.txt`` (``depth`` dirs below
    ``/deep``), its trees written bottom-up through the store."""
    repo = Repository.init(path)
    data = b"at the bottom\n"
    hasher = file_hasher()
    hasher.update(data)
    now = time.time_ns()
    with repo.saver() as saver:
        blob = saver.save_data(data)
        assert blob == repo.cipher.content_id(data)
        leaf = Node("leaf.txt", NODE_FILE, 0o644, now, size=len(data), content=(blob,),
                    hash=hasher.hexdigest())
        tree_id = saver.save_tree(Tree((leaf,)))
        for _ in range(depth):
            tree_id = saver.save_tree(Tree((Node("d", NODE_DIR, 0o755, now, subtree=tree_id),)))
        tree_id = saver.save_tree(Tree((Node("deep", NODE_DIR, 0o755, now, subtree=tree_id),)))
    snap = Snapshot(time_ns=now, hostname=socket.gethostname(), username="test",
                    sources=("/deep",), tree=tree_id, tags=("deep",),
                    program_version=__version__)
    return repo, repo.save_snapshot(snap)


@pytest.mark.skipif(not hasattr(os, "O_DIRECTORY"), reason="needs directory descriptors")
def test_deep_tree_in_the_repository(tmp_path: Path) -> None:
    repo, sid = _deep_repository(tmp_path / "repo", IN_REPO)
    assert sys.getrecursionlimit() < IN_REPO  # each reader below must not depend on it
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    ok(["check", "--read-data"], env)
    leaf_path = "/deep/" + "/".join(["d"] * IN_REPO) + "/leaf.txt"
    assert leaf_path in ok(["ls", "-R", sid[:8], "/deep"], env).stdout.splitlines()
    assert ok(["find", "leaf.txt"], env).stdout.count(leaf_path) == 1
    assert ok(["diff", sid[:8], sid[:8]], env).returncode == 0
    # A second snapshot without the tree: diff lists every removed directory, in order.
    empty = repo.save_snapshot(Snapshot(time_ns=time.time_ns(), hostname=socket.gethostname(),
                                        username="test", sources=("/deep",),
                                        tree=repo.load_snapshot(sid).tree.__class__(
                                            _empty_tree(repo)),
                                        program_version=__version__))
    removed = ok(["diff", sid[:8], empty[:8], "--name-only"], env).stdout.split()
    assert len(removed) == IN_REPO + 2 and removed[-1] == leaf_path
    archive = tmp_path / "deep.tar"
    ok(["export", sid[:8], "-o", str(archive), "--format", "tar"], env)
    with tarfile.open(archive) as tar:
        assert tar.getnames()[-1] == leaf_path.lstrip("/")
    target = tmp_path / "r"
    ok(["restore", sid[:8], "--target", str(target)], env)
    assert _read_deep(target / "deep", IN_REPO) == b"at the bottom\n"
    # Restoring again over the existing deep tree finds every entry identical.
    again = ok(["restore", sid[:8], "--target", str(target), "--overwrite", "if-changed",
                "--json"], env)
    assert '"identical": 1' in again.stdout


def _empty_tree(repo: Repository) -> str:
    with repo.saver() as saver:
        return saver.save_tree(Tree(()))
