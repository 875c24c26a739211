"""SQLite capture: the online backup API under a live writer process, WAL-only transactions,
detection by header, fallbacks and policies, and the files cache for WAL databases.

The live-writer proof runs a real process that commits continuously in WAL mode (inserts with
a sequence number, updates, default auto-checkpointing) while ``snapkit snap`` runs, and checks
the restored copy: ``PRAGMA integrity_check`` is ok, every row committed before the snapshot
started is there, rows are contiguous, and the cross-row invariants of each transaction hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    cli_env,
    describe,
    file_digest,
    init_repo,
    restore,
    restored,
    run_snapkit,
    take,
    wait_for,
)

import snapkit.capture.sqlite as sqlite_mod
from fixtures.openclaw_tree import make_wal_database
from snapkit.capture.chunker import Chunker
from snapkit.capture.file import Captured, capture_file
from snapkit.capture.sqlite import HEADER as SQLITE_HEADER
from snapkit.capture.sqlite import SIDECARS as SQLITE_SIDECARS
from snapkit.format.model import Snapshot
from snapkit.store.repository import Repository

MiB = 1024 * 1024


# --------------------------------------------------------------------------- tools


def snap_cli(
    tmp: Path, src: Path, repo: Path, *extra: str, config: dict[str, Any] | None = None
) -> tuple[subprocess.CompletedProcess[str], str, Snapshot]:
    """Run ``python -m snapkit snap SRC --repo REPO --json``; return (process, id, manifest)."""
    args = ["snap", str(src), "--repo", str(repo), "--json", *extra]
    if config is not None:
        cfg = tmp / f"config-{len(list(tmp.glob('config-*.json')))}.json"
        cfg.write_text(json.dumps(config))
        args += ["--config", str(cfg)]
    proc = run_snapkit(args, cli_env(tmp))
    assert proc.returncode in (0, 3), proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["event"] == "summary"
    snap_id = summary["snapshot_id"]
    return proc, snap_id, Repository.open(repo).load_snapshot(snap_id)


def restore_to(repo_path: Path, snap_id: str, target: Path) -> None:
    restore(Repository.open(repo_path), snap_id, target)


def rows(db: Path, table: str = "memories") -> int:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def integrity(db: Path) -> str:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def state_without_shm(root: Path) -> dict[bytes, Any]:
    """Every entry's type, mode, mtime, size and sha256 — the ``-shm`` only by presence."""
    out: dict[bytes, Any] = {}
    for rel, meta in describe(root).items():
        out[rel] = ("shm",) if rel.endswith(b"-shm") else meta
    return out


def capture_warnings(manifest: Snapshot) -> list[str]:
    """The warnings about how files were read (not, say, about the gateway service)."""
    return [w for w in manifest.warnings
            if "changed during read" in w or "SQLite online backup" in w]


def stored_names(target: Path) -> set[str]:
    return {p.name for p in target.rglob("*")}


# --------------------------------------------------------------------------- live writer

WRITER = r"""
import hashlib, os, random, sqlite3, sys

db, status, stop, seed, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]


def payload(seq):
    return hashlib.sha256(str(seq).encode()).digest() * 32


con = sqlite3.connect(db, isolation_level=None, timeout=30)
assert con.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
con.execute("PRAGMA synchronous=NORMAL")
assert con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # the default
rng = random.Random(seed)
seq = con.execute("SELECT max(seq) FROM t").fetchone()[0]
commits = 0


def report():
    tmp = status + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{seq} {commits}")
    os.replace(tmp, status)


report()
while not os.path.exists(stop):
    n = seq + 1
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO t(seq, payload, hits) VALUES (?, ?, 0)", (n, payload(n)))
    if n % 50 == 0:
        lo = rng.randint(1, n)
        changed = con.execute(
            "UPDATE t SET hits = hits + 1 WHERE seq BETWEEN ? AND ?", (lo, lo + 199)
        ).rowcount
    else:
        changed = con.execute(
            "UPDATE t SET hits = hits + 1 WHERE seq = ?", (rng.randint(1, n),)
        ).rowcount
    con.execute("UPDATE meta SET v = ? WHERE k = 'last'", (n,))
    con.execute("UPDATE meta SET v = v + ? WHERE k = 'updates'", (changed,))
    con.execute("COMMIT")
    seq = n
    commits += 1
    report()
report()
con.close()
"""


