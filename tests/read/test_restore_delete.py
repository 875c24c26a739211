"""``restore --delete``'s walk (``snapkit.read.restore_delete``): which directories it compares,
what it keeps and why — a partial file of a live restore, a directory holding what the filters
leave out, a tree nested too deep — and that a dry run lists exactly what a real run removes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import dead_pid, make_tree

from snapkit.format.paths import split_path
from snapkit.read import restore_delete
from snapkit.read.restore_delete import Extra, covered_dirs, remove_extras
from snapkit.read.restore_writer import TEMP_PREFIX
from snapkit.read.treewalk import Parts
from snapkit.select.rules import path_filter


def test_covered_dirs_are_the_sources_and_below() -> None:
    planned: list[tuple[Parts, bool]] = [
        (("home",), True), (("home", "me"), True), (("home", "me", "src"), True),
        (("home", "me", "src", "a"), False), (("home", "me", "src", "d"), True),
        (("home", "me", "src", "d", "b"), False), (("home", "me", "other"), True),
    ]
    dirs = covered_dirs(planned, [("home", "me", "src")])
    assert dirs == {("home", "me", "src"): {"a", "d"}, ("home", "me", "src", "d"): {"b"}}


def remove(target: Path, src: Path, names: set[str], *, includes: tuple[str, ...] = (),
           excludes: tuple[str, ...] = (), dry_run: bool = False) -> list[Extra]:
    """``--delete`` of the target's copy of ``src``, whose snapshot held ``names``."""
    parts = split_path(str(src))
    select = path_filter(includes, excludes) if includes or excludes else None
    return remove_extras(str(target), 0, {parts: names}, select, bool(includes), dry_run)


def test_partial_files_of_a_live_restore_are_kept_orphans_go(tmp_path: Path) -> None:
    src, live, orphan = tmp_path / "src", f"{TEMP_PREFIX}{os.getpid()}-abc", \
        f"{TEMP_PREFIX}{dead_pid()}-def"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {
        "a.txt": b"a", live: b"mine", orphan: b"orphan"})
    got = remove(tmp_path / "t", src, {"a.txt"})
    assert [(Path(e.path).name, bool(e.kept)) for e in got] == [(live, True), (orphan, False)]
    assert sorted(os.listdir(where)) == sorted(["a.txt", live])


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_directory_holding_what_the_filters_leave_out_stays(tmp_path: Path,
                                                              dry_run: bool) -> None:
    src = tmp_path / "src"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {
        "mixed/x.json": b"{}", "mixed/notes.txt": b"n", "only/y.json": b"{}",
        "none/z.txt": b"z"})
    got = remove(tmp_path / "t", src, set(), includes=("*.json",), dry_run=dry_run)
    gone = {os.path.relpath(e.path, where) for e in got if not e.kept}
    assert gone == {"mixed/x.json", "only/y.json", "only"}  # the same in a dry run
    assert not any(e.kept for e in got)
    if not dry_run:
        assert sorted(os.listdir(where)) == ["mixed", "none"]
        assert os.listdir(where / "mixed") == ["notes.txt"]


def test_a_tree_nested_too_deep_is_kept_with_its_reason(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restore_delete, "MAX_DEPTH", 2)
    src = tmp_path / "src"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {"a/b/c/d.txt": b"d"})
    got = remove(tmp_path / "t", src, set())
    kept = [(os.path.relpath(e.path, where), e.kept) for e in got if e.kept]
    assert kept[0] == ("a/b/c", "nested over 2 levels deep: remove it by hand")
    assert (where / "a" / "b" / "c" / "d.txt").exists()


def test_nothing_to_compare_when_the_target_is_not_there(tmp_path: Path) -> None:
    assert remove(tmp_path / "nowhere", tmp_path / "src", set()) == []
