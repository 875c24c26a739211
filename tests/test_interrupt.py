"""Interrupting ``snapkit snap``: SIGKILL at many points, SIGINT and SIGTERM.

A killed run may leave packs and index files that no snapshot references, temp files and a
stale lock; it must never damage what was committed before. Every earlier snapshot must still
restore byte-identical, the repository must pass a full read check, and the next run must
succeed (removing the stale lock).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    assert_trees_equal,
    cli_env,
    dead_pid,
    describe,
    init_repo,
    make_tree,
    popen_snapkit,
    restore,
    restored,
    run_snapkit,
    verify_repository,
    wait_for,
)

from snapkit.store.repository import Repository

MiB = 1024 * 1024
PACK_SIZE = 1 * MiB  # many packs and index files per run: more places to be killed at


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~60 MiB of incompressible files plus a few hundred small ones (read-only)."""
    root = tmp_path_factory.mktemp("big") / "data"
    rng = random.Random(99)
    spec: dict[str, Any] = {f"blobs/f{i:02d}.bin": rng.randbytes(2 * MiB) for i in range(30)}
    spec.update({f"small/s{i:03d}.txt": b"small file %d\n" % i * 40 for i in range(300)})
    return make_tree(root, spec)


def _names(d: Path, pattern: str) -> set[str]:
    return {p.name for p in d.glob(pattern) if not p.name.startswith(".")}


def _run_and_kill(repo: Path, env: dict[str, str], sources: list[str], point: Any,
                  sig: int = signal.SIGKILL) -> tuple[int, str]:
    packs0, index0 = _names(repo, "packs/*/*"), _names(repo, "index/*")
    locks0 = _names(repo, "locks/*")
    p = popen_snapkit(["snap", "-q", *sources], env)
    try:
        if isinstance(point, float):
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=point)
        else:
            events = {
                "lock": lambda: _names(repo, "locks/*") - locks0,
                "pack": lambda: _names(repo, "packs/*/*") - packs0,
                "index": lambda: _names(repo, "index/*") - index0,
            }
            wait_for(lambda: p.poll() is not None or bool(events[point]()), timeout=30,
                     interval=0.001)
        p.send_signal(sig)
    finally:
        _, err = p.communicate(timeout=60)
    return p.returncode, err


def _check_restores(repo_path: Path, expected: dict[str, Any], work: Path,
                    only: set[str] | None = None) -> None:
    repo = Repository.open(repo_path)
    for sid, (source, desc) in expected.items():
        if only is not None and sid not in only:
            continue
        target = work / f"restore-{sid[:8]}"
        restore(repo, sid, target, includes=(str(source),))
        assert_trees_equal(desc, restored(target, source))
        shutil.rmtree(target)


