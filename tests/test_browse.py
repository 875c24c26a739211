"""``snapkit show``, ``ls``, ``cat`` and ``find``: looking inside snapshots without restoring.

Two sources are snapshotted twice (``README.md`` changes in between); the manifest is shown as
text and JSON, directories are listed (short, long, recursive; absolute and source-relative
paths), files are streamed byte-identical (a multi-MB file of many chunks too, also through a
real ``python -m snapkit cat > file``), and ``find`` reports which snapshots hold which paths.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    ISOLATE_VARS,
    CliResult,
    File,
    Symlink,
    cli_env,
    env_for,
    init_repo,
    invoke_main,
    make_tree,
    take,
)

from snapkit.capture.file import Captured, Unreadable, Vanished, capture_file
from snapkit.cli.common import human_bytes, local_time
from snapkit.cli.snap_view import exit_code
from snapkit.format.errors import EXIT_INCOMPLETE
from snapkit.format.paths import split_path
from snapkit.store.repository import Repository

T0 = 1_700_000_000 * 10**9
T1 = 1_710_000_000 * 10**9
BIG = 5 * 1024 * 1024 + 123


# --------------------------------------------------------------------------- helpers


class Out(CliResult):
    """A :class:`~helpers.CliResult` with the raw stdout bytes as ``raw`` (``cat``)."""

    @property
    def raw(self) -> bytes:
        return self.stdout_bytes


def invoke(args: Sequence[str], env: dict[str, str]) -> Out:
    """The console entry point ``main()`` in-process, with click's stream/env isolation."""
    r = invoke_main(args, env, isolate=ISOLATE_VARS)
    return Out(r.code, r.stdout_bytes, r.stderr)


def assert_one_line_error(out: Out, code: int, *needles: str) -> None:
    assert out.code == code, (out.code, out.stderr)
    assert out.raw == b""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("snapkit: error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def owner(path: Path) -> str:
    import grp
    import pwd

    st = os.lstat(path)
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}/{group}"


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class World:
    base: Path
    src: Path
    other: Path
    env: dict[str, str]
    first: str
    second: str
    old_readme: bytes
    big: bytes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("browse").resolve()
    big = random.Random(7).randbytes(BIG)
    old_readme = b"# hello\n"
    src = make_tree(base / "src", {
        "README.md": File(old_readme, mtime_ns=T0),
        "bin/run.sh": File(b"#!/bin/sh\necho hi\n", mode=0o755, mtime_ns=T0),
        "data/big.bin": File(big, mtime_ns=T0),
        "data/empty": File(b"", mtime_ns=T0),
        "docs/guide.md": File(b"guide\n" * 100, mtime_ns=T0),
        "docs/api/ref.md": File(b"ref\n", mtime_ns=T0),
        "secret.key": File(b"k3y", mode=0o600, mtime_ns=T0),
        "link": Symlink("README.md"),
        "data/dangling": Symlink("/nonexistent/target"),
    })
    other = make_tree(base / "other", {"x.txt": File(b"x\n", mtime_ns=T0)})
    env = env_for(base)
    out = invoke(["snap", "-q", str(src), str(other), "--tag", "first", "--host", "h1"], env)
    assert out.code == 0, out.stderr
    first = out.stdout.strip()
    (src / "README.md").write_bytes(b"# hello, changed and longer\n")
    os.utime(src / "README.md", ns=(T1, T1))
    out = invoke(["snap", "-q", str(src), str(other), "--tag", "second", "--tag", "x",
                  "--host", "h1"], env)
    assert out.code == 0, out.stderr
    second = out.stdout.strip()
    return World(base, src, other, env, first, second, old_readme, big)


# --------------------------------------------------------------------------- show


def test_show_text(world: World) -> None:
    out = invoke(["show", world.second[:8]], world.env)
    assert out.code == 0, out.stderr
    lines = out.lines
    assert lines[0] == f"snapshot {world.second}"
    text = out.stdout
    assert "  host:     h1 (user " in text
    assert "  mode:     full\n" in text
    assert "  tags:     second, x\n" in text
    assert f"  parent:   {world.first}\n" in text
    assert f"  source:   {world.other}\n  source:   {world.src}\n" in text
    snap = Repository.open(world.base / "repo").load_snapshot(world.second)
    assert f"  time:     {local_time(snap.time_ns)}\n" in text
    total = sum(f.stat().st_size for f in world.src.rglob("*") if f.is_file()
                and not f.is_symlink()) + 2
    assert f"  files:    8 ({human_bytes(total)}): 0 new, 1 changed, 7 unmodified\n" in text
    assert "  dirs:     " in text and "symlinks recorded: 0" in text
    assert "  skipped:  2\n" in text
    assert f"    symlink    {world.src}/data/dangling -> /nonexistent/target" in lines
    assert f"    symlink    {world.src}/link -> README.md" in lines
    assert "service:" not in text  # none recorded
    first = invoke(["show", "first"], world.env).stdout
    assert "  parent:   -\n" in first
    assert "  files:    8 " in first and ": 8 new, 0 changed, 0 unmodified" in first


