"""The command line: in-process through click's CliRunner, and as real ``python -m snapkit``
subprocesses. Exit codes, one-line errors, JSON output, env vars, repository auto-creation."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    IS_ROOT,
    CliResult,
    File,
    Sleeper,
    assert_trees_equal,
    cli_env,
    cli_runner,
    created_line,
    init_repo,
    invoke_main,
    iter_store_files,
    listing,
    make_tree,
    plant_lock,
    restored,
    run_snapkit,
    take,
)

from snapkit import __version__
from snapkit.cli.main import cli
from snapkit.format.model import NODE_FILE, Node, Snapshot, Tree, content_id, encode_snapshot
from snapkit.store.repository import Repository

Out = CliResult


def invoke(args: Sequence[str], env: dict[str, str]) -> Out:
    """Run the real entry point ``main()`` in-process, with click's isolation (so the error
    boundary and exit codes are exercised exactly as the console script runs them)."""
    return invoke_main(args, env)


def run(args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Out:
    p = run_snapkit(args, env, cwd)
    return Out(p.returncode, p.stdout.encode(), p.stderr)


def assert_one_line_error(out: Out, code: int, *needles: str) -> None:
    assert out.code == code, (out.code, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("snapkit: error: "), lines[0]
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An isolated environment with the repository in $SNAPKIT_REPO (not yet created)."""
    return cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {
        "openclaw.json": File(b'{"gateway": {}}\n', mode=0o600, mtime_ns=1_700_000_000 * 10**9),
        "agents/main/sessions/s1.jsonl": b'{"role": "user"}\n' * 500,
        "workspace/notes.md": b"# notes\n",
        "empty": b"",
    })


# --------------------------------------------------------------------------- in-process


def test_round_trip_in_process(tmp_path: Path, env: dict[str, str], src: Path) -> None:
    repo = str(tmp_path / "repo")
    out = invoke(["init", "--repo", repo], env)
    assert out.code == 0
    assert "created repository" in out.stdout
    out = invoke(["snap", str(src), "--tag", "first"], env)
    assert out.code == 0, out.stderr
    assert "Files:       4 new, 0 changed, 0 unmodified" in out.stdout
    assert out.stderr == ""  # no progress line when stderr is not a terminal
    out = invoke(["snap", str(src)], env)
    assert "0 new, 0 changed, 4 unmodified" in out.stdout
    assert "parent" in out.stdout
    out = invoke(["snapshots", "--json"], env)
    rows = out.json_lines()[0]
    assert [r["tags"] for r in rows] == [["first"], []]
    assert rows[1]["parent"] == rows[0]["id"]
    out = invoke(["restore", rows[0]["short_id"], "--target", str(tmp_path / "t")], env)
    assert out.code == 0, out.stderr
    assert "restored 4 files" in out.stdout
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_click_runner_invoke(tmp_path: Path, src: Path) -> None:
    """The click group itself, the way CliRunner is usually used."""
    runner = cli_runner()
    repo = str(tmp_path / "repo")
    result = runner.invoke(cli, ["--repo", repo, "snap", str(src), "--json"],
                           env={"HOME": str(tmp_path)})  # a new repository in the home: plain
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["event"] == "summary"
    result = runner.invoke(cli, ["list", "--repo", repo])  # alias, option after the command
    assert result.exit_code == 0
    assert summary["short_id"] in result.stdout
    assert "1 snapshot\n" in result.stdout
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_snap_json_lines(tmp_path: Path, env: dict[str, str], src: Path) -> None:
    out = invoke(["snap", str(src), "--json", "--tag", "t1", "--tag", "t2", "--host", "h1"], env)
    assert out.code == 0, out.stderr
    events = out.json_lines()  # every line is JSON
    assert events, out.stdout
    assert all(e["event"] == "progress" for e in events[:-1])
    summary = events[-1]
    assert summary["event"] == "summary"
    for key in ("snapshot_id", "files_new", "files_changed", "files_unmodified", "dirs",
                "bytes_read", "bytes_added_raw", "bytes_added_stored", "skipped",
                "duration_s"):
        assert key in summary, key
    assert summary["files_new"] == 4
    assert summary["tags"] == ["t1", "t2"]
    assert summary["sources"] == [str(src)]
    assert len(summary["snapshot_id"]) == 32
    assert Repository.open(tmp_path / "repo").snapshot_ids() == [summary["snapshot_id"]]
    for e in events[:-1]:
        assert {"files", "bytes", "current"} <= e.keys()


