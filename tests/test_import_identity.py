"""Imports never take over `latest` or tags (issue 11, item 2): an archive of a snapshot the
repository holds adds nothing; a tie in time goes to the snapshot taken here; `snapshots` marks
imported and incomplete snapshots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from helpers import cli_env, make_tree, run_snapkit

from snapkit.store.repository import Repository


def _ok(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = run_snapkit(args, env)
    assert result.returncode == code, (args, result.stdout, result.stderr)
    return result.stdout


def _world(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    src = make_tree(tmp_path / "src", {"openclaw.json": b"{}", "workspace/a.md": b"a\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    _ok(["snap", "-q", str(src), "--tag", "day1"], env)
    return src, env


def test_importing_an_export_of_a_snapshot_here_adds_nothing(tmp_path: Path) -> None:
    _, env = _world(tmp_path)
    (original,) = json.loads(_ok(["snapshots", "--json"], env))
    for n, extra in enumerate(([], ["--mode", "config-only"], ["--include", "*.md"])):
        archive = tmp_path / f"x{n}.tar.gz"
        _ok(["export", "latest", "-o", str(archive), *extra], env)
        out = _ok(["import", str(archive)], env)
        assert out.startswith(f"already present as {original['id'][:8]}"), out
        doc = json.loads(_ok(["import", "--json", str(archive)], env))
        assert doc["already_present"] is True and doc["snapshot_id"] == original["id"]
    assert [s["id"] for s in json.loads(_ok(["snapshots", "--json"], env))] == [original["id"]]
    assert json.loads(_ok(["show", "day1", "--json"], env))["id"] == original["id"]


def test_a_tie_in_time_goes_to_the_snapshot_taken_here(tmp_path: Path) -> None:
    """A twin with the same time and tags (as an import of an older snapkit made, or an
    imported OpenClaw backup of the same second) never becomes `latest` or the tag's snapshot,
    whatever its id."""
    _, env = _world(tmp_path)
    repo = Repository.open(tmp_path / "repo")
    ((sid, snap),) = repo.snapshots()
    twins: list[str] = []
    n = 0
    while not (any(t > sid for t in twins) and any(t < sid for t in twins)):
        # until there are twin ids on both sides of the original's
        twin = dataclasses.replace(snap, mode="config-only", tags=(*snap.tags, f"t{n}"),
                                   imported={"archive": f"x{n}.tar.gz", "layout": "snapkit"})
        twins.append(repo.save_snapshot(twin))
        n += 1
    for selector in ("latest", "day1"):
        shown = json.loads(_ok(["show", selector, "--json"], env))
        assert shown["id"] == sid, selector
    rows = json.loads(_ok(["snapshots", "--json"], env))
    assert rows[-1]["id"] == sid and rows[-1]["imported"] is False
    assert all(r["imported"] for r in rows[:-1])
    table = _ok(["snapshots"], env)
    assert "i = imported from an archive" in table
    assert f"{twins[0][:8]}i " in table
    # `~1` steps back within the group: the full original has none before it.
    assert run_snapkit(["show", "latest~1"], env).returncode == 2


def test_an_import_of_a_truncated_archive_is_marked_incomplete(tmp_path: Path) -> None:
    _, env = _world(tmp_path)
    other = make_tree(tmp_path / "other", {"big.bin": bytes(range(256)) * 8192, "z.txt": b"z"})
    env2 = {**env, "SNAPKIT_REPO": str(tmp_path / "repo2")}
    _ok(["snap", "-q", str(other)], env2)
    archive = tmp_path / "cut.tar"
    _ok(["export", "latest", "-o", str(archive)], env2)
    with open(archive, "r+b") as f:
        f.truncate(archive.stat().st_size // 2)
    _ok(["import", str(archive)], env, code=3)
    rows = json.loads(_ok(["snapshots", "--json"], env))
    imported = [r for r in rows if r["imported"]]
    assert len(imported) == 1 and imported[0]["complete"] is False
    assert "! = incomplete" in _ok(["snapshots"], env)