def test_show_json(world: World) -> None:
    out = invoke(["show", "latest", "--json"], world.env)
    assert out.code == 0, out.stderr
    (doc,) = out.json_lines()
    assert doc["id"] == world.second
    assert doc["host"] == "h1"
    assert doc["sources"] == sorted([str(world.src), str(world.other)])
    assert doc["mode"] == "full"
    assert doc["tags"] == ["second", "x"]
    assert doc["parent"] == world.first
    assert doc["service"] == {}
    s = doc["summary"]
    assert (s["total_files"], s["files_new"], s["files_changed"], s["files_unmodified"]) == (
        8, 0, 1, 7)
    assert s["total_bytes"] == BIG + 28 + 18 + 600 + 4 + 3 + 2
    assert s["dirs"] == 6  # src, bin, data, docs, docs/api, other
    assert sorted(doc["skipped"], key=lambda k: k["path"]) == [
        {"path": f"{world.src}/data/dangling", "reason": "symlink",
         "detail": "/nonexistent/target"},
        {"path": f"{world.src}/link", "reason": "symlink", "detail": "README.md"},
    ]
    assert {"time", "time_ns", "username", "tree", "program_version", "rules", "warnings"} <= (
        doc.keys())


def test_show_vanished_unreadable_and_service(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"ok": b"ok", "gone": b"g", "locked": b"l"})

    def flaky(path: str, *args: Any, **kwargs: Any) -> Captured:
        """The builder's file reader (injected): one file vanishes, one cannot be read."""
        if path.endswith("/gone"):
            raise Vanished(path)
        if path.endswith("/locked"):
            raise Unreadable("Permission denied")
        return capture_file(path, *args, **kwargs)

    env = env_for(tmp_path)
    repo = init_repo(tmp_path / "repo")
    sid, snapshot = take(repo, src, capture=flaky)
    assert exit_code(snapshot) == EXIT_INCOMPLETE  # `snap` exits 3: something was unreadable
    # The gateway stop/start record, as `snap` writes it when a service policy applied.
    service = {"policy": "auto", "detected": "gateway running (pid 4242)",
               "decision": "stopped for the snapshot", "stopped": True, "restarted": True}
    crafted = repo.save_snapshot(replace(repo.load_snapshot(sid), service=service,
                                         time_ns=repo.load_snapshot(sid).time_ns + 1))
    text = invoke(["show", crafted], env).stdout
    assert f"    vanished   {src}/gone" in text.splitlines()
    assert f"    unreadable {src}/locked: Permission denied" in text.splitlines()
    assert "  skipped:  2\n" in text
    assert ("  service:  policy auto, stopped for the snapshot; the gateway was stopped for "
            "the snapshot and started again" in text.splitlines())
    (doc,) = invoke(["show", crafted, "--json"], env).json_lines()
    assert doc["service"] == service
    assert {(k["reason"], k["path"], k["detail"]) for k in doc["skipped"]} == {
        ("vanished", f"{src}/gone", ""), ("unreadable", f"{src}/locked", "Permission denied")}
    assert doc["summary"]["total_files"] == 1


def test_show_unknown_snapshot(world: World) -> None:
    assert_one_line_error(invoke(["show", "ffffeeee"], world.env), 2, "ffffeeee")


# --------------------------------------------------------------------------- ls


def test_ls_default_lists_each_source(world: World) -> None:
    out = invoke(["ls", "latest"], world.env)
    assert out.code == 0, out.stderr
    s, o = world.src, world.other
    assert out.lines == [  # sources in manifest order (sorted), entries by name; no links
        f"{o}/x.txt",
        f"{s}/README.md", f"{s}/bin/", f"{s}/data/", f"{s}/docs/", f"{s}/secret.key",
    ]


def test_ls_absolute_and_relative_paths(world: World) -> None:
    s = world.src
    want = [f"{s}/docs/api/", f"{s}/docs/guide.md"]
    assert invoke(["ls", "latest", str(s / "docs")], world.env).lines == want
    assert invoke(["ls", "latest", str(s / "docs") + "/"], world.env).lines == want
    assert invoke(["ls", "latest", "docs"], world.env).lines == want  # relative to a source
    assert invoke(["ls", "latest", "./docs/api"], world.env).lines == [f"{s}/docs/api/ref.md"]
    assert invoke(["ls", "latest", "x.txt"], world.env).lines == [f"{world.other}/x.txt"]
    assert invoke(["ls", "latest", str(s)], world.env).lines == invoke(
        ["ls", "latest"], world.env).lines[1:]
    # Above the sources: the stored path components.
    assert invoke(["ls", "latest", str(s.parent)], world.env).lines == [
        f"{world.other}/", f"{s}/"]
    assert_one_line_error(invoke(["ls", "latest", "nope"], world.env), 2, "nope",
                          "not in the snapshot")
    assert_one_line_error(invoke(["ls", "latest", "link"], world.env), 2, "link")


