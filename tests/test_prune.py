"""``forget`` and ``prune``: the repository shrinks, everything kept still restores.

One repository of three snapshots is built once per module and copied for each test:

- snapshot 1 (tag ``first``): keep.bin, shared.bin, gone.bin, 40 small files, notes v1
- snapshot 2: gone.bin and the odd small files deleted, notes v2
- snapshot 3: shared.bin deleted, new.bin added, notes v3

Forgetting snapshot 1 makes gone.bin's packs unused (deleted) and half of every small-file
pack unused (repacked); shared.bin is still used by snapshot 2 and must survive. Content is
random, so it is stored raw and "gone" can be proven by searching the pack files for it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from faulty import FaultyBackend
from helpers import (
    CliResult,
    Meta,
    Sleeper,
    assert_trees_equal,
    cli_env,
    describe,
    init_repo,
    invoke_main,
    iter_store_files,
    make_tree,
    plant_lock,
    popen_snapkit,
    restore,
    restored,
    take,
    wait_for,
)

from snapkit.format.errors import IntegrityError
from snapkit.maintain.check import check_repository
from snapkit.maintain.prune import execute_prune, plan_prune
from snapkit.store.backend import LocalBackend
from snapkit.store.pack import PackBuilder, parse_pack
from snapkit.store.repository import Repository

KiB = 1024
PACK_SIZE = 128 * KiB


@dataclass(frozen=True)
class Built:
    repo: Path
    src: Path
    ids: list[str]  # oldest first
    states: dict[str, dict[bytes, Meta]]  # the source as each snapshot saw it
    gone: bytes  # only in snapshot 1
    odd: bytes  # a small file only snapshot 1 has
    shared: bytes  # in snapshots 1 and 2


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("prune")
    rng = random.Random(11)
    src = base / "src"
    keep, shared, gone = (rng.randbytes(n * KiB) for n in (600, 400, 800))
    small = {f"small/f{i:02d}": rng.randbytes(8 * KiB) for i in range(40)}
    make_tree(src, {"keep.bin": keep, "shared.bin": shared, "gone.bin": gone,
                    "notes.txt": b"v1\n", **small})
    repo = init_repo(base / "repo", pack_size=PACK_SIZE)
    ids: list[str] = []
    states: dict[str, dict[bytes, Meta]] = {}

    def snapshot(*tags: str) -> None:
        sid, _ = take(repo, src, tags=tags)
        ids.append(sid)
        states[sid] = describe(src)

    snapshot("first")
    (src / "gone.bin").unlink()
    for i in range(1, 40, 2):
        (src / f"small/f{i:02d}").unlink()
    (src / "notes.txt").write_bytes(b"v2\n")
    snapshot()
    (src / "shared.bin").unlink()
    (src / "new.bin").write_bytes(rng.randbytes(300 * KiB))
    (src / "notes.txt").write_bytes(b"v3\n")
    snapshot()
    return Built(base / "repo", src, ids, states, gone, small["small/f01"], shared)


@pytest.fixture
def repo_path(built: Built, tmp_path: Path) -> Path:
    """A private copy of the built repository (file times preserved)."""
    return Path(shutil.copytree(built.repo, tmp_path / "repo"))


# --------------------------------------------------------------------------- helpers


Out = CliResult


def snapkit(repo: Path, *args: str) -> Out:
    """The real entry point in-process (error boundary and exit codes included)."""
    return invoke_main(args, {"SNAPKIT_REPO": str(repo)})


def disk_usage(repo: Path) -> int:
    return sum(p.stat().st_size for p in iter_store_files(repo))


def state(repo: Path) -> dict[str, tuple[int, int]]:
    """Every file of the repository with its size and mtime: "nothing changed" checks."""
    return {str(p.relative_to(repo)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in iter_store_files(repo)}


def names(repo: Path, kind: str) -> set[str]:
    return set(LocalBackend(repo).list(kind))


def layout(repo: Path) -> tuple[object, object]:
    """The names of the packs and index files; in an encrypted repository (the encrypted test
    mode) the blobs of each pack and the number of index files instead: a sealed trailer or
    index file written again has another name (a new nonce) for the same content."""
    opened = Repository.open(repo)
    if not opened.cipher.encrypted:
        return names(repo, "packs"), names(repo, "index")
    packs: dict[str, set[str]] = {p: set() for p in names(repo, "packs")}
    for e in opened.index:
        packs.setdefault(e.pack, set()).add(e.id)
    return sorted(sorted(blobs) for blobs in packs.values()), len(names(repo, "index"))


def contains(repo: Path, needle: bytes) -> bool:
    """Whether the store holds ``needle``: in its files (random content is stored raw); in
    an encrypted repository (the encrypted test mode), in the opened blobs of its packs."""
    opened = Repository.open(repo)
    if not opened.cipher.encrypted:
        return any(needle in p.read_bytes() for p in iter_store_files(repo))
    for pack in opened.backend.list("packs"):
        data = opened.backend.load("packs", pack)
        for e in parse_pack(pack, data, opened.cipher):
            stored = data[e.offset:e.offset + e.length]
            if needle in opened.cipher.open_blob(stored, e.raw_length, e.id):
                return True
    return False


def assert_healthy(repo: Path, built: Built, work: Path, notes: bool = False) -> None:
    """`check --read-data` passes and every remaining snapshot restores byte-identical."""
    opened = Repository.open(repo)
    report = check_repository(opened, read_data=True)
    assert report.ok, report.errors
    if not notes:
        assert not report.notes
    assert opened.snapshot_ids(), "no snapshot left to restore"
    for sid in opened.snapshot_ids():
        target = work / f"restore-{sid[:8]}"
        restore(opened, sid, target)
        assert_trees_equal(built.states[sid], restored(target, built.src))
        shutil.rmtree(target)


def forget_first(repo: Path, built: Built) -> None:
    Repository.open(repo).remove_snapshot(built.ids[0])


def one_line_error(out: Out, code: int, needle: str) -> None:
    assert out.code == code, (out.code, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    assert needle in lines[0], lines[0]


# --------------------------------------------------------------------------- forget + prune


def test_forget_and_prune_shrink_the_repository(repo_path: Path, built: Built,
                                                tmp_path: Path) -> None:
    before = disk_usage(repo_path)
    assert contains(repo_path, built.gone[5000:5064])
    out = snapkit(repo_path, "forget", built.ids[0][:8], "--prune")
    assert out.code == 0, out.stderr
    assert "removed 1 snapshot\n" in out.stdout and "pruned:" in out.stdout
    # Packs holding only forgotten data are deleted; a pack with a few unused blobs among
    # used ones (below the repack threshold) is kept: most of the space, not all of it.
    assert before - disk_usage(repo_path) >= len(built.gone) // 2
    assert_healthy(repo_path, built, tmp_path)
    out = snapkit(repo_path, "prune", "--repack-all-unused")
    assert out.code == 0, out.stderr
    # Now every forgotten byte is gone; data a kept snapshot shares with the forgotten one
    # is not. (Random content is stored raw, so it can be searched for in the pack files.)
    assert before - disk_usage(repo_path) >= len(built.gone) + 20 * 8 * KiB
    for offset in range(0, len(built.gone), 50 * KiB):
        assert not contains(repo_path, built.gone[offset: offset + 64])
    assert not contains(repo_path, built.odd[100:164])
    for offset in range(0, len(built.shared), 50 * KiB):
        assert contains(repo_path, built.shared[offset: offset + 64])
    assert Repository.open(repo_path).snapshot_ids() == sorted(built.ids[1:])
    out = snapkit(repo_path, "check", "--read-data")
    assert out.code == 0 and "no errors found" in out.stdout, out.stdout
    assert_healthy(repo_path, built, tmp_path)  # shared.bin restores from snapshot 2
    # A second prune has nothing left to do and changes nothing.
    unchanged = state(repo_path)
    out = snapkit(repo_path, "prune")
    assert out.code == 0 and "nothing to prune" in out.stdout
    assert state(repo_path) == unchanged


def test_repack_copies_stored_bytes_as_they_are(repo_path: Path, built: Built,
                                                tmp_path: Path) -> None:
    forget_first(repo_path, built)
    repo = Repository.open(repo_path)
    plan = plan_prune(repo)
    assert plan.delete and plan.repack and plan.keep
    assert not plan.unindexed and not plan.temp_files and not plan.missing
    backend = repo.backend
    moved = {e.id: backend.load("packs", e.pack, e.offset, e.length)
             for p in plan.repack for e in p.used}
    old_packs = {p.id for p in (*plan.delete, *plan.repack)}
    result = execute_prune(repo, plan)
    assert result.packs_written >= 1 and result.index_files_written == 1
    assert result.packs_removed == len(plan.delete) + len(plan.repack)
    assert result.bytes_freed > 0
    assert names(repo_path, "index") == repo.index.files and len(repo.index.files) == 1
    assert not old_packs & names(repo_path, "packs")
    for blob_id, stored in moved.items():
        entry = repo.index.get(blob_id)
        assert entry is not None and entry.pack not in old_packs
        assert backend.load("packs", entry.pack, entry.offset, entry.length) == stored
    assert_healthy(repo_path, built, tmp_path)


def test_repack_all_unused(repo_path: Path, built: Built) -> None:
    forget_first(repo_path, built)
    repo = Repository.open(repo_path)
    default = plan_prune(repo)
    everything = plan_prune(repo, repack_all_unused=True)
    assert {p.id for p in default.repack} <= {p.id for p in everything.repack}
    assert all(p.unused_bytes == 0 for p in everything.keep)
    assert everything.used_blobs == default.used_blobs


def test_nothing_to_do_and_dry_runs_change_nothing(repo_path: Path, built: Built) -> None:
    unchanged = state(repo_path)
    out = snapkit(repo_path, "prune")
    assert out.code == 0 and "nothing to prune" in out.stdout, out.stdout
    assert state(repo_path) == unchanged

    out = snapkit(repo_path, "forget", "--keep-last", "1", "--dry-run", "--prune")
    assert out.code == 0, out.stderr
    assert "would remove 2 snapshots" in out.stdout
    assert "would free about" in out.stdout
    assert state(repo_path) == unchanged

    out = snapkit(repo_path, "forget", "--keep-last", "1", "--dry-run", "--json")
    report = json.loads(out.stdout)
    assert report["removed"] == [] and report["dry_run"] is True
    assert [s["action"] for s in report["snapshots"]] == ["remove", "remove", "keep"]
    assert state(repo_path) == unchanged

    out = snapkit(repo_path, "forget", "--keep-last", "1")
    assert out.code == 0 and "removed 2 snapshots" in out.stdout
    unchanged = state(repo_path)
    out = snapkit(repo_path, "prune", "--dry-run", "--json")
    assert out.code == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["dry_run"] and plan["result"] is None and plan["delete"]["packs"] > 0
    assert plan["bytes_to_free"] > len(built.gone)
    assert state(repo_path) == unchanged


def test_forget_by_policy_from_the_command_line(repo_path: Path, built: Built) -> None:
    first, second, third = built.ids
    out = snapkit(repo_path, "forget", "--keep-last", "1", "--keep-tag", "first")
    assert out.code == 0, out.stderr
    assert "tag first" in out.stdout and "removed 1 snapshot\n" in out.stdout
    assert set(Repository.open(repo_path).snapshot_ids()) == {first, third}

    out = snapkit(repo_path, "forget", "--keep-last", "1", "--host", "no-such-host", "--json")
    assert json.loads(out.stdout)["snapshots"] == []
    out = snapkit(repo_path, "--json", "forget", "--keep-last", "1")
    report = json.loads(out.stdout)
    assert report["removed"] == [first] and report["prune"] is None
    assert report["snapshots"][1]["reasons"] == ["last"]
    assert Repository.open(repo_path).snapshot_ids() == [third]
    assert second not in out.stdout


def test_forget_refuses_without_a_policy(repo_path: Path, built: Built) -> None:
    unchanged = state(repo_path)
    one_line_error(snapkit(repo_path, "forget"), 2, "no --keep-* option")
    one_line_error(snapkit(repo_path, "forget", built.ids[0], "--keep-last", "1"), 2, "not both")
    one_line_error(snapkit(repo_path, "forget", "--keep-within", "3x"), 2, "not a duration")
    one_line_error(snapkit(repo_path, "forget", "--keep-daily", "-1"), 2, "--keep-daily")
    one_line_error(snapkit(repo_path, "forget", "ffff0000"), 2, "no snapshot matches")
    assert state(repo_path) == unchanged


# --------------------------------------------------------------------------- locks


def test_a_locked_repository_exits_11(repo_path: Path) -> None:
    holder = Sleeper()
    try:
        plant_lock(repo_path, holder.pid, exclusive=True, operation="prune")
        unchanged = state(repo_path)
        for args in (["prune"], ["prune", "--dry-run"], ["forget", "--keep-last", "1"]):
            one_line_error(snapkit(repo_path, *args), 11, "locked by prune")
        assert state(repo_path) == unchanged
    finally:
        holder.stop()


def test_a_snap_holding_the_shared_lock_makes_prune_exit_11(repo_path: Path) -> None:
    holder = Sleeper()
    try:
        plant_lock(repo_path, holder.pid, exclusive=False, operation="snap")
        unchanged = state(repo_path)
        one_line_error(snapkit(repo_path, "prune"), 11, "locked by snap")
        one_line_error(snapkit(repo_path, "forget", "--keep-last", "1"), 11, "locked by snap")
        assert state(repo_path) == unchanged
        assert snapkit(repo_path, "prune", "--dry-run").code == 0  # shared + shared is fine
    finally:
        holder.stop()


def test_a_running_snap_process_makes_prune_exit_11(repo_path: Path, built: Built,
                                                    tmp_path: Path) -> None:
    data = make_tree(tmp_path / "data", {
        f"f{i}.bin": random.Random(i).randbytes(4 * 1024 * KiB) for i in range(6)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo_path))
    p = popen_snapkit(["snap", "-q", str(data)], env)
    try:
        assert wait_for(lambda: p.poll() is not None or bool(names(repo_path, "locks")),
                        timeout=30, interval=0.001)
        p.send_signal(signal.SIGSTOP)  # hold it mid-snapshot, its shared lock in place
        assert names(repo_path, "locks"), "the snap finished before it could be stopped"
        one_line_error(snapkit(repo_path, "prune"), 11, "locked by snap")
        one_line_error(snapkit(repo_path, "forget", built.ids[0]), 11, "locked by snap")
    finally:
        p.send_signal(signal.SIGCONT)
        stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 0, stderr
    forget_first(repo_path, built)
    out = snapkit(repo_path, "prune")
    assert out.code == 0 and "pruned:" in out.stdout, out.stderr
    assert check_repository(Repository.open(repo_path), read_data=True).ok
    target = tmp_path / "r"
    restore(Repository.open(repo_path), stdout.strip(), target)
    assert_trees_equal(data, restored(target, data))


# --------------------------------------------------------------------------- crashes


class Crash(Exception):
    pass


def faulty_repo(path: Path, fail_at: int | None) -> tuple[Repository, FaultyBackend]:
    """The repository at ``path`` through a backend that fails its ``fail_at``-th change (save
    or remove, counting from 0) with :class:`Crash`, and counts them all."""
    backend = FaultyBackend(LocalBackend(path))
    if fail_at is not None:
        backend.fail(("save", "remove"), nth=fail_at, error=Crash)
    opened = Repository.open(path)  # (its key, in the encrypted test mode)
    return Repository(backend, opened.config, opened.cipher), backend


def test_a_failure_at_every_change_leaves_everything_restorable(
    built: Built, tmp_path: Path
) -> None:
    reference = Path(shutil.copytree(built.repo, tmp_path / "reference"))
    forget_first(reference, built)
    repo, backend = faulty_repo(reference, None)
    plan = plan_prune(repo)
    assert plan.repack and plan.delete
    execute_prune(repo, plan)
    changes = backend.count("save", "remove")
    assert changes >= len(plan.delete) + len(plan.repack) + len(plan.index_files) + 2
    final = layout(reference)

    for k in range(changes):
        path = Path(shutil.copytree(built.repo, tmp_path / f"crash-{k}"))
        forget_first(path, built)
        repo, _ = faulty_repo(path, k)
        with pytest.raises(Crash):
            execute_prune(repo, plan_prune(repo))
        assert_healthy(path, built, tmp_path, notes=True)
        # The next prune (leftovers old enough to go) reaches the uninterrupted state.
        repo = Repository.open(path)
        execute_prune(repo, plan_prune(repo, grace_s=0))
        assert layout(path) == final, f"crash at {k}"
        shutil.rmtree(path)


KILLER = textwrap.dedent("""
    import os, signal, sys
    import snapkit.ops.prune as cmd
    real = cmd.execute_prune
    point = sys.argv[1]
    def execute_prune(repo, plan, on_step=None):
        def step(msg):
            if msg.startswith(point):
                os.kill(os.getpid(), signal.SIGKILL)
        return real(repo, plan, step)
    cmd.execute_prune = execute_prune
    from snapkit.cli.main import main
    main(sys.argv[2:])
