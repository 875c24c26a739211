"""``snap --time``: the recorded time and the real start (issue 16).

The manifest's ``time`` is what ``--time`` says; its ``started`` the real start, which the
files cache compares a ``-wal``'s mtime with (a ``--time`` in the future would otherwise let a
database whose WAL moved since keep the parent's stale copy). Listings, ``latest`` and
``forget`` go by the recorded time, as restic's; the parent is the snapshot taken last.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import env_for, invoke_main, restore, restored

from snapkit.cli.snap_cmd import parse_time
from snapkit.format.model import Snapshot
from snapkit.store.repository import Repository

DAY_NS = 86_400 * 1_000_000_000

COMMIT = r"""
import os, sqlite3, sys

con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA wal_autocheckpoint=0")
for i in range(int(sys.argv[2])):
    con.execute("INSERT INTO t(v) VALUES (?)", (f"row {i}",))
os._exit(0)  # no close: no checkpoint; the rows stay in the -wal, the main file untouched
"""


def commit(db: Path, n: int) -> None:
    done = subprocess.run([sys.executable, "-c", COMMIT, str(db), str(n)], check=False)
    assert done.returncode == 0 and Path(f"{db}-wal").exists()


def wal_database(src: Path) -> Path:
    """A WAL-mode database with rows only in its ``-wal`` (10 rows)."""
    src.mkdir()
    db = src / "live.db"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    finally:
        con.close()
    (src / "static.txt").write_text("unchanged\n")
    commit(db, 10)
    return db


def rows(db: Path) -> int:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        con.close()


def snap(tmp: Path, src: Path, *extra: str) -> dict[str, object]:
    result = invoke_main(["--json", "snap", str(src), *extra], env_for(tmp))
    assert result.code == 0, result.stderr
    summary: dict[str, object] = result.json_lines()[-1]
    assert summary["event"] == "summary"
    return summary


def manifest(tmp: Path, snap_id: object) -> Snapshot:
    return Repository.open(tmp / "repo").load_snapshot(str(snap_id))


def restored_rows(tmp: Path, snap_id: object, db: Path) -> int:
    target = tmp / f"restore-{snap_id}"
    restore(Repository.open(tmp / "repo"), str(snap_id), target)
    return rows(restored(target, db))


def iso(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text,expected", [
    ("2026-01-10T09:30:00Z", 1_768_037_400_000_000_000),
    ("2026-01-10 09:30:00+00:00", 1_768_037_400_000_000_000),
    ("2026-01-10T10:30:00+01:00", 1_768_037_400_000_000_000),
    ("2026-01-10t09:30:00.25z", 1_768_037_400_250_000_000),
    ("2026-01-10 09:30Z", 1_768_037_400_000_000_000),
])
def test_time_parses_rfc3339_and_short_forms(text: str, expected: int) -> None:
    assert parse_time(None, None, text) == expected


def test_time_without_an_offset_is_local_time() -> None:
    expected = int(datetime(2026, 1, 10, 9, 30).timestamp()) * 1_000_000_000
    assert parse_time(None, None, "2026-01-10 09:30") == expected
    assert parse_time(None, None, "2026-01-10 09:30:00") == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-01-10", "2026-13-10 09:30",
                                  "2026-01-10 25:00", "10/01/2026 09:30"])
def test_a_bad_time_is_one_line_naming_the_forms(tmp_path: Path, text: str) -> None:
    (tmp_path / "src").mkdir()
    result = invoke_main(["snap", str(tmp_path / "src"), "--time", text], env_for(tmp_path))
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--time" in result.stderr and "YYYY-MM-DD HH:MM" in result.stderr
    assert not (tmp_path / "repo").exists()  # nothing was done


# --------------------------------------------------------------------------- the manifest


def test_time_is_recorded_with_the_real_start(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")
    before = time.time_ns()
    summary = snap(tmp_path, src, "--time", "2020-02-03T04:05:06Z")
    m = manifest(tmp_path, summary["snapshot_id"])
    assert m.time_ns == 1_580_702_706_000_000_000 == summary["time_ns"]
    assert m.started_ns is not None and before <= m.started_ns <= time.time_ns()
    assert summary["started_ns"] == m.started_ns
    plain = manifest(tmp_path, snap(tmp_path, src)["snapshot_id"])
    assert plain.started_ns is None and before <= plain.time_ns  # no key: time is the start
    shown = invoke_main(["show", str(summary["snapshot_id"])], env_for(tmp_path))
    assert "2020-02-03" in shown.stdout


# --------------------------------------------------------------------------- the files cache


def test_future_time_then_a_wal_commit_rereads_the_database(tmp_path: Path) -> None:
    """The hazard: with the future time as the parent's start, the -wal written since would
    look older than the parent and the stale copy would be kept."""
    db = wal_database(tmp_path / "src")
    first = snap(tmp_path, tmp_path / "src", "--time", iso(time.time_ns() + 2 * DAY_NS))
    st = db.stat()
    commit(db, 5)
    after = db.stat()  # the premise: the main file's lstat does not show the commits
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns,
                                                                 st.st_ino)
    second = snap(tmp_path, tmp_path / "src")
    assert second["parent"] == first["snapshot_id"]
    assert restored_rows(tmp_path, first["snapshot_id"], db) == 10
    assert restored_rows(tmp_path, second["snapshot_id"], db) == 15


def test_past_time_then_a_wal_commit_rereads_the_database(tmp_path: Path) -> None:
    db = wal_database(tmp_path / "src")
    first = snap(tmp_path, tmp_path / "src", "--time", "2020-01-01 00:00")
    commit(db, 7)
    second = snap(tmp_path, tmp_path / "src")
    assert second["parent"] == first["snapshot_id"]
    assert restored_rows(tmp_path, second["snapshot_id"], db) == 17


def test_past_time_keeps_a_quiet_database_unread(tmp_path: Path) -> None:
    """The real start, not the recorded 2020, is what a quiet -wal is compared with: a
    database at rest since before the snapshot keeps the parent's copy."""
    db = wal_database(tmp_path / "src")
    old = time.time_ns() - 60 * 1_000_000_000
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        os.utime(path, ns=(old, old))
    first = snap(tmp_path, tmp_path / "src", "--time", "2020-01-01 00:00")
    second = snap(tmp_path, tmp_path / "src")
    assert second["parent"] == first["snapshot_id"]
    assert second["files_unmodified"] == 2 and second["bytes_read"] == 0
    assert restored_rows(tmp_path, second["snapshot_id"], db) == 10


