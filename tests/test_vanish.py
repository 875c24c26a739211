"""Files that vanish, change or cannot be read while a snapshot runs.

A real deleter process removes session transcripts, ``.lock`` files and whole directories while
``snap`` walks a tree of a few thousand files, many times over: every run completes (exit 0),
vanished entries are listed as ``vanished``, and every restored file equals the content it had.
The same races are then forced deterministically, one code path at a time, by hooking the
builder's ``capture_file`` and the walker's ``scandir``. Files that change while read are read
again up to ``MAX_ATTEMPTS`` times and then stored as last read with a warning; unreadable files
are recorded with their error, the snapshot is still written, and the CLI exits 3.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import (
    IS_ROOT,
    cli_env,
    init_repo,
    make_tree,
    restore,
    restored,
    run_snapkit,
    take,
    wait_for,
)
from helpers import (
    test_secrets as mode_secrets,  # (not collected as a test)
)

import snapkit.capture.walk as walk_mod
from fixtures.openclaw_tree import make_wal_database
from snapkit.capture.chunker import Chunker
from snapkit.capture.file import (
    MAX_ATTEMPTS,
    Captured,
    CaptureFile,
    Unreadable,
    Vanished,
    capture_file,
)
from snapkit.cli import snap_view
from snapkit.cli.common import Settings
from snapkit.cli.main import cli
from snapkit.format.errors import EXIT_INCOMPLETE
from snapkit.format.model import NODE_FILE, Snapshot
from snapkit.format.paths import split_path
from snapkit.ops.snap import SnapRequest
from snapkit.ops.snap import snap as take_snapshot
from snapkit.read.treewalk import iter_tree
from snapkit.store.repository import Repository

MiB = 1024 * 1024


# --------------------------------------------------------------------------- tools


def files_below(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` by POSIX relative path, with its content."""
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def reasons(snap: Snapshot) -> list[tuple[str, str]]:
    return [(s.path, s.reason) for s in snap.skipped]


class Hook:
    """The builder's file reader for a test (injected: ``create_snapshot(..., capture=hook)``):
    runs ``actions[path]()`` just before ``path`` is captured, and records the paths captured,
    in order, in ``seen``."""

    def __init__(self, actions: dict[str, Callable[[], None]]) -> None:
        self.actions = actions
        self.seen: list[str] = []

    def __call__(self, path: str, *a: Any, **kw: Any) -> Captured:
        self.seen.append(path)
        action = self.actions.pop(path, None)
        if action is not None:
            action()
        return capture_file(path, *a, **kw)


def restore_files(repo: Repository, snap_id: str, src: Path, target: Path) -> dict[str, bytes]:
    restore(repo, snap_id, target)
    out = restored(target, src)
    return files_below(out) if out.exists() else {}


# --------------------------------------------------------------------------- the big tree

AGENTS = ("main", "research")
TRANSCRIPTS = 450  # per agent
CACHE_DIRS = 24
CACHE_FILES = 20  # per cache dir
STATIC = 150


def tree_spec(seed: int = 0) -> dict[str, bytes]:
    """About 2,300 small files shaped like an OpenClaw state dir."""
    rng = random.Random(f"vanish-tree:{seed}")
    spec: dict[str, bytes] = {}
    for agent in AGENTS:
        for i in range(TRANSCRIPTS):
            base = f"agents/{agent}/sessions/{rng.getrandbits(64):016x}-{i:04d}.jsonl"
            lines = [json.dumps({"n": n, "text": rng.randbytes(rng.randint(20, 200)).hex()})
                     for n in range(rng.randint(1, 12))]
            spec[base] = ("\n".join(lines) + "\n").encode()
            if i % 6 == 0:
                spec[base + ".lock"] = f"{{\"pid\": {1000 + i}}}\n".encode()
        spec[f"agents/{agent}/sessions/sessions.json"] = b'{"sessions": []}\n'
    for d in range(CACHE_DIRS):
        for f in range(CACHE_FILES):
            spec[f"cache/c{d:02d}/blob-{f:02d}.bin"] = rng.randbytes(rng.randint(10, 3000))
    for i in range(STATIC):
        spec[f"workspace/notes/day-{i:03d}.md"] = f"# day {i}\n{rng.random()}\n".encode() * 5
    spec["openclaw.json"] = b'{"gateway": {"port": 18789}}\n'
    return spec


