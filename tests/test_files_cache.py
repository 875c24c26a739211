"""The files cache's decision (``snapkit.capture.files_cache``), table-tested, and the two users
that
share it: the snapshot builder (reuse the parent's content unread) and the live diff (report a
database stored as a copy). The rule is in ``docs/design.md``, "Live databases and the files
cache"."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import init_repo

from fixtures.openclaw_tree import make_wal_database
from snapkit.capture.file import Captured, capture_file
from snapkit.capture.files_cache import (
    WAL_SLACK_NS,
    WAL_UNKNOWN,
    FileMeta,
    Verdict,
    WalState,
    decide,
    wal_mtime,
    wal_verdict,
)
from snapkit.capture.nodes import node_from_stat
from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.format.model import Snapshot
from snapkit.format.paths import split_path
from snapkit.read.diff import diff_live, live_entries, stored_entries
from snapkit.store.repository import Repository

S = 1_000_000_000
SINCE = 1_700_000_000 * S  # the parent snapshot's start
OLD = FileMeta(regular=True, size=10, mtime_ns=SINCE - 3600 * S, ctime_ns=SINCE - 3600 * S,
               inode=7)

UNCHANGED, CHANGED, UNSURE = Verdict.UNCHANGED, Verdict.CHANGED, Verdict.UNSURE


@pytest.mark.parametrize(
    ("old", "now", "copied", "wal", "verdict"),
    [
        # Rule 1: the same regular file, unmodified.
        (OLD, OLD, False, None, UNCHANGED),
        (None, OLD, False, None, CHANGED),  # the parent has no file there
        (OLD._replace(regular=False), OLD, False, None, CHANGED),  # was a dir or a link
        (OLD, OLD._replace(regular=False), False, None, CHANGED),  # is one now
        (OLD, OLD._replace(size=11), False, None, CHANGED),
        (OLD, OLD._replace(mtime_ns=OLD.mtime_ns + 1), False, None, CHANGED),
        (OLD, OLD._replace(mtime_ns=OLD.mtime_ns - 1), False, None, CHANGED),
        (OLD, OLD._replace(ctime_ns=OLD.ctime_ns + 1), False, None, CHANGED),
        (OLD, OLD._replace(inode=8), False, None, CHANGED),  # replaced by another file
        # A database stored as a copy: the node's size is the copy's, never compared.
        (OLD, OLD._replace(size=4096), True, None, UNCHANGED),
        (OLD, OLD._replace(size=4096, mtime_ns=OLD.mtime_ns + 1), True, None, CHANGED),
        (OLD, OLD._replace(ctime_ns=OLD.ctime_ns + 1), True, None, CHANGED),
        (OLD, OLD._replace(inode=8), True, None, CHANGED),  # restored in place, say
        # Rule 2: a -wal beside it must be quiet: older than the parent's start by the slack.
        (OLD, OLD, True, SINCE - 3600 * S, UNCHANGED),
        (OLD, OLD, True, SINCE - WAL_SLACK_NS - 1, UNCHANGED),
        (OLD, OLD, True, SINCE - WAL_SLACK_NS, UNSURE),  # the slack's edge: not quiet
        (OLD, OLD, True, SINCE - S, UNSURE),  # a coarse clock may hide a later write
        (OLD, OLD, True, SINCE, UNSURE),
        (OLD, OLD, True, SINCE + 1, CHANGED),  # written after the parent started
        (OLD, OLD, True, WAL_UNKNOWN, UNSURE),  # its lstat failed: nothing ruled out
        (OLD, OLD, False, SINCE + 1, CHANGED),  # a raw-stored file with a -wal: same rule
        (OLD, OLD._replace(inode=8), True, SINCE - 3600 * S, CHANGED),  # rule 1 first
    ],
    ids=["same", "no-parent-node", "was-not-file", "is-not-file", "size", "mtime+1ns",
         "mtime-1ns", "ctime", "inode", "copy-size-ignored", "copy-mtime", "copy-ctime",
         "copy-inode", "wal-old", "wal-just-past-slack", "wal-slack-edge", "wal-1s-before",
         "wal-at-start", "wal-after-start", "wal-unknown", "raw-wal-after", "inode-wal-old"],
)
def test_decide(old: FileMeta | None, now: FileMeta, copied: bool, wal: WalState,
                verdict: Verdict) -> None:
    assert decide(old, now, copied=copied, wal=wal, since_ns=SINCE) is verdict


@pytest.mark.parametrize(
    ("wal", "since", "verdict"),
    [
        (None, SINCE, UNCHANGED),
        (None, 0, UNCHANGED),
        (5 * S, 0, CHANGED),  # no parent start: any -wal is news
        (SINCE - WAL_SLACK_NS - 1, SINCE, UNCHANGED),
        (SINCE - WAL_SLACK_NS, SINCE, UNSURE),
        (SINCE, SINCE, UNSURE),
        (SINCE + 1, SINCE, CHANGED),
        (WAL_UNKNOWN, SINCE, UNSURE),
    ],
)
def test_wal_verdict(wal: WalState, since: int, verdict: Verdict) -> None:
    assert wal_verdict(wal, since) is verdict


def test_file_meta_of_a_stat_and_of_its_node_agree(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"0123456789")
    st = os.lstat(p)
    node = node_from_stat("f", "file", st, content=())
    assert FileMeta.of_stat(st) == FileMeta.of_node(node)
    assert decide(FileMeta.of_node(node), FileMeta.of_stat(os.lstat(p))) is UNCHANGED
    assert not FileMeta.of_stat(os.lstat(tmp_path)).regular


def test_wal_mtime_looks_at_the_disk_once(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    db.write_bytes(b"x")
    assert wal_mtime(str(db)) is None
    wal = tmp_path / "db.sqlite-wal"
    wal.write_bytes(b"w")
    os.utime(wal, ns=(SINCE, SINCE))
    assert wal_mtime(str(db)) == SINCE
    assert wal_mtime(str(db), frozenset({"db.sqlite", "db.sqlite-wal"})) == SINCE
    # The directory's listing says there is none: no lstat is made.
    assert wal_mtime(str(db), frozenset({"db.sqlite"})) is None
    # A -wal that cannot be looked at (here: "below" a regular file) is unknown, not absent.
    assert wal_mtime(str(db / "inner")) == WAL_UNKNOWN


# ------------------------------------------------------------- the builder and the live diff


def _snap(repo: Repository, src: Path, parent: tuple[str, Snapshot] | None,
          calls: list[str]) -> tuple[str, Snapshot]:
    """A snapshot whose file reader (injected) records each file it reads in ``calls``."""

    def spy(path: str, *a: Any, **kw: Any) -> Captured:
        calls.append(path)
        return capture_file(path, *a, **kw)

    return create_snapshot(repo, SnapOptions(sources=(str(src),)), parent, capture=spy)


def _live_markers(repo: Repository, snap: Snapshot, content: bool) -> dict[str, str]:
    stored = stored_entries(repo.load_tree, snap.tree, snap.sources, split_path)
    live = live_entries(snap.sources, lambda _src: (None, "none"), "skip")
    return {c.path: c.marker for c in diff_live(stored, live, content,
                                                frozenset(snap.sqlite), snap.time_ns)}


@pytest.mark.parametrize(
    ("wal_offset_ns", "recopied", "reported", "reported_with_content"),
    [
        (-3600 * S, False, False, False),  # quiet: reused unread, not reported
        (-S, True, False, False),  # within the slack: copied again; the diff hashes a copy
        (None, True, True, False),  # written after the start, same commits: M by metadata
    ],
    ids=["quiet", "within-slack", "after-start"],
)
def test_builder_and_live_diff_apply_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wal_offset_ns: int | None,
    recopied: bool, reported: bool, reported_with_content: bool,
) -> None:
    """A WAL database's -wal mtime, relative to the parent's start: the builder copies the
    database again exactly when the verdict is not UNCHANGED, and the live diff reports it
    only when its content really moved (or, without ``--content``, when the -wal was written
    after the snapshot started)."""
    src = tmp_path / "src"
    db = src / "memory.sqlite"
    make_wal_database(db, 200, wal_rows=20, seed=3)
    wal = Path(f"{db}-wal")
    repo = init_repo(tmp_path / "repo")
    calls: list[str] = []
    first = _snap(repo, src, None, calls)
    assert first[1].sqlite == (str(db),) and calls == [str(db)]
    when = first[1].time_ns + (wal_offset_ns if wal_offset_ns is not None else S)
    os.utime(wal, ns=(when, when))

    assert bool(_live_markers(repo, first[1], content=False)) is reported
    assert bool(_live_markers(repo, first[1], content=True)) is reported_with_content
    calls.clear()
    second = _snap(repo, src, first, calls)
    assert (calls == [str(db)]) is recopied
    assert second[1].sqlite == (str(db),)


def test_live_diff_reports_a_commit_within_the_slack(tmp_path: Path) -> None:
    """A commit whose -wal mtime reads as before the snapshot's start (a coarse clock) is
    still found: the diff does not trust a -wal within the slack, it hashes a fresh copy."""
    src = tmp_path / "src"
    db = src / "memory.sqlite"
    make_wal_database(db, 200, wal_rows=20, seed=4)
    repo = init_repo(tmp_path / "repo")
    _, snap = create_snapshot(repo, SnapOptions(sources=(str(src),)), None)
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_autocheckpoint=0")
        con.execute("INSERT INTO memories(ts, text) VALUES ('t', 'new')")
        con.commit()
        when = snap.time_ns - S // 2
        os.utime(f"{db}-wal", ns=(when, when))
        assert _live_markers(repo, snap, content=False) == {str(db): "M"}
    finally:
        con.close()
