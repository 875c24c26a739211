"""``snapkit diff``: golden output on a generated OpenClaw pair, JSON lines, ``--stat``,
``--name-only``, ``--include``/``--exclude``, the subtree short-circuit of ``diff_trees``
(counted tree loads), and the diff against the live tree (metadata and ``--content``).

Goldens live in ``tests/golden/``; ``UPDATE_GOLDEN=1 pytest tests/test_diff.py`` rewrites them.
The temporary root is replaced by ``<ROOT>`` before comparing. The fixture generator is
deterministic (names, contents, mtimes) and so are the SQLite online-backup copies of its
databases (same pages, same sizes), so no line needs to be normalised beyond the root prefix.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    ISOLATE_VARS,
    CliResult,
    Dir,
    File,
    Symlink,
    env_for,
    init_repo,
    invoke_main,
    make_tree,
    take,
)

from fixtures.openclaw_tree import MutationInfo, generate, make_wal_database, mutate
from snapkit.format.model import NODE_DIR, Tree
from snapkit.format.paths import split_path
from snapkit.read.diff import DiffStats, diff_stats, diff_trees
from snapkit.store.repository import Repository

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
SEED = 3
SCALE = 0.02
MARKERS = {"+", "-", "M", "T", "U"}


# --------------------------------------------------------------------------- helpers


Out = CliResult


def invoke(args: Sequence[str], env: dict[str, str]) -> Out:
    """The console entry point ``main()`` in-process, with click's stream/env isolation."""
    return invoke_main(args, env, isolate=ISOLATE_VARS)


def snap_id(args: Sequence[str], env: dict[str, str]) -> str:
    out = invoke(["snap", "-q", *args], env)
    assert out.code == 0, out.stderr
    return out.stdout.strip()


def parse_text(stdout: str) -> tuple[list[tuple[str, str, str]], str]:
    """(marker, path, sizes) per change line, and the totals line."""
    lines = stdout.splitlines()
    assert lines[-1].startswith("Added: "), stdout
    assert lines[-2] == "", stdout
    changes = []
    for line in lines[:-2]:
        marker, rest = line[0], line[3:]
        assert marker in MARKERS and line[1:3] == "  ", line
        path, _, sizes = rest.partition("  ")
        changes.append((marker, path, sizes))
    return changes, lines[-1]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), f"output differs from {path} (UPDATE_GOLDEN=1 rewrites it)"


# --------------------------------------------------------------------------- the fixture pair


@dataclass(frozen=True)
class Pair:
    base: Path
    state: Path
    env: dict[str, str]
    a: str
    b: str
    info: MutationInfo
    extra: dict[str, str]  # path relative to the state dir -> marker, our own edits

    def norm(self, text: str) -> str:
        return text.replace(str(self.base), "<ROOT>")

    def abs(self, rel: str) -> str:
        return str(self.state / rel)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """Generated state dir → snapshot A → ``mutate`` + edits for U/T/- → snapshot B.

    Both snapshots record symlinks (``--symlinks record``) so that a file replaced by a
    symlink is a type change."""
    base = tmp_path_factory.mktemp("diffpair").resolve()
    state = generate(base / "home" / ".openclaw", seed=SEED, scale=SCALE).root
    env = env_for(base, state)
    a = snap_id(["--symlinks", "record"], env)
    info = mutate(state, seed=1)
    ws = state / "workspace"
    extra: dict[str, str] = {}
    os.chmod(ws / "SOUL.md", 0o600)  # metadata only: mode
    extra["workspace/SOUL.md"] = "U"
    st = os.stat(ws / "USER.md")
    os.utime(ws / "USER.md", ns=(st.st_atime_ns, st.st_mtime_ns + 3_000_000_000))  # mtime only
    extra["workspace/USER.md"] = "U"
    os.chmod(ws / "canvas", 0o700)  # a directory's mode
    extra["workspace/canvas"] = "U"
    (ws / "TOOLS.md").unlink()  # file -> directory
    make_tree(ws / "TOOLS.md", {"index.md": File(b"# tools\n", mtime_ns=1_790_000_000 * 10**9)})
    extra["workspace/TOOLS.md"] = "T"
    extra["workspace/TOOLS.md/index.md"] = "+"
    (ws / "IDENTITY.md").unlink()  # file -> symlink
    os.symlink("AGENTS.md", ws / "IDENTITY.md")
    extra["workspace/IDENTITY.md"] = "T"
    notes = sorted(p.relative_to(state).as_posix() for p in (ws / "notes").rglob("*"))
    shutil.rmtree(ws / "notes")  # a whole directory removed
    extra["workspace/notes"] = "-"
    extra.update(dict.fromkeys(notes, "-"))
    b = snap_id(["--symlinks", "record"], env)
    return Pair(base, state, env, a, b, info, extra)