def deletion_targets(spec: dict[str, bytes], rng: random.Random) -> tuple[list[str], list[str]]:
    """A random choice of transcripts, locks and whole cache directories to delete."""
    transcripts = sorted(p for p in spec if p.endswith(".jsonl"))
    locks = sorted(p for p in spec if p.endswith(".lock"))
    files = rng.sample(transcripts, len(transcripts) // 4) + rng.sample(locks, len(locks) // 2)
    dirs = [f"cache/c{d:02d}" for d in rng.sample(range(CACHE_DIRS), CACHE_DIRS // 3)]
    return files, dirs


DELETER = r"""
import json, os, random, shutil, sys, time

root, plan, locks, ready, done, seed = sys.argv[1:6] + [int(sys.argv[6])]
with open(plan) as f:
    spec = json.load(f)
targets = [("f", p) for p in spec["files"]] + [("d", p) for p in spec["dirs"]]
rng = random.Random(seed)
rng.shuffle(targets)
open(ready, "w").close()
# Start when the snapshot holds its repository lock, i.e. when the walk begins.
while not os.listdir(locks):
    if os.path.exists(done):  # the snapshot came and went between two polls
        sys.exit(0)
    time.sleep(0.0002)
time.sleep(spec["delay"])
start = time.monotonic()
step = spec["duration"] / max(1, len(targets))
for i, (kind, rel) in enumerate(targets):
    pause = start + i * step - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    path = os.path.join(root, rel)
    if kind == "f":
        os.unlink(path)
    else:
        shutil.rmtree(path)
"""


class Deleter:
    """A separate process that deletes ``files`` and ``dirs`` below ``root`` once the snapshot
    takes its repository lock, spread over ``duration`` seconds after ``delay``."""

    def __init__(self, tmp: Path, root: Path, repo: Path, files: list[str], dirs: list[str],
                 seed: int, delay: float, duration: float) -> None:
        plan = tmp / f"plan-{seed}.json"
        plan.write_text(json.dumps({"files": files, "dirs": dirs, "delay": delay,
                                    "duration": duration}))
        ready = tmp / f"ready-{seed}"
        self.done = tmp / f"done-{seed}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DELETER, str(root), str(plan), str(repo / "locks"),
             str(ready), str(self.done), str(seed)]
        )
        assert wait_for(ready.exists, 30), "the deleter did not start"

    def join(self) -> None:
        self.done.touch()
        self.proc.wait(60)
        assert self.proc.returncode == 0


class Race:
    """A source tree built from ``spec``, a repository, and the checks of one deleter run."""

    def __init__(self, tmp: Path, spec: dict[str, bytes]) -> None:
        self.tmp = tmp
        self.spec = spec
        self.src = tmp / "state"
        make_tree(self.src, spec)
        self.repo_path = tmp / "repo"
        self.repo = init_repo(self.repo_path)
        self.expected = set(spec)  # what an undisturbed snapshot holds (rules may exclude)
        self.vanished = 0
        self.vanished_dirs = 0
        self.runs = 0

    def refill(self) -> None:
        for rel, data in self.spec.items():
            path = self.src / rel
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)

    def check(self, snap_id: str, snap: Snapshot, files: list[str], dirs: list[str],
              full_restore: bool = True) -> None:
        """The snapshot lists only deleted entries as vanished, and holds every file that was
        not deleted, byte for byte as it was (the deleter only deletes)."""
        self.runs += 1
        assert {s.reason for s in snap.skipped} <= {"vanished"}, reasons(snap)
        deleted_files = set(files)
        deleted_dirs = set(dirs)

        def deleted(rel: str) -> bool:
            return rel in deleted_files or rel in deleted_dirs or any(
                rel.startswith(d + "/") for d in deleted_dirs)

        for s in snap.skipped:
            rel = Path(s.path).relative_to(self.src).as_posix()
            assert deleted(rel), f"{rel} reported vanished but was never deleted"
            self.vanished += 1
            self.vanished_dirs += rel in deleted_dirs
        repo = Repository.open(self.repo_path)  # a CLI run added blobs to the index
        if full_restore:
            target = self.tmp / f"restore-{self.runs}"
            got = restore_files(repo, snap_id, self.src, target)
            shutil.rmtree(target)
        else:
            got = stored_files(repo, snap, self.src)
        for rel, data in got.items():
            assert rel in self.expected, f"stored {rel}, which never existed or is excluded"
            assert data == self.spec[rel], f"{rel} stored with other content"
        missing = [rel for rel in self.expected if rel not in got and not deleted(rel)]
        assert not missing, f"files never deleted are missing: {missing[:5]}"
        assert snap.summary.total_files == len(got)