# --------------------------------------------------------------------------- order


def test_listings_and_latest_go_by_recorded_time_the_parent_by_real_start(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")
    normal = snap(tmp_path, src)["snapshot_id"]
    future = snap(tmp_path, src, "--time", iso(time.time_ns() + DAY_NS))["snapshot_id"]
    past = snap(tmp_path, src, "--time", "2020-01-01 00:00")
    assert past["parent"] == future  # the one taken last, whatever it recorded
    after = snap(tmp_path, src)
    assert after["parent"] == past["snapshot_id"]

    listed = invoke_main(["--json", "snapshots"], env_for(tmp_path)).json()
    assert [s["id"] for s in listed] == [past["snapshot_id"], normal, after["snapshot_id"],
                                         future]
    latest = invoke_main(["--json", "show", "latest"], env_for(tmp_path)).json()
    assert latest["id"] == future  # restic's latest: the newest recorded time
    kept = invoke_main(["--json", "forget", "--keep-last", "2", "--dry-run"],
                       env_for(tmp_path)).json()
    assert {s["id"] for s in kept["snapshots"] if s["action"] == "keep"} == {
        future, after["snapshot_id"]}


def test_live_diff_compares_a_wal_with_the_real_start(tmp_path: Path) -> None:
    """`diff SNAPSHOT` asks the files cache's rule too: a WAL commit after a future-dated
    snapshot is a change."""
    db = wal_database(tmp_path / "src")
    snap(tmp_path, tmp_path / "src", "--time", iso(time.time_ns() + 2 * DAY_NS))
    quiet = invoke_main(["diff", "latest"], env_for(tmp_path))
    assert quiet.code == 0 and "live.db" not in quiet.stdout
    commit(db, 3)
    moved = invoke_main(["diff", "latest"], env_for(tmp_path))
    assert moved.code == 0 and f"M  {db}" in moved.stdout, moved.stdout