def payload(seq: int) -> bytes:
    return hashlib.sha256(str(seq).encode()).digest() * 32


def make_live_db(path: Path, n: int, mode: str = "wal") -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA page_size=4096")
        assert con.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
        con.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, payload BLOB NOT NULL, "
                    "hits INTEGER NOT NULL)")
        con.execute("CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?, ?, 0)",
                        ((i, payload(i)) for i in range(1, n + 1)))
        con.executemany("INSERT INTO meta VALUES (?, ?)", (("last", n), ("updates", 0)))
        con.execute("COMMIT")
    finally:
        con.close()


def read_status(path: Path) -> tuple[int, int]:
    seq, commits = path.read_text().split()
    return int(seq), int(commits)


def check_live_copy(db: Path, committed_before: int, last_written: int) -> int:
    """The restored copy of the live database: consistent and complete; return its max seq."""
    assert integrity(db) == "ok"
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        count, lo, hi = con.execute("SELECT count(*), min(seq), max(seq) FROM t").fetchone()
        meta = dict(con.execute("SELECT k, v FROM meta").fetchall())
        (hits,) = con.execute("SELECT sum(hits) FROM t").fetchone()
        bad = [seq for seq, data in con.execute("SELECT seq, payload FROM t")
               if data != payload(seq)]
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        con.close()
    assert lo == 1 and count == hi, "rows are not contiguous from 1"
    assert hi >= committed_before, f"rows committed before the snapshot are missing ({hi})"
    assert hi <= last_written
    assert meta["last"] == hi, "the meta row and the inserted rows come from different commits"
    assert meta["updates"] == hits, "an UPDATE was torn across the copy"
    assert not bad, f"rows with damaged payloads: {bad[:5]}"
    assert mode == "delete"  # a standalone copy, nothing left in a WAL
    return int(hi)


def _live_writer_run(tmp_path: Path, run: int, mode: str, rows_before: int, commits_before: int,
                     cli: bool) -> None:
    src = tmp_path / "app"
    src.mkdir()
    # Big files on both sides of the database in walk order: the snapshot takes a while and
    # the database is copied in the middle of it.
    (src / "a-before.bin").write_bytes(os.urandom(6 * MiB))
    (src / "z-after.bin").write_bytes(os.urandom(6 * MiB))
    db = src / "live.db"
    make_live_db(db, rows_before, mode)
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    status, stop = ctl / "status", ctl / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(status), str(stop), str(run), mode]
    )
    try:
        assert wait_for(
            lambda: status.exists() and read_status(status)[1] >= commits_before, 30)
        assert writer.poll() is None
        committed_before, _ = read_status(status)
        repo = tmp_path / "repo"
        if cli:
            proc, snap_id, manifest = snap_cli(tmp_path, src, repo)
            assert proc.returncode == 0, proc.stderr
        else:
            snap_id, manifest = take(init_repo(repo), src)
        during, _ = read_status(status)
        assert during > committed_before, "the writer did not commit during the snapshot"
        assert writer.poll() is None
    finally:
        stop.touch()
        writer.wait(30)
    assert writer.returncode == 0
    last_written, _ = read_status(status)
    assert manifest.sqlite == (str(db),)
    assert not capture_warnings(manifest)
    assert not manifest.skipped
    target = tmp_path / "restore"
    restore_to(repo, snap_id, target)
    check_live_copy(restored(target, db), committed_before, last_written)
    assert stored_names(restored(target, src)) == {"a-before.bin", "live.db", "z-after.bin"}


