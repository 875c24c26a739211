"""``export --mode M`` of a full snapshot equals a snapshot taken in mode M (issue 11, item 3):
one rule for both, including the files ``openclaw.json`` pulls in with ``$include``, the env
files, an agent dir outside the state dir, and workspaces (none in config-only). The rule uses
the installation the snapshot recorded, so a later change on disk does not change an export."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from helpers import cli_env, init_repo, make_tree, run_snapkit

MODES = ("full", "config-only", "lite")


def _db(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t(v)")
        conn.execute("INSERT INTO t VALUES (?)", (value,))


@pytest.fixture
def install(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    state = home / ".openclaw"
    config = {
        "$include": "./conf/agents.json5",
        "gateway": {"port": 18789},
    }
    agents = {"entries": {
        "main": {"workspace": str(state / "workspace")},
        "work": {"workspace": str(home / "work-ws"), "agentDir": str(home / "agents" / "work")},
    }}
    make_tree(home, {
        ".openclaw/openclaw.json": json.dumps(config).encode(),
        ".openclaw/conf/agents.json5": json.dumps({"agents": agents}).encode(),
        ".openclaw/.env": b"A=1\n",
        ".openclaw/credentials/oauth.json": b"{}",
        ".openclaw/agents/main/sessions/s1.jsonl": b'{"m": 1}\n',
        ".openclaw/logs/gateway.log": b"log\n",
        ".openclaw/workspace/AGENTS.md": b"# main\n",
        ".openclaw/workspace/skills/x/SKILL.md": b"skill\n",
        ".config/openclaw/gateway.env": b"B=2\n",
        "work-ws/AGENTS.md": b"# work\n",
        "work-ws/skills/y/SKILL.md": b"skill\n",
        "agents/work/models.json": b"{}",
        "agents/work/notes.txt": b"not config\n",
    })
    _db(state / "state" / "openclaw.sqlite", "key")
    _db(state / "agents" / "main" / "agent" / "openclaw-agent.sqlite", "main")
    _db(home / "agents" / "work" / "openclaw-agent.sqlite", "work")
    conf = {"modes": {"lite": {"include": ["/openclaw.json", "/workspace/**",
                                           "/agents/*/agent/models.json"]}}}
    (tmp_path / "snapkit.json").write_text(json.dumps(conf))
    env = cli_env(tmp_path, HOME=str(home), SNAPKIT_REPO=str(tmp_path / "repo"),
                  SNAPKIT_CONFIG=str(tmp_path / "snapkit.json"))
    init_repo(tmp_path / "repo")  # outside the home: made by `init`, as a user would
    return tmp_path, env


def _names(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {m.name for m in tar.getmembers() if not m.isdir()}


def _ok(args: list[str], env: dict[str, str]) -> str:
    result = run_snapkit(args, env)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.mark.parametrize("mode", MODES)
def test_export_of_a_mode_equals_a_snapshot_in_that_mode(
    install: tuple[Path, dict[str, str]], mode: str
) -> None:
    tmp, env = install
    _ok(["snap", "-q", "--tag", "full"], env)
    _ok(["snap", "-q", "--mode", mode, "--tag", "m"], env)
    _ok(["export", "m", "-o", str(tmp / "taken.tar")], env)
    _ok(["export", "full", "--mode", mode, "-o", str(tmp / "subset.tar")], env)
    taken, subset = _names(tmp / "taken.tar"), _names(tmp / "subset.tar")
    assert taken == subset
    home = str(tmp / "home").lstrip("/")
    if mode == "config-only":
        assert f"{home}/.openclaw/conf/agents.json5" in subset  # the $include
        assert f"{home}/.config/openclaw/gateway.env" in subset
        assert f"{home}/agents/work/openclaw-agent.sqlite" in subset
        assert f"{home}/.openclaw/state/openclaw.sqlite" in subset
        assert not [n for n in subset if "/work-ws/" in n or "/workspace/" in n]
        assert f"{home}/agents/work/notes.txt" not in subset
    if mode == "lite":
        assert f"{home}/work-ws/AGENTS.md" not in subset  # /workspace/** is the state dir's
        assert f"{home}/.openclaw/workspace/AGENTS.md" in subset
        assert f"{home}/agents/work/models.json" in subset


def test_export_uses_the_installation_the_snapshot_recorded(
    install: tuple[Path, dict[str, str]]
) -> None:
    tmp, env = install
    _ok(["snap", "-q", "--tag", "full"], env)
    recorded = json.loads(_ok(["show", "full", "--json"], env))["openclaw"]
    assert recorded["state_dir"] == str(tmp / "home" / ".openclaw")
    assert str(tmp / "home" / "agents" / "work") in recorded["agent_dirs"]
    # The config no longer includes the file, and the agent is gone: the export still
    # follows what the snapshot holds.
    config = tmp / "home" / ".openclaw" / "openclaw.json"
    config.write_text(json.dumps({"gateway": {"port": 1}}))
    _ok(["export", "full", "--mode", "config-only", "-o", str(tmp / "later.tar")], env)
    names = _names(tmp / "later.tar")
    home = str(tmp / "home").lstrip("/")
    assert f"{home}/.openclaw/conf/agents.json5" in names
    assert f"{home}/agents/work/openclaw-agent.sqlite" in names