def test_golden_text_diff_of_fixture_pair(pair: Pair) -> None:
    out = invoke(["diff", pair.a, pair.b], pair.env)
    assert out.code == 0, out.stderr
    assert out.stderr == ""
    check_golden("diff_openclaw_seed3.txt", pair.norm(out.stdout))

    changes, totals = parse_text(out.stdout)
    markers = {m for m, _, _ in changes}
    assert markers == MARKERS  # every kind of marker shows up
    by_path = {p.rstrip("/"): (m, s) for m, p, s in changes}
    assert len(by_path) == len(changes)  # one line per path
    # Our own edits, with their markers.
    for rel, marker in pair.extra.items():
        assert by_path[pair.abs(rel)][0] == marker, rel
    assert by_path[pair.abs("workspace/SOUL.md")][1] == ""  # U lines carry no sizes
    assert by_path[pair.abs("workspace/TOOLS.md")][1] == "618 B -> 0 B"
    # mutate()'s changes, as far as the OpenClaw rules keep them (logs/ is volatile).
    snapped = [p for p in (*pair.info.appended, *pair.info.modified)
               if not p.startswith("logs/") and not p.endswith(("-wal", "-shm"))]
    assert snapped
    for rel in snapped:
        marker, sizes = by_path[pair.abs(rel)]
        assert marker == "M", rel
        assert " -> " in sizes, rel
    for rel in pair.info.added:
        assert by_path[pair.abs(rel)][0] == "+", rel
        assert by_path[pair.abs(rel)][1].startswith("+"), rel
    deleted = [p for p in pair.info.deleted if not p.endswith(("-wal", "-shm"))]
    for rel in deleted:
        assert by_path[pair.abs(rel)][0] == "-", rel
        assert by_path[pair.abs(rel)][1].startswith("-"), rel
    assert pair.abs("logs/gateway.err.log") not in by_path  # excluded, although touched
    # Totals agree with the lines above.
    count = {m: sum(1 for x, _, _ in changes if x == m) for m in MARKERS}
    assert totals.startswith(f"Added: {count['+']} (")
    assert f"Removed: {count['-']} (" in totals
    assert f"Modified: {count['M']} (+" in totals
    assert totals.endswith(f"Type changed: {count['T']}  Metadata: {count['U']}")
    # Path order: bytewise, a directory right before its entries.
    paths = [os.fsencode(p.rstrip("/")) for _, p, _ in changes]
    assert paths == sorted(paths)