@pytest.mark.parametrize("run", range(5))
def test_live_writer_process_snapshot_is_consistent_and_complete(
    tmp_path: Path, run: int
) -> None:
    """WAL mode, 4.5 MB; the writer is past several auto-checkpoints (>= 3 frames per commit)
    before the snapshot starts. Runs 0, 2, 4 use the CLI, 1 and 3 the library."""
    _live_writer_run(tmp_path, run, "wal", 4000, 400, cli=run % 2 == 0)


def test_live_writer_process_rollback_journal_database(tmp_path: Path) -> None:
    _live_writer_run(tmp_path, 9, "delete", 1000, 30, cli=True)


HOLD_EXCLUSIVE = r"""
import os, sqlite3, sys, time

con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
con.execute("INSERT INTO notes(body) VALUES ('uncommitted')")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
con.execute("ROLLBACK")
"""


def test_busy_database_falls_back_to_raw_after_a_bounded_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer holds an exclusive lock on a rollback-journal database: the copy gives up at
    its deadline and the file is stored raw, with a warning; the snapshot completes."""
    src = tmp_path / "src"
    src.mkdir()
    db = src / "busy.db"
    _plain_db(db, 200)
    monkeypatch.setattr(sqlite_mod, "DEADLINE_S", 0.5)
    locked, stop = tmp_path / "locked", tmp_path / "stop"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_EXCLUSIVE, str(db), str(locked),
                               str(stop)])
    try:
        assert wait_for(locked.exists, 30)
        raw = db.read_bytes()
        started = time.monotonic()
        snap_id, manifest = take(init_repo(tmp_path / "repo"), src, parent=None)
        elapsed = time.monotonic() - started
    finally:
        stop.touch()
        holder.wait(30)
    assert holder.returncode == 0
    assert elapsed < 5
    assert manifest.sqlite == ()
    (warning,) = manifest.warnings
    assert warning.startswith(f"{db}: SQLite online backup failed") and "raw" in warning
    restore(Repository.open(tmp_path / "repo"), snap_id, tmp_path / "restore")
    assert restored(tmp_path / "restore", db).read_bytes() == raw


# --------------------------------------------------------------------------- at rest


def test_wal_only_transactions_at_rest_are_captured_and_source_untouched(
    tmp_path: Path,
) -> None:
    src = tmp_path / "appdata"  # not an OpenClaw dir: no default exclusion rules apply
    db = src / "memory.sqlite"
    make_wal_database(db, 1500, wal_rows=120, seed=7)
    (src / "notes.txt").write_text("plain file\n")
    (src / "sub").mkdir()
    (src / "sub" / "data.json").write_text('{"a": 1}\n')
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 0
    main_only = sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True)
    try:  # immutable=1 ignores the WAL: the main file alone lacks the WAL rows
        assert main_only.execute("SELECT count(*) FROM memories").fetchone()[0] == 1500
    finally:
        main_only.close()
    db_digest, wal_digest = file_digest(db), file_digest(wal)
    db_mtime, wal_mtime = db.stat().st_mtime_ns, wal.stat().st_mtime_ns
    before = state_without_shm(src)
    time.sleep(0.01)  # a rewrite in the same clock tick could hide an mtime change

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo")

    assert proc.returncode == 0, proc.stderr
    assert wal.exists()
    assert file_digest(db) == db_digest and file_digest(wal) == wal_digest
    assert db.stat().st_mtime_ns == db_mtime and wal.stat().st_mtime_ns == wal_mtime
    assert state_without_shm(src) == before, "something under the source changed"
    assert manifest.sqlite == (str(db),)
    assert not capture_warnings(manifest) and not manifest.skipped
    target = tmp_path / "restore"
    restore_to(tmp_path / "repo", snap_id, target)
    copy = restored(target, db)
    assert integrity(copy) == "ok"
    assert rows(copy) == 1620
    names = stored_names(restored(target, src))
    assert names == {"memory.sqlite", "notes.txt", "sub", "data.json"}
    assert not any(n.endswith(SQLITE_SIDECARS) for n in names)


# --------------------------------------------------------------------------- detection


def _plain_db(path: Path, n: int) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO notes(body) VALUES (?)", ((f"note {i}",) for i in range(n)))
        con.execute("COMMIT")
    finally:
        con.close()


def test_detection_is_by_header_not_by_name(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _plain_db(src / "notes.dat", 300)
    assert (src / "notes.dat").read_bytes()[:16] == SQLITE_HEADER
    text = b"this is not a database, whatever its name says\n" * 40
    (src / "x.sqlite").write_bytes(text)
    (src / "short.bin").write_bytes(SQLITE_HEADER + b"\0" * 100)  # header, but < 512 bytes

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo")

    assert proc.returncode == 0, proc.stderr
    assert manifest.sqlite == (str(src / "notes.dat"),)
    assert not capture_warnings(manifest)
    target = tmp_path / "restore"
    restore_to(tmp_path / "repo", snap_id, target)
    out = restored(target, src)
    assert (out / "x.sqlite").read_bytes() == text
    assert (out / "short.bin").read_bytes() == SQLITE_HEADER + b"\0" * 100
    assert integrity(out / "notes.dat") == "ok"
    assert rows(out / "notes.dat", "notes") == 300


def test_capture_file_reports_the_method(tmp_path: Path) -> None:
    _plain_db(tmp_path / "a.bin", 10)
    (tmp_path / "b.db").write_bytes(b"x" * 5000)
    saved: list[bytes] = []

    def save(data: bytes) -> str:
        saved.append(data)
        return hashlib.sha256(data).hexdigest()

    chunker = Chunker(init_repo(tmp_path / "repo").config.chunker)
    assert capture_file(str(tmp_path / "a.bin"), chunker, save).method == "sqlite-backup"
    assert capture_file(str(tmp_path / "b.db"), chunker, save).method == "read"
    assert capture_file(str(tmp_path / "a.bin"), chunker, save, sqlite="raw").method == (
        "sqlite-raw"
    )


# --------------------------------------------------------------------------- fallbacks, policy


def test_corrupt_database_falls_back_to_raw_read_with_warning(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    corrupt = SQLITE_HEADER + b"\xff" * 100 + bytes(range(256)) * 15
    assert len(corrupt) >= 512
    (src / "broken.db").write_bytes(corrupt)
    (src / "ok.txt").write_text("fine\n")

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo")

    assert proc.returncode == 0, proc.stderr
    assert manifest.sqlite == ()
    (warning,) = [w for w in manifest.warnings if "broken.db" in w]
    assert warning.startswith(f"{src / 'broken.db'}: SQLite online backup failed")
    assert "raw" in warning
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert warning in summary["warnings"]
    text = run_snapkit(["snap", str(src), "--repo", str(tmp_path / "repo"), "--force"],
                       cli_env(tmp_path))
    assert text.returncode == 0 and "Warning:" in text.stdout and "broken.db" in text.stdout
    target = tmp_path / "restore"
    restore_to(tmp_path / "repo", snap_id, target)
    assert restored(target, src / "broken.db").read_bytes() == corrupt
    assert restored(target, src / "ok.txt").read_text() == "fine\n"


def test_sqlite_raw_policy_stores_the_file_bytes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    db = src / "memory.sqlite"
    make_wal_database(db, 400, wal_rows=30, seed=3)
    raw_main = db.read_bytes()
    raw_wal = Path(f"{db}-wal").read_bytes()

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo",
                                       config={"sqlite": "raw"})

    assert proc.returncode == 0, proc.stderr
    assert manifest.sqlite == ()
    assert not manifest.skipped
    target = tmp_path / "restore"
    restore_to(tmp_path / "repo", snap_id, target)
    out = restored(target, db)
    assert out.read_bytes() == raw_main
    # Raw means raw: the sidecars are stored too, so the WAL's transactions are not lost.
    assert Path(f"{out}-wal").read_bytes() == raw_wal
    assert rows(out) == 430


def test_sqlite_skip_policy_lists_the_database_as_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    db = src / "memory.sqlite"
    make_wal_database(db, 200, wal_rows=20, seed=4)
    (src / "keep.txt").write_text("kept\n")

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo",
                                       config={"sqlite": "skip"})

    assert proc.returncode == 0, proc.stderr
    assert [(s.path, s.reason) for s in manifest.skipped] == [(str(db), "sqlite")]
    assert manifest.sqlite == ()
    target = tmp_path / "restore"
    restore_to(tmp_path / "repo", snap_id, target)
    assert stored_names(restored(target, src)) == {"keep.txt"}


def test_sqlite_policy_through_the_library(tmp_path: Path) -> None:
    src = tmp_path / "src"
    db = src / "notes.dat"
    src.mkdir()
    _plain_db(db, 50)
    repo = init_repo(tmp_path / "repo")
    _, skipped = take(repo, src, parent=None, sqlite="skip")
    assert [(s.path, s.reason) for s in skipped.skipped] == [(str(db), "sqlite")]
    raw_id, raw = take(repo, src, parent=None, sqlite="raw")
    assert raw.sqlite == () and not raw.skipped
    restore(repo, raw_id, tmp_path / "r")
    assert restored(tmp_path / "r", db).read_bytes() == db.read_bytes()


# --------------------------------------------------------------------------- incremental

COMMIT_AND_CRASH = r"""
import os, sqlite3, sys