def test_quiet_snap_prints_only_the_id(env: dict[str, str], src: Path) -> None:
    out = invoke(["snap", "-q", str(src)], env)
    assert out.code == 0
    assert len(out.stdout.strip()) == 32
    int(out.stdout.strip(), 16)


def test_snapshot_filters(tmp_path: Path, env: dict[str, str], src: Path) -> None:
    other = make_tree(tmp_path / "other", {"x": b"x"})
    invoke(["snap", str(src), "--tag", "a", "--host", "alpha"], env)
    invoke(["snap", str(other), "--tag", "b", "--host", "beta"], env)
    invoke(["snap", str(src), "--tag", "a", "--tag", "b", "--host", "alpha"], env)

    def ids(*args: str) -> list[list[str]]:
        out = invoke(["snapshots", "--json", *args], env)
        assert out.code == 0, out.stderr
        return [r["tags"] for r in out.json_lines()[0]]

    assert ids() == [["a"], ["b"], ["a", "b"]]
    assert ids("--host", "alpha") == [["a"], ["a", "b"]]
    assert ids("--tag", "b") == [["b"], ["a", "b"]]
    assert ids("--tag", "a", "--tag", "b") == [["a", "b"]]
    assert ids("--path", str(other)) == [["b"]]
    assert ids("--path", str(src / "workspace")) == [["a"], ["a", "b"]]
    assert ids("--host", "gamma") == []
    out = invoke(["snapshots", "--host", "gamma"], env)
    assert "no snapshots" in out.stdout


def test_selection_by_prefix_latest_and_tag(
    tmp_path: Path, env: dict[str, str], src: Path
) -> None:
    first = invoke(["snap", "-q", str(src), "--tag", "keep"], env).stdout.strip()
    (src / "workspace" / "notes.md").write_bytes(b"changed\n")
    second = invoke(["snap", "-q", str(src)], env).stdout.strip()
    for selector, want in ((first, first), (first[:4], first), (first[:10].upper(), first),
                           ("latest", second), ("keep", first), (second[:6], second)):
        out = invoke(["restore", selector, "--dry-run", "--json", "-t", str(tmp_path / "t")],
                     env)
        assert out.code == 0, (selector, out.stderr)
        assert out.json_lines()[-1]["snapshot_id"] == want, selector
    assert not (tmp_path / "t").exists()


def test_restore_dry_run_and_filters(tmp_path: Path, env: dict[str, str], src: Path) -> None:
    invoke(["snap", str(src)], env)
    target = tmp_path / "t"
    out = invoke(["restore", "latest", "-t", str(target), "--dry-run"], env)
    assert out.code == 0
    assert "would restore 4 files" in out.stdout
    assert str(restored(target, src / "openclaw.json")) in out.stdout
    assert not target.exists()
    out = invoke(["restore", "latest", "-t", str(target), "--json", "--dry-run"], env)
    plan = out.json_lines()
    assert {p["event"] for p in plan[:-1]} == {"plan"}
    assert plan[-1]["dry_run"] is True
    assert not target.exists()
    out = invoke(["restore", "latest", "-t", str(target), "--include", "*.jsonl",
                  "--include", "*.md", "--exclude", "workspace"], env)
    assert out.code == 0, out.stderr
    assert listing(restored(target, src)) == {"agents", "agents/main", "agents/main/sessions",
                                              "agents/main/sessions/s1.jsonl"}


