"""The gateway lifecycle against the real ``openclaw@2026.9.6``: a foreground gateway
(``openclaw gateway run``, titled ``openclaw-gateway``) is running while ``snapkit snap`` runs
as a real subprocess with the install's environment.

Whatever the policy, a foreground gateway is running afterwards: OpenClaw's ``gateway start``
cannot bring one back (no service manager here), so snapkit does not stop it unless the user
configured a start command — and when a stop happened and the restart fails, ``snap`` exits 4
naming the command to run. Every snapshot restores ``state/openclaw.sqlite`` consistent
(``PRAGMA integrity_check``) with the install's API key in it.

Two installs, each shared by its module-scoped fixture (onboarding takes ~7 s, a gateway start
~8-20 s):

* ``temp_home``: onboarded under a temporary ``HOME`` as this process's user — a non-default
  identity for OpenClaw (``HOME`` is not the account's home), so its ``gateway stop|start``
  refuse to act.
* ``account``: onboarded and run as a throwaway account created with ``useradd`` (root only,
  see ``tests/openclaw_account.py``), and snapkit runs as that account too: the default
  identity, where ``openclaw gateway stop --force`` really stops the foreground gateway.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from helpers import restore, verify_repository
from openclaw_account import Account, throwaway_account
from openclaw_real import (
    API_KEY,
    Gateway,
    RealInstall,
    kill_group,
    onboard,
    require_openclaw,
    start_gateway,
    stop_all,
)

from snapkit.capture.service import decide, detect
from snapkit.format.errors import EXIT_GATEWAY_DOWN
from snapkit.select.config import DEFAULT_SERVICE
from snapkit.store.repository import Repository

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@dataclass
class Live:
    """An install and its foreground gateway, started again when a test left it down."""

    install: RealInstall
    gateway: Gateway
    account: Account | None = None

    def pids(self) -> list[int]:
        return self.gateway.pids()

    def ensure_running(self) -> list[int]:
        if not self.gateway.running():
            stop_all(self.install)
            self.gateway = start_gateway(self.install)
        pids = self.pids()
        assert pids, "the gateway listens, but no process was found on its port"
        return pids

    def writable_dir(self, name: str) -> Path:
        """A directory the install's user can write (the account's, or this process's)."""
        path = self.install.home / name
        path.mkdir(parents=True, exist_ok=True)
        if self.account is not None:
            os.chown(path, self.account.uid, self.account.gid)
        return path

    def snap(self, *args: str, config: dict[str, Any] | None = None,
             name: str = "repo") -> tuple[subprocess.CompletedProcess[str], Path]:
        """``snapkit snap ARGS`` as the install's user, as a real subprocess: ``python -m
        snapkit`` with the install's environment (HOME, PATH with node and openclaw)."""
        repo = self.writable_dir(name)
        env = self.install.env(SNAPKIT_REPO=str(repo / "repo"), PYTHONDONTWRITEBYTECODE="1")
        kw: dict[str, Any]
        if self.account is not None:
            python = self.account.python
            env.update(PYTHONPATH=self.account.pythonpath)
            kw = dict(self.account.subprocess_kw())
        else:
            python = sys.executable
            env["PYTHONPATH"] = str(REPO_ROOT)
            kw = {"cwd": self.install.home}
        if config is not None:
            path = repo / "config.json"
            path.write_text(json.dumps(config))
            path.chmod(0o644)
            env["SNAPKIT_CONFIG"] = str(path)
        result = subprocess.run([python, "-m", "snapkit", *args], env=env, capture_output=True,
                                text=True, timeout=300, check=False,
                                stdin=subprocess.DEVNULL, **kw)
        return result, repo / "repo"


@pytest.fixture(scope="module")
def temp_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    install = onboard(tmp_path_factory.mktemp("service-real") / "home")
    live = Live(install, start_gateway(install))
    try:
        yield live
    finally:
        stop_all(install)
        kill_group(live.gateway.proc)