def test_json_lines(pair: Pair) -> None:
    text, _ = parse_text(invoke(["diff", pair.a, pair.b], pair.env).stdout)
    out = invoke(["diff", pair.a, pair.b, "--json"], pair.env)
    assert out.code == 0, out.stderr
    events = out.json_lines()  # every line is one JSON object
    assert len(events) == len(text) + 1
    *changes, summary = events
    assert summary["event"] == "summary"
    assert (summary["from"], summary["to"]) == (pair.a, pair.b)
    stats: Counter[str] = Counter()  # the totals, recounted from the change lines
    for c, (marker, path, _) in zip(changes, text, strict=True):
        assert c["event"] == "change"
        assert c["marker"] == marker
        assert c["path"] == path.rstrip("/")
        assert set(c) == {"event", "marker", "path", "type", "old", "new"}
        if marker == "+":
            assert c["old"] is None and c["new"] is not None
        elif marker == "-":
            assert c["old"] is not None and c["new"] is None
        else:
            assert c["old"] is not None and c["new"] is not None
        for side in (c["old"], c["new"]):
            if side is not None:
                assert {"type", "size", "mode", "mtime_ns", "uid", "gid"} <= side.keys()
        old: dict[str, Any] = c["old"] or {}
        new: dict[str, Any] = c["new"] or {}
        if marker == "M":
            assert old["type"] == new["type"] == "file"
        if marker == "T":
            assert old["type"] != new["type"]
        stats["added"] += marker == "+"
        stats["removed"] += marker == "-"
        stats["modified"] += marker == "M"
        stats["type_changed"] += marker == "T"
        stats["metadata"] += marker == "U"
        if marker == "+" and new["type"] == "file":
            stats["added_bytes"] += new["size"]
        if marker == "-" and old["type"] == "file":
            stats["removed_bytes"] += old["size"]
    for key in ("added", "removed", "modified", "type_changed", "metadata", "added_bytes",
                "removed_bytes"):
        assert summary[key] == stats[key], key
    by_path = {c["path"]: c for c in changes}
    soul = by_path[pair.abs("workspace/SOUL.md")]
    assert (soul["old"]["mode"], soul["new"]["mode"]) == ("0o644", "0o600")
    user = by_path[pair.abs("workspace/USER.md")]
    assert user["new"]["mtime_ns"] - user["old"]["mtime_ns"] == 3_000_000_000
    link = by_path[pair.abs("workspace/IDENTITY.md")]
    assert (link["old"]["type"], link["new"]["type"]) == ("file", "symlink")
    assert link["new"]["target"] == "AGENTS.md"
    tools = by_path[pair.abs("workspace/TOOLS.md")]
    assert (tools["old"]["type"], tools["new"]["type"], tools["type"]) == ("file", "dir", "dir")


def test_stat_prints_only_the_totals(pair: Pair) -> None:
    _, totals = parse_text(invoke(["diff", pair.a, pair.b], pair.env).stdout)
    out = invoke(["diff", pair.a, pair.b, "--stat"], pair.env)
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines() == [totals]
    out = invoke(["diff", pair.a, pair.b, "--stat", "--json"], pair.env)
    events = out.json_lines()
    assert len(events) == 1 and events[0]["event"] == "summary"


def test_name_only(pair: Pair) -> None:
    text, _ = parse_text(invoke(["diff", pair.a, pair.b], pair.env).stdout)
    out = invoke(["diff", pair.a, pair.b, "--name-only"], pair.env)
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines() == [p for _, p, _ in text]  # no markers, sizes or totals
    assert pair.abs("workspace/TOOLS.md") + "/" in out.stdout.splitlines()


def test_include_and_exclude(pair: Pair) -> None:
    text, _ = parse_text(invoke(["diff", pair.a, pair.b], pair.env).stdout)
    files = [p for _, p, _ in text if not p.endswith("/")]
    all_paths = [p.rstrip("/") for _, p, _ in text]

    def paths(*args: str) -> list[str]:
        out = invoke(["diff", pair.a, pair.b, "--name-only", *args], pair.env)
        assert out.code == 0, out.stderr
        return [p.rstrip("/") for p in out.stdout.splitlines()]

    jsonl = paths("--include", "*.jsonl")  # directory lines too follow the include
    assert jsonl == [p for p in files if p.endswith(".jsonl")]
    assert len(jsonl) >= 6
    assert paths("--include", "*.jsonl", "--include", "*.md") == [  # TOOLS.md/ matches itself
        p for p in all_paths if p.endswith((".jsonl", ".md"))]
    assert paths("--include", "canvas") == [pair.abs("workspace/canvas")]  # named itself
    assert paths("--exclude", "*.jsonl") == [p for p in all_paths if not p.endswith(".jsonl")]
    ws = pair.abs("workspace")
    assert paths("--include", ws + "/**") == [p for p in all_paths if p.startswith(ws + "/")]
    assert paths("--include", ws) == [p for p in all_paths if p.startswith(ws + "/")]
    assert paths("--include", "*.jsonl", "--exclude", "**/agents/research/**") == [
        p for p in jsonl if "/agents/research/" not in p]
    # Excluding a directory leaves out everything below it, whether or not the directory
    # itself has a line of its own (notes/ is removed; sessions/ only has changed entries).
    assert paths("--exclude", "notes") == [p for p in all_paths if "/workspace/notes" not in p]
    assert paths("--exclude", "sessions") == [p for p in all_paths if "/sessions/" not in p]
    assert paths("--exclude", pair.abs("agents")) == [
        p for p in all_paths if not p.startswith(pair.abs("agents/"))]
    out = invoke(["diff", pair.a, pair.b, "--include", "*.md", "--json"], pair.env)
    *changes, summary = out.json_lines()
    assert all(c["path"].endswith(".md") for c in changes)
    assert summary["added"] == sum(c["marker"] == "+" for c in changes)  # totals follow filters


