"""Integration tests for issue 4: what goes into a snapshot, driven through the real CLI.

Every test runs ``snapkit`` end to end — through click's CliRunner around the console entry
point (``snapkit.cli.main.main``, the error boundary that wraps ``cli``), or as a real
``python -m snapkit`` subprocess — against a generated OpenClaw state dir
(``fixtures.openclaw_tree``) or small hand-made trees, then opens the repository and walks the
stored trees to see exactly which files were taken. Nothing touches the real home: ``HOME``,
``XDG_*``, ``SNAPKIT_*`` and ``OPENCLAW_*`` are set (or unset) for every run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from helpers import init_repo

from fixtures.openclaw_tree import generate, make_wal_database, mutate
from snapkit.capture.file import Captured, capture_file
from snapkit.cli import snap_view
from snapkit.cli.common import human_bytes
from snapkit.cli.main import cli, main
from snapkit.format.model import NODE_FILE, NODE_SYMLINK, Node
from snapkit.ops.snap import SnapRequest
from snapkit.ops.snap import snap as take_snapshot
from snapkit.read.treewalk import iter_tree
from snapkit.select.config import defaults_document
from snapkit.store.repository import Repository

REPO_ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.03
SEED = 4

# --------------------------------------------------------------------------- running the CLI

#: Variables that would leak the real environment into a run; None unsets them.
_ISOLATE = (
    "HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "SNAPKIT_REPO", "SNAPKIT_CONFIG", "SNAPKIT_JSON", "SNAPKIT_QUIET", "SNAPKIT_VERBOSE",
    "OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_HOME", "OPENCLAW_PROFILE",
    "OPENCLAW_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH", "OPENCLAW_OAUTH_DIR", "OPENCLAW_WORKSPACE_DIR",
)


def make_env(home: Path, repo: Path, state: Path | None = None,
             **extra: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = dict.fromkeys(_ISOLATE)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        SNAPKIT_REPO=str(repo),
    )
    if state is not None:
        env["OPENCLAW_STATE_DIR"] = str(state)
    env.update(extra)
    return env


def made(repo: Path) -> Path:
    """``repo``, made as by ``snapkit init``: a repository outside the home directory is not
    made by the first ``snap`` (it would be encrypted by default)."""
    init_repo(repo)
    return repo


class _EntryPoint(click.Command):
    """CliRunner target running the console entry point, so exit codes and stderr are the
    ones a user sees (``main`` maps SnapkitError to its exit code and one stderr line)."""

    def main(  # type: ignore[override]  # click's overloads: only the args are used
            self, args: Sequence[str] | None = None, prog_name: str | None = None,
            **extra: Any) -> Any:
        return main(list(args or ()))


_ENTRY = _EntryPoint("snapkit")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def last_json(self) -> Any:
        """The last JSON line (``snap --json`` streams progress events, then the summary)."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run(args: Sequence[str], env: Mapping[str, str | None]) -> Run:
    old = signal.getsignal(signal.SIGTERM)  # main() installs its own handler
    try:
        result = CliRunner().invoke(_ENTRY, list(args), env=dict(env), prog_name="snapkit")
    finally:
        signal.signal(signal.SIGTERM, old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def run_ok(args: Sequence[str], env: Mapping[str, str | None]) -> Run:
    r = run(args, env)
    assert r.code == 0, f"snapkit {' '.join(args)} -> {r.code}\n{r.stdout}\n{r.stderr}"
    return r


def run_subprocess(args: Sequence[str], env: Mapping[str, str | None]) -> Run:
    full = {k: v for k, v in os.environ.items() if k not in env}
    full.update({k: v for k, v in env.items() if v is not None})
    proc = subprocess.run(
        [sys.executable, "-m", "snapkit", *args], env=full, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- reading snapshots


def snapshot_nodes(repo: Path, snap_id: str) -> dict[str, Node]:
    """Absolute path -> node for everything stored in snapshot ``snap_id``."""
    r = Repository.open(repo)
    snap = r.load_snapshot(snap_id)
    return {"/" + "/".join(parts): node
            for parts, node, leaving in iter_tree(r.load_tree, snap.tree) if not leaving}


def snapshot_files(repo: Path, snap_id: str, *, links: bool = False) -> set[str]:
    kinds = (NODE_FILE, NODE_SYMLINK) if links else (NODE_FILE,)
    return {p for p, n in snapshot_nodes(repo, snap_id).items() if n.type in kinds}


def relative(paths: Iterable[str], root: Path) -> set[str]:
    prefix = f"{root}/"
    return {p[len(prefix):] for p in paths if p.startswith(prefix)}


def disk_files(root: Path) -> set[str]:
    """Regular files below root (POSIX paths relative to it), symlinks never followed."""
    out: set[str] = set()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                out.add(Path(path).relative_to(root).as_posix())
    return out


def glob_match(rel: str, pattern: str) -> bool:
    """Segment-wise glob: ``*`` never crosses ``/``; a final ``**`` matches the rest."""
    a, b = rel.split("/"), pattern.split("/")
    if b[-1] == "**":
        return len(a) > len(b) - 1 and glob_match("/".join(a[: len(b) - 1]), "/".join(b[:-1]))
    return len(a) == len(b) and all(fnmatchcase(x, y) for x, y in zip(a, b, strict=True))


def snap_json(args: Sequence[str], env: Mapping[str, str | None]) -> dict[str, Any]:
    summary: dict[str, Any] = run_ok(["snap", "--json", *args], env).last_json()
    assert summary["event"] == "summary"
    return summary


def dry_json(args: Sequence[str], env: Mapping[str, str | None]) -> dict[str, Any]:
    report: dict[str, Any] = run_ok(["snap", "--dry-run", "--list", "--json", *args],
                                    env).json()
    assert report["event"] == "dry_run"
    return report


def make_tree(root: Path, files: Mapping[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class World:
    base: Path
    home: Path
    state: Path  # ~/.openclaw, generated
    outside: Path  # target of workspace/projects and the symlinked skills

    def env(self, repo: Path | None = None, **extra: str | None) -> dict[str, str | None]:
        return make_env(self.home, repo or self.base / "no-repo", self.state, **extra)


def _world(base: Path) -> World:
    base = base.resolve()
    home = base / "home"
    info = generate(home / ".openclaw", seed=SEED, scale=SCALE)
    return World(base, home, info.root, info.outside)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One generated state dir at ~/.openclaw of a temporary home, shared read-only."""
    return _world(tmp_path_factory.mktemp("openclaw"))


@dataclass(frozen=True)
class Taken:
    """A dry run, then the real run right after, for one mode."""

    dry: dict[str, Any]
    summary: dict[str, Any]
    files: set[str]  # absolute paths of the files in the snapshot
    repo_existed_after_dry_run: bool


@pytest.fixture(scope="module")
def taken(world: World) -> dict[str, Taken]:
    """Dry run + snapshot of the discovered installation in each mode, into one repository."""
    repo = world.home / "repo"
    env = world.env(repo)
    out: dict[str, Taken] = {}
    for mode in ("full", "config-only"):
        dry = dry_json(["--mode", mode], env)
        existed = repo.exists()
        summary = snap_json(["--mode", mode], env)
        files = snapshot_files(repo, summary["snapshot_id"])
        out[mode] = Taken(dry, summary, files, existed)
    return out


# --------------------------------------------------------------------------- 1. per-path, full

FULL_MUST = (
    "openclaw.json", ".env", "secrets.json", "credentials/oauth.json",
    "credentials/whatsapp/*/creds.json", "agents/*/agent/auth-profiles.json",
    "agents/*/agent/models.json", "agents/*/sessions/sessions.json", "agents/*/sessions/*.jsonl",
    "memory/*.sqlite", "tasks/runs.sqlite", "flows/registry.sqlite", "cron/jobs.json",
    "cron/jobs-state.json", "devices/paired.json", "identity/device.json",
    "exec-approvals.json", "skills/*/SKILL.md",
    *(f"workspace/{name}.md" for name in
      ("AGENTS", "SOUL", "USER", "IDENTITY", "TOOLS", "HEARTBEAT", "BOOT", "MEMORY")),
    "workspace/memory/*.md", "workspace/.git/HEAD", "workspace/.git/config",
    "workspace/canvas/index.html", "extensions/*/package.json", "extensions/*/dist/index.js",
    "workspace-research/AGENTS.md",
)

_VOLATILE_TOP = ("browser", "logs", "tmp", "media", "delivery-queue", "skills-backup")
_JUNK_NAMES = (".DS_Store", "Thumbs.db")
_JUNK_SUFFIXES = (".log", ".tmp", ".pyc", ".swp", ".pid", ".jsonl.lock", "-wal", "-shm")


def forbidden_in_full(rel: str, state: Path) -> str | None:
    """Why rel (relative to the state dir) must not be in a snapshot, or None."""
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] in _VOLATILE_TOP:
        return f"volatile dir {parts[0]}/"
    if rel == "cron/runs" or rel.startswith("cron/runs/"):
        return "cron run logs"
    for folder in ("node_modules", "__pycache__", ".venv"):
        if folder in parts:
            return folder
    if name in _JUNK_NAMES or name.endswith(_JUNK_SUFFIXES):
        return "junk or sidecar"
    if fnmatchcase(name, "*.jsonl.bak-*") or fnmatchcase(name, "openclaw.json.bak*"):
        return "backup spam"
    if rel == "workspace/projects" or rel.startswith("workspace/projects/"):
        return "behind the workspace/projects symlink"
    if rel.startswith("workspace/loop/"):
        return "inside the symlink loop"
    if parts[0] == "skills" and len(parts) > 1 and (state / "skills" / parts[1]).is_symlink():
        return "a symlinked skill"
    return None


def test_full_snapshot_holds_what_users_need(world: World, taken: dict[str, Taken]) -> None:
    on_disk = disk_files(world.state)
    stored = relative(taken["full"].files, world.state)
    for pattern in FULL_MUST:
        expected = {rel for rel in on_disk if glob_match(rel, pattern)}
        assert expected, f"the fixture has no {pattern}"
        assert expected <= stored, f"{pattern}: missing {sorted(expected - stored)}"
    # non-symlinked skills: every file of every real skill directory
    for skill in (world.state / "skills").iterdir():
        if skill.is_dir() and not skill.is_symlink():
            assert f"skills/{skill.name}/SKILL.md" in stored


def test_full_snapshot_leaves_out_rebuildable_volatile_and_linked(
    world: World, taken: dict[str, Taken]
) -> None:
    repo = world.home / "repo"
    nodes = snapshot_nodes(repo, taken["full"].summary["snapshot_id"])
    stored = relative(nodes, world.state)
    bad = {rel: why for rel in stored if (why := forbidden_in_full(rel, world.state))}
    assert not bad
    # the loop dir is kept, empty; no symlink is stored (default policy: skip, listed)
    assert f"{world.state}/workspace/loop" in nodes
    assert not relative(nodes, world.state / "workspace" / "loop")
    assert not [p for p, n in nodes.items() if n.type == NODE_SYMLINK]
    assert not [p for p in nodes if p.startswith(f"{world.outside}/")]
    # ... and every excluded kind does exist in the fixture, so the checks above mean something
    on_disk = disk_files(world.state)
    reasons = {forbidden_in_full(rel, world.state) for rel in on_disk} - {None}
    assert {"node_modules", "__pycache__", ".venv", "junk or sidecar", "backup spam",
            "cron run logs"} <= reasons
    assert {f"volatile dir {d}/" for d in _VOLATILE_TOP} <= reasons
    skipped = {k["path"]: k["detail"] for k in taken["full"].summary["skipped_entries"]
               if k["reason"] == "symlink"}
    assert skipped[f"{world.state}/workspace/projects"] == f"{world.outside}/projects"
    assert skipped[f"{world.state}/workspace/loop/a"] == "b"
    linked_skills = [p for p in (world.state / "skills").iterdir() if p.is_symlink()]
    assert linked_skills
    for link in linked_skills:
        assert skipped[str(link)] == os.readlink(link)
        assert os.readlink(link).startswith(f"{world.outside}/")


def test_full_snapshot_stores_the_selected_files_and_no_more(
    world: World, taken: dict[str, Taken]
) -> None:
    """Whatever a rule does not exclude is stored (closes the gap between the two lists)."""
    on_disk = disk_files(world.state)
    expected = {rel for rel in on_disk if forbidden_in_full(rel, world.state) is None}
    assert relative(taken["full"].files, world.state) == expected


# --------------------------------------------------------------------------- 1. config-only

CONFIG_ONLY = (
    "openclaw.json", ".env", "secrets.json", "credentials/**",
    "agents/*/agent/auth-profiles.json", "agents/*/agent/auth.json", "agents/*/agent/models.json",
    "cron/jobs.json", "devices/**", "identity/**", "exec-approvals.json", "skills/**",
)


def test_config_only_snapshot_is_exactly_the_config_set(
    world: World, taken: dict[str, Taken]
) -> None:
    on_disk = disk_files(world.state)
    stored = relative(taken["config-only"].files, world.state)
    expected = {
        rel for rel in on_disk
        if any(glob_match(rel, p) for p in CONFIG_ONLY)
        and forbidden_in_full(rel, world.state) is None
    }
    for pattern in CONFIG_ONLY:
        assert any(glob_match(rel, pattern) for rel in expected), f"fixture lacks {pattern}"
    assert {"agents/main/agent/auth-profiles.json", "agents/research/agent/auth.json",
            "credentials/whatsapp/default/creds.json", "devices/paired.json",
            "identity/device-auth.json"} <= expected
    assert any(glob_match(rel, "skills/*/SKILL.md") for rel in expected)
    assert stored == expected
    for rel in stored:
        assert not rel.startswith(("agents/main/sessions", "agents/research/sessions", "memory/",
                                   "workspace", "extensions/", "tasks/", "flows/"))
    assert "cron/jobs-state.json" not in stored
    assert taken["config-only"].summary["total_bytes"] < 1_000_000  # "well under 5 MB"
    assert taken["config-only"].summary["total_bytes"] * 20 < taken["full"].summary["total_bytes"]


def test_config_only_follows_include_and_skips_outside_workspaces(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = home / ".openclaw"
    ws = tmp_path / "elsewhere" / "ws"
    make_tree(state, {
        "openclaw.json": '{ // JSON5\n  $include: "./conf/agents.json5", gateway: {port: 1} }\n',
        "conf/agents.json5": "{agents: {defaults: {model: 'x'}}}\n",
        "conf/notes.txt": "not config",
        "credentials/oauth.json": "{}",
        "agents/main/sessions/s.jsonl": "{}\n",
    })
    make_tree(ws, {"SOUL.md": "soul", "node_modules/x/i.js": "x", "logs/today.md": "kept"})
    repo = made(tmp_path / "repo")
    env = make_env(home, repo, state, OPENCLAW_WORKSPACE_DIR=str(ws))
    ids = {mode: snap_json(["--mode", mode], env)["snapshot_id"]
           for mode in ("config-only", "full")}
    cfg = snapshot_files(repo, ids["config-only"])
    assert relative(cfg, state) == {"openclaw.json", "conf/agents.json5",
                                    "credentials/oauth.json"}
    assert not relative(cfg, ws)
    full = snapshot_files(repo, ids["full"])
    assert relative(full, state) == disk_files(state)
    # a workspace outside the state dir: OpenClaw defaults, minus the state-dir layout patterns
    assert relative(full, ws) == {"SOUL.md", "logs/today.md"}


# --------------------------------------------------------------------------- 2. dry run == real


@pytest.mark.parametrize("mode", ["full", "config-only"])
def test_dry_run_selects_exactly_what_the_snapshot_stores(
    world: World, taken: dict[str, Taken], mode: str
) -> None:
    t = taken[mode]
    assert set(t.dry["paths"]) == t.files
    assert len(t.dry["paths"]) == len(t.files)  # no path listed twice
    assert t.dry["included"]["files"] == t.summary["total_files"]
    assert t.dry["included"]["bytes"] == sum(os.lstat(p).st_size for p in t.files)
    # The stored bytes are the same except for SQLite databases, stored as online-backup
    # copies (with the transactions of their live -wal) rather than as the file on disk.
    nodes = snapshot_nodes(world.home / "repo", t.summary["snapshot_id"])
    sqlite = [p for p in t.files if p.endswith(".sqlite")]
    assert t.summary["total_bytes"] - sum(nodes[p].size for p in sqlite) == (
        t.dry["included"]["bytes"] - sum(os.lstat(p).st_size for p in sqlite))
    assert sum(r["entries"] for r in t.dry["excluded"]) == t.summary["excluded_entries"]


def test_dry_run_matches_the_snapshot_when_symlinks_are_recorded(
    world: World, tmp_path: Path
) -> None:
    repo = made(tmp_path / "repo")
    env = world.env(repo)
    dry = dry_json(["--symlinks", "record"], env)
    summary = snap_json(["--symlinks", "record"], env)
    assert set(dry["paths"]) == snapshot_files(repo, summary["snapshot_id"], links=True)
    nodes = snapshot_nodes(repo, summary["snapshot_id"])
    link = nodes[f"{world.state}/workspace/projects"]
    assert link.type == NODE_SYMLINK
    assert link.target == f"{world.outside}/projects"
    assert not [p for p in nodes if p.startswith(f"{world.state}/workspace/projects/")]


def _plain_tree(root: Path) -> None:
    make_tree(root, {
        "logs/app.log": "log line\n",
        "tmp/scratch.txt": "scratch",
        "node_modules/pkg/index.js": "module.exports = 1\n",
        "x.log": "x",
        ".DS_Store": b"\0\0\0\1Bud1",
        "cache.pyc": b"\x00pyc",
        "db.sqlite-wal": b"\0wal",
        "media/pic.jpg": b"\xff\xd8",
        "browser/Cache/blob": b"\0" * 100,
        "openclaw.json.bak": "{}",
        ".venv/bin/activate": "# venv",
        "src/main.py": "print(1)\n",
        "src/debug.log": "debug",
        "src/keep.log": "keep",
        "src/.snapkitignore": "*.log\n!keep.log\n",
        "src/deep/trace.log": "deep",
        "docs/readme.md": "docs",
        "docs/draft.md": "draft",
    })


def test_dry_run_matches_the_snapshot_for_a_plain_dir_with_rules(tmp_path: Path) -> None:
    proj = tmp_path / "projects"
    _plain_tree(proj)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"excluded_folders": ["node_modules"]}))
    repo = tmp_path / "home" / "repo"  # in the home: the first snap makes it
    env = make_env(tmp_path / "home", repo)
    args = ["--config", str(cfg), "--exclude", "/tmp/", "--exclude", "draft.md", str(proj)]
    dry = dry_json(args, env)
    assert not repo.exists()
    summary = snap_json(args, env)
    stored = snapshot_files(repo, summary["snapshot_id"])
    assert set(dry["paths"]) == stored
    assert relative(stored, proj) == disk_files(proj) - {
        "node_modules/pkg/index.js", "tmp/scratch.txt", "docs/draft.md", "src/debug.log",
        "src/deep/trace.log",
    }
    assert dry["sources"] == [{"path": str(proj), "rules": f"user rules from {cfg}, mode full"}]


# --------------------------------------------------------------------------- 3. dry-run report


def test_dry_run_touches_no_repository(world: World) -> None:
    repo = world.base / "never" / "repo"
    r = run_ok(["snap", "--dry-run"], world.env(repo))
    assert "Would include:" in r.stdout
    assert not (world.base / "never").exists()
    # ... nor the default repository location
    env = world.env(repo)
    env["SNAPKIT_REPO"] = None
    run_ok(["snap", "--dry-run", "--json"], env)
    assert not (world.home / ".local").exists()
    assert not (world.home / ".config").exists()


def _rule_lines(text: str) -> list[tuple[str, int, str]]:
    lines = text.split("\nExcluded: ", 1)[1].split("\n")[1:]
    out = []
    for line in lines:
        m = re.fullmatch(r"  (.+): ([\d,]+) files, (\d+(?:\.\d)? [KMGT]?i?B)", line)
        if m is None:
            break
        out.append((m[1], int(m[2].replace(",", "")), m[3]))
    return out


def test_dry_run_text_report(world: World, taken: dict[str, Taken]) -> None:
    state = world.state
    r = run_ok(["snap", "--dry-run"], world.env())
    text = r.stdout
    assert f"Source {state}: openclaw defaults, mode full" in text
    full = taken["full"]
    assert f"Would include: {full.summary['total_files']:,} files, " in text

    # per-rule lines, sorted by bytes, as the JSON report
    rules = _rule_lines(text)
    by_json = full.dry["excluded"]
    assert [name for name, _, _ in rules] == [e["rule"] for e in by_json]
    sizes = [e["bytes"] for e in by_json]
    assert sizes == sorted(sizes, reverse=True)
    for (_, files, shown), entry in zip(rules, by_json, strict=True):
        assert files == entry["files"]
        assert shown == human_bytes(entry["bytes"])
    names = {name for name, _, _ in rules}
    assert {"folder node_modules", "folder __pycache__", "folder .venv", "pattern /logs/",
            "pattern /browser/", "pattern /media/", "pattern /tmp/", "pattern /delivery-queue/",
            "pattern /skills-backup/", "pattern *.sqlite-wal", "pattern *.sqlite-shm",
            "pattern *.jsonl.lock", "pattern *.jsonl.bak-*", "pattern openclaw.json.bak*",
            "file .DS_Store", "file Thumbs.db", "extension .swp", "extension .pid",
            "extension .tmp"} <= names
    # node_modules: the count and bytes of every file below every node_modules dir
    nm = [(rel, (state / rel).stat().st_size) for rel in disk_files(state)
          if "node_modules" in rel.split("/")]
    node_modules = next(e for e in by_json if e["rule"] == "folder node_modules")
    assert (node_modules["files"], node_modules["bytes"]) == (len(nm), sum(s for _, s in nm))
    assert f"  folder node_modules: {len(nm):,} files, {human_bytes(node_modules['bytes'])}" in text

    # symlinks skipped, with their targets
    linked_skills = [p for p in (state / "skills").iterdir() if p.is_symlink()]
    count = 4 + len(linked_skills)  # projects, the three loop links, the linked skills
    assert f"Symlinks skipped (never followed): {count}" in text
    assert f"  {state}/workspace/projects -> {world.outside}/projects" in text
    assert f"  {state}/workspace/loop/up -> ../loop" in text
    for link in linked_skills:
        assert f"  {link} -> {world.outside}/agents-skills/{link.name}" in text

    # the 10 largest included files, largest first
    tail = text.split("Largest included files:\n", 1)[1].strip("\n").split("\n")
    assert len(tail) == 10
    listed = [line.split("  ")[-1] for line in tail]
    shown_sizes = [os.lstat(p).st_size for p in listed]
    all_sizes = sorted((os.lstat(p).st_size for p in full.files), reverse=True)
    assert shown_sizes == all_sizes[:10]
    assert set(listed) <= full.files


def test_dry_run_says_which_rule_set_applied(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    make_tree(proj, {"a.txt": "a", "logs/x.log": "x"})
    env = make_env(tmp_path / "home", tmp_path / "repo")
    r = run_ok(["snap", "--dry-run", str(proj)], env)
    assert f"Source {proj}: no exclusion rules (not an OpenClaw dir), mode full" in r.stdout
    assert "Excluded" not in r.stdout
    r = run_ok(["snap", "--dry-run", "--exclude", "logs/", str(proj)], env)
    assert f"Source {proj}: user rules, mode full" in r.stdout
    assert "  pattern logs/: 1 files, 1 B" in r.stdout
    (proj / "openclaw.json").write_text("{}")
    r = run_ok(["snap", "--dry-run", str(proj)], env)
    assert f"Source {proj}: openclaw defaults, mode full" in r.stdout
    assert not (tmp_path / "repo").exists()


# --------------------------------------------------------------------------- 4. other dirs


def test_any_other_directory_gets_no_default_exclusions(tmp_path: Path) -> None:
    proj = tmp_path / "projects"
    _plain_tree(proj)
    (proj / "src" / ".snapkitignore").unlink()
    repo = made(tmp_path / "repo")
    summary = snap_json([str(proj)], make_env(tmp_path / "home", repo))
    assert relative(snapshot_files(repo, summary["snapshot_id"]), proj) == disk_files(proj)
    assert summary["excluded_entries"] == 0


def test_config_keys_snapkitignore_and_exclude_apply_to_other_dirs(tmp_path: Path) -> None:
    proj = tmp_path / "projects"
    _plain_tree(proj)
    home = tmp_path / "home"
    user_cfg = home / ".config" / "snapkit" / "config.json"  # found at the default path
    user_cfg.parent.mkdir(parents=True)
    user_cfg.write_text(json.dumps({
        "excluded_folders": ["logs"], "excluded_extensions": ["pyc"],
        "excluded_files": [".DS_Store"], "exclude": ["/docs/draft.md"],
    }))
    repo = made(tmp_path / "repo")
    summary = snap_json(["--exclude", "tmp/", str(proj)], make_env(home, repo))
    stored = relative(snapshot_files(repo, summary["snapshot_id"]), proj)
    assert stored == disk_files(proj) - {
        "logs/app.log", "cache.pyc", ".DS_Store", "docs/draft.md", "tmp/scratch.txt",
        "src/debug.log", "src/deep/trace.log",
    }
    # only what the user wrote: the default folder, extension and sidecar rules did not apply
    assert {"node_modules/pkg/index.js", "x.log", "db.sqlite-wal", "media/pic.jpg",
            "browser/Cache/blob", "openclaw.json.bak", ".venv/bin/activate",
            "src/keep.log", "src/.snapkitignore"} <= stored


def test_a_directory_with_openclaw_json_gets_the_openclaw_defaults(tmp_path: Path) -> None:
    proj = tmp_path / "some-copy"
    _plain_tree(proj)
    (proj / "openclaw.json").write_text("{}")
    repo = made(tmp_path / "repo")
    env = make_env(tmp_path / "home", repo, tmp_path / "no-state-dir")
    summary = snap_json([str(proj)], env)
    stored = relative(snapshot_files(repo, summary["snapshot_id"]), proj)
    assert stored == {"openclaw.json", "src/main.py", "src/keep.log", "src/.snapkitignore",
                      "docs/readme.md", "docs/draft.md"}
    assert summary["mode"] == "full"


# --------------------------------------------------------------------------- 5. config errors


def _bad_json() -> tuple[str, str]:
    text = '{\n  "exclude": [\n    "/logs/",\n  ]\n}\n'
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return text, f"{exc.lineno}:{exc.colno}"
    raise AssertionError("the text should not parse")


_BAD_JSON, _BAD_POS = _bad_json()

CONFIG_ERRORS = [
    pytest.param(_BAD_JSON, [f":{_BAD_POS}: invalid JSON"], id="invalid-json"),
    pytest.param('{"exclude": ["a"], "exclude_folders": ["x"]}',
                 ['unknown key "exclude_folders"', 'did you mean "excluded_folders"'],
                 id="unknown-key"),
    pytest.param('{"modes": {"full": {"includes": null}}}',
                 ['unknown key "modes.full.includes"', 'did you mean "modes.full.include"'],
                 id="unknown-nested-key"),
    pytest.param('{"excluded_extensions": "log"}',
                 ['"excluded_extensions" must be a list of extensions', 'not "log"'],
                 id="wrong-type"),
    pytest.param('{"modes": {"config-only": {"include": ["/a", 3]}}}',
                 ['"modes.config-only.include[1]" must be a non-empty string'],
                 id="wrong-item-type"),
    pytest.param('{"max_file_size": true}',
                 ['"max_file_size" must be an integer number of bytes', "not true"],
                 id="wrong-size"),
    pytest.param('{"symlinks": "follow"}', ['"symlinks" must be one of "skip", "record"'],
                 id="wrong-choice"),
]


@pytest.mark.parametrize("how", ["--config", "SNAPKIT_CONFIG", "default path"])
@pytest.mark.parametrize(("text", "expected"), CONFIG_ERRORS)
def test_config_errors_exit_2_and_write_nothing(
    world: World, tmp_path: Path, how: str, text: str, expected: list[str]
) -> None:
    repo = tmp_path / "repo"
    env = world.env(repo, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    if how == "default path":
        path = tmp_path / "xdg" / "snapkit" / "config.json"
    else:
        path = tmp_path / "bad.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    args = ["snap"]
    if how == "--config":
        args += ["--config", str(path)]
    elif how == "SNAPKIT_CONFIG":
        env["SNAPKIT_CONFIG"] = str(path)
    for extra in ([], ["--dry-run"]):
        r = run([*args, *extra], env)
        assert r.code == 2, r
        assert r.stdout == ""
        line = r.stderr.strip()
        assert "\n" not in line
        assert line.startswith(f"snapkit: error: {path}")
        for fragment in expected:
            assert fragment in line
    assert not repo.exists()


def test_config_error_in_a_real_process(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(_BAD_JSON)
    repo = tmp_path / "repo"
    r = run_subprocess(["snap", "--config", str(bad)], world.env(repo))
    assert r.code == 2
    assert f"{bad}:{_BAD_POS}: invalid JSON" in r.stderr
    assert "Traceback" not in r.stderr
    assert not repo.exists()


def test_a_missing_named_config_is_an_error(world: World, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    r = run(["snap", "--dry-run", "--config", str(missing)], world.env())
    assert r.code == 2
    assert f"{missing}: config file not found (named by --config)" in r.stderr
    r = run(["snap", "--dry-run"], world.env(SNAPKIT_CONFIG=str(missing)))
    assert r.code == 2
    assert f"{missing}: config file not found (named by SNAPKIT_CONFIG)" in r.stderr


def test_config_init_writes_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    env = make_env(home, tmp_path / "repo", XDG_CONFIG_HOME=str(xdg))
    path = xdg / "snapkit" / "config.json"
    r = run_ok(["config", "init"], env)
    assert str(path) in r.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == defaults_document()
    path.write_text('{"symlinks": "record"}')
    r = run(["config", "init"], env)
    assert r.code == 2
    assert "already exists" in r.stderr
    assert "--force" in r.stderr
    assert json.loads(path.read_text()) == {"symlinks": "record"}
    run_ok(["config", "init", "--force"], env)
    assert json.loads(path.read_text()) == defaults_document()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (home / ".config").exists()
    assert not (tmp_path / "repo").exists()


def test_config_show_names_the_origin_of_each_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = make_env(home, tmp_path / "repo")
    r = run_ok(["config", "show"], env)
    assert "# config file: none (built-in defaults)" in r.stdout
    assert "# exclude: from default" in r.stdout
    path = home / ".config" / "snapkit" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"exclude": ["/x/"], "service": {"policy": "never"}}))
    r = run_ok(["config", "show"], env)
    assert f"# config file: {path}" in r.stdout
    assert f"# exclude: from {path}" in r.stdout
    assert f"# service: from {path}" in r.stdout
    assert "# excluded_folders: from default" in r.stdout
    assert "# modes: from default" in r.stdout
    doc = run_ok(["config", "show", "--json"], env).json()
    assert doc["path"] == str(path)
    assert doc["config"]["exclude"] == ["/x/"]
    assert doc["config"]["excluded_folders"] == defaults_document()["openclaw"]["excluded_folders"]
    assert doc["origins"]["exclude"] == str(path)
    assert doc["origins"]["service.policy"] == str(path)
    assert doc["origins"]["service.stop_command"] == "default"
    assert doc["origins"]["excluded_folders"] == "default"
    other = tmp_path / "other.json"
    other.write_text('{"symlinks": "record"}')
    doc = run_ok(["config", "show", "--json", "--config", str(other)], env).json()
    assert doc["origins"]["symlinks"] == str(other)
    assert doc["origins"]["exclude"] == "default"


def test_config_path_prints_the_lookup_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    default = home / ".config" / "snapkit" / "config.json"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    b.write_text("{}")
    env = make_env(home, tmp_path / "repo")
    lines = run_ok(["config", "path"], env).stdout.splitlines()
    assert lines == [f"* default          {default} (missing)"]
    env["SNAPKIT_CONFIG"] = str(b)
    lines = run_ok(["config", "path", "--config", str(a)], env).stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["*", "--config", str(a)], ["$SNAPKIT_CONFIG", str(b), "(exists)"],
        ["default", str(default), "(missing)"],
    ]
    rows = run_ok(["config", "path", "--json", "--config", str(a)], env).json()
    assert [(row["from"], row["path"], row["exists"]) for row in rows] == [
        ("--config", str(a), False), ("$SNAPKIT_CONFIG", str(b), True),
        ("default", str(default), False),
    ]


def test_config_path_attributes_snapkit_config_to_the_variable(tmp_path: Path) -> None:
    b = tmp_path / "b.json"
    env = make_env(tmp_path / "home", tmp_path / "repo", SNAPKIT_CONFIG=str(b))
    rows = run_ok(["config", "path", "--json"], env).json()
    assert [row["from"] for row in rows] == ["$SNAPKIT_CONFIG", "default"]
    assert rows[0]["path"] == str(b)


def test_where_prints_the_state_dir_and_its_source(world: World) -> None:
    r = run_ok(["where"], world.env())
    assert f"OpenClaw state dir:     {world.state}  [$OPENCLAW_STATE_DIR]" in r.stdout
    assert f"Agent main:             workspace {world.state / 'workspace'}" in r.stdout
    # Every path it names says when it is missing: the repository too, until the first snap.
    assert "  [missing: the first `snapkit snap` creates it]" in r.stdout
    info = run_ok(["where", "--json"], world.env()).json()
    assert info["state_dir"] == str(world.state)
    assert info["state_dir_source"] == "$OPENCLAW_STATE_DIR"
    assert info["exists"] is True
    assert info["config_path"] == str(world.state / "openclaw.json")
    assert info["oauth_dir"] == str(world.state / "credentials")
    assert str(world.state / "workspace") in info["workspaces"]
    assert info["sources_full"] == [str(world.state)]
    assert info["sources_config_only"] == [str(world.state)]
    env = world.env(OPENCLAW_STATE_DIR=None)  # found as ~/.openclaw
    info = run_ok(["where", "--json"], env).json()
    assert (info["state_dir"], info["exists"]) == (str(world.state), True)
    assert info["state_dir_source"] == "~/.openclaw (exists)"
    # also straight through the click group
    result = CliRunner().invoke(cli, ["where", "--json"], env=world.env())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["state_dir"] == str(world.state)


# --------------------------------------------------------------------------- 6. no state dir


def test_snap_without_a_state_dir_says_how_to_pass_another(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / ".openclaw"
    repo = tmp_path / "repo"
    for extra in ([], ["--dry-run"]):
        r = run(["snap", *extra], make_env(tmp_path / "home", repo, missing))
        assert r.code == 2
        assert str(missing) in r.stderr
        assert "not found" in r.stderr
        assert "OPENCLAW_STATE_DIR" in r.stderr
        assert "snapkit snap ~/projects" in r.stderr
    home = tmp_path / "empty-home"
    home.mkdir()
    r = run(["snap"], make_env(home, repo))
    assert r.code == 2
    assert str(home / ".openclaw") in r.stderr
    assert not repo.exists()


# --------------------------------------------------------------------------- 7. incremental


def test_incremental_run_reads_only_the_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _world(tmp_path)
    repo = made(tmp_path / "repo")
    env = w.env(repo)
    first = snap_json([], env)
    assert first["files_new"] == first["total_files"]
    info = mutate(w.state)
    dry = dry_json([], env)
    # A database with a -wal written since (or just before) the parent snapshot is read again
    # on purpose: its committed transactions need not touch the main file's mtime. One whose
    # -wal is older than the parent has nothing new. mutate() closed memory/main.sqlite
    # cleanly (no -wal).
    first_time = Repository.open(repo).load_snapshot(first["snapshot_id"]).time_ns
    with_wal = {rel for rel in relative(dry["paths"], w.state)
                if (w.state / f"{rel}-wal").exists()}
    assert with_wal
    assert "memory/main.sqlite" not in with_wal
    live_wal = {rel for rel in with_wal
                if (w.state / f"{rel}-wal").stat().st_mtime_ns + 2_000_000_000 >= first_time}

    captured: list[str] = []

    def spy(path: str, *args: Any, **kwargs: Any) -> Captured:
        """The builder's file reader, injected: records every file the snapshot reads."""
        captured.append(path)
        return capture_file(path, *args, **kwargs)

    # `snapkit snap --json` as its command runs it: the operation with this environment.
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    result = take_snapshot(str(repo), SnapRequest(), capture=spy)
    second = snap_view.summary_dict(result.snapshot_id, result.snapshot, 0)
    assert second["parent"] == first["snapshot_id"]
    stored = snapshot_files(repo, second["snapshot_id"])
    assert set(dry["paths"]) == stored
    selected = relative(stored, w.state)
    changed = {*info.appended, *info.modified} & selected
    new = set(info.added) & selected
    assert {"openclaw.json", "memory/main.sqlite"} <= changed
    assert "agents/main/sessions/sessions.json" in changed
    assert len(new) == 2  # a new transcript and the next daily note
    assert "logs/gateway.log" in info.appended
    assert "logs/gateway.log" not in selected
    assert not set(info.deleted) & selected
    assert relative(captured, w.state) == changed | new | live_wal
    assert len(captured) == len(changed | new | live_wal)
    assert second["files_changed"] == len(changed)
    assert second["files_new"] == len(new)
    assert second["files_unmodified"] == second["total_files"] - len(changed) - len(new)
    nodes = snapshot_nodes(repo, second["snapshot_id"])
    read = sum(nodes[f"{w.state}/{rel}"].size for rel in changed | new | live_wal)
    assert second["bytes_read"] == read
    assert second["bytes_read"] < first["bytes_read"] / 2


# --------------------------------------------------------------------------- 8. mode recorded


def test_mode_is_recorded_and_listed(world: World, taken: dict[str, Taken]) -> None:
    repo = world.home / "repo"
    ids = {mode: t.summary["snapshot_id"] for mode, t in taken.items()}
    r = Repository.open(repo)
    for mode, sid in ids.items():
        assert r.load_snapshot(sid).mode == mode
        assert taken[mode].summary["mode"] == mode
    rows = run_ok(["snapshots", "--json"], world.env(repo)).json()
    assert {row["id"]: row["mode"] for row in rows} == {v: k for k, v in ids.items()}
    text = run_ok(["snapshots"], world.env(repo)).stdout.splitlines()
    assert text[0].split()[:4] == ["ID", "Time", "Host", "Mode"]
    for mode, sid in ids.items():
        row = next(line for line in text if line.startswith(sid[:8]))
        assert row.split()[4] == mode


def test_a_real_process_agrees(world: World, taken: dict[str, Taken]) -> None:
    repo = world.home / "repo"
    r = run_subprocess(["snap", "--dry-run", "--list", "--json", "--mode", "config-only"],
                       world.env(repo))
    assert r.code == 0, r.stderr
    assert set(json.loads(r.stdout)["paths"]) == taken["config-only"].files
    r = run_subprocess(["snapshots", "--json"], world.env(repo))
    assert r.code == 0, r.stderr
    assert sorted(row["mode"] for row in json.loads(r.stdout)) == ["config-only", "full"]


def test_the_dry_runs_came_before_any_repository(taken: dict[str, Taken]) -> None:
    assert taken["full"].repo_existed_after_dry_run is False
    assert taken["config-only"].repo_existed_after_dry_run is True


def test_dry_run_matches_the_snapshot_for_a_live_database_in_a_plain_dir(
    tmp_path: Path,
) -> None:
    proj = tmp_path / "app"
    make_tree(proj, {"README.md": "app"})
    make_wal_database(proj / "data.db", 40, wal_rows=10, seed=3)
    assert (proj / "data.db-wal").exists()
    repo = made(tmp_path / "repo")
    env = make_env(tmp_path / "home", repo)
    dry = dry_json([str(proj)], env)
    summary = snap_json([str(proj)], env)
    assert set(dry["paths"]) == snapshot_files(repo, summary["snapshot_id"])