@pytest.fixture(scope="module")
def account() -> Iterator[Live]:
    prefix = require_openclaw()
    with throwaway_account(prefix) as acct:
        install = onboard(acct.home, user=acct.user, prefix=acct.openclaw_prefix)
        install.extra_env.update(USER=acct.name, LOGNAME=acct.name)
        live = Live(install, start_gateway(install), acct)
        try:
            yield live
        finally:
            stop_all(install)
            kill_group(live.gateway.proc)


def _latest(repo_path: Path) -> tuple[str, Any]:
    snapshots = Repository.open(repo_path).snapshots()
    return snapshots[-1]


def _check_restored_database(live: Live, repo_path: Path, tmp_path: Path) -> None:
    """The snapshot restores ``state/openclaw.sqlite`` consistent, with the API key in it."""
    verify_repository(repo_path)
    snap_id, _ = _latest(repo_path)
    target = tmp_path / f"restored-{snap_id[:8]}"
    db = live.install.state_dir / "state" / "openclaw.sqlite"
    restore(Repository.open(repo_path), snap_id, target, includes=(str(db),))
    copy = target / str(db).lstrip(os.sep)
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (value,) = conn.execute("SELECT value_json FROM config_machine_state "
                                "WHERE state_key = 'authProfiles.store'").fetchone()
    assert API_KEY in value
    assert not os.path.exists(str(copy) + "-wal")


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("snapkit: warning: ")]


# --------------------------------------------------------------------------- temporary HOME


