"""``snapkit restore --delete`` through the CLI (issue 16): after a clean restore the target
holds just the snapshot below its paths — what else is there is removed, files, directories
and symlinks (never followed), within the ``--include``/``--exclude`` selection only, never
beside the restored paths; ``--dry-run`` lists it and removes nothing; a restore that failed
removes nothing; the JSON summary counts what was deleted; a combination that makes no sense
is refused in one line. What the snapshot never tried to hold stays (a new-user trial's
roll-back lost a FIFO, a symlink, ``node_modules`` and a log): what it skipped, special files,
what its rules exclude (the config's, rebuilt; ``snap``'s command-line ones, unrecorded, keep
the whole source unless restore's ``--exclude`` stands for them).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import (
    CliResult,
    assert_trees_equal,
    describe,
    env_for,
    init_repo,
    invoke_main,
    make_tree,
    restored,
    take,
)

from snapkit.format.errors import EXIT_FATAL, EXIT_USAGE
from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node
from snapkit.store.repository import Repository


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """A snapshot of ``src`` that records symlinks (so an extra one is the snapshot's to
    remove), and an environment whose repository holds it."""
    src = make_tree(tmp_path / "src", {
        "a.txt": b"alpha\n",
        "keep.log": b"log\n",
        "sub/b.txt": b"beta\n",
        "sub/deeper/c.txt": b"gamma\n",
        "empty/": b"",
    })
    os.symlink("a.txt", src / "link")
    take(init_repo(tmp_path / "repo"), src, symlinks="record")
    return env_for(tmp_path), src, tmp_path / "target"


def run(env: dict[str, str], target: Path, *args: str) -> CliResult:
    return invoke_main(["restore", "latest", "--target", str(target), *args], env)


def extras(where: Path) -> None:
    """Entries the snapshot does not hold, of every kind, below the restored ``where``."""
    (where / "extra.txt").write_bytes(b"x\n")
    (where / "extra.log").write_bytes(b"x\n")
    (where / "sub" / "deeper" / "extra.txt").write_bytes(b"x\n")
    (where / "newdir" / "inner").mkdir(parents=True)
    (where / "newdir" / "inner" / "f.txt").write_bytes(b"x\n")
    (where / "emptydir").mkdir()
    os.symlink("/", where / "link-to-root")


def test_delete_makes_the_target_equal_to_the_snapshot(
        world: tuple[dict[str, str], Path, Path], tmp_path: Path) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)
    outside = make_tree(target / "beside", {"mine.txt": b"not the restore's\n"})
    (where.parent / "sibling.txt").write_bytes(b"beside the source\n")
    (where / "sub" / "b.txt").write_bytes(b"changed\n")
    root_before = sorted(os.listdir("/"))

    out = run(env, target, "--delete", "--overwrite", "if-changed", "--json")

    assert out.code == 0, out.stderr
    summary = out.json_lines()[-1]
    assert summary["deleted"] == 8 and summary["kept"] == [] and not summary["delete_skipped"]
    assert_trees_equal(src, where)
    assert (outside / "mine.txt").read_bytes() == b"not the restore's\n"
    assert (where.parent / "sibling.txt").exists()  # beside the source: not the restore's
    assert sorted(os.listdir("/")) == root_before  # the symlink was removed, not followed


def test_dry_run_lists_what_would_be_deleted_and_removes_nothing(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)

    out = run(env, target, "--delete", "--dry-run")
    assert out.code == 0, out.stderr
    deleted = sorted(line.split(maxsplit=1)[1] for line in out.lines
                     if line.startswith("delete "))
    assert deleted == sorted(str(where / p) for p in (
        "extra.txt", "extra.log", "sub/deeper/extra.txt", "newdir", "newdir/inner",
        "newdir/inner/f.txt", "emptydir", "link-to-root"))
    assert "would delete 8 entries the snapshot does not hold" in out.text
    assert (where / "newdir" / "inner" / "f.txt").exists() and (where / "link-to-root").is_symlink()

    plan = [e for e in run(env, target, "--delete", "--dry-run", "--json").json_lines()
            if e.get("action") == "delete"]
    assert len(plan) == 8 and {e["type"] for e in plan} == {"file", "dir", "symlink"}


def test_only_what_the_filters_select_is_deleted(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    extras(where)

    out = run(env, target, "--delete", "--exclude", "*.log", "--exclude", "newdir/")
    assert out.code == 0, out.stderr
    assert (where / "extra.log").exists()  # excluded: not the restore's to remove
    assert (where / "newdir" / "inner" / "f.txt").exists()
    assert not (where / "extra.txt").exists() and not (where / "emptydir").exists()

    out = run(env, target, "--delete", "--include", "sub/**")
    assert out.code == 0, out.stderr
    assert not (where / "sub" / "deeper" / "extra.txt").exists()
    assert (where / "extra.log").exists() and (where / "newdir").exists()


def test_a_restore_that_failed_deletes_nothing(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha\n", "victim.bin": os.urandom(4096)})
    _, snap = take(init_repo(tmp_path / "repo", pack_size=1), src)
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, snap.tree, split_path(str(src / "victim.bin")))
    assert node is not None
    entry = repo.index.get(node.content[0])
    assert entry is not None
    (tmp_path / "repo" / "packs" / entry.pack[:2] / entry.pack).unlink()
    env, target = env_for(tmp_path), tmp_path / "target"
    where = restored(target, src)
    where.mkdir(parents=True)
    (where / "extra.txt").write_bytes(b"x\n")

    out = run(env, target, "--delete", "--json")

    assert out.code == EXIT_FATAL
    summary = out.json_lines()[-1]
    assert summary["delete_skipped"] and summary["deleted"] == 0
    assert (where / "extra.txt").exists() and (where / "a.txt").exists()
    text = run(env, target, "--delete", "--overwrite", "if-changed")
    assert "--delete removed nothing: 1 entry could not be restored" in text.stderr


def test_a_symlinked_directory_is_removed_as_a_link(
        world: tuple[dict[str, str], Path, Path], tmp_path: Path) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    victim = make_tree(tmp_path / "victim", {"precious.txt": b"keep me\n"})
    os.symlink(victim, where / "sub" / "planted")

    assert run(env, target, "--delete").code == 0
    assert not os.path.lexists(where / "sub" / "planted")
    assert (victim / "precious.txt").read_bytes() == b"keep me\n"


def test_delete_into_the_filesystem_root_needs_in_place(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, _, _ = world
    out = invoke_main(["restore", "latest", "--target", "/", "--delete", "--dry-run"], env)
    assert out.code == EXIT_USAGE
    assert "--in-place" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_help_names_delete(world: tuple[dict[str, str], Path, Path]) -> None:
    out = invoke_main(["restore", "--help"], world[0])
    assert out.code == 0 and "--delete" in out.text and "Make the target equal" in out.text


def test_in_place_delete_rolls_a_directory_back(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, _ = world
    before = describe(src)
    (src / "new.txt").write_bytes(b"written after the snapshot\n")
    (src / "sub" / "newdir").mkdir()
    (src / "a.txt").write_bytes(b"changed\n")

    out = invoke_main(["restore", "latest", "--in-place", "--overwrite", "if-changed",
                       "--delete"], env)

    assert out.code == 0, out.stderr
    assert "deleted 2 entries the snapshot does not hold" in out.text
    assert_trees_equal(before, src)


def test_an_entry_that_cannot_be_removed_is_named_and_exits_1(
        world: tuple[dict[str, str], Path, Path]) -> None:
    """An immutable file (``chattr +i``: even root cannot remove it) is kept and named; the
    rest is deleted and the directories still get their times back."""
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    stuck, other = where / "sub" / "stuck.txt", where / "other.txt"
    stuck.write_bytes(b"x\n")
    other.write_bytes(b"x\n")
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        out = run(env, target, "--delete")
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=False)
    assert out.code == EXIT_FATAL
    assert f"snapkit: could not delete {stuck}: cannot remove it" in out.stderr
    assert stuck.exists() and not other.exists()
    assert "deleted 1 entry the snapshot does not hold" in out.text
    for d in (where, where / "sub"):  # their times set after the deletions
        assert d.stat().st_mtime_ns == (src / d.relative_to(where)).stat().st_mtime_ns


def trial_tree(root: Path) -> Path:
    """The new-user trial's directory: a file, a dependency folder, a log, a symlink, a FIFO."""
    src = make_tree(root / "dt", {"keep/a": b"a\n", "node_modules/pkg/index.js": b"nm\n",
                                  "x.log": b"log\n"})
    os.symlink("keep/a", src / "link")
    os.mkfifo(src / "fifo")
    return src