def test_errors_through_the_entry_point(tmp_path: Path, env: dict[str, str]) -> None:
    out = invoke(["snapshots", "--repo", str(tmp_path / "missing")], env)
    assert_one_line_error(out, 10, str(tmp_path / "missing"), "snapkit init")
    out = invoke(["restore", "latest"], env)
    assert_one_line_error(out, 2, "--target")
    out = invoke(["snap", "--no-such-option"], env)
    assert_one_line_error(out, 2, "--no-such-option")


def test_verbose_shows_the_traceback(tmp_path: Path, env: dict[str, str]) -> None:
    out = invoke(["-v", "snapshots", "--repo", str(tmp_path / "missing")], env)
    assert out.code == 10
    assert "Traceback" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("snapkit: error: ")


def _colliding_prefix(repo: Repository, base: Snapshot) -> tuple[str, list[str]]:
    """Save two manifests whose ids share their first 4 hex digits (birthday search; their
    stored bytes, sealed in the encrypted test mode, are what the id is of)."""
    seen: dict[str, bytes] = {}
    for i in range(1, 100_000):
        data = repo.cipher.seal(encode_snapshot(replace(base, time_ns=base.time_ns + i)),
                                "snapshot")
        sid = content_id(data)
        if sid[:4] in seen:
            first = seen[sid[:4]]
            repo.backend.save("snapshots", content_id(first), first)
            repo.backend.save("snapshots", sid, data)
            return sid[:4], sorted([content_id(first), sid])
        seen[sid[:4]] = data
    raise AssertionError("no collision")  # pragma: no cover


def test_ambiguous_short_and_unknown_prefixes(
    tmp_path: Path, env: dict[str, str], src: Path
) -> None:
    repo = init_repo(tmp_path / "repo")
    _, base = take(repo, src)
    prefix, ids = _colliding_prefix(repo, base)
    out = invoke(["restore", prefix, "-t", str(tmp_path / "t")], env)
    assert_one_line_error(out, 2, "ambiguous", ids[0][:12], ids[1][:12])
    out = invoke(["restore", ids[1], "-t", str(tmp_path / "t"), "--dry-run"], env)
    assert out.code == 0
    out = invoke(["restore", prefix[:3], "-t", str(tmp_path / "t")], env)
    assert_one_line_error(out, 2, "too short")
    out = invoke(["restore", "ffff0000ffff", "-t", str(tmp_path / "t")], env)
    assert_one_line_error(out, 2, "no snapshot matches")
    assert not (tmp_path / "t").exists()


def test_hostile_snapshot_is_refused_with_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    repo = init_repo(tmp_path / "repo")
    with repo.saver() as saver:
        blob = saver.save_data(b"evil")
        inner = saver.save_tree(Tree((Node("..", NODE_FILE, 0o644, 0, size=4, content=(blob,)),)))
        from snapkit.format.model import NODE_DIR

        root = saver.save_tree(Tree((Node("x", NODE_DIR, 0o755, 0, subtree=inner),)))
    sid = repo.save_snapshot(Snapshot(time_ns=1, hostname="h", username="", sources=("/x",),
                                      tree=root))
    out = invoke(["restore", sid, "-t", str(tmp_path / "t")], env)
    assert_one_line_error(out, 1, "unsafe path name")
    assert not (tmp_path / "t").exists()


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_file_exits_3(tmp_path: Path, env: dict[str, str]) -> None:  # pragma: no cover
    src = make_tree(tmp_path / "src", {"ok": b"ok", "secret": File(b"s", mode=0o000)})
    out = invoke(["snap", str(src), "--json"], env)
    assert out.code == 3
    summary = out.json_lines()[-1]
    assert summary["complete"] is False
    assert summary["skipped"] == {"unreadable": 1}
    assert "secret" in out.stderr


# --------------------------------------------------------------------------- subprocesses