def stored_files(repo: Repository, snap: Snapshot, src: Path) -> dict[str, bytes]:
    """What a restore of ``src`` would write, read straight from the stored trees."""
    base = split_path(str(src))
    out: dict[str, bytes] = {}
    for parts, node, leaving in iter_tree(repo.load_tree, snap.tree):
        if node.type == NODE_FILE and not leaving and parts[: len(base)] == base:
            out["/".join(parts[len(base):])] = b"".join(repo.load_blob(c) for c in node.content)
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, bytes]:
    return tree_spec()


def _baseline_seconds(race: Race) -> float:
    """Check an undisturbed snapshot; return how long a forced (re-reading) one takes."""
    snap_id, snap = take(race.repo, race.src, parent=None)
    race.check(snap_id, snap, [], [], full_restore=False)
    assert snap.summary.total_files == len(race.spec) and not snap.skipped
    started = time.monotonic()
    take(race.repo, race.src, parent=None, force=True)
    return max(time.monotonic() - started, 0.05)


def test_real_deleter_process_while_library_snapshots_run(
    tmp_path: Path, spec: dict[str, bytes]
) -> None:
    race = Race(tmp_path, spec)
    walk_s = _baseline_seconds(race)
    for run in range(14):
        rng = random.Random(f"lib-run:{run}")
        files, dirs = deletion_targets(spec, rng)
        deleter = Deleter(tmp_path, race.src, race.repo_path, files, dirs, run,
                          delay=rng.uniform(0, walk_s / 4), duration=walk_s * rng.uniform(0.5, 1))
        try:
            with race.repo.lock(exclusive=False, operation="snap"):
                snap_id, snap = take(race.repo, race.src, parent=None, force=True)
        finally:
            deleter.join()
        race.check(snap_id, snap, files, dirs, full_restore=run % 7 == 0)
        race.refill()
    assert race.vanished > 0, "no run raced with the deleter"


