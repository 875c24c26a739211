"""A full disk under the repository (issue 11, item 7): one line naming the repository and the
space needed, nothing left behind, every earlier snapshot intact, and the next run works once
there is room. The disk is a real 24 MiB tmpfs (root only; skipped elsewhere with the reason)."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import IS_ROOT, cli_env, make_tree, run_snapkit, verify_repository

MiB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        # Lazily: a descriptor still open on it must not leave it mounted.
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _packs(repo: Path) -> set[str]:
    return {p.name for p in (repo / "packs").rglob("*") if p.is_file()}


def test_disk_full_names_the_repository_and_leaves_nothing_behind(
    tmp_path: Path, small_disk: Path
) -> None:
    repo = small_disk / "repo"
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo))
    small = make_tree(tmp_path / "small", {"a.txt": b"kept safe\n" * 100})
    # (another filesystem than HOME's: a repository there is made by `init`, plain here)
    assert run_snapkit(["init", "--encryption", "none"], env).returncode == 0
    assert run_snapkit(["snap", "-q", str(small)], env).returncode == 0
    before = _packs(repo)

    rng = random.Random(7)
    big = make_tree(tmp_path / "big", {f"f{i}.bin": rng.randbytes(8 * MiB) for i in range(5)})
    result = run_snapkit(["snap", str(big)], env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"snapkit: error: no space left on the disk of the repository "
                               f"{repo} while writing ")
    assert "MiB needed" in lines[0] and "free" in lines[0]
    # The failed run's packs are gone (no index lists them: nothing could use them).
    assert _packs(repo) == before
    assert not [p for p in repo.rglob(".tmp-*")]
    verify_repository(repo)
    assert run_snapkit(["snapshots", "--json"], env).stdout.count('"id"') == 1

    # With room again (a smaller source), the next run works without any manual step.
    (big / "f0.bin").unlink()
    for name in ("f1.bin", "f2.bin", "f3.bin"):
        (big / name).unlink()
    again = run_snapkit(["snap", "-q", str(big)], env)
    assert again.returncode == 0, again.stderr
    verify_repository(repo)