def roll_back(env: dict[str, str], *args: str) -> CliResult:
    return invoke_main(["restore", "latest", "--in-place", "--overwrite", "if-changed",
                        "--delete", *args], env)


def test_a_roll_back_keeps_what_the_snapshot_skipped_or_excluded(tmp_path: Path) -> None:
    """The trial's case: snap's command-line excludes are not recorded, so nothing below the
    source that the snapshot does not hold is removed — the symlink and the FIFO it skipped
    named as such — until restore's own --exclude patterns stand for them."""
    env, src = env_for(tmp_path), trial_tree(tmp_path)
    snap = invoke_main(["snap", "-q", str(src), "--exclude", "node_modules", "--exclude",
                        "*.log"], env)
    assert snap.code == 0, snap.stderr
    (src / "keep" / "new.txt").write_bytes(b"written after the snapshot\n")
    before = sorted(str(p) for p in src.rglob("*"))

    out = roll_back(env)
    assert out.code == 0, out.stderr
    assert "deleted 0 entries the snapshot does not hold" in out.stdout
    assert ("kept 5 entries the snapshot left out (excluded or skipped); see --dry-run"
            in out.stdout)
    assert sorted(str(p) for p in src.rglob("*")) == before and out.stderr == ""

    dry = roll_back(env, "--dry-run")
    assert f"keep      {src / 'fifo'} (skipped by the snapshot: fifo)" in dry.lines
    assert f"keep      {src / 'link'} (skipped by the snapshot: symlink to keep/a)" in dry.lines
    why = next(line for line in dry.lines if line.startswith(f"keep      {src / 'x.log'}"))
    assert "snap's command line" in why and "as --exclude" in why

    out = roll_back(env, "--exclude", "node_modules", "--exclude", "*.log", "--json")
    assert out.code == 0, out.stderr
    summary = out.json_lines()[-1]
    assert summary["deleted"] == 1 and summary["kept"] == []
    assert {(e["path"], e["type"]) for e in summary["kept_out_of_scope"]} == {
        (str(src / "fifo"), "other"), (str(src / "link"), "symlink")}
    assert not (src / "keep" / "new.txt").exists() and (src / "keep" / "a").exists()
    assert (src / "node_modules" / "pkg" / "index.js").exists() and (src / "x.log").exists()
    assert os.path.islink(src / "link") and (src / "fifo").is_fifo()