def test_round_trip_as_subprocesses(tmp_path: Path, src: Path) -> None:
    env = cli_env(tmp_path)
    repo = str(tmp_path / "repo")
    out = run(["init", "--repo", repo, "--json"], env)
    assert out.code == 0, out.stderr
    assert out.json_lines()[0]["repository"] == repo
    out = run(["snap", str(src), "--repo", repo, "--json"], env)
    assert out.code == 0, out.stderr
    assert out.stderr == ""
    summary = out.json_lines()[-1]
    assert summary["event"] == "summary"
    assert summary["files_new"] == 4
    out = run(["--repo", repo, "snap", str(src), "--json"], env)
    again = out.json_lines()[-1]
    assert (again["files_unmodified"], again["bytes_read"]) == (4, 0)
    assert again["parent"] == summary["snapshot_id"]
    out = run(["list", "--repo", repo, "--json"], env)
    rows = out.json_lines()[0]
    assert [r["id"] for r in rows] == [summary["snapshot_id"], again["snapshot_id"]]
    out = run(["snapshots", "--repo", repo], env)
    assert summary["short_id"] in out.stdout
    assert "2 snapshots\n" in out.stdout
    out = run(["restore", summary["snapshot_id"][:8], "--repo", repo,
               "--target", str(tmp_path / "t"), "--json"], env)
    assert out.code == 0, out.stderr
    assert out.json_lines()[-1]["files"] == 4
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_repository_from_env_and_auto_created_with_one_notice(
    tmp_path: Path, src: Path
) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "from-env"))
    out = run(["snap", str(src), "--json"], env)
    assert out.code == 0, out.stderr
    assert out.stderr.strip().splitlines() == [
        created_line(tmp_path / "from-env", in_process=False)
    ]
    assert out.json_lines()[-1]["event"] == "summary"  # stdout stays pure JSON
    assert (tmp_path / "from-env" / "config").is_file()
    out = run(["snap", str(src)], env)
    assert out.code == 0
    assert out.stderr == ""  # no second notice, no progress line off a terminal
    out = run(["snapshots", "--json"], env)
    assert len(out.json_lines()[0]) == 2


def test_default_repository_location(tmp_path: Path, src: Path) -> None:
    env = cli_env(tmp_path)
    out = run(["snap", "--json", str(src)], env)
    assert out.code == 0, out.stderr
    default = tmp_path / "xdg-data" / "snapkit" / "repo"
    assert out.stderr == created_line(default, in_process=False) + "\n"
    assert Repository.open(default).snapshot_ids() == [out.json_lines()[-1]["snapshot_id"]]
    env.pop("XDG_DATA_HOME")
    out = run(["snap", "-q", str(src)], env)
    assert out.code == 0, out.stderr
    assert (tmp_path / ".local" / "share" / "snapkit" / "repo" / "config").is_file()


def test_store_files_are_private(tmp_path: Path, src: Path) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run(["snap", str(src)], env).code == 0
    for f in iter_store_files(tmp_path / "repo"):
        assert f.stat().st_mode & 0o777 == 0o600, f
    for d, _, _ in os.walk(tmp_path / "repo"):
        assert os.stat(d).st_mode & 0o777 == 0o700, d


def _bad_config(repo: Path) -> None:
    init_repo(repo)
    doc = json.loads((repo / "config").read_text())
    doc["version"] = 3  # (2 is an encrypted repository's)
    (repo / "config").write_text(json.dumps(doc))


ERROR_CASES: list[tuple[str, list[str], int, list[str], Any]] = [
    ("restore-without-target", ["restore", "latest"], 2, ["--target"], "repo"),
    ("unknown-snapshot", ["restore", "deadbeef00", "-t", "{tmp}/t"], 2, ["deadbeef00"], "snap"),
    ("no-snapshots-yet", ["restore", "latest", "-t", "{tmp}/t"], 2, ["no snapshots"], "repo"),
    ("unknown-option", ["snap", "--bogus"], 2, ["--bogus", "--help"], None),
    ("unknown-command", ["frobnicate"], 2, ["frobnicate"], None),
    ("bad-choice", ["restore", "latest", "-t", "{tmp}/t", "--overwrite", "sometimes"], 2,
     ["--overwrite"], "snap"),
    ("in-place-without-overwrite", ["restore", "latest", "--in-place"], 2, ["--overwrite"],
     "snap"),
    ("missing-source", ["snap", "{tmp}/nope"], 2, ["{tmp}/nope"], None),
    ("missing-openclaw-dir", ["snap"], 2, ["{tmp}/no-openclaw", "OPENCLAW_STATE_DIR"], None),
    ("init-twice", ["init"], 2, ["already exists"], "repo"),
    ("missing-repo", ["snapshots"], 10, ["{tmp}/repo", "snapkit init"], None),
    ("missing-repo-restore", ["restore", "latest", "-t", "{tmp}/t"], 10, ["{tmp}/repo"], None),
    ("not-a-repo", ["snap", "{tmp}/src"], 10, ["not a snapkit repository"], "junk"),
    ("future-format", ["snapshots"], 10, ["format version 3"], "v2"),
]


