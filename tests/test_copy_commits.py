"""When ``snapkit copy`` commits (issue 15, found by a new-user trial): a snapshot's manifest
is written as soon as its data is complete once a pack's worth of new data arrived since the
last commit, so a killed copy keeps the snapshots it finished and a rerun sends only the
rest; Ctrl-C or SIGTERM stops at a safe point and commits every snapshot whose data is
complete (and indexes what the next one sent), then exits 130 counting them."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    assert_trees_equal,
    cli_env,
    init_repo,
    invoke_main,
    make_tree,
    restored,
    run_snapkit,
    signal_when,
    verify_repository,
)

from snapkit.format.errors import Interrupted
from snapkit.ops.copy import CopyProgressed, copy
from snapkit.ops.events import Event
from snapkit.store.repository import Repository

MiB = 1024 * 1024


def five_snapshots(tmp: Path, per_snapshot: int) -> tuple[dict[str, str], Path]:
    """A source of five snapshots, each adding ``per_snapshot`` new bytes in three files."""
    env = cli_env(tmp, SNAPKIT_REPO=str(tmp / "repo"))
    src = make_tree(tmp / "src", {"keep.txt": b"kept\n"})
    for n in range(5):
        for i in range(3):
            (src / f"s{n}-{i}.bin").write_bytes(random.Random(n * 10 + i).randbytes(
                per_snapshot // 3))
        out = invoke_main(["snap", str(src)], env)
        assert out.code == 0, out.stderr
    return env, src


def ids(repo: Path) -> list[str]:
    return Repository.open(repo).snapshot_ids()


def test_a_killed_copy_keeps_the_snapshots_it_finished(tmp_path: Path) -> None:
    env, src = five_snapshots(tmp_path, 3 * MiB)
    dst = tmp_path / "dst"
    init_repo(dst, pack_size=64 * 1024)  # a pack's worth arrives with every snapshot
    def some_committed(proc: subprocess.Popen[str]) -> bool:
        names = [p.name for p in (dst / "snapshots").iterdir()]
        done = sum(1 for n in names if len(n) == 32 and not n.startswith("."))
        return 2 <= done < 5 and proc.poll() is None

    signal_when(["copy", "--to", str(dst)], env, some_committed, timeout=120)
    kept = len(ids(dst))
    assert 2 <= kept < 5
    out = run_snapkit(["check", "--repo", str(dst)], env)
    assert out.returncode == 0, out.stdout + out.stderr
    rerun = run_snapkit(["copy", "--to", str(dst), "--json"], env, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert (again["snapshots_copied"], again["snapshots_skipped"]) == (5 - kept, kept)
    # the rest, no more (some of it: the kill came before all data was sent, not while the
    # manifests were written at the end)
    assert 0 < again["bytes_sent"] <= (5 - kept) * 3 * MiB + 64 * 1024
    verify_repository(dst)
    restore = run_snapkit(["restore", "latest", "--repo", str(dst), "--target",
                           str(tmp_path / "t")], env)
    assert restore.returncode == 0, restore.stderr
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_ctrl_c_commits_the_snapshots_whose_data_is_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the 4th snapshot's data is sent (a pack is larger than all five: no
    commit was due): the first three are committed, the 4th's data sent so far indexed; a
    rerun sends the rest of the 4th and the 5th."""
    env, src = five_snapshots(tmp_path, 3 * MiB)
    dst = tmp_path / "dst"
    init_repo(dst)
    monkeypatch.delenv("SNAPKIT_TO_PASSWORD", raising=False)
    signalled: list[Any] = []

    def interrupt(event: Event) -> None:
        if (isinstance(event, CopyProgressed) and event.progress.number == 4
                and event.progress.blobs >= 1 and not signalled):
            signalled.append(event.progress)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted) as caught:
        copy(tmp_path / "repo", dst, on_event=interrupt, progress_interval=0)
    assert caught.value.message == (
        f"interrupted: 3 snapshots copied so far to {dst}; both repositories are valid: run "
        "`snapkit copy` again to finish")
    assert len(ids(dst)) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # (put back)
    verify_repository(dst)
    rerun = invoke_main(["copy", "--to", str(dst), "--json"], env)
    assert rerun.code == 0, rerun.stderr
    again = rerun.json()
    assert (again["snapshots_copied"], again["snapshots_skipped"]) == (2, 3)
    assert again["bytes_sent"] < 2 * 3 * MiB  # what the 4th had sent is not sent again
    restore = invoke_main(["restore", "latest", "--repo", str(dst), "--target",
                           str(tmp_path / "t")], env)
    assert restore.code == 0, restore.stderr
    assert_trees_equal(src, restored(tmp_path / "t", src))