def test_the_configs_rules_keep_what_they_exclude(tmp_path: Path) -> None:
    """Rules of the config file are rebuilt as snap builds them: an excluded directory stays
    whole (not entered), a log written since stays too, a .snapkitignore's pattern is
    honoured, and what the rules would have taken is removed."""
    config = tmp_path / "rules.json"
    config.write_text('{"exclude": ["node_modules/", "*.log"]}\n')
    env = {**env_for(tmp_path), "SNAPKIT_CONFIG": str(config)}
    src = trial_tree(tmp_path)
    (src / "keep" / ".snapkitignore").write_text("*.bak\n")
    assert invoke_main(["snap", "-q", str(src)], env).code == 0
    for name in ("keep/new.txt", "keep/old.bak", "node_modules/pkg/new.js", "new.log",
                 "newdir/x.txt", "newdir/y.log"):
        (src / name).parent.mkdir(exist_ok=True)
        (src / name).write_bytes(b"since\n")

    plan = [e for e in roll_back(env, "--dry-run", "--json").json_lines()
            if e.get("event") == "plan" and e["action"] != "identical"]
    kept = {Path(e["path"]).relative_to(src).as_posix(): e["reason"] for e in plan
            if e["action"] == "keep"}
    assert {p for p, r in kept.items() if r.startswith("excluded by the snapshot's rules")} \
        == {"node_modules", "x.log", "new.log", "keep/old.bak", "newdir/y.log"}
    assert kept["newdir"] == "it holds entries the snapshot left out"
    assert all(e["out_of_scope"] for e in plan if e["action"] == "keep")

    out = roll_back(env)
    assert out.code == 0, out.stderr
    assert "deleted 2 entries the snapshot does not hold" in out.stdout  # new.txt, newdir/x.txt
    assert not (src / "keep" / "new.txt").exists() and not (src / "newdir" / "x.txt").exists()
    for name in ("node_modules/pkg/new.js", "node_modules/pkg/index.js", "x.log", "new.log",
                 "keep/old.bak", "newdir/y.log"):
        assert (src / name).exists(), name