@pytest.mark.parametrize(
    ("args", "code", "needles", "setup"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_exit_codes_and_one_line_errors(
    tmp_path: Path, src: Path, args: list[str], code: int, needles: list[str], setup: str | None
) -> None:
    repo = tmp_path / "repo"
    if setup == "repo":
        init_repo(repo)
    elif setup == "snap":
        take(init_repo(repo), src)
    elif setup == "junk":
        make_tree(repo, {"precious.txt": b"not a repository"})
    elif setup == "v2":
        _bad_config(repo)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo),
                  OPENCLAW_STATE_DIR=str(tmp_path / "no-openclaw"))
    fmt = {"tmp": str(tmp_path)}
    out = run([a.format(**fmt) for a in args], env)
    assert_one_line_error(out, code, *(n.format(**fmt) for n in needles))
    assert out.stdout == ""
    if setup == "junk":
        assert listing(repo) == {"precious.txt"}
    assert not (tmp_path / "t").exists()


@pytest.fixture
def sleeper() -> Iterator[Sleeper]:
    s = Sleeper()
    yield s
    s.stop()


def test_locked_repository_exits_11(tmp_path: Path, src: Path, sleeper: Sleeper) -> None:
    repo = tmp_path / "repo"
    init_repo(repo)
    name = plant_lock(repo, sleeper.pid, exclusive=True, operation="prune")
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo))
    out = run(["snap", str(src)], env)
    assert_one_line_error(out, 11, "locked", str(sleeper.pid), name)
    assert sorted(os.listdir(repo / "locks")) == [name]  # ours removed, theirs kept
    assert Repository.open(repo).snapshot_ids() == []
    # Reading does not need a lock.
    assert run(["snapshots"], env).code == 0


def test_stale_lock_is_removed_by_the_next_snap(tmp_path: Path, src: Path) -> None:
    from helpers import dead_pid

    repo = tmp_path / "repo"
    init_repo(repo)
    plant_lock(repo, dead_pid(), exclusive=True, host=socket.gethostname())
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo))
    out = run(["snap", str(src)], env)
    assert out.code == 0, out.stderr
    assert os.listdir(repo / "locks") == []


