"""``plan_prune`` decides without changing anything — not even the caller's ``Repository``."""

from __future__ import annotations

from pathlib import Path

from helpers import init_repo, make_tree, take

from snapkit.maintain.prune import execute_prune, plan_prune
from snapkit.store.repository import Repository


def test_the_plan_sees_a_snapshot_committed_after_opening_and_leaves_the_repo_alone(
    tmp_path: Path,
) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"first\n"})
    init_repo(tmp_path / "repo")
    take(Repository.open(tmp_path / "repo"), src)
    repo = Repository.open(tmp_path / "repo")  # the caller's, opened before the next snapshot
    index, entries = repo.index, len(repo.index)

    (src / "b.txt").write_bytes(b"second, committed by another process\n")
    other = Repository.open(tmp_path / "repo")
    take(other, src)
    new_blobs = {e.id for e in other.index} - {e.id for e in repo.index}
    assert new_blobs

    plan = plan_prune(repo)
    assert plan.snapshots == 2
    assert new_blobs <= plan.used_blobs  # read under the lock: the new snapshot's blobs count
    assert repo.index is index and len(repo.index) == entries  # the caller's view unchanged
    assert plan.nothing_to_do

    execute_prune(repo, plan)  # executing may change it: it reloads the index
    assert new_blobs <= {e.id for e in repo.index}