def test_sigkill_at_many_points_keeps_earlier_snapshots(tmp_path: Path, big: Path) -> None:
    repo_path = tmp_path / "repo"
    init_repo(repo_path, pack_size=PACK_SIZE)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo_path))
    rng = random.Random(5)

    small = make_tree(tmp_path / "small", {"a.txt": b"a", "d/b.bin": rng.randbytes(300_000)})
    out = run_snapkit(["snap", "-q", str(small)], env)
    assert out.returncode == 0, out.stderr
    expected: dict[str, Any] = {out.stdout.strip(): (small, describe(small))}

    mut = make_tree(tmp_path / "mut", {})
    sources = [str(big), str(mut)]
    outcomes: list[tuple[Any, int]] = []

    def cycle(point: Any) -> None:
        # New data every round, so every run has packs to write when it is killed.
        (mut / f"round-{len(outcomes)}.bin").write_bytes(rng.randbytes(6 * MiB))
        before = set(Repository.open(repo_path).snapshot_ids())
        state = describe(mut)
        rc, err = _run_and_kill(repo_path, env, sources, point)
        outcomes.append((point, rc))
        after = set(Repository.open(repo_path).snapshot_ids())
        assert rc in (0, -signal.SIGKILL), (rc, err)
        assert before <= after, f"killed at {point}: a committed snapshot vanished"
        # Finished (or killed after its commit point): a complete snapshot, checked below.
        assert len(after - before) <= 1
        for new in after - before:
            expected[new] = (mut, state)
        if rc == 0:
            assert len(after - before) == 1
        assert after == set(expected)
        verify_repository(repo_path)
        new_ones = after - before
        _check_restores(repo_path, expected, tmp_path,
                        only={s for s, (src, _) in expected.items() if src == small} | new_ones)

    for point in (0.05, 0.2, "lock", "pack", 0.35, "index", 0.5):
        cycle(point)

    # One run to completion, then kill incremental runs that have a parent.
    out = run_snapkit(["snap", "-q", *sources], env)
    assert out.returncode == 0, out.stderr
    expected[out.stdout.strip()] = (mut, describe(mut))
    complete = out.stdout.strip()
    for point in ("lock", 0.3, "pack", "index"):
        cycle(point)

    killed = [pt for pt, rc in outcomes if rc == -signal.SIGKILL]
    assert len(killed) >= 6, outcomes  # the kills really hit running snapshots
    assert _names(repo_path, "packs/*/*")  # and data had been written by then

    out = run_snapkit(["snap", "-q", *sources], env)
    assert out.returncode == 0, out.stderr
    expected[out.stdout.strip()] = (mut, describe(mut))
    # Stale locks of the killed runs removed; a kill between a lock file's temp write and its
    # rename can leave a `.tmp-*` (no lock: readers ignore it), which prune removes.
    assert [n for n in os.listdir(repo_path / "locks") if not n.startswith(".tmp-")] == []
    out = run_snapkit(["prune", "-q"], env)
    assert out.returncode == 0, out.stderr
    assert os.listdir(repo_path / "locks") == []
    verify_repository(repo_path)
    _check_restores(repo_path, expected, tmp_path)
    # The big source restores byte-identical from the completed snapshot too.
    target = tmp_path / "restore-big"
    restore(Repository.open(repo_path), complete, target)
    assert_trees_equal(big, restored(target, big))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_and_sigterm_exit_130_and_leave_no_lock(
    tmp_path: Path, big: Path, sig: int
) -> None:
    repo_path = tmp_path / "repo"
    init_repo(repo_path, pack_size=PACK_SIZE)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo_path))
    small = make_tree(tmp_path / "small", {"x": b"x" * 1000})
    out = run_snapkit(["snap", "-q", str(small)], env)
    assert out.returncode == 0
    earlier = out.stdout.strip()

    locks0 = _names(repo_path, "locks/*")
    p = popen_snapkit(["snap", "-q", str(big)], env)
    wait_for(lambda: p.poll() is not None or bool(_names(repo_path, "locks/*") - locks0),
             timeout=30, interval=0.001)
    wait_for(lambda: p.poll() is not None, timeout=0.05)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=60)

    assert p.returncode == 130, (p.returncode, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("snapkit: ")
    assert "interrupted" in lines[0] or "terminated" in lines[0]
    assert "Traceback" not in stderr
    assert stdout == ""
    assert os.listdir(repo_path / "locks") == []
    assert Repository.open(repo_path).snapshot_ids() == [earlier]
    verify_repository(repo_path)
    _check_restores(repo_path, {earlier: (small, describe(small))}, tmp_path)

    out = run_snapkit(["snap", "-q", str(big)], env)
    assert out.returncode == 0, out.stderr
    target = tmp_path / "t"
    restore(Repository.open(repo_path), out.stdout.strip(), target)
    assert_trees_equal(big, restored(target, big))


def _kill_once(args: list[str], env: dict[str, str], seen: Any) -> None:
    """Run ``snapkit ARGS`` and SIGKILL it as soon as ``seen()`` is true (or it ended)."""
    p = popen_snapkit(args, env)
    try:
        assert wait_for(lambda: p.poll() is not None or bool(seen()), timeout=60,
                        interval=0.0005)
        p.send_signal(signal.SIGKILL)
    finally:
        p.communicate(timeout=60)


def test_killed_restore_leaves_partial_files_the_next_restore_removes(
    tmp_path: Path, big: Path
) -> None:
    """A restore killed mid-file over an existing tree (``--overwrite always``: files are
    written to temp names there) leaves ``.snapkit-restore-<pid>-<hex>`` partial files and no
    half-overwritten file; the next restore into the same target removes them (their process
    is gone) and says so."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(big)], env).returncode == 0
    target = tmp_path / "target"
    assert run_snapkit(["restore", "-q", "latest", "--target", str(target)], env).returncode == 0
    blobs = restored(target, big / "blobs")

    def partial() -> list[Path]:
        return list(blobs.glob(".snapkit-restore-*")) if blobs.is_dir() else []

    _kill_once(["restore", "latest", "--target", str(target), "--overwrite", "always"], env,
               partial)
    left = partial()
    if not left:
        pytest.skip("the restore finished before it could be killed mid-file")
    assert all(name.name.split("-")[2].isdigit() for name in left)  # prefix-<pid>-<hex>
    for f in (big / "blobs").iterdir():  # every file whole: none half overwritten
        assert (blobs / f.name).read_bytes() == f.read_bytes(), f.name
    result = run_snapkit(["restore", "latest", "--target", str(target), "--overwrite",
                          "if-changed"], env)
    assert result.returncode == 0, result.stderr
    assert "an interrupted restore had left in the target" in result.stderr
    assert partial() == []
    assert_trees_equal(describe(big), restored(target, big))


def test_killed_fresh_restore_is_reported_then_completed(tmp_path: Path, big: Path) -> None:
    """A restore killed mid-file into a new target (files written under their own names in
    the directories it made, as tar does) may leave the file it was writing partial; the next
    restore does not take it for restored: without ``--overwrite`` it stops naming what
    differs, with ``--overwrite if-changed`` it completes the tree."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(big)], env).returncode == 0
    target = tmp_path / "target"
    blobs = restored(target, big / "blobs")
    whole = {p.name: p.stat().st_size for p in (big / "blobs").iterdir()}

    def partial() -> list[Path]:
        return [p for p in blobs.iterdir() if p.stat().st_size < whole[p.name]] \
            if blobs.is_dir() else []

    _kill_once(["restore", "latest", "--target", str(target)], env, partial)
    left = partial()
    if not left:
        pytest.skip("the restore finished before it could be killed mid-file")
    assert not list(target.rglob(".snapkit-restore-*"))
    again = run_snapkit(["restore", "latest", "--target", str(target)], env)
    assert again.returncode == 2, again.stderr
    assert "restore would overwrite" in again.stderr and "nothing was written" in again.stderr
    result = run_snapkit(["restore", "latest", "--target", str(target), "--overwrite",
                          "if-changed"], env)
    assert result.returncode == 0, result.stderr
    assert_trees_equal(describe(big), restored(target, big))


def test_partial_files_of_a_live_restore_are_left_alone(tmp_path: Path) -> None:
    """Only a dead process's partial files are removed: a name carrying a live pid (another
    restore writing into the same directory right now) is kept."""
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    where = restored(tmp_path / "t", src)
    where.mkdir(parents=True)
    live = where / f".snapkit-restore-{os.getppid()}-aaaaaaaaaaaa"
    dead = where / f".snapkit-restore-{dead_pid()}-bbbbbbbbbbbb"
    live.write_bytes(b"x")
    dead.write_bytes(b"y")
    result = run_snapkit(["restore", "latest", "--target", str(tmp_path / "t")], env)
    assert result.returncode == 0, result.stderr
    assert live.exists() and not dead.exists()
    assert "removed 1 partial file an interrupted restore" in result.stderr


def test_killed_export_leaves_a_partial_archive_the_next_export_removes(
    tmp_path: Path, big: Path
) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(big)], env).returncode == 0
    out = tmp_path / "out"
    out.mkdir()

    def partial() -> list[Path]:
        return list(out.glob(".snapkit-export-*.tmp"))

    _kill_once(["export", "latest", "-o", str(out / "a.tar.gz")], env, partial)
    if not partial():
        pytest.skip("the export finished before it could be killed")
    assert not (out / "a.tar.gz").exists()
    live = out / f".snapkit-export-{os.getppid()}-aaaaaaaaaaaa.tmp"  # a running export's
    live.write_bytes(b"x")
    result = run_snapkit(["export", "latest", "-o", str(out / "b.tar.gz")], env)
    assert result.returncode == 0, result.stderr
    assert "removed 1 partial archive an interrupted export had left" in result.stderr
    assert partial() == [live]
    assert (out / "b.tar.gz").exists()