def test_a_fifo_is_kept_even_where_the_snapshot_had_no_rules(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, target = world
    assert run(env, target).code == 0
    where = restored(target, src)
    os.mkfifo(where / "sub" / "pipe")
    out = run(env, target, "--delete")
    assert out.code == 0, out.stderr
    assert (where / "sub" / "pipe").is_fifo()
    assert "kept 1 entry the snapshot left out (excluded or skipped)" in out.stdout


def test_restore_json_gives_progress_events_then_the_summary(
        world: tuple[dict[str, str], Path, Path]) -> None:
    env, _, target = world
    out = run(env, target, "--json")
    assert out.code == 0, out.stderr
    events = out.json_lines()
    assert events[-1]["event"] == "summary" and events[-1]["files"] == 4
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and events[0]["event"] == "progress"  # the first at once
    assert set(progress[0]) == {"event", "files", "bytes", "total_files", "total_bytes",
                                "percent", "elapsed_s", "eta_s", "current"}
    assert progress[0]["total_files"] == 4 and progress[0]["total_bytes"] == 21
    assert events[-1]["bytes"] == 21


def test_an_openclaw_roll_back_keeps_the_defaults_exclusions(tmp_path: Path) -> None:
    """The OpenClaw state dir's default rules (logs/, node_modules, caches) are rebuilt from
    the installation the snapshot recorded: a roll-back keeps those and removes the rest."""
    state = make_tree(tmp_path / "state", {
        "openclaw.json": b'{"gateway": {}}\n', "logs/gateway.log": b"log\n",
        "workspace/node_modules/pkg/index.js": b"nm\n", "workspace/notes.md": b"n\n"})
    env = env_for(tmp_path, state)
    snap = invoke_main(["snap", "-q", "--no-service-control"], env)
    assert snap.code == 0, snap.stderr + snap.stdout
    (state / "logs" / "new.log").write_bytes(b"since\n")
    (state / "workspace" / "scratch.md").write_bytes(b"since\n")

    out = roll_back(env, "--json")

    assert out.code == 0, out.stderr
    summary = out.json_lines()[-1]
    assert summary["deleted"] == 1 and summary["kept"] == []
    kept = {Path(e["path"]).relative_to(state).as_posix() for e in summary["kept_out_of_scope"]}
    assert kept == {"logs", "workspace/node_modules"}
    assert not (state / "workspace" / "scratch.md").exists()
    assert (state / "logs" / "new.log").exists() and (state / "logs" / "gateway.log").exists()
    assert (state / "workspace" / "node_modules" / "pkg" / "index.js").exists()