""")


def test_sigkill_during_prune_leaves_everything_restorable(repo_path: Path, built: Built,
                                                           tmp_path: Path) -> None:
    forget_first(repo_path, built)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo_path))
    for point in ("repack 1/", "write-index", "remove-index 1/", "remove-pack 2/"):
        proc = subprocess.run([sys.executable, "-c", KILLER, point, "prune", "-q"], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr)
        assert names(repo_path, "locks"), "a killed prune leaves its lock behind"
        assert_healthy(repo_path, built, tmp_path, notes=True)
    report = check_repository(Repository.open(repo_path))
    assert any("not in any index" in n for n in report.notes)  # the kills' leftovers
    reference_usage = disk_usage(repo_path)
    # The dead process's lock is stale: removed. No other process holds a lock, so no writer
    # can still index the leftovers: they go at once, whatever their age.
    out = snapkit(repo_path, "prune")
    assert out.code == 0 and "interrupted or failed run" in out.stdout, out.stdout
    assert not names(repo_path, "locks")
    assert disk_usage(repo_path) < reference_usage
    assert_healthy(repo_path, built, tmp_path)
    report = check_repository(Repository.open(repo_path))
    assert not any("not in any index" in n for n in report.notes)


def _age_everything(repo: Path, seconds: float) -> None:
    old = time.time() - seconds
    for p in iter_store_files(repo):
        os.utime(p, (old, old))


def test_unindexed_packs_and_temp_files_wait_only_for_a_lock_holder(
    repo_path: Path, built: Built, tmp_path: Path
) -> None:
    """A pack no index lists (and a temp file) may be a running writer's, not yet indexed:
    kept for an hour while another process holds a lock; with no other lock (prune's own
    exclusive one is the only one) they are orphans and go at once (issue 11, item 7)."""
    builder = PackBuilder()
    builder.add(0, "ab" * 16, b"\x00stray", 5)
    stray, data, _ = builder.finish()
    LocalBackend(repo_path).save("packs", stray, data)
    temps = [repo_path / "index" / ".tmp-x-1234", repo_path / "packs" / stray[:2] / ".tmp-y"]
    for t in temps:
        t.write_bytes(b"partial")
    repo = Repository.open(repo_path)
    sleeper = Sleeper()
    try:
        plant_lock(repo_path, sleeper.pid, exclusive=False, operation="snap")
        plan = plan_prune(repo)
        assert [f.name for f in plan.unindexed_recent] == [stray]
        assert not plan.unindexed and not plan.temp_files and plan.nothing_to_do
        out = snapkit(repo_path, "prune", "--dry-run")
        assert out.code == 0 and "newer than 1h while another process" in out.stdout, out.stdout
        assert stray in names(repo_path, "packs") and all(t.exists() for t in temps)

        _age_everything(repo_path, 2 * 3600)
        for t in temps:
            os.utime(t, (time.time() - 7200, time.time() - 7200))
        plan = plan_prune(repo)
        assert [f.name for f in plan.unindexed] == [stray] and len(plan.temp_files) == 2
    finally:
        sleeper.stop()

    # Fresh again, but no other lock: removed at once.
    now = time.time()
    for p in [*iter_store_files(repo_path)]:
        os.utime(p, (now, now))
    plan = plan_prune(repo)
    assert [f.name for f in plan.unindexed] == [stray] and len(plan.temp_files) == 2
    assert not plan.rewrite_index
    before_index = names(repo_path, "index")
    out = snapkit(repo_path, "prune")
    assert out.code == 0 and "no other process holds a lock" in out.stdout, out.stdout
    assert stray not in names(repo_path, "packs") and not any(t.exists() for t in temps)
    assert names(repo_path, "index") == before_index  # no index rewrite was needed
    assert_healthy(repo_path, built, tmp_path)


def test_prune_refuses_a_repository_with_missing_blobs(repo_path: Path) -> None:
    for name in sorted(names(repo_path, "index"))[:1]:
        (repo_path / "index" / name).unlink()
    unchanged = state(repo_path)
    with pytest.raises(IntegrityError, match="no index lists"):
        plan_prune(Repository.open(repo_path))
    one_line_error(snapkit(repo_path, "prune"), 1, "prune stopped before changing anything")
    assert state(repo_path) == unchanged

