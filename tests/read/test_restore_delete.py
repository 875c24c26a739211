"""``restore --delete``'s walk (``snapkit.read.restore_delete``): which directories it compares,
what it keeps and why — a partial file of a live restore, a directory holding what the filters
leave out, a tree nested too deep, what the snapshot never tried to hold (its ``Scope``:
skipped paths, special files, skipped symlinks, what its rules exclude, ``.snapkitignore``
layered) — and that a dry run lists exactly what a real run removes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import dead_pid, make_tree

from snapkit.format.paths import split_path
from snapkit.read import restore_delete
from snapkit.read.restore_delete import Extra, Scope, SourceScope, covered_dirs, remove_extras
from snapkit.read.restore_writer import TEMP_PREFIX
from snapkit.read.treewalk import Parts
from snapkit.select.rules import Matcher, RuleSet, path_filter


def test_covered_dirs_are_the_sources_and_below() -> None:
    planned: list[tuple[Parts, bool]] = [
        (("home",), True), (("home", "me"), True), (("home", "me", "src"), True),
        (("home", "me", "src", "a"), False), (("home", "me", "src", "d"), True),
        (("home", "me", "src", "d", "b"), False), (("home", "me", "other"), True),
    ]
    dirs = covered_dirs(planned, [("home", "me", "src")])
    assert dirs == {("home", "me", "src"): {"a", "d"}, ("home", "me", "src", "d"): {"b"}}


def remove(target: Path, src: Path, names: set[str], *, includes: tuple[str, ...] = (),
           excludes: tuple[str, ...] = (), dry_run: bool = False,
           scope: Scope | None = None) -> list[Extra]:
    """``--delete`` of the target's copy of ``src``, whose snapshot held ``names``."""
    parts = split_path(str(src))
    select = path_filter(includes, excludes) if includes or excludes else None
    return remove_extras(str(target), 0, {parts: names}, select, bool(includes), dry_run,
                         scope)


def test_partial_files_of_a_live_restore_are_kept_orphans_go(tmp_path: Path) -> None:
    src, live, orphan = tmp_path / "src", f"{TEMP_PREFIX}{os.getpid()}-abc", \
        f"{TEMP_PREFIX}{dead_pid()}-def"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {
        "a.txt": b"a", live: b"mine", orphan: b"orphan"})
    got = remove(tmp_path / "t", src, {"a.txt"})
    # (in name order: which comes first depends on the two process ids)
    assert [(Path(e.path).name, bool(e.kept)) for e in got] == sorted(
        [(live, True), (orphan, False)])
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


def kept_out(got: list[Extra], where: Path) -> dict[str, str]:
    return {os.path.relpath(e.path, where): e.kept for e in got if e.out_of_scope}


@pytest.mark.parametrize("dry_run", [True, False])
def test_what_the_snapshot_left_out_is_kept(tmp_path: Path, dry_run: bool) -> None:
    src = tmp_path / "src"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {
        "a.txt": b"a", "new.txt": b"n", "cache/blob": b"c", "debug.log": b"l",
        "gone/x": b"x", "sub/.snapkitignore": b"*.bak\n", "sub/old.bak": b"b",
        "sub/new.txt": b"n", "unread": b"u"})
    os.symlink("a.txt", where / "link")
    os.mkfifo(where / "fifo")
    rules = Matcher(RuleSet("user rules", excluded_folders=("cache",), exclude=("*.log",)))
    scope = Scope((SourceScope(split_path(str(src)), rules),),
                  {str(src / "unread"): "unreadable"}, symlinks_skipped=True)

    root = split_path(str(src))
    got = remove_extras(str(tmp_path / "t"), 0, {root: {"a.txt", "sub"}, (*root, "sub"): {
        ".snapkitignore"}}, None, False, dry_run, scope)

    assert kept_out(got, where) == {
        "cache": "excluded by the snapshot's rules (folder cache)",
        "debug.log": "excluded by the snapshot's rules (pattern *.log)",
        "fifo": "a FIFO: a snapshot never holds one",
        "link": 'a symlink: the snapshot skipped symlinks (config "symlinks": "skip")',
        "sub/old.bak": "excluded by the snapshot's rules (.snapkitignore sub/.snapkitignore: "
                       "*.bak)",
        "unread": "skipped by the snapshot: unreadable"}
    gone = {os.path.relpath(e.path, where) for e in got if not e.kept}
    assert gone == {"new.txt", "gone", "gone/x", "sub/new.txt"}
    if not dry_run:
        assert sorted(os.listdir(where)) == ["a.txt", "cache", "debug.log", "fifo", "link",
                                             "sub", "unread"]
        assert (where / "cache" / "blob").exists()  # an excluded directory: not entered


def test_rules_that_cannot_be_rebuilt_keep_everything_below_the_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {"a.txt": b"a", "new.txt": b"n",
                                                             "d/new": b"n"})
    why = "the snapshot's rules for it came from snap's command line"
    scope = Scope((SourceScope(split_path(str(src)), None, why),))
    got = remove(tmp_path / "t", src, {"a.txt"}, scope=scope)
    assert kept_out(got, where) == {"new.txt": why, "d": why}
    assert sorted(os.listdir(where)) == ["a.txt", "d", "new.txt"]


def test_a_new_directory_holding_a_fifo_stays_with_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    where = make_tree(tmp_path / "t" / str(src).lstrip("/"), {"new/f.txt": b"f"})
    os.mkfifo(where / "new" / "pipe")
    got = remove(tmp_path / "t", src, set())  # no scope: special files are still kept
    assert kept_out(got, where) == {"new/pipe": "a FIFO: a snapshot never holds one",
                                    "new": "it holds entries the snapshot left out"}
    assert sorted(os.listdir(where / "new")) == ["pipe"]