def test_include_leaves_out_unmatched_directory_lines(pair: Pair) -> None:
    """A directory passes the filter when something below it could match; its own U/T/+/-
    line is shown only when a pattern names it or a directory above it."""
    out = invoke(["diff", pair.a, pair.b, "--name-only", "--include", "*.jsonl"], pair.env)
    assert out.code == 0, out.stderr
    assert all(p.endswith(".jsonl") for p in out.stdout.splitlines()), out.stdout


def test_diff_same_snapshot_is_empty(pair: Pair) -> None:
    out = invoke(["diff", pair.b, pair.b], pair.env)
    assert out.code == 0
    assert out.stdout.splitlines() == [
        "Added: 0 (0 B)  Removed: 0 (0 B)  Modified: 0 (+0 B)  Type changed: 0  Metadata: 0"
    ]


# --------------------------------------------------------------------------- short-circuit


def _counting(repo: Repository) -> tuple[list[str], Any]:
    calls: list[str] = []

    def load(tree_id: str) -> Tree:
        calls.append(tree_id)
        return repo.load_tree(tree_id)

    return calls, load


def _ancestor_trees(repo: Repository, root: str, parts: tuple[str, ...]) -> list[str]:
    """The ids of the trees along ``parts`` (the root first, the file's directory last)."""
    ids = [root]
    for name in parts[:-1]:
        node = repo.load_tree(ids[-1]).by_name()[name]
        assert node.type == NODE_DIR and node.subtree
        ids.append(node.subtree)
    return ids


def _all_trees(repo: Repository, root: str) -> set[str]:
    seen: set[str] = set()
    todo = [root]
    while todo:
        tid = todo.pop()
        if tid in seen:
            continue
        seen.add(tid)
        todo.extend(n.subtree for n in repo.load_tree(tid).nodes if n.subtree)
    return seen


def test_diff_trees_skips_equal_subtrees(tmp_path: Path) -> None:
    """200 directories × 20 files; one file deep inside changes: the diff loads only the trees
    on the path to it (two per level), not the other ~200."""
    big = tmp_path / "big"
    spec: dict[str, Any] = {}
    for d in range(200):
        for f in range(20):
            spec[f"g{d // 20:02d}/d{d:03d}/f{f:02d}.txt"] = File(f"{d}/{f}\n".encode(),
                                                               mtime_ns=10**18)
    deep = "g07/d140/x/y/z/deep.txt"
    spec[deep] = File(b"before\n", mtime_ns=10**18)
    make_tree(big, spec)
    repo = init_repo(tmp_path / "repo")
    _, s1 = take(repo, big, workers=4)
    (big / deep).write_bytes(b"after!!\n")
    _, s2 = take(repo, big, workers=4)
    assert s1.tree != s2.tree
    total = _all_trees(repo, s2.tree)
    assert len(total) > 210

    parts = split_path(str(big / deep))
    depth = len(parts)  # trees from the root's down to the changed file's directory's
    calls, load = _counting(repo)
    changes = list(diff_trees(load, s1.tree, s2.tree))
    assert [(c.marker, c.path) for c in changes] == [("M", str(big / deep))]
    assert len(calls) <= 2 * depth, (len(calls), depth)
    assert len(calls) < len(total) / 5
    # Exactly the trees along the path, on both sides.
    on_path = set(_ancestor_trees(repo, s1.tree, parts)) | set(
        _ancestor_trees(repo, s2.tree, parts))
    assert set(calls) <= on_path
    assert len(set(calls)) == len(on_path) == 2 * depth

    calls.clear()
    assert list(diff_trees(load, s2.tree, s2.tree)) == []
    assert calls == []  # identical root ids: nothing loaded
    everything = list(diff_trees(load, None, s2.tree))  # the cost without any short-circuit
    assert len(everything) > 4000
    files = [c for c in everything if c.new is not None and c.new.type == "file"]
    assert diff_stats(changes) == DiffStats(modified=1, modified_old_bytes=7,
                                            modified_new_bytes=8)
    assert diff_stats(everything) == DiffStats(added=len(everything),
                                               added_bytes=sum(c.new.size for c in files
                                                               if c.new is not None))
    assert len(calls) == len(total)

    # A change at the top of the source costs as little; a sibling directory's file too.
    (big / "top.txt").write_bytes(b"new\n")
    _, s3 = take(repo, big, workers=4)
    calls.clear()
    changes = list(diff_trees(load, s2.tree, s3.tree))
    assert [(c.marker, c.path) for c in changes] == [("+", str(big / "top.txt"))]
    assert len(calls) <= 2 * len(split_path(str(big))) + 2