def test_real_deleter_process_while_cli_snapshots_run(
    tmp_path: Path, spec: dict[str, bytes]
) -> None:
    race = Race(tmp_path, spec)
    env = cli_env(tmp_path)
    args = ["snap", str(race.src), "--repo", str(race.repo_path), "--force"]
    started = time.monotonic()
    proc = run_snapkit(args, env)
    walk_s = max(time.monotonic() - started - 0.3, 0.1)  # minus interpreter start-up
    assert proc.returncode == 0 and "file(s) vanished" not in proc.stderr, proc.stderr
    snap_id, snap = Repository.open(race.repo_path).snapshots()[-1]
    assert not snap.skipped
    # An OpenClaw state dir: the default rules leave out the *.jsonl.lock files.
    race.expected = {rel for rel in spec if not rel.endswith(".lock")}
    race.check(snap_id, snap, [], [], full_restore=False)
    notes = 0
    for run in range(6):
        rng = random.Random(f"cli-run:{run}")
        files, dirs = deletion_targets(spec, rng)
        deleter = Deleter(tmp_path, race.src, race.repo_path, files, dirs, 100 + run,
                          delay=rng.uniform(0, walk_s / 4), duration=walk_s * rng.uniform(0.5, 1))
        try:
            proc = run_snapkit(args, env)
        finally:
            deleter.join()
        assert proc.returncode == 0, proc.stderr
        snap_id, snap = Repository.open(race.repo_path).snapshots()[-1]
        assert proc.stdout.rstrip().endswith(snap_id)
        race.check(snap_id, snap, files, dirs, full_restore=run % 3 == 0)
        vanished = len(snap.skipped)
        note = [line for line in proc.stderr.splitlines() if "file(s) vanished" in line]
        if vanished:
            notes += 1
            assert note == [f"note: {vanished} file(s) vanished while the snapshot ran and "
                            "were skipped"]
        else:
            assert note == []
        race.refill()
    assert race.vanished > 0 and notes > 0, "no run raced with the deleter"


# --------------------------------------------------------------------------- forced races


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {
        "a.txt": b"a" * 100,
        "b.txt": b"b" * 100,
        "c.txt": b"c" * 100,
        "sub/x.txt": b"x" * 100,
        "sub/y.txt": b"y" * 100,
        "sub/z.txt": b"z" * 100,
        "zz.txt": b"last\n",
    })


def _snap(tmp_path: Path, src: Path, capture: CaptureFile = capture_file
          ) -> tuple[Repository, str, Snapshot, dict[str, bytes]]:
    repo = init_repo(tmp_path / "repo")
    snap_id, snap = take(repo, src, parent=None, capture=capture)
    return repo, snap_id, snap, restore_files(repo, snap_id, src, tmp_path / "restore")