con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA wal_autocheckpoint=0")
for i in range(int(sys.argv[2])):
    con.execute("BEGIN")
    con.execute("INSERT INTO memories(ts, text) VALUES ('later', ?)", (f"row {i}",))
    con.execute("COMMIT")
os._exit(0)  # no close: the last connection's checkpoint never runs; rows stay in the WAL
"""


def test_incremental_snapshot_recaptures_a_wal_database(tmp_path: Path) -> None:
    src = tmp_path / "appdata"
    db = src / "memory.sqlite"
    make_wal_database(db, 800, wal_rows=50, seed=5)
    (src / "static.txt").write_text("unchanged\n")
    repo = tmp_path / "repo"
    _, first_id, first = snap_cli(tmp_path, src, repo)
    assert first.sqlite == (str(db),)
    st = db.stat()

    done = subprocess.run([sys.executable, "-c", COMMIT_AND_CRASH, str(db), "25"], check=False)
    assert done.returncode == 0
    after = db.stat()
    # The premise: the main file's lstat does not show the commits at all.
    assert (after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino) == (
        st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    proc, second_id, second = snap_cli(tmp_path, src, repo)

    assert proc.returncode == 0, proc.stderr
    assert second.parent == first_id
    assert second.sqlite == (str(db),)
    assert second.summary.files_unmodified >= 1  # static.txt came from the files cache
    target = tmp_path / "restore"
    restore_to(repo, second_id, target)
    assert rows(restored(target, db)) == 875
    restore_to(repo, first_id, tmp_path / "restore-first")
    assert rows(restored(tmp_path / "restore-first", db)) == 850


UPDATE_AND_CRASH = r"""
import os, sqlite3, sys