def test_version_and_help(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    out = run(["--version"], env)
    assert out.code == 0
    assert __version__ in out.stdout
    out = run(["--help"], env)
    assert out.code == 0
    for cmd in ("init", "snap", "snapshots", "restore"):
        assert cmd in out.stdout


# --------------------------------------------------------------------------- polish (issue 16)


def test_skip_reasons_take_plurals_where_they_are_kinds() -> None:
    from snapkit.cli.common import reasons_text

    assert reasons_text({"socket": 1, "symlink": 4, "vanished": 2, "hardlink": 3}) == (
        "3 hard links, 1 socket, 4 symlinks, 2 vanished")
    assert reasons_text({"symlink": 1, "unreadable": 1, "sqlite": 2}) == (
        "2 SQLite databases, 1 symlink, 1 unreadable")


def test_names_with_control_characters_are_one_escaped_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    src = make_tree(tmp_path / "src", {"new\nline.txt": b"x", "esc\x1b[31m": b"y", "ok": b"z"})
    assert invoke(["snap", str(src), "-q"], env).code == 0
    out = invoke(["ls", "latest"], env)
    assert out.code == 0
    assert f"{src}/new\\nline.txt" in out.stdout.splitlines()
    assert f"{src}/esc\\x1b[31m" in out.stdout.splitlines()
    assert "\x1b" not in out.stdout
    names = [json.loads(line)["path"] for line in invoke(["ls", "latest", "--json"], env).lines]
    assert f"{src}/new\nline.txt" in names  # JSON keeps the name as it is


def test_an_empty_diff_and_a_named_forget_print_no_blank_first_line(
    env: dict[str, str], src: Path
) -> None:
    assert invoke(["snap", str(src), "-q"], env).code == 0
    assert invoke(["snap", str(src), "-q"], env).code == 0
    ids = [s["id"] for s in json.loads(invoke(["snapshots", "--json"], env).stdout)]
    diff = invoke(["diff", ids[0], ids[1]], env)
    assert diff.code == 0 and diff.stdout.startswith("Added: 0 (0 B)"), diff.stdout
    forget = invoke(["forget", ids[0]], env)
    assert forget.code == 0 and forget.stdout.startswith("group: "), forget.stdout
    assert "kept" not in forget.stdout
    assert forget.stdout.rstrip().endswith("removed 1 snapshot")


def test_backup_is_snap_and_typos_get_suggestions(env: dict[str, str], src: Path) -> None:
    out = invoke(["backup", str(src), "-q"], env)
    assert out.code == 0 and len(out.stdout.strip()) == 32
    assert "snapkit backup ..." in invoke(["snap", "--help"], env).stdout
    assert_one_line_error(invoke(["snpa"], env), 2, "No such command 'snpa'.",
                          "Did you mean 'snap'?")
    assert_one_line_error(invoke(["xyzzy"], env), 2, "No such command 'xyzzy'. (see")
    assert_one_line_error(invoke(["forget", "--keep-daily"], env), 2,
                          "'--keep-daily' requires an argument", "see `snapkit forget --help`")


def test_snap_and_its_dry_run_say_what_their_excluded_counts_count(
    tmp_path: Path, env: dict[str, str]
) -> None:
    src = make_tree(tmp_path / "src", {"keep.txt": b"k", "node_modules/a/1.js": b"1",
                                       "node_modules/a/2.js": b"2", "node_modules/b.js": b"3",
                                       "x.tmp": b"t"})
    (tmp_path / "rules.json").write_text(
        '{"exclude": ["node_modules/", "*.tmp"]}\n')
    env = {**env, "SNAPKIT_CONFIG": str(tmp_path / "rules.json")}
    snap = invoke(["snap", str(src)], env)
    assert snap.code == 0, snap.stderr
    assert "Excluded:    2 paths by rules, not entered" in snap.stdout
    dry = invoke(["snap", str(src), "--dry-run"], env)
    assert "Excluded: 4 files" in dry.stdout, dry.stdout


def test_snapshots_latest_group_by_and_compact(tmp_path: Path, env: dict[str, str]) -> None:
    a = make_tree(tmp_path / "a", {"f": b"a"})
    b = make_tree(tmp_path / "b", {"f": b"b"})
    for src, tag in ((a, "one"), (b, "two"), (a, "three"), (a, "four")):
        assert invoke(["snap", str(src), "-q", "--tag", tag], env).code == 0
    rows = json.loads(invoke(["snapshots", "--json"], env).stdout)
    assert [r["tags"] for r in rows] == [["one"], ["two"], ["three"], ["four"]]
    latest = json.loads(invoke(["snapshots", "--latest", "1", "--json"], env).stdout)
    assert [r["tags"] for r in latest] == [["two"], ["four"]]  # the newest of each source
    groups = json.loads(invoke(["snapshots", "--group-by", "paths", "--latest", "2", "--json"],
                               env).stdout)
    assert [(g["group"]["sources"], [r["tags"][0] for r in g["snapshots"]]) for g in groups] == [
        ([str(a)], ["three", "four"]), ([str(b)], ["two"])]
    text = invoke(["snapshots", "--group-by", "paths", "--compact"], env).stdout
    assert text.startswith(f"group: sources {a}\n")
    assert f"\ngroup: sources {b}\n" in text and text.rstrip().endswith("4 snapshots")
    header = text.splitlines()[1].split()
    assert header == ["ID", "Time", "Host", "Tags"]
    out = invoke(["snapshots", "--group-by", "colour"], env)
    assert out.code == 2 and "unknown field 'colour'" in out.stderr


def test_snap_files_from_and_exclude_file(tmp_path: Path, env: dict[str, str]) -> None:
    a = make_tree(tmp_path / "a", {"keep.txt": b"k", "drop.log": b"d", "sub/x.log": b"x"})
    b = make_tree(tmp_path / "b", {"y.txt": b"y"})
    (tmp_path / "list").write_text(f"# sources\n{a}\n\n{b}\n")
    (tmp_path / "ex").write_text("# no logs\n*.log\n")
    out = invoke(["snap", "--files-from", str(tmp_path / "list"), "--exclude-file",
                  str(tmp_path / "ex"), "--json"], env)
    assert out.code == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert set(summary["sources"]) == {str(a), str(b)}
    listed = invoke(["ls", "latest", "-R", "--json"], env).lines
    paths = {json.loads(line)["path"] for line in listed}
    assert f"{a}/keep.txt" in paths and f"{b}/y.txt" in paths
    assert not any(p.endswith(".log") for p in paths)
    (tmp_path / "empty").write_text("# nothing\n\n")
    bad = invoke(["snap", "--files-from", str(tmp_path / "empty")], env)
    assert bad.code == 2 and "--files-from lists no path" in bad.stderr
    missing = invoke(["snap", "--exclude-file", str(tmp_path / "nope")], env)
    assert missing.code == 2 and "cannot read" in missing.stderr


def test_snap_exclude_if_present_and_exclude_caches(tmp_path: Path, env: dict[str, str]) -> None:
    from snapkit.select.cachedir import CACHEDIR_SIGNATURE

    src = make_tree(tmp_path / "src", {
        "keep/a.txt": b"a",
        "build/.nobackup": b"", "build/out.o": b"o",
        "cache/CACHEDIR.TAG": CACHEDIR_SIGNATURE + b"\n# a cache\n", "cache/blob": b"c",
        "notcache/CACHEDIR.TAG": b"no signature here", "notcache/b.txt": b"b",
    })
    out = invoke(["snap", str(src), "--exclude-if-present", ".nobackup", "--exclude-caches",
                  "--json"], env)
    assert out.code == 0, out.stderr
    listed = invoke(["ls", "latest", "-R", "--json"], env).lines
    paths = {json.loads(line)["path"] for line in listed}
    assert f"{src}/keep/a.txt" in paths and f"{src}/notcache/b.txt" in paths
    assert not any(p.startswith((f"{src}/build", f"{src}/cache/")) for p in paths), paths
    assert f"{src}/cache" not in paths
    dry = invoke(["snap", str(src), "--exclude-caches", "--dry-run"], env)
    assert "holds CACHEDIR.TAG: 2 files" in dry.stdout, dry.stdout


@pytest.mark.skipif(not os.path.isdir("/dev/shm") or os.stat("/dev").st_dev
                    == os.stat("/dev/shm").st_dev, reason="needs /dev/shm mounted below /dev")
def test_snap_one_file_system_leaves_a_mount_point_out(env: dict[str, str]) -> None:
    # A real mount point: /dev/shm (tmpfs) below /dev (devtmpfs). Dry runs: nothing stored.
    crossing = invoke(["snap", "/dev", "--dry-run", "--list"], env)
    assert crossing.code == 0, crossing.stderr
    staying = invoke(["snap", "/dev", "--dry-run", "--list", "--one-file-system"], env)
    assert staying.code == 0, staying.stderr
    assert "on another filesystem (--one-file-system)" in staying.stdout
    assert "/dev/shm" not in {line.rstrip("/") for line in staying.stdout.splitlines()}


def test_errors_under_json_are_json(tmp_path: Path, env: dict[str, str]) -> None:
    for args in (["snapshots", "--json"], ["--json", "snapshots"], ["snap", "--json", "--bogus"]):
        out = invoke(args, {**env, "SNAPKIT_REPO": str(tmp_path / "none")})
        (line,) = out.stderr.strip().splitlines()
        doc = json.loads(line)
        assert doc["event"] == "error" and doc["exit_code"] == out.code != 0, args
        assert not doc["message"].startswith("snapkit:"), doc
    out = invoke(["snapshots"], {**env, "SNAPKIT_REPO": str(tmp_path / "none"),
                                 "SNAPKIT_JSON": "1"})
    assert json.loads(out.stderr)["exit_code"] == 10
    plain = invoke(["snapshots"], {**env, "SNAPKIT_REPO": str(tmp_path / "none")})
    assert plain.stderr.startswith("snapkit: error: no repository at")


def test_progress_says_how_far_and_how_long(tmp_path: Path, env: dict[str, str]) -> None:
    from snapkit.cli.snap_view import progress_text
    from snapkit.ops.snap import SnapProgress

    src = make_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(20_000) for i in range(20)})
    assert invoke(["snap", str(src), "-q"], env).code == 0
    events = [json.loads(line) for line in invoke(["snap", str(src), "--json"], env).lines]
    progress = [e for e in events if e["event"] == "progress"]
    assert progress, events
    last = progress[-1]
    assert (last["total_files"], last["total_bytes"]) == (20, 400_000)  # the parent's
    assert 0 <= last["percent"] <= 100 and "eta_s" in last and "elapsed_s" in last
    first = [json.loads(line) for line in invoke(["snap", str(src), "--json", "--force"],
                                                 env).lines]
    assert all(e["total_files"] == 20 for e in first if e["event"] == "progress")
    half = SnapProgress(10, 1, 200_000, 200_000, 4.0, "/src/f9.bin", 20, 400_000)
    assert half.fraction == 0.5 and half.eta_s == 4.0
    assert progress_text(half) == ("10/20 files  195.3 KiB/390.6 KiB  50%  48.8 KiB/s  0:04  "
                                   "ETA 0:04  /src/f9.bin")
    alone = SnapProgress(3, 1, 100, 100, 0.5, "/x", None, None)
    assert alone.eta_s is None and progress_text(alone) == "3 files  100 B  200 B/s  0:00  /x"