def test_file_deleted_between_walk_and_capture(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = str(small / "b.txt")
    hook = Hook({b: lambda: os.unlink(b)})
    _, _, snap, got = _snap(tmp_path, small, hook)
    assert reasons(snap) == [(b, "vanished")]
    assert "b.txt" not in got and got["a.txt"] == b"a" * 100 and got["c.txt"] == b"c" * 100
    assert snap.summary.total_files == 6


def test_file_deleted_between_listing_and_lstat(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_stat = os.stat

    def stat_after_delete(path: Any, *a: Any, **kw: Any) -> Any:
        # The listing named b.txt; it goes just before the walker's lstat of it.
        if path == "b.txt" and kw.get("dir_fd") is not None and (small / "b.txt").exists():
            os.unlink(small / "b.txt")
        return real_stat(path, *a, **kw)

    monkeypatch.setattr(os, "stat", stat_after_delete)  # the walker's os
    hook = Hook({})
    _, _, snap, got = _snap(tmp_path, small, hook)
    assert reasons(snap) == [(str(small / "b.txt"), "vanished")]
    assert str(small / "b.txt") not in hook.seen  # the walker saw it go, before any capture
    assert set(got) == {"a.txt", "c.txt", "sub/x.txt", "sub/y.txt", "sub/z.txt", "zz.txt"}


def test_directory_deleted_after_its_parent_was_listed(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = Hook({str(small / "c.txt"): lambda: shutil.rmtree(small / "sub")})
    _, _, snap, got = _snap(tmp_path, small, hook)
    assert reasons(snap) == [(str(small / "sub"), "vanished")]
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}


def _hook_scandir(monkeypatch: pytest.MonkeyPatch, target: Path,
                  action: Callable[[], None]) -> None:
    """Run ``action`` just before the walker opens ``target`` to list it."""
    real = walk_mod._list
    fired: list[bool] = []

    def listing(dir_entry: Any, top: bool) -> Any:
        if not fired and dir_entry.path == str(target):
            fired.append(True)
            action()
        return real(dir_entry, top)

    monkeypatch.setattr(walk_mod, "_list", listing)


def test_directory_deleted_between_lstat_and_listing(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hook_scandir(monkeypatch, small / "sub", lambda: shutil.rmtree(small / "sub"))
    _, _, snap, got = _snap(tmp_path, small)
    assert reasons(snap) == [(str(small / "sub"), "vanished")]
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}


def test_directory_deleted_while_its_files_are_captured(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = str(small / "sub" / "x.txt")
    hook = Hook({x: lambda: shutil.rmtree(small / "sub")})
    _, _, snap, got = _snap(tmp_path, small, hook)
    # The listing of sub/ named three files; all are gone by the time each is opened.
    assert sorted(reasons(snap)) == [(str(small / "sub" / n), "vanished")
                                     for n in ("x.txt", "y.txt", "z.txt")]
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}
    assert (tmp_path / "restore" / str(small).lstrip("/") / "sub").is_dir()


def _dir_to_file(path: Path) -> Callable[[], None]:
    def action() -> None:
        shutil.rmtree(path)
        path.write_bytes(b"now a file\n")
    return action


def test_enotdir_at_lstat_directory_replaced_by_a_file(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = str(small / "sub" / "x.txt")
    hook = Hook({x: _dir_to_file(small / "sub")})
    _, _, snap, got = _snap(tmp_path, small, hook)
    # x.txt: ENOTDIR at open; y.txt, z.txt: ENOTDIR at lstat.
    assert sorted(reasons(snap)) == [(str(small / "sub" / n), "vanished")
                                     for n in ("x.txt", "y.txt", "z.txt")]
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}


def test_enotdir_at_open_directory_replaced_by_a_file(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    y = str(small / "sub" / "y.txt")
    hook = Hook({y: _dir_to_file(small / "sub")})
    _, _, snap, got = _snap(tmp_path, small, hook)
    assert sorted(reasons(snap)) == [(str(small / "sub" / n), "vanished")
                                     for n in ("y.txt", "z.txt")]
    assert got["sub/x.txt"] == b"x" * 100


def test_enotdir_at_listing_directory_replaced_by_a_file(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hook_scandir(monkeypatch, small / "sub", _dir_to_file(small / "sub"))
    _, _, snap, got = _snap(tmp_path, small)
    assert reasons(snap) == [(str(small / "sub"), "vanished")]
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}


@pytest.mark.parametrize("replacement", ["symlink", "fifo", "directory"])
def test_file_replaced_by_a_non_regular_file_before_capture(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch, replacement: str
) -> None:
    b = small / "b.txt"

    def replace() -> None:
        b.unlink()
        if replacement == "symlink":
            b.symlink_to(small / "a.txt")
        elif replacement == "fifo":
            os.mkfifo(b)
        else:
            b.mkdir()

    hook = Hook({str(b): replace})
    _, _, snap, got = _snap(tmp_path, small, hook)
    assert reasons(snap) == [(str(b), "vanished")]
    assert "b.txt" not in got


def _snap_and_report(tmp_path: Path, src: Path, capture: CaptureFile,
                     capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``snapkit snap SRC`` as its command runs it — the operation, then the command's report
    — with the builder's file reader injected; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    result = take_snapshot(str(tmp_path / "repo"), SnapRequest(paths=(str(src),)), capture=capture)
    code = snap_view.exit_code(result.snapshot)
    snap_view.report(Settings(), result, code)
    out, err = capsys.readouterr()
    return code, out, err


def test_sidecars_that_vanish_after_their_database_was_captured_are_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The writer closes the database right after it was copied: its -wal and -shm go. They
    were never going to be stored, so they are not "vanished" (no note, nothing skipped)."""
    src = tmp_path / "src"
    db = src / "memory.sqlite"
    make_wal_database(db, 100, wal_rows=10, seed=1)
    (src / "z.txt").write_text("z\n")

    def capture_then_close(path: str, *a: Any, **kw: Any) -> Captured:
        result = capture_file(path, *a, **kw)
        if path == str(db):
            for suffix in ("-shm", "-wal"):
                os.unlink(f"{db}{suffix}")
        return result

    _isolate(monkeypatch, tmp_path)
    code, out, err = _snap_and_report(tmp_path, src, capture_then_close, capsys)
    assert code == 0, out + err
    (_, snap), = Repository.open(tmp_path / "repo").snapshots()
    assert snap.sqlite == (str(db),)
    assert snap.skipped == ()
    assert "file(s) vanished" not in err


def test_capture_file_raises_vanished(tmp_path: Path) -> None:
    chunker = Chunker(init_repo(tmp_path / "repo").config.chunker)
    (tmp_path / "f").write_bytes(b"x")
    for path in (tmp_path / "missing", tmp_path / "f" / "below-a-file"):
        with pytest.raises(Vanished):
            capture_file(str(path), chunker, lambda b: "id")


def test_cli_vanished_exits_0_with_a_one_line_note(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _isolate(monkeypatch, tmp_path)
    hook = Hook({str(small / "b.txt"): lambda: os.unlink(small / "b.txt"),
                 str(small / "sub" / "x.txt"): lambda: shutil.rmtree(small / "sub")})
    code, out, err = _snap_and_report(tmp_path, small, hook, capsys)
    assert code == 0, out + err
    assert [line for line in err.splitlines() if "file(s) vanished" in line] == [
        "note: 4 file(s) vanished while the snapshot ran and were skipped"]
    (_, snap), = Repository.open(tmp_path / "repo").snapshots()
    assert [s.reason for s in snap.skipped] == ["vanished"] * 4


# --------------------------------------------------------------------------- changed while read


def _appending_fstat(monkeypatch: pytest.MonkeyPatch, path: Path, times: int) -> list[int]:
    """Make the first ``times`` fstat calls on ``path`` append to it first (a real change
    between the fstat before and after a read); return the sizes seen."""
    real = os.fstat
    ino = path.stat().st_ino
    sizes: list[int] = []

    def fstat(fd: int) -> os.stat_result:
        st = real(fd)
        if st.st_ino != ino:
            return st
        if len(sizes) < times:
            with open(path, "ab") as f:
                f.write(os.urandom(1000))
            st = real(fd)
        sizes.append(st.st_size)
        return st

    monkeypatch.setattr(os, "fstat", fstat)
    return sizes


def test_file_changing_on_every_read_is_read_max_attempts_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"grow.log": os.urandom(MiB), "other.txt": b"o"})
    log = src / "grow.log"
    sizes = _appending_fstat(monkeypatch, log, times=100)
    repo = init_repo(tmp_path / "repo")
    snap_id, snap = take(repo, src, parent=None)
    # fstat before, then after each of MAX_ATTEMPTS reads; each read goes to the end of file.
    assert len(sizes) == MAX_ATTEMPTS + 1
    assert snap.warnings == (f"{log}: changed during read; stored as last read",)
    assert snap.summary.bytes_read == sum(sizes[:MAX_ATTEMPTS]) + 1
    got = restore_files(repo, snap_id, src, tmp_path / "restore")
    final = log.read_bytes()
    assert len(got["grow.log"]) == sizes[MAX_ATTEMPTS - 1] < len(final)
    assert got["grow.log"] == final[: len(got["grow.log"])]  # the last read, complete
    assert not snap.skipped


def test_file_changing_once_is_read_again_without_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path / "src", {"grow.log": os.urandom(MiB)})
    log = src / "grow.log"
    sizes = _appending_fstat(monkeypatch, log, times=2)  # before, and after the first read
    repo = init_repo(tmp_path / "repo")
    snap_id, snap = take(repo, src, parent=None)
    assert len(sizes) == 3 and sizes[1] == sizes[2]
    assert snap.warnings == ()
    got = restore_files(repo, snap_id, src, tmp_path / "restore")
    assert got["grow.log"] == log.read_bytes()


APPENDER = r"""
import os, sys, time

path, stop = sys.argv[1], sys.argv[2]
block = os.urandom(4096)
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
while not os.path.exists(stop):
    os.write(fd, block)
    time.sleep(0.0005)
os.close(fd)
"""


def test_real_appender_process_during_snapshot(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"big.jsonl": os.urandom(30 * MiB), "small.txt": b"s"})
    big = src / "big.jsonl"
    stop = tmp_path / "stop"
    start_size = big.stat().st_size
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(big), str(stop)])
    try:
        assert wait_for(lambda: big.stat().st_size > start_size + 40960, 20)
        repo = init_repo(tmp_path / "repo")
        snap_id, snap = take(repo, src, parent=None)
        assert appender.poll() is None
    finally:
        stop.touch()
        appender.wait(30)
    assert snap.warnings == (f"{big}: changed during read; stored as last read",)
    assert snap.summary.bytes_read >= MAX_ATTEMPTS * 30 * MiB
    got = restore_files(repo, snap_id, src, tmp_path / "restore")
    final = big.read_bytes()
    assert 30 * MiB < len(got["big.jsonl"]) < len(final)
    assert got["big.jsonl"] == final[: len(got["big.jsonl"])]
    assert got["small.txt"] == b"s"


# --------------------------------------------------------------------------- unreadable


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = mode_secrets()  # the encrypted test mode's passphrase stays
    for key in list(os.environ):
        if key.startswith(("SNAPKIT_", "OPENCLAW_")):
            monkeypatch.delenv(key)
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(tmp_path))  # the repository below it: plain by default
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def _deny_open(monkeypatch: pytest.MonkeyPatch, path: Path, code: int = errno.EACCES) -> None:
    real = os.open

    def fake_open(p: Any, *a: Any, **kw: Any) -> int:
        if not isinstance(p, int) and os.fspath(p) == str(path):
            raise OSError(code, os.strerror(code), os.fspath(p))
        return real(p, *a, **kw)

    monkeypatch.setattr(os, "open", fake_open)


def _eio_on_read(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    real = os.pread
    ino = path.stat().st_ino

    def pread(fd: int, n: int, offset: int) -> bytes:
        if os.fstat(fd).st_ino == ino:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {"a.txt": b"a", "secret.key": b"k" * 600, "z.txt": b"z"})


@pytest.mark.parametrize(("inject", "message"), [
    ("eacces-open", "Permission denied"),
    ("eio-open", "Input/output error"),
    ("eio-read", "Input/output error"),
])
def test_unreadable_file_is_recorded_and_the_snapshot_written(
    tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch, inject: str, message: str
) -> None:
    key = secret / "secret.key"
    if inject == "eacces-open":
        _deny_open(monkeypatch, key)
    elif inject == "eio-open":
        _deny_open(monkeypatch, key, errno.EIO)
    else:
        _eio_on_read(monkeypatch, key)
    repo = init_repo(tmp_path / "repo")
    snap_id, snap = take(repo, secret, parent=None)
    assert [(s.path, s.reason, s.detail) for s in snap.skipped] == [
        (str(key), "unreadable", message)]
    assert [sid for sid, _ in repo.snapshots()] == [snap_id]
    got = restore_files(repo, snap_id, secret, tmp_path / "restore")
    assert got == {"a.txt": b"a", "z.txt": b"z"}


def test_capture_file_raises_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunker = Chunker(init_repo(tmp_path / "repo").config.chunker)
    f = tmp_path / "f"
    f.write_bytes(b"x" * 1000)
    _deny_open(monkeypatch, f)
    with pytest.raises(Unreadable, match="Permission denied"):
        capture_file(str(f), chunker, lambda b: "id")


def test_cli_unreadable_exits_3_and_names_the_file(
    tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path)
    key = secret / "secret.key"
    _deny_open(monkeypatch, key)
    runner = CliRunner()
    result = runner.invoke(cli, ["snap", str(secret), "--repo", str(tmp_path / "repo")])
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert f"snapkit: could not read {key}: Permission denied" in result.stderr.splitlines()
    (snap_id, snap), = Repository.open(tmp_path / "repo").snapshots()
    assert result.stdout.rstrip().endswith(snap_id)
    assert [(s.path, s.reason) for s in snap.skipped] == [(str(key), "unreadable")]
    result = runner.invoke(cli, ["snap", str(secret), "--repo", str(tmp_path / "repo"), "--json"])
    assert result.exit_code == EXIT_INCOMPLETE
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["complete"] is False and summary["skipped"] == {"unreadable": 1}


def test_unreadable_directory_is_recorded_and_cli_exits_3(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path)

    def deny() -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(small / "sub"))

    _hook_scandir(monkeypatch, small / "sub", deny)
    result = CliRunner().invoke(cli, ["snap", str(small), "--repo", str(tmp_path / "repo")])
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    (snap_id, snap), = Repository.open(tmp_path / "repo").snapshots()
    assert [(s.path, s.reason, s.detail) for s in snap.skipped] == [
        (str(small / "sub"), "unreadable", "Permission denied")]
    got = restore_files(Repository.open(tmp_path / "repo"), snap_id, small, tmp_path / "r")
    assert set(got) == {"a.txt", "b.txt", "c.txt", "zz.txt"}


@pytest.mark.skipif(IS_ROOT or not hasattr(os, "geteuid"),
                    reason="needs POSIX permissions and a non-root user")
def test_cli_unreadable_by_permissions_exits_3(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"a", "secret.key": b"k"})
    key = src / "secret.key"
    key.chmod(0)
    try:
        proc = run_snapkit(["snap", str(src), "--repo", str(tmp_path / "repo")],
                           cli_env(tmp_path))
    finally:
        key.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert proc.returncode == EXIT_INCOMPLETE, proc.stderr
    assert f"could not read {key}: Permission denied" in proc.stderr
    (_, snap), = Repository.open(tmp_path / "repo").snapshots()
    assert [(s.path, s.reason) for s in snap.skipped] == [(str(key), "unreadable")]


# --------------------------------------------------------------------------- swapped for a link


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "outside", {"x.txt": b"outside x", "secret.txt": b"outside"})


def _dir_to_symlink(path: Path, target: Path) -> Callable[[], None]:
    def action() -> None:
        shutil.rmtree(path)
        path.symlink_to(target, target_is_directory=True)
    return action


def _assert_nothing_from(got: dict[str, bytes], outside: Path) -> None:
    foreign = {p.read_bytes() for p in outside.iterdir()}
    assert not [rel for rel, data in got.items() if data in foreign], (
        "content from outside the source was stored through a symlink")


def test_directory_swapped_for_a_symlink_before_listing_is_not_followed(
    tmp_path: Path, small: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hook_scandir(monkeypatch, small / "sub", _dir_to_symlink(small / "sub", outside))
    _, _, snap, got = _snap(tmp_path, small)
    _assert_nothing_from(got, outside)
    assert reasons(snap) == [(str(small / "sub"), "vanished")]


def test_parent_swapped_for_a_symlink_before_capture_is_not_followed(
    tmp_path: Path, small: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = str(small / "sub" / "x.txt")
    hook = Hook({x: _dir_to_symlink(small / "sub", outside)})
    _, _, snap, got = _snap(tmp_path, small, hook)
    _assert_nothing_from(got, outside)
    assert (x, "vanished") in reasons(snap)