def test_ls_long(world: World) -> None:
    out = invoke(["ls", "-l", "latest"], world.env)
    assert out.code == 0, out.stderr
    s = world.src
    rows = {line.split()[-1]: line for line in out.lines}
    for rel, mode in (("README.md", "-rw-r--r--"), ("secret.key", "-rw-------"),
                      ("bin/", "drwxr-xr-x")):
        path = s / rel.rstrip("/")
        st = os.lstat(path)
        size = st.st_size if rel[-1] != "/" else 0
        assert stat.filemode(st.st_mode) == mode
        want = (f"{mode} {owner(path):<15} {size:>12,} {local_time(st.st_mtime_ns)} "
                f"{s}/{rel}")
        assert rows[f"{s}/{rel}"] == want
    assert local_time(T1) in rows[f"{s}/README.md"]
    big = invoke(["ls", "-l", "latest", "data/big.bin"], world.env).lines
    assert len(big) == 1
    assert f" {BIG:,} {local_time(T0)} {s}/data/big.bin" in big[0]
    assert big[0].startswith("-rw-r--r-- ")
    old = invoke(["ls", "-l", world.first, "README.md"], world.env).lines
    assert f" {len(world.old_readme):>12,} {local_time(T0)} {s}/README.md" in old[0]


def test_ls_recursive(world: World) -> None:
    out = invoke(["ls", "-R", "latest", str(world.src)], world.env)
    assert out.code == 0, out.stderr
    s = world.src
    assert out.lines == [
        f"{s}/README.md", f"{s}/bin/", f"{s}/bin/run.sh", f"{s}/data/", f"{s}/data/big.bin",
        f"{s}/data/empty", f"{s}/docs/", f"{s}/docs/api/", f"{s}/docs/api/ref.md",
        f"{s}/docs/guide.md", f"{s}/secret.key",
    ]
    recursive_all = invoke(["ls", "-R", "latest"], world.env).lines
    assert recursive_all == [f"{world.other}/x.txt", *out.lines]
    rows = invoke(["ls", "-R", "-l", "latest", "docs"], world.env).lines
    assert [r.split()[0] for r in rows] == ["drwxr-xr-x", "-rw-r--r--", "-rw-r--r--"]
    docs = invoke(["ls", "-R", "--json", "latest", "docs"], world.env).json_lines()
    assert [(d["path"], d["type"], d["size"]) for d in docs] == [
        (f"{s}/docs/api", "dir", 0), (f"{s}/docs/api/ref.md", "file", 4),
        (f"{s}/docs/guide.md", "file", 600)]


# --------------------------------------------------------------------------- cat


def test_cat_is_byte_identical(world: World) -> None:
    s = world.src
    for rel in ("README.md", "bin/run.sh", "docs/guide.md", "secret.key", "data/empty"):
        out = invoke(["cat", "latest", str(s / rel)], world.env)
        assert out.code == 0, out.stderr
        assert out.raw == (s / rel).read_bytes(), rel
    assert invoke(["cat", "latest", "README.md"], world.env).raw == (s / "README.md").read_bytes()
    assert invoke(["cat", world.first, "README.md"], world.env).raw == world.old_readme
    assert invoke(["cat", "latest", "x.txt"], world.env).raw == b"x\n"


def test_cat_big_file_of_many_chunks(world: World) -> None:
    repo = Repository.open(world.base / "repo")
    snap = repo.load_snapshot(world.second)
    tree = snap.tree
    node = None
    for name in split_path(str(world.src / "data" / "big.bin")):
        node = repo.load_tree(tree).by_name()[name]
        tree = node.subtree or ""
    assert node is not None and node.size == BIG
    assert len(node.content) >= 10  # spans many chunks
    out = invoke(["cat", "latest", "data/big.bin"], world.env)
    assert out.code == 0, out.stderr
    assert len(out.raw) == BIG
    assert out.raw == world.big


