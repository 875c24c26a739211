"""Blobs read ahead from a remote repository (``snapkit.store.prefetch``), against a real S3
server: a blob asked for ahead is served without another request and verified as any other; a
fetch that failed leaves the usual read (and its error) to ``load_blob``; a local repository
reads nothing ahead."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import init_repo, make_tree, take
from s3server import S3Server

from snapkit.format.errors import BlobUnreadable
from snapkit.format.model import NODE_DIR, decode_tree
from snapkit.store.repository import Repository


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, s3_server: S3Server) -> S3Server:
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    return s3_server


def counting(repo: Repository) -> list[tuple[Any, ...]]:
    """Every single-range ``load`` the repository's backend is asked for from now on."""
    calls: list[tuple[Any, ...]] = []
    real: Callable[..., bytes] = repo.backend.load

    def load(*args: Any, **kw: Any) -> bytes:
        calls.append(args)
        return real(*args, **kw)

    repo.backend.load = load  # type: ignore[method-assign]
    return calls


def subtrees(repo: Repository, tree_id: str) -> list[str]:
    return [n.subtree for n in decode_tree(repo.load_blob(tree_id)).nodes
            if n.type == NODE_DIR and n.subtree]


def test_trees_asked_for_ahead_are_read_without_another_request(
    tmp_path: Path, aws: S3Server
) -> None:
    src = make_tree(tmp_path / "src", {f"d{i}/f.txt": f"file {i}\n".encode() for i in range(8)})
    loc = aws.location(aws.new_bucket(), "repo")
    sid, _ = take(Repository.init(loc), src)
    repo = Repository.open(loc)
    root = repo.load_snapshot(sid).tree
    top = subtrees(repo, root)
    while len(top) == 1:  # down to the source directory, whose children are d0..d7
        top = subtrees(repo, top[0])
    assert len(top) == 8
    calls = counting(repo)
    repo.prefetch(top)
    trees = [decode_tree(repo.load_blob(t)) for t in top]
    assert calls == []  # all eight came from the fetch ahead (one load_ranges per pack)
    assert sorted(t.nodes[0].name for t in trees) == ["f.txt"] * 8
    assert decode_tree(repo.load_blob(top[0])) == trees[0]  # taken once; then read again
    assert len(calls) == 1


def test_a_failed_fetch_leaves_the_usual_read_and_its_error(
    tmp_path: Path, aws: S3Server
) -> None:
    src = make_tree(tmp_path / "src", {"a/f.txt": b"a\n", "b/g.txt": b"b\n"})
    loc = aws.location(aws.new_bucket(), "repo")
    sid, _ = take(Repository.init(loc), src)
    repo = Repository.open(loc)
    tree = repo.load_snapshot(sid).tree
    entry = repo.index.get(tree)
    assert entry is not None
    repo.backend.remove("packs", entry.pack)  # the pack holding the trees is gone
    repo.prefetch([tree])
    with pytest.raises(BlobUnreadable, match=r"pack .* is missing"):
        repo.load_blob(tree)


def test_a_local_repository_reads_nothing_ahead(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    sid, _ = take(repo, make_tree(tmp_path / "src", {"a/f.txt": b"a\n"}))
    repo.prefetch([repo.load_snapshot(sid).tree])
    assert repo._prefetcher is None
