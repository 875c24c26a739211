"""What ``restore --delete`` knows of the snapshot's scope (``ops.restore.delete_scope``):
the manifest's skipped paths and the repository are left out, each source's rules are
rebuilt from the config for the snapshot's mode — except where they cannot be (``snap``'s
unrecorded command-line rules, an import, a mode the config lacks), which keeps everything
unless the restore's ``--exclude`` stands for them — a source inside another is judged by
the outer one's rules, and the symlink policy is the snapshot's where it shows."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from helpers import make_tree

from snapkit.format.model import Skipped, Snapshot, Summary
from snapkit.format.paths import split_path
from snapkit.ops.restore import delete_scope


def manifest(sources: tuple[str, ...], rules: tuple[str, ...]) -> Snapshot:
    return Snapshot(time_ns=1, hostname="h", username="u", sources=sources, tree="0" * 64,
                    rules=rules)


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.json"
    path.write_text(text)
    return str(path)


def test_config_rules_are_rebuilt_and_command_line_ones_are_unknown(tmp_path: Path) -> None:
    a = str(make_tree(tmp_path / "a", {"f": b"f"}))
    b = str(make_tree(tmp_path / "b", {"f": b"f"}))
    snap = replace(manifest((a, b), (f"{a}: user rules from x, mode full",
                                     f"{b}: user rules, mode full")),
                   skipped=(Skipped(f"{a}/sock", "socket"), Skipped(f"{a}/l", "symlink", "f")))
    rules = config(tmp_path, '{"exclude": ["*.log"]}\n')
    scope = delete_scope(tmp_path / "repo", snap, rules)
    by_root = {s.root: s for s in scope.sources}
    first = by_root[split_path(a)]
    assert first.unknown == "" and first.matcher is not None
    assert first.matcher.excluded("x.log", False) == "pattern *.log"
    assert scope.left_out == {f"{a}/sock": "socket", f"{a}/l": "symlink to f",
                              str(tmp_path / "repo"): "the repository itself"}
    assert scope.symlinks_skipped
    # With no rules in the config, "user rules" can only have come from snap's command line.
    scope = delete_scope(tmp_path / "repo", snap, config(tmp_path, "{}\n"))
    second = {s.root: s for s in scope.sources}[split_path(b)]
    assert "came from snap's command line" in second.unknown
    assert "pass them to restore as --exclude" in second.unknown
    stood_in = delete_scope(tmp_path / "repo", snap, config(tmp_path, "{}\n"), stand_in=True)
    assert all(not s.unknown for s in stood_in.sources)


def test_imports_unknown_modes_and_inner_sources(tmp_path: Path) -> None:
    outer = str(make_tree(tmp_path / "o", {"in/f": b"f"}))
    inner = os.path.join(outer, "in")
    none = config(tmp_path, "{}\n")
    imported = replace(manifest((outer,), (f"{outer}: import (tar)",)),
                       imported={"layout": "tar"})
    assert "imported archive" in delete_scope("s3:bucket/x", imported, none).sources[0].unknown
    odd = replace(manifest((outer,), (f"{outer}: no exclusion rules, mode nosuch",)),
                  mode="nosuch")
    assert "mode 'nosuch' is not in the current config" in delete_scope(
        tmp_path / "r", odd, none).sources[0].unknown
    nested = replace(manifest((inner, outer), (f"{outer}: no rules",)),
                     summary=Summary(symlinks=2))
    scope = delete_scope(tmp_path / "r", nested, none)
    assert [(s.root, s.matcher, s.unknown) for s in scope.sources] == [
        (split_path(outer), None, "")]
    assert not scope.symlinks_skipped  # the snapshot holds symlinks: it recorded them