def test_cat_through_a_real_subprocess(world: World, tmp_path: Path) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=world.env["SNAPKIT_REPO"],
                  OPENCLAW_STATE_DIR=str(tmp_path / "no-openclaw"))
    dest = tmp_path / "out.bin"
    with open(dest, "wb") as f:
        p = subprocess.run([sys.executable, "-m", "snapkit", "cat", world.second[:10],
                            str(world.src / "data" / "big.bin")], env=env, stdout=f,
                           stderr=subprocess.PIPE, timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stderr == b""
    assert dest.read_bytes() == world.big
    p = subprocess.run([sys.executable, "-m", "snapkit", "cat", "latest", "docs"], env=env,
                       capture_output=True, timeout=60, check=False)
    assert p.returncode == 2
    assert p.stdout == b""
    assert len(p.stderr.decode().strip().splitlines()) == 1


def test_cat_errors(world: World) -> None:
    out = invoke(["cat", "latest", "docs"], world.env)
    assert_one_line_error(out, 2, "docs", "not a file", "snapkit ls")
    out = invoke(["cat", "latest", str(world.src)], world.env)
    assert_one_line_error(out, 2, str(world.src), "not a file")
    out = invoke(["cat", "latest", "no/such/file"], world.env)
    assert_one_line_error(out, 2, "no/such/file", "not in the snapshot")
    out = invoke(["cat", "latest", "link"], world.env)  # skipped symlink: not stored
    assert_one_line_error(out, 2, "link")


# --------------------------------------------------------------------------- find


def test_find_lists_snapshots_with_size_and_mtime(world: World) -> None:
    out = invoke(["find", "README.md"], world.env)
    assert out.code == 0, out.stderr
    readme = f"{world.src}/README.md"
    repo = Repository.open(world.base / "repo")
    t1 = local_time(repo.load_snapshot(world.first).time_ns)
    t2 = local_time(repo.load_snapshot(world.second).time_ns)
    assert out.lines == [
        f"{world.first[:8]}  {t1}  {human_bytes(8):>10}  {local_time(T0)}  {readme}",
        f"{world.second[:8]}  {t2}  {human_bytes(28):>10}  {local_time(T1)}  {readme}",
    ]
    out = invoke(["find", "README.md", "--snapshot", "first"], world.env)
    assert out.lines == [
        f"{world.first[:8]}  {t1}  {human_bytes(8):>10}  {local_time(T0)}  {readme}"]


def test_find_glob_does_not_list_directories_holding_matches(world: World) -> None:
    s = world.src
    out = invoke(["find", "*.md", "-s", "latest"], world.env)
    assert out.code == 0, out.stderr
    assert [line.split("  ")[-1] for line in out.lines] == [
        f"{s}/README.md", f"{s}/docs/api/ref.md", f"{s}/docs/guide.md"]
    everywhere = invoke(["find", "*.md"], world.env).lines
    assert len(everywhere) == 6
    assert [line[:8] for line in everywhere] == [world.first[:8]] * 3 + [world.second[:8]] * 3
    # A directory is listed when it matches itself.
    out = invoke(["find", "api", "-s", "latest"], world.env)
    assert [line.split("  ")[-1] for line in out.lines] == [f"{s}/docs/api/"]
    assert f"  {'-':>10}  " in out.lines[0]  # no size for a directory
    anchored = invoke(["find", f"{s}/docs/**", "-s", "latest"], world.env).lines
    assert [line.split("  ")[-1] for line in anchored] == [
        f"{s}/docs/api/", f"{s}/docs/api/ref.md", f"{s}/docs/guide.md"]


def test_find_json_and_no_match(world: World) -> None:
    rows = invoke(["find", "*.bin", "--json"], world.env).json_lines()
    assert [(r["snapshot"], r["path"], r["type"], r["size"], r["mtime_ns"]) for r in rows] == [
        (world.first, f"{world.src}/data/big.bin", "file", BIG, T0),
        (world.second, f"{world.src}/data/big.bin", "file", BIG, T0),
    ]
    assert all("time" in r for r in rows)
    out = invoke(["find", "*.nothing"], world.env)
    assert out.code == 0
    assert out.raw == b""
    assert "no snapshot holds a path matching '*.nothing'" in out.stderr
    assert invoke(["find", "*.nothing", "--json"], world.env).raw == b""



def test_ls_gives_a_symlinks_size_as_its_targets_length(tmp_path: Path) -> None:
    """As `ls -l` does: a recorded symlink's size is the length of its target in bytes."""
    from helpers import env_for, invoke_main, make_tree

    src = make_tree(tmp_path / "src", {"a.txt": b"abc"})
    (src / "link").symlink_to("a.txt")
    env = env_for(tmp_path)
    assert invoke_main(["snap", "-q", "--symlinks", "record", str(src)], env).code == 0
    out = invoke_main(["ls", "latest", str(src), "--json"], env)
    assert out.code == 0, out.stderr
    sizes = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)["size"]
             for line in out.lines}
    assert sizes["link"] == len("a.txt") and sizes["a.txt"] == 3
    long = invoke_main(["ls", "-l", "latest", str(src)], env)
    assert any(line.split()[2] == "5" and "-> a.txt" in line for line in long.lines)
