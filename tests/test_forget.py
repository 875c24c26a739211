"""``forget`` groups snapshots by host, sources and mode (issue 11, item 1), through the CLI.

The keep policy itself is golden-tested in ``test_retention.py``; here a real repository holds
a full snapshot every morning and a ``config-only`` one on some afternoons (taken before an
update), and ``forget --keep-daily 7 --prune`` must leave every full snapshot of the last seven
days restorable.
"""

from __future__ import annotations

import dataclasses
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import CliResult, cli_env, init_repo, invoke_main, make_tree, take

from snapkit.maintain.check import check_repository
from snapkit.store.repository import Repository


def at(days_ago: int, hour: int) -> int:
    """Local ``hour`` o'clock ``days_ago`` days ago, in ns."""
    day = datetime.now().replace(hour=hour, minute=0, second=0, microsecond=0)
    return int((day - timedelta(days=days_ago)).timestamp()) * 10**9


def retime(repo: Repository, sid: str, time_ns: int) -> str:
    """Rewrite a manifest with another time (as if taken then); return the new id."""
    snap = repo.load_snapshot(sid)
    new = repo.save_snapshot(dataclasses.replace(snap, time_ns=time_ns, parent=None))
    repo.remove_snapshot(sid)
    return new


@pytest.fixture
def habit(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, int]]:
    """Ten daily full snapshots (08:00) and config-only ones on days -5 and 0 (12:00)."""
    src = make_tree(tmp_path / "state", {"openclaw.json": b"{}\n", "sessions/a.jsonl": b"x\n"})
    repo = init_repo(tmp_path / "repo")
    times: dict[str, int] = {}
    for days_ago in range(9, -1, -1):
        (src / "sessions" / f"day{days_ago}.jsonl").write_bytes(b"only in this one\n" * days_ago)
        sid, _ = take(repo, src, parent=False)
        times[retime(repo, sid, at(days_ago, 8))] = days_ago
    for days_ago in (5, 0):
        sid, _ = take(repo, src, parent=False, mode="config-only", tags=("pre-update",))
        times[retime(repo, sid, at(days_ago, 12))] = -days_ago - 100  # marks config-only
    return tmp_path / "repo", cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo")), times


def run(env: dict[str, str], *args: str) -> CliResult:
    out = invoke_main(args, env)
    assert out.code == 0, out.stderr
    return out


def test_keep_daily_never_removes_a_full_snapshot_for_a_config_only_one(
    habit: tuple[Path, dict[str, str], dict[str, int]]
) -> None:
    repo_path, env, times = habit
    full_last_week = {sid for sid, d in times.items() if 0 <= d < 7}
    doc = run(env, "forget", "--keep-daily", "7", "--dry-run", "--json").json()
    assert doc["group_by"] == ["host", "paths", "mode"]
    groups = {g["mode"]: g for g in doc["groups"]}
    assert set(groups) == {"full", "config-only"}
    full = groups["full"]
    assert full["host"] == socket.gethostname()
    assert full["tags"] is None
    assert {k["id"] for k in full["keep"]} == full_last_week
    assert all(k["reasons"][0].startswith("daily ") for k in full["keep"])
    assert {r["id"] for r in full["remove"]} == {s for s, d in times.items() if d >= 7}
    assert len(groups["config-only"]["keep"]) == 2 and groups["config-only"]["remove"] == []
    assert doc["removed"] == []
    for row in doc["snapshots"]:
        assert row["group"]["mode"] == row["mode"]

    text = run(env, "forget", "--keep-daily", "7", "--dry-run").text
    assert "mode full" in text and "mode config-only" in text
    assert "3 would remove" in text or "would remove 3" in text

    out = run(env, "forget", "--keep-daily", "7", "--prune", "--json")
    assert set(out.json_lines()[-1]["removed"]) == {s for s, d in times.items() if d >= 7}
    repo = Repository.open(repo_path)
    left = {sid for sid, _ in repo.snapshots()}
    assert full_last_week <= left
    report = check_repository(repo, read_data=True)
    assert report.ok, report.errors


def test_group_by_any_subset(habit: tuple[Path, dict[str, str], dict[str, int]]) -> None:
    _, env, times = habit
    old_rule = run(env, "forget", "--keep-daily", "7", "--dry-run", "--json",
                   "--group-by", "host,paths").json()
    assert old_rule["group_by"] == ["host", "paths"]
    assert [g["mode"] for g in old_rule["groups"]] == [None]
    # The old default dropped the full snapshots of the days with a config-only one.
    removed = {r["id"] for r in old_rule["groups"][0]["remove"]}
    assert {s for s, d in times.items() if d in (0, 5)} <= removed
    one = run(env, "forget", "--keep-last", "1", "--dry-run", "--json", "--group-by", "").json()
    assert one["group_by"] == []
    assert len(one["groups"]) == 1 and len(one["groups"][0]["keep"]) == 1
    assert one["groups"][0] | {"keep": None, "remove": None} == {
        "host": None, "sources": None, "tags": None, "mode": None, "keep": None, "remove": None}
    by_tags = run(env, "forget", "--keep-last", "1", "--dry-run", "--json",
                  "--group-by", "tags,mode,tags").json()
    assert by_tags["group_by"] == ["tags", "mode"]
    assert sorted(g["tags"] == ["pre-update"] for g in by_tags["groups"]) == [False, True]
    text = run(env, "forget", "--keep-last", "1", "--dry-run", "--group-by", "").text
    assert "all snapshots" in text


def test_group_by_is_validated(habit: tuple[Path, dict[str, str], dict[str, int]]) -> None:
    _, env, _ = habit
    out = invoke_main(["forget", "--keep-last", "1", "--group-by", "host,user"], env)
    assert out.code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "'user'" in lines[0] and "host, paths, tags, mode" in lines[0]
