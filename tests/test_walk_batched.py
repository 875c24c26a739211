"""The batched walk the snapshot builder uses, and the builder's one-loop path for a
directory's unchanged files: the same events as the plain walk, in the same order, and
the same snapshot as file-by-file (ids, counts, progress) when quick and slow files mix."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

import pytest
from helpers import init_repo, init_twin, make_tree

import snapkit.capture.walk as walk_mod
from snapkit.capture.nodes import node_from_stat
from snapkit.capture.parent import Frame, all_kept
from snapkit.capture.snapshot import Progress, SnapOptions, create_snapshot
from snapkit.capture.walk import Event, File, Files, Matcher, walk, walk_batched
from snapkit.format.model import NODE_FILE, Snapshot, encode_node
from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node
from snapkit.store.repository import Repository


class _Rules:
    """Excludes ``*.log`` files and directories named ``cache``."""

    def excluded(self, relpath: str, is_dir: bool, size: int | None = None) -> str | None:
        name = relpath.rsplit("/", 1)[-1]
        if is_dir:
            return "cache dir" if name == "cache" else None
        return "log file" if name.endswith(".log") else None

    def child(self, dir_relpath: str, ignore_lines: list[str]) -> Matcher:
        return self

    markers: tuple[str, ...] = ()
    one_file_system = False

    def marked(self, dir_path: str, listing: frozenset[str]) -> str | None:
        return None


def _flatten(events: list[Event | Files]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if isinstance(event, Files):
            out.extend(File(event.entry(name, st)) for name, st in event.items)
        else:
            out.append(event)
    return out


def test_batched_walk_gives_the_walks_events_in_its_order(tmp_path: Path) -> None:
    rng = random.Random(3)
    spec: dict[str, bytes] = {}
    for i in range(60):
        name = rng.choice(["a", "b", "c/d", "cache", "e/f/g"]) + f"/f{i:02d}"
        spec[name + rng.choice([".txt", ".log", ""])] = b"x" * i
    src = make_tree(tmp_path / "src", spec)
    os.symlink("a", src / "b" / "link")
    os.symlink("f00", src / "a" / "zz.log")  # a symlink the rules exclude
    os.mkfifo(src / "c" / "pipe")
    for matcher in (None, _Rules()):
        plain = list(walk(str(src), matcher))
        batched = list(walk_batched(str(src), matcher))
        assert any(isinstance(e, Files) and len(e.items) > 1 for e in batched)
        assert _flatten(batched) == plain


def _snap(repo: Repository, src: Path, parent: bool,
          progress: list[int] | None = None) -> tuple[str, Snapshot]:
    snaps = repo.snapshots()
    opts = SnapOptions(sources=(str(src),), hostname=socket.gethostname())

    def on_progress(p: Progress) -> None:
        if progress is not None:
            progress.append(p.files)

    return create_snapshot(repo, opts, snaps[-1] if parent and snaps else None, on_progress)


def test_quick_and_slow_files_of_one_directory_give_the_snapshot_from_scratch(
    tmp_path: Path,
) -> None:
    spec = {f"d/f{i:02d}": bytes([i]) * (10 + i) for i in range(40)}
    spec.update({f"d/sub/g{i}": b"g" * i for i in range(5)})
    src = make_tree(tmp_path / "src", spec)
    repo = init_repo(tmp_path / "repo")
    _snap(repo, src, parent=False)
    (src / "d" / "f05").write_bytes(b"changed")  # read again
    (src / "d" / "f10").chmod(0o600)  # kept, a new node
    (src / "d" / "f20-wal").write_bytes(b"")  # f20 has a -wal now: read again; f20-wal new
    (src / "d" / "f30").unlink()
    (src / "d" / "f31b").write_bytes(b"new")
    seen: list[int] = []
    _, incremental = _snap(repo, src, parent=True, progress=seen)
    fresh = init_twin(tmp_path / "fresh", repo)
    _, scratch = _snap(fresh, src, parent=False)
    node = find_node(repo.load_tree, incremental.tree, split_path(str(src)))
    again = find_node(fresh.load_tree, scratch.tree, split_path(str(src)))
    assert node is not None and again is not None and node.subtree == again.subtree
    s = incremental.summary
    assert (s.files_new, s.files_changed, s.files_unmodified) == (2, 2, 42)
    assert (s.total_files, s.total_bytes) == (scratch.summary.total_files,
                                              scratch.summary.total_bytes)
    assert seen and seen == sorted(seen) and seen[-1] == 46


def test_names_come_in_the_order_of_their_bytes(tmp_path: Path) -> None:
    raw = [b"Z", b"a", b"\xc3\xa9", b"\x80x", b"\xef\xbf\xbd", b"~", b"a.b", b"a-b"]
    for names in (raw[:2] + raw[5:], raw):  # all ASCII (sorted as strings), and not
        src = tmp_path / f"src{len(names)}"
        src.mkdir()
        for name in names:
            with open(os.fsencode(src) + b"/" + name, "wb"):
                pass
        got = [os.fsencode(n) for e in walk_batched(str(src))
               if isinstance(e, Files) for n, _ in e.items]
        assert got == sorted(names)


def test_a_big_directory_comes_in_several_batches(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walk_mod, "BATCH_FILES", 4)
    src = make_tree(tmp_path / "src", {f"f{i:02d}": b"x" for i in range(10)})
    batched = list(walk_batched(str(src)))
    assert [len(e.items) for e in batched if isinstance(e, Files)] == [4, 4, 2]
    assert _flatten(batched) == list(walk(str(src)))


@pytest.mark.parametrize("change", ["", "mode", "mtime", "size", "gone", "type", "hash",
                                    "user", "chunk"])
def test_all_kept_keeps_a_batch_only_when_every_file_keeps_its_map(
    tmp_path: Path, change: str
) -> None:
    src = make_tree(tmp_path / "src", {"a": b"a" * 10, "b": b"b" * 20})
    items = [(n, os.lstat(src / n)) for n in ("a", "b")]
    ids = ("ab" * 16, "cd" * 16)
    maps = {n: encode_node(node_from_stat(n, NODE_FILE, st, content=(i,), hash=i))
            for (n, st), i in zip(items, ids, strict=True)}
    b = maps["b"]
    other = {"mode": 0o600, "mtime": 1, "size": 21, "type": "symlink", "hash": None,
             "user": "someone-else"}
    if change in other:
        b[change] = other[change]
    elif change == "gone":
        del maps["b"]
    frame = Frame([], maps, frozenset(maps))
    listed = (lambda blob: blob != ids[1]) if change == "chunk" else (lambda blob: True)
    got = all_kept(items, frame, listed)
    assert got == (None if change else ([maps["a"], maps["b"]], 30))
