"""``snapkit unlock``: stale locks removed (a dead process, a damaged lock file, another
host's lock not refreshed for 30 minutes), live ones kept unless ``--all`` (with a warning)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from helpers import Sleeper, cli_env, dead_pid, init_repo, invoke_main, plant_lock

from snapkit.format.model import encode_lock
from snapkit.store.backend import LocalBackend


def locks(repo: Path) -> list[str]:
    return sorted(os.listdir(repo / "locks"))


def test_stale_and_damaged_locks_go_live_ones_stay(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    seal = init_repo(repo).cipher.seal  # (the encrypted test mode: locks are sealed)
    backend = LocalBackend(repo)
    host = socket.gethostname()
    sleeper = Sleeper()
    try:
        now = time.time()
        backend.save("locks", "a" * 32, seal(encode_lock(
            {"host": host, "pid": dead_pid(), "time": now, "exclusive": True,
             "operation": "prune"}), "lock"))
        backend.save("locks", "b" * 32, seal(encode_lock(
            {"host": host, "pid": sleeper.pid, "time": now, "exclusive": False,
             "operation": "restore"}), "lock"))
        backend.save("locks", "c" * 32, seal(encode_lock(
            {"host": "elsewhere", "pid": 7, "time": now - 7200, "refreshed": now - 7200,
             "exclusive": False, "operation": "snap"}), "lock"))
        backend.save("locks", "d" * 32, b"\xc1 not msgpack")
        env = cli_env(tmp_path, SNAPKIT_REPO=str(repo))
        out = invoke_main(["unlock"], env)
        assert out.code == 0, out.stderr
        assert locks(repo) == ["b" * 32]
        assert f"removed {'a' * 32} (exclusive, prune by pid" in out.stdout
        assert f"removed {'d' * 32} (damaged lock file)" in out.stdout
        assert f"kept    {'b' * 32} (shared, restore by pid {sleeper.pid}" in out.stdout
        assert out.stderr == ""
        again = invoke_main(["unlock", "--json"], env).json()
        assert again["removed"] == [] and [k["name"] for k in again["kept"]] == ["b" * 32]
        forced = invoke_main(["unlock", "--all"], env)
        assert forced.code == 0 and locks(repo) == []
        assert "snapkit: warning: removed 1 lock(s) without checking" in forced.stderr
        assert invoke_main(["unlock"], env).stdout.strip() == "no locks"
    finally:
        sleeper.stop()


def test_a_locked_repository_points_at_unlock(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init_repo(repo)
    plant_lock(repo, 7, exclusive=True, host="elsewhere")
    src = tmp_path / "src"
    src.mkdir()
    out = invoke_main(["snap", str(src)], cli_env(tmp_path, SNAPKIT_REPO=str(repo)))
    assert out.code == 11
    assert f"`snapkit unlock --all --repo {repo}`" in out.stderr  # (right for any repository)
