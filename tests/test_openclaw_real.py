"""snapkit against the real OpenClaw 2026.9.6: discovery, config-only and full snapshots.

Every install here is made by the real ``openclaw onboard`` / ``openclaw agents add`` in a
temporary HOME (see ``openclaw_real.py``); snapkit runs as a real subprocess with that user's
environment, as a user would run it. The restored copies are checked with the real CLI too
(``openclaw models status --json`` reads the API key from the restored SQLite store).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO_ROOT, init_repo, restored, verify_repository, wait_for
from helpers import test_secrets as mode_secrets  # (not collected as a test)
from openclaw_real import API_KEY, RealInstall, gateway, onboard

from snapkit.store.repository import Repository


def snapkit_env(install: RealInstall, tmp: Path, **extra: str) -> dict[str, str]:
    """The install's user environment plus a repository (outside the install's home: made
    as by `snapkit init`) and config of this test's own."""
    if not (tmp / "repo").exists():
        init_repo(tmp / "repo")
    return install.env(
        SNAPKIT_REPO=str(tmp / "repo"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        PYTHONPATH=str(REPO_ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        **mode_secrets(),  # (the encrypted test mode's passphrase)
        **extra,
    )


def snapkit(args: list[str], env: dict[str, str], cwd: Path | None = None,
            ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "snapkit", *args], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=300, check=False,
                            stdin=subprocess.DEVNULL)
    assert result.returncode in ok, (result.returncode, result.stdout, result.stderr)
    return result


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The summary line of ``snap --json``."""
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return next(line for line in reversed(lines) if line.get("event") == "summary")


def auth_store(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (value,) = conn.execute(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'"
        ).fetchone()
    return str(value)


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def restored_files(target: Path, root: Path) -> set[str]:
    base = restored(target, root)
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if not p.is_dir()}


# --------------------------------------------------------------------------- the harness


def test_onboard_makes_the_2026_9_layout(real_openclaw: RealInstall) -> None:
    state = real_openclaw.state_dir
    config = json.loads(real_openclaw.config_path.read_text())
    entries = config["agents"]["entries"]
    assert set(entries) == {"main", "work"}
    assert entries["work"]["workspace"] == str(real_openclaw.home / "work-ws")
    # The API key lives in SQLite, not in a JSON file.
    assert API_KEY in auth_store(state / "state" / "openclaw.sqlite")
    assert not list(state.rglob("auth-profiles.json"))


# --------------------------------------------------------------------------- discovery


def test_where_lists_every_agent_of_the_real_install(real_openclaw: RealInstall,
                                                    tmp_path: Path) -> None:
    info = json.loads(snapkit(["where", "--json"], snapkit_env(real_openclaw, tmp_path)).stdout)
    state = real_openclaw.state_dir
    assert info["state_dir"] == str(state)
    agents = {a["id"]: a for a in info["agents"]}
    assert set(agents) == {"main", "work"}
    assert agents["work"]["workspace"] == str(real_openclaw.home / "work-ws")
    assert agents["work"]["workspace_from"] == "agents.entries.work.workspace"
    assert agents["work"]["agent_dir"] == str(state / "agents" / "work" / "agent")
    assert agents["main"]["workspace"] == str(state / "workspace")
    assert str(real_openclaw.home / "work-ws") in info["sources_full"]
    assert str(real_openclaw.home / "work-ws") not in info["sources_config_only"]
    text = snapkit(["where"], snapkit_env(real_openclaw, tmp_path)).stdout
    assert "Agent work:" in text and "[agents.entries.work.workspace]" in text


# --------------------------------------------------------------------------- config-only


def test_config_only_snapshot_restores_the_api_key(real_openclaw: RealInstall,
                                                   tmp_path: Path) -> None:
    env = snapkit_env(real_openclaw, tmp_path)
    result = snapkit(["snap", "--mode", "config-only", "--json"], env)
    info = summary(result)
    state = real_openclaw.state_dir
    verify_repository(tmp_path / "repo")

    target = tmp_path / "r"
    snapkit(["restore", "latest", "--target", str(target)], env)
    files = restored_files(target, state)
    assert {"openclaw.json", "state/openclaw.sqlite", "config-journal-fingerprint.key"} <= files
    # Nothing bulky or volatile, no transcripts, no workspace, no sidecars.
    assert not [f for f in files if f.startswith(("npm/", "workspace/", "tmp/", "agents/"))
                and not f.endswith(".sqlite")]
    assert not [f for f in files if f.endswith(("-wal", "-shm"))]
    assert not restored(target, real_openclaw.home / "work-ws").exists()

    # The API key, the cron jobs, device identities and approvals: the whole state database,
    # consistent, table for table.
    db = restored(target, state) / "state" / "openclaw.sqlite"
    assert API_KEY in auth_store(db)
    assert table_counts(db) == table_counts(state / "state" / "openclaw.sqlite")
    for table in ("cron_jobs", "device_identities", "config_machine_state"):
        assert table in table_counts(db)

    # The real CLI, pointed at the restored copy, finds the key: the agent comes back.
    status = real_openclaw.run(
        "models", "status", "--json",
        env=real_openclaw.env(OPENCLAW_STATE_DIR=str(restored(target, state))))
    auth = json.loads(status.stdout)["auth"]
    assert auth["storePath"] == str(db)
    deepseek = next(p for p in auth["providers"] if p["provider"] == "deepseek")
    assert deepseek["profiles"]["apiKey"] == 1
    assert auth["missingProvidersInUse"] == []
    assert info["total_files"] < 20, info


def test_config_only_takes_env_files_and_an_outside_agent_dir(tmp_path: Path) -> None:
    """gateway.env and the state dir's .env hold secrets OpenClaw reads; an agent whose
    ``agentDir`` lies outside the state dir keeps its database there."""
    home = tmp_path / "home"
    install = onboard(home)
    (home / ".config" / "openclaw").mkdir(parents=True)
    (home / ".config" / "openclaw" / "gateway.env").write_text("OPENAI_API_KEY=sk-gw-env\n")
    (install.state_dir / ".env").write_text("ANTHROPIC_API_KEY=sk-state-env\n")
    agent_dir = tmp_path / "agents-elsewhere" / "ops"
    install.run("agents", "add", "ops", "--workspace", str(tmp_path / "ops-ws"),
                "--agent-dir", str(agent_dir), "--non-interactive")
    # Make the agent's own database exist, as the gateway does on first use.
    agent_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(agent_dir / "openclaw-agent.sqlite") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS probe(x)")
        conn.execute("INSERT INTO probe VALUES ('ops-secret')")
    config = json.loads(install.config_path.read_text())
    assert config["agents"]["entries"]["ops"]["agentDir"] == str(agent_dir)

    env = snapkit_env(install, tmp_path)
    snapkit(["snap", "--mode", "config-only"], env)
    target = tmp_path / "r"
    snapkit(["restore", "latest", "--target", str(target)], env)
    assert restored(target, home / ".config" / "openclaw" / "gateway.env").read_text() \
        == "OPENAI_API_KEY=sk-gw-env\n"
    assert restored(target, install.state_dir / ".env").exists()
    db = restored(target, agent_dir) / "openclaw-agent.sqlite"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT x FROM probe").fetchall() == [("ops-secret",)]
    assert not restored(target, tmp_path / "ops-ws").exists()


# --------------------------------------------------------------------------- full


def test_a_snap_with_the_gateway_stopped_does_not_ask_its_status(real_openclaw: RealInstall,
                                                                   tmp_path: Path) -> None:
    """`openclaw gateway status --json` takes seconds; with no gateway process and nothing on
    the install's port it is not run, and the manifest says so. (With the gateway running it
    is asked: tests/test_service_real.py.)"""
    env = snapkit_env(real_openclaw, tmp_path)
    info = summary(snapkit(["snap", "--mode", "config-only", "--json"], env))
    manifest = Repository.open(tmp_path / "repo").load_snapshot(info["snapshot_id"])
    detection = manifest.service["detection"]
    assert isinstance(detection, dict)
    assert detection["status_kind"] == "skipped"
    assert detection["status_output"] == ("not asked: no gateway process, nothing listening on "
                                          f"port {real_openclaw.port}")
    assert detection["gateway_running"] is False


def _files_under(root: Path) -> int:
    """How many files are below ``root`` now (0 while the gateway renames its staging dir
    under the listing: asked again)."""
    try:
        return sum(1 for p in root.rglob("*") if p.is_file())
    except FileNotFoundError:
        return 0


def test_full_snapshot_after_a_gateway_run(tmp_path: Path) -> None:
    """Once the real gateway has run, the state dir holds 51 MiB of regenerable Control UI
    assets: a full snapshot takes the second agent's workspace and none of them."""
    home = tmp_path / "home"
    install = onboard(home, agents=[("work", home / "work-ws")])
    (home / "work-ws" / "notes.md").write_text("work notes\n")
    assets = install.state_dir / "cache" / "control-ui-assets"
    with gateway(install):
        # The Control UI's first page view unpacks its assets into the state dir.
        urllib.request.urlopen(f"http://127.0.0.1:{install.port}/", timeout=30).read()
        assert wait_for(lambda: _files_under(assets) > 1000, timeout=60)

    env = snapkit_env(install, tmp_path)
    info = summary(snapkit(["snap", "--json"], env))
    verify_repository(tmp_path / "repo")
    target = tmp_path / "r"
    snapkit(["restore", "latest", "--target", str(target)], env)
    assert restored(target, home / "work-ws" / "notes.md").read_text() == "work notes\n"
    assert restored(target, home / "work-ws" / "AGENTS.md").exists()
    files = restored_files(target, install.state_dir)
    assert "openclaw.json" in files and "state/openclaw.sqlite" in files
    assert not [f for f in files if f.startswith(("cache/control-ui-assets/", "npm/", "tmp/"))]
    assert info["total_bytes"] < 8 * 1024 * 1024, info  # not the 51 MiB of assets


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX only")
def test_relative_workspace_resolves_against_the_working_directory(tmp_path: Path) -> None:
    """``agents.entries.<id>.workspace: "rel"`` is relative to the directory OpenClaw (and so
    snapkit) runs in, as OpenClaw's ``path.resolve`` makes it."""
    home = tmp_path / "home"
    install = onboard(home)
    config = json.loads(install.config_path.read_text())
    config["agents"]["entries"]["main"]["workspace"] = "rel-ws"
    install.config_path.write_text(json.dumps(config))
    (home / "rel-ws").mkdir()
    info = json.loads(snapkit(["where", "--json"], snapkit_env(install, tmp_path),
                              cwd=home).stdout)
    assert info["agents"][0]["workspace"] == str(home / "rel-ws")
