"""``snap --forget`` and the config's ``retention`` (issue 16): after the snapshot, the policy
applied to that snapshot's group (host, sources, mode), then a prune; under a lock held by
another process the snapshot stands, exit 11, and nothing is reported as forgotten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import Sleeper, env_for, invoke_main, plant_lock, verify_repository

from snapkit.store.repository import Repository


def config(tmp: Path, retention: Any) -> str:
    path = tmp / "config.json"
    path.write_text(json.dumps({"retention": retention}))
    return str(path)


def source(tmp: Path, name: str) -> Path:
    src = tmp / name
    src.mkdir(exist_ok=True)
    (src / "f.txt").write_text(f"{name} {len(list(src.iterdir()))}\n")
    return src


def snap(tmp: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = invoke_main(["--json", *args], env_for(tmp))
    assert result.code == code, result.stderr
    summary: dict[str, Any] = result.json_lines()[-1]
    return summary


def ids(tmp: Path) -> set[str]:
    return {sid for sid, _ in Repository.open(tmp / "repo").snapshots()}


def test_no_retention_is_one_line_before_anything_is_done(tmp_path: Path) -> None:
    src = source(tmp_path, "src")
    for extra in ([], ["--config", config(tmp_path, None)]):
        result = invoke_main(["snap", str(src), "--forget", *extra], env_for(tmp_path))
        assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
        assert '"retention"' in result.stderr and "keep_daily" in result.stderr
        assert not (tmp_path / "repo").exists()
    dry = invoke_main(["snap", str(src), "--forget", "--dry-run"], env_for(tmp_path))
    assert dry.code == 2 and "--dry-run" in dry.stderr


def test_forget_applies_the_retention_to_the_snapshots_group_only(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"keep_last": 2})
    other = snap(tmp_path, "snap", str(source(tmp_path, "other")))["snapshot_id"]
    config_only = snap(tmp_path, "--config", cfg, "snap", str(source(tmp_path, "src")),
                       "--mode", "config-only")["snapshot_id"]
    taken = [snap(tmp_path, "--config", cfg, "snap", str(source(tmp_path, "src")), "--forget")
             for _ in range(3)]
    assert [t["forget"]["removed"] for t in taken] == [[], [], [taken[0]["snapshot_id"]]]
    last = taken[-1]["forget"]
    assert last["ran"] is True and last["policy"] == "keep 1 latest snapshot(s)".replace(
        "1", "2")
    assert last["prune"] is not None  # something was removed: pruned
    assert [g["sources"] for g in last["groups"]] == [[str(tmp_path / "src")]]
    assert taken[-1]["exit_code"] == 0
    # The other sources and the other mode are other groups: untouched.
    assert ids(tmp_path) == {other, config_only, taken[1]["snapshot_id"],
                             taken[2]["snapshot_id"]}
    verify_repository(tmp_path / "repo")


def test_text_output_says_what_was_kept_and_removed(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"keep_last": 1, "keep_tag": ["keep"]})
    src = source(tmp_path, "src")
    invoke_main(["--config", cfg, "snap", str(src), "--tag", "keep"], env_for(tmp_path))
    invoke_main(["--config", cfg, "snap", str(src)], env_for(tmp_path))
    result = invoke_main(["--config", cfg, "snap", str(src), "--forget"], env_for(tmp_path))
    assert result.code == 0, result.stderr
    out = result.stdout
    assert out.index("Snapshot ") < out.index("policy: keep 1 latest snapshot(s) and all "
                                              "tagged keep")
    assert "2 kept, removed 1 snapshot" in out and "nothing to prune" in out  # same data
    assert len(ids(tmp_path)) == 2


def test_a_lock_held_by_another_process_leaves_the_snapshot_and_exits_11(
        tmp_path: Path) -> None:
    cfg = config(tmp_path, {"keep_last": 1})
    src = source(tmp_path, "src")
    first = snap(tmp_path, "--config", cfg, "snap", str(src))["snapshot_id"]
    sleeper = Sleeper()
    try:
        plant_lock(tmp_path / "repo", sleeper.pid, exclusive=False, operation="restore")
        result = invoke_main(["--config", cfg, "snap", str(src), "--forget"], env_for(tmp_path))
        assert result.code == 11
        error = result.stderr.strip().splitlines()
        assert len(error) == 1 and "was saved, but the forget did not run" in error[0]
        assert "locked by restore" in error[0]
        assert "Snapshot " in result.stdout and "removed" not in result.stdout
        saved = snap(tmp_path, "--config", cfg, "snap", str(src), "--forget", code=11)
        assert saved["exit_code"] == 11 and saved["forget"]["ran"] is False
        assert saved["forget"]["removed"] == [] and "locked" in saved["forget"]["reason"]
    finally:
        sleeper.stop()
    assert len(ids(tmp_path)) == 3 and first in ids(tmp_path)  # nothing was forgotten
    after = snap(tmp_path, "--config", cfg, "snap", str(src), "--forget")  # lock gone
    assert after["forget"]["ran"] is True and len(after["forget"]["removed"]) == 3
    assert ids(tmp_path) == {after["snapshot_id"]}