# --------------------------------------------------------------------------- live tree

T0 = 1_700_000_000 * 10**9


def _markers(out: Out) -> dict[str, str]:
    assert out.code == 0, out.stderr
    *changes, summary = out.json_lines()
    assert summary["event"] == "summary" and summary["to"] == "live"
    return {c["path"]: c["marker"] for c in changes}


def test_live_diff_metadata_and_content(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {
        "touched.txt": File(b"same bytes\n", mtime_ns=T0),
        "gone.txt": File(b"bye\n", mtime_ns=T0),
        "grown.txt": File(b"short\n", mtime_ns=T0),
        "same-size.txt": File(b"AAAA\n", mtime_ns=T0),
        "chmod.txt": File(b"mode\n", mode=0o644, mtime_ns=T0),
        "keep/still.txt": File(b"untouched\n", mtime_ns=T0),
        "keep/": Dir(mtime_ns=T0),
    })
    env = env_for(tmp_path)
    snap_id([str(src)], env)
    out = invoke(["diff", "latest"], env)
    assert out.stdout.splitlines() == [
        "Added: 0 (0 B)  Removed: 0 (0 B)  Modified: 0 (+0 B)  Type changed: 0  Metadata: 0"
    ]

    os.utime(src / "touched.txt", ns=(T0, T0 + 5 * 10**9))  # mtime only
    (src / "gone.txt").unlink()
    (src / "new.txt").write_bytes(b"hello\n")
    make_tree(src / "newdir", {"inner.txt": b"x"})
    (src / "grown.txt").write_bytes(b"much longer now\n")
    (src / "same-size.txt").write_bytes(b"BBBB\n")
    os.utime(src / "same-size.txt", ns=(T0, T0 + 7 * 10**9))
    os.chmod(src / "chmod.txt", 0o600)
    p = str(src)
    metadata_only = {
        f"{p}/chmod.txt": "U",
        f"{p}/gone.txt": "-",
        f"{p}/grown.txt": "M",
        f"{p}/new.txt": "+",
        f"{p}/newdir": "+",
        f"{p}/newdir/inner.txt": "+",
        f"{p}/same-size.txt": "M",
        f"{p}/touched.txt": "M",  # without --content an mtime change counts as modified
    }
    assert _markers(invoke(["diff", "latest", "--json"], env)) == metadata_only
    content = _markers(invoke(["diff", "latest", "--json", "--content"], env))
    assert content == {**metadata_only, f"{p}/touched.txt": "U"}

    out = invoke(["diff", "latest", "--content"], env)
    changes, totals = parse_text(out.stdout)
    assert ("U", f"{p}/touched.txt", "") in changes
    assert ("M", f"{p}/same-size.txt", "5 B -> 5 B") in changes
    assert ("M", f"{p}/grown.txt", "6 B -> 16 B") in changes
    assert ("-", f"{p}/gone.txt", "-4 B") in changes
    assert ("+", f"{p}/newdir/", "") in changes
    assert totals == ("Added: 3 (7 B)  Removed: 1 (4 B)  Modified: 2 (+10 B)  "
                      "Type changed: 0  Metadata: 2")
    named = invoke(["diff", "latest", "--name-only", "--include", "*.txt", "--content"], env)
    assert named.stdout.splitlines() == [
        f"{p}/chmod.txt", f"{p}/gone.txt", f"{p}/grown.txt", f"{p}/new.txt",
        f"{p}/newdir/inner.txt", f"{p}/same-size.txt", f"{p}/touched.txt"]