def test_status_json_reads_the_foreground_gateway(temp_home: Live,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pids = temp_home.ensure_running()
    install = temp_home.install
    monkeypatch.setenv("PATH", install.path)  # where detect() looks for the commands
    run = functools.partial(subprocess.run, env=install.env(), cwd=install.home)
    d = detect([str(install.state_dir)], DEFAULT_SERVICE, run=run, env=install.env())
    assert d.gateway_running and d.status_kind == "json"
    assert d.supervisor is None  # no service manager: service-manager-unavailable
    assert d.port == install.port
    # This install's gateway only, not other gateways running on the machine.
    assert list(d.gateway_pids) == pids
    assert d.identity_problem is not None and "is not this account's home" in d.identity_problem
    decision = decide(d, "always", service=DEFAULT_SERVICE)
    assert not decision.stop and decision.warning is not None
    # The text status of a running foreground gateway reads as running (it says
    # "Host desktop: disabled", which used to read as "not running").
    text = replace(DEFAULT_SERVICE, status_command=("openclaw", "gateway", "status"),
                   process_pattern=r"\Anothing matches this\Z")
    d = detect([str(install.state_dir)], text, run=run, env=install.env())
    assert d.status_kind == "text" and d.gateway_running
    # Without a status command, the process title `openclaw-gateway` finds it.
    untold = replace(DEFAULT_SERVICE, status_command=("no-such-status-command",))
    d = detect([str(install.state_dir)], untold, run=run, env=install.env())
    assert d.status_kind == "none" and d.gateway_running and set(pids) <= set(d.gateway_pids)


@pytest.mark.parametrize("policy", ["auto", "always", "never"])
def test_snap_leaves_the_gateway_running_temp_home(temp_home: Live, tmp_path: Path,
                                                   policy: str) -> None:
    before = temp_home.ensure_running()
    result, repo = temp_home.snap("snap", "--yes", "--service-policy", policy,
                                  name=f"repo-{policy}")
    assert result.returncode == 0, result.stderr
    assert temp_home.gateway.running() and temp_home.pids() == before  # never touched
    _, manifest = _latest(repo)
    service = manifest.service
    assert service["policy"] == policy and service["stopped"] is False
    assert service["detection"]["gateway_pids"] == before
    warnings = _warnings(result.stderr)
    if policy == "always":
        # OpenClaw would refuse to start it again here: one warning says so.
        assert len(warnings) == 1, result.stderr
        assert warnings[0].startswith(
            "snapkit: warning: not stopping the OpenClaw gateway (policy always): OpenClaw "
            f"refuses `openclaw gateway start` here: HOME ({temp_home.install.home}) is not "
            "this account's home")
        assert "taking the snapshot with it running" in warnings[0]
        assert service["decision"].startswith("not stopped (policy always): ")
        assert service["warnings"] == [warnings[0].removeprefix("snapkit: warning: ")]
    else:
        assert warnings == [], result.stderr
        assert service["decision"] == {
            "auto": "only live SQLite databases (copied through the online backup API)",
            "never": "policy never"}[policy]
    _check_restored_database(temp_home, repo, tmp_path)


# --------------------------------------------------------------------------- the account


@pytest.mark.parametrize("policy", ["auto", "always", "never"])
def test_snap_leaves_the_gateway_running_as_the_account(account: Live, tmp_path: Path,
                                                        policy: str) -> None:
    before = account.ensure_running()
    result, repo = account.snap("snap", "--yes", "--service-policy", policy,
                                name=f"repo-{policy}")
    assert result.returncode == 0, result.stderr
    assert account.gateway.running() and account.pids() == before
    _, manifest = _latest(repo)
    service = manifest.service
    assert service["stopped"] is False
    assert service["detection"]["identity_problem"] is None  # the default identity
    assert service["detection"]["supervisor"] is None
    warnings = _warnings(result.stderr)
    if policy == "always":
        assert len(warnings) == 1, result.stderr
        assert warnings[0].startswith(
            "snapkit: warning: not stopping the OpenClaw gateway (policy always): no service "
            "manager runs it (it runs in the foreground), and `openclaw gateway start` starts "
            "only a gateway that systemd, launchd or schtasks runs; set service.start_command")
    else:
        assert warnings == [], result.stderr
    _check_restored_database(account, repo, tmp_path)


def test_own_start_command_restarts_the_gateway(account: Live, tmp_path: Path) -> None:
    """With the user's own start command, snapkit stops the gateway (the real `openclaw
    gateway stop --force` works for the account's default identity), takes the snapshot with
    the databases at rest, starts it again and checks that it is back."""
    before = account.ensure_running()
    log = account.install.home / "gateway-restart.log"
    start = ["sh", "-c", f"openclaw gateway run --port {account.install.port} >>{log} 2>&1 &"]
    result, repo = account.snap("snap", "--yes", "--service-policy", "always",
                                config={"service": {"start_command": start}}, name="repo-own")
    assert result.returncode == 0, result.stderr
    assert _warnings(result.stderr) == []
    assert "Gateway:     stopped for the snapshot, running again" in result.stdout
    after = account.ensure_running()
    assert after and set(after).isdisjoint(before)  # a new gateway process
    _, manifest = _latest(repo)
    service = manifest.service
    assert (service["stopped"], service["restarted"], service["gateway_down"]) == (
        True, True, False)
    assert service["restart_attempts"] == 1 and service["start_command"] == start
    assert service["decision"] == "policy always"
    _check_restored_database(account, repo, tmp_path)


def test_restart_that_fails_exits_4(account: Live, tmp_path: Path) -> None:
    account.ensure_running()
    start = ["sh", "-c", "echo 'cannot start the gateway' >&2; exit 1"]
    result, repo = account.snap("--json", "snap", "--yes", "--service-policy", "always",
                                config={"service": {"start_command": start}}, name="repo-down")
    assert result.returncode == EXIT_GATEWAY_DOWN == 4, result.stderr
    assert not account.gateway.running()  # stopped, and (as the test wants) not back
    command = "sh -c 'echo '\"'\"'cannot start the gateway'\"'\"' >&2; exit 1'"
    last = json.loads(result.stderr.splitlines()[-1])  # under --json, the error is JSON too
    assert last["event"] == "error" and last["exit_code"] == 4
    assert last["message"].startswith("snapshot ")
    assert last["message"].endswith(f"is NOT running: start it now with: {command}")
    assert (f"`{command}` exited with status 1: cannot start the gateway (3 attempts); "
            f"start it now with: {command}") in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["exit_code"] == 4
    assert summary["gateway_down"] is True
    assert [e["event"] for e in events].count("error") == 1
    _, manifest = _latest(repo)
    assert manifest.service["gateway_down"] is True
    assert manifest.service["restart_attempts"] == 3
    _check_restored_database(account, repo, tmp_path)