con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA wal_autocheckpoint=0")
for i in range(0, 2000, 7):
    con.execute("BEGIN")
    con.execute("UPDATE kv SET val = ? WHERE id = ?", (sys.argv[2] * 40, i))
    con.execute("COMMIT")
os._exit(0)  # rows stay in the WAL: the main file is not written at all
"""


def test_incremental_snapshot_recaptures_wal_updates_that_keep_the_size(tmp_path: Path) -> None:
    """Updates in place: the copy has the main file's size, so only the -wal check stops the
    files cache from reusing the parent's stale content."""
    src = tmp_path / "appdata"
    src.mkdir()
    db = src / "kv.db"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        con.execute("CREATE TABLE kv(id INTEGER PRIMARY KEY, val TEXT NOT NULL)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO kv VALUES (?, ?)", ((i, "a" * 40) for i in range(2000)))
        con.execute("COMMIT")
    finally:
        con.close()  # checkpoints and removes the WAL
    size = db.stat().st_size

    def update(letter: str) -> None:
        done = subprocess.run([sys.executable, "-c", UPDATE_AND_CRASH, str(db), letter],
                              check=False)
        assert done.returncode == 0 and Path(f"{db}-wal").exists()

    update("b")
    repo = tmp_path / "repo"
    _, first_id, first = snap_cli(tmp_path, src, repo)
    assert first.sqlite == (str(db),)
    st = db.stat()
    update("c")
    after = db.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino) == (
        st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) and st.st_size == size

    _, second_id, second = snap_cli(tmp_path, src, repo)

    assert second.parent == first_id and second.sqlite == (str(db),)
    for snap_id, letter in ((first_id, "b"), (second_id, "c")):
        target = tmp_path / f"restore-{letter}"
        restore_to(repo, snap_id, target)
        copy = restored(target, db)
        assert copy.stat().st_size == size  # the premise: same size as the main file
        con = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            vals = dict(con.execute("SELECT id, val FROM kv").fetchall())
        finally:
            con.close()
        assert vals[7] == letter * 40 and vals[1] == "a" * 40