def test_live_diff_type_change(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": b"file", "b/c": b"x"})
    env = env_for(tmp_path)
    snap_id([str(src)], env)
    (src / "a").unlink()
    (src / "a").mkdir()
    shutil.rmtree(src / "b")
    (src / "b").write_bytes(b"now a file")
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {
        f"{src}/a": "T", f"{src}/b": "T", f"{src}/b/c": "-"}


def test_live_diff_uses_the_snapshots_symlink_policy(tmp_path: Path) -> None:
    """A snapshot taken with ``--symlinks record`` holds its links; the live diff right after
    it must not report them as removed (it walks with the same policy)."""
    src = make_tree(tmp_path / "src", {"f": b"data", "l": Symlink("f"), "d/l2": Symlink("../f")})
    env = env_for(tmp_path)
    snap_id([str(src), "--symlinks", "record"], env)
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {}
    (src / "l").unlink()
    os.symlink("elsewhere", src / "l")
    os.symlink("f", src / "l3")
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {
        f"{src}/l": "M", f"{src}/l3": "+"}
    # A snapshot that skipped links is compared without them.
    snap_id([str(src), "--symlinks", "skip"], env)
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {}


def test_live_diff_applies_the_openclaw_selection_rules(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    state = generate(base / "home" / ".openclaw", seed=5, scale=SCALE).root
    env = env_for(base, state)
    sid = snap_id([], env)
    assert len(Repository.open(base / "repo").load_snapshot(sid).sqlite) == 4
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {}  # nothing changed yet
    plugin = sorted(p for p in (state / "extensions").iterdir() if p.is_dir())[0]
    make_tree(state, {
        "workspace/new-note.md": b"# new\n",  # selected
        "credentials/extra.json": b"{}\n",  # selected
        f"extensions/{plugin.name}/node_modules/left-pad/index.js": b"module.exports = 1\n",
        "logs/more.log": b"log line\n",
        "workspace/draft.tmp": b"tmp\n",
        "workspace/.DS_Store": b"junk",
        "browser/Default/Cache/blob": b"cache",
    })
    (state / "workspace" / "AGENTS.md").unlink()
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {
        str(state / "workspace/new-note.md"): "+",
        str(state / "credentials/extra.json"): "+",
        str(state / "workspace/AGENTS.md"): "-",
    }


def test_live_diff_of_a_wal_database(tmp_path: Path) -> None:
    """A database is stored as a consistent copy (its size and hash are the copy's, and its
    -wal/-shm are not stored): unchanged it is not reported, nor are its sidecars; new
    transactions in its -wal make it M; a touch alone is M by metadata and nothing with
    ``--content`` (a fresh copy hashes the same)."""
    src = tmp_path / "src"
    src.mkdir()
    make_wal_database(src / "db.sqlite", 400, wal_rows=50, seed=1)
    assert (src / "db.sqlite-wal").exists()
    env = env_for(tmp_path)
    sid = snap_id([str(src)], env)
    assert Repository.open(tmp_path / "repo").load_snapshot(sid).sqlite == (
        str(src / "db.sqlite"),)
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {}
    assert _markers(invoke(["diff", "latest", "--json", "--content"], env)) == {}
    db = str(src / "db.sqlite")
    st = os.stat(db)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _markers(invoke(["diff", "latest", "--json"], env)) == {db: "M"}
    assert _markers(invoke(["diff", "latest", "--json", "--content"], env)) == {}
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_autocheckpoint=0")
        con.execute("CREATE TABLE extra(x)")
        con.execute("INSERT INTO extra VALUES (1)")
        con.commit()
        assert (src / "db.sqlite-wal").exists()
        assert _markers(invoke(["diff", "latest", "--json"], env)) == {db: "M"}
        assert _markers(invoke(["diff", "latest", "--json", "--content"], env)) == {db: "M"}
    finally:
        con.close()
