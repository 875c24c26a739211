"""``snapkit tag``: tags added, removed and set; a changed snapshot is written again under its
new id (the old manifest gone, the data untouched, everything else the same); one clear error
for what cannot be done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli_env, invoke_main, make_tree

from snapkit.ops.tag import new_tags
from snapkit.store.repository import Repository


@pytest.mark.parametrize(("current", "add", "remove", "set_to", "want"), [
    (("a",), ("b",), (), None, ("a", "b")),
    (("a", "b"), (), ("a",), None, ("b",)),
    (("a", "b"), ("c",), ("b",), ("x", "y"), ("x", "y", "c")),
    (("a",), ("a",), (), None, ("a",)),
    (("a",), (), (), (), ()),
])
def test_new_tags(current: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...],
                  set_to: tuple[str, ...] | None, want: tuple[str, ...]) -> None:
    assert new_tags(current, add, remove, set_to) == want


def test_tag_rewrites_the_manifest_and_keeps_the_rest(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    out = invoke_main(["snap", str(src), "--tag", "first", "--json"], env)
    old = json.loads(out.lines[-1])["snapshot_id"]
    before = Repository.open(tmp_path / "repo").load_snapshot(old)
    done = invoke_main(["tag", old[:8], "--add", "keep", "--remove", "first", "--json"], env)
    assert done.code == 0, done.stderr
    (row,) = done.json()
    assert row["old"] == old and row["changed"] and row["tags"] == ["keep"]
    repo = Repository.open(tmp_path / "repo")
    assert repo.snapshot_ids() == [row["new"]]
    after = repo.load_snapshot(row["new"])
    assert after.tags == ("keep",)
    assert (after.tree, after.time_ns, after.sources) == (before.tree, before.time_ns,
                                                          before.sources)
    again = invoke_main(["tag", "keep", "--add", "keep"], env)
    assert again.stdout.strip() == f"{row['new'][:8]} unchanged (tags: keep)"
    restored = invoke_main(["restore", "keep", "--target", str(tmp_path / "t")], env)
    assert restored.code == 0


@pytest.mark.parametrize(("args", "needle"), [
    (["tag", "latest"], "say what to change"),
    (["tag", "latest", "--add", "a,b"], "cannot hold a comma"),
    (["tag", "feedbeef", "--add", "x"], "feedbeef"),
])
def test_one_clear_error(tmp_path: Path, args: list[str], needle: str) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"x"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["snap", str(src), "-q"], env).code == 0
    out = invoke_main(args, env)
    assert out.code == 2 and needle in out.stderr and len(out.stderr.splitlines()) == 1