def test_wal_database_at_rest_without_wal_leaves_no_sidecars(tmp_path: Path) -> None:
    """A WAL-mode database closed cleanly (no -wal): captured, and no sidecar appears."""
    src = tmp_path / "appdata"
    src.mkdir()
    db = src / "kv.db"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        con.execute("CREATE TABLE kv(id INTEGER PRIMARY KEY, val TEXT)")
        con.executemany("INSERT INTO kv(val) VALUES (?)", (("v",) for _ in range(100)))
    finally:
        con.close()
    assert sorted(p.name for p in src.iterdir()) == ["kv.db"]
    before = describe(src)
    time.sleep(0.01)

    proc, snap_id, manifest = snap_cli(tmp_path, src, tmp_path / "repo")

    assert proc.returncode == 0, proc.stderr
    assert describe(src) == before
    assert manifest.sqlite == (str(db),) and not capture_warnings(manifest)
    restore_to(tmp_path / "repo", snap_id, tmp_path / "restore")
    copy = restored(tmp_path / "restore", db)
    assert integrity(copy) == "ok" and rows(copy, "kv") == 100


def test_a_quiet_database_keeps_the_parents_copy_with_the_copys_size(tmp_path: Path) -> None:
    """Regression: a database whose -wal is older than the parent is not copied again; the
    reused node keeps the copy's size (not the main file's), so it restores and checks."""
    from snapkit.capture.snapshot import SnapOptions, create_snapshot
    from snapkit.maintain.check import check_repository

    src = tmp_path / "src"
    src.mkdir()
    db = src / "quiet.sqlite"
    make_wal_database(db, 200, wal_rows=50, seed=11)
    old = time.time() - 3600
    for p in (db, Path(f"{db}-wal")):
        os.utime(p, (old, old))
    repo = Repository.init(tmp_path / "repo")
    first = create_snapshot(repo, SnapOptions(sources=(str(src),)), None)
    calls: list[str] = []

    def spy(path: str, *a: Any, **kw: Any) -> Captured:
        calls.append(path)
        return capture_file(path, *a, **kw)

    sid, snap = create_snapshot(repo, SnapOptions(sources=(str(src),)), first, capture=spy)
    assert calls == []  # nothing committed since: the parent's copy is reused unread
    assert snap.sqlite == (str(db),)
    assert check_repository(Repository.open(tmp_path / "repo")).ok
    restore(repo, sid, tmp_path / "out")
    copy = restored(tmp_path / "out", src) / "quiet.sqlite"
    con = sqlite3.connect(copy)
    assert con.execute("SELECT count(*) FROM memories").fetchone()[0] == 250
    con.close()