def test_restore_and_export_lines_show_the_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from snapkit.cli.common import FileProgress, Settings
    from snapkit.ops.events import FileWritten

    with FileProgress(Settings()) as progress:
        progress.line.enabled = True  # as on a terminal
        progress.started -= 2.0  # two seconds in
        progress.on_event(FileWritten("/t/a.bin", 4 << 20, 3, 8 << 20))
        err = capsys.readouterr().err
        progress.on_event(FileWritten("/t/b.bin", 4 << 20, 4, 8 << 20, 10, 32 << 20))
        planned = capsys.readouterr().err
    assert "3 files  8.0 MiB  4.0 MiB/s  0:02  /t/a.bin" in err
    # Once restore has planned: done of the totals, percent, and the time left at this pace.
    assert "4/10 files  8.0 MiB/32.0 MiB  25%  4.0 MiB/s  0:02  ETA 0:06  /t/b.bin" in planned


def test_restore_plans_its_totals(tmp_path: Path, env: dict[str, str]) -> None:
    from snapkit.ops.events import FileWritten
    from snapkit.ops.restore import restore as run_restore

    src = make_tree(tmp_path / "src", {f"f{i}": b"x" * 1000 for i in range(5)})
    assert invoke(["snap", str(src), "-q"], env).code == 0
    seen: list[FileWritten] = []
    run_restore(tmp_path / "repo", "latest", str(tmp_path / "t"), progress_interval=0,
                on_event=lambda e: seen.append(e) if isinstance(e, FileWritten) else None)
    assert [(e.files, e.total_files, e.total_bytes) for e in seen][-1] == (5, 5, 5000)
