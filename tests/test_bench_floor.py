"""Smoke test of ``benchmarks.bench_floor`` (issue 14): on a small snapshot it times tar, the
Python floor, snapkit and a bare interpreter, and checks that the floor's tree and snapkit's
are the snapshot's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archives import zstd
from helpers import REPO_ROOT, cli_env, make_tree, run_snapkit


def test_bench_floor_runs_and_checks_its_trees(tmp_path: Path) -> None:
    zstd()  # (tar --zstd needs it)
    src = make_tree(tmp_path / "src", {f"d{i}/f{j}.txt": b"line %d\n" % j * (j + 1)
                                       for i in range(5) for j in range(20)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_floor", "--repo",
                          str(tmp_path / "repo"), "--runs", "1"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "| Python floor (imports, decompress, write) |" in out.stdout
    assert "| snapkit restore -q |" in out.stdout and "| tar --zstd -x | " in out.stdout
