"""The service-aware lifecycle (``snapkit.capture.service``) with real processes and a fake service
manager.

The real ``openclaw@2026.9.6`` is driven in ``tests/test_service_real.py``; it can only run a
foreground gateway here (no systemd, launchd or schtasks), so this module uses a fake
``openclaw`` (``tests/service_fake/fake_openclaw.py``, installed as ``<tmp>/bin/openclaw`` first
on PATH) whose ``gateway status --json`` reports a systemd-run gateway and whose ``gateway
start`` really starts a background "gateway" process again. That process holds a WAL-mode SQLite
store and a session transcript open and keeps writing to both. Every call of the fake is logged,
so the tests check that ``stop`` and ``start`` happen in the right order around the body — also
when the body fails, on Ctrl-C and on SIGTERM — that a start that fails or does not bring the
gateway back is retried and then reported (exit 4 from the CLI), and that nothing is stopped
when it could not be brought back. Nothing of psutil is mocked.

The fake install is a canonical one (``$HOME/.openclaw``); the lifecycle is told the account's
home is that ``$HOME`` (``account=``), as OpenClaw's identity rules compare the two and the test
process's real account home must not be touched. The CLI tests configure the fake's stop/start
commands in snapkit's config instead (a user's own commands bypass those rules).

Each test gets its own gateway and matches it with a process pattern anchored at its own bin
dir, so tests (or test sessions) running side by side never see each other's gateways; one test
checks that the default pattern matches the fake gateway too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import cli_env, init_repo, popen_snapkit, run_snapkit, wait_for

from snapkit.capture.service import (
    PROMPT,
    RESTART_ATTEMPTS,
    decide,
    detect,
    gateway_lifecycle,
    selector,
)
from snapkit.capture.service import processes as procs
from snapkit.format.errors import EXIT_GATEWAY_DOWN, Interrupted
from snapkit.select.config import DEFAULT_PROCESS_PATTERN, DEFAULT_SERVICE, ServiceConfig
from snapkit.select.rules import Matcher, RuleSet

FAKE_SOURCE = Path(__file__).resolve().parent / "service_fake" / "fake_openclaw.py"
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the fake


@dataclass
class Fake:
    """One fake OpenClaw installation: bin dir with ``openclaw``, HOME, state dir, run dir."""

    bin_dir: Path
    run_dir: Path
    home: Path
    service: ServiceConfig

    @property
    def state(self) -> Path:
        return self.home / ".openclaw"

    @property
    def exe(self) -> Path:
        return self.bin_dir / "openclaw"

    @property
    def transcript(self) -> str:
        return str(self.state / "agents" / "main" / "sessions" / "s-1.jsonl")

    @property
    def db(self) -> str:
        return str(self.state / "memory" / "main.sqlite")

    def lifecycle(self, **kw: Any) -> Any:
        """``gateway_lifecycle`` over the state dir, with this install's account home."""
        service = kw.pop("service", self.service)
        return gateway_lifecycle([str(self.state)], service, account=str(self.home), **kw)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(PATH=f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}",
                   HOME=str(self.home), FAKE_OPENCLAW_RUN=str(self.run_dir))
        env.update(extra)
        return env

    def openclaw(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.exe), *args], env=self.env(**extra), capture_output=True,
                              text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)

    def calls(self) -> list[str]:
        try:
            text = (self.run_dir / "calls.log").read_text()
        except FileNotFoundError:
            return []
        return text.split()

    def lifecycle_calls(self) -> list[str]:
        """The ``stop`` and ``start`` calls, in order."""
        return [c for c in self.calls() if c in ("stop", "start")]

    def clear_calls(self) -> None:
        (self.run_dir / "calls.log").unlink(missing_ok=True)

    def gateway_pid(self) -> int | None:
        try:
            pid = int((self.run_dir / "gateway.pid").read_text())
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (OSError, ValueError, psutil.Error):
            return None
        return pid

    def start_gateway(self, **extra: str) -> int:
        """Start the gateway through the fake CLI; forget the call in the log."""
        result = self.openclaw("gateway", "start", **extra)
        assert result.returncode == 0, result.stderr
        pid = self.gateway_pid()
        assert pid is not None
        # Wait until both stores are being written (the WAL sidecar exists).
        assert wait_for(lambda: os.path.exists(self.db + "-wal"), 10)
        if extra.get("FAKE_GATEWAY_TRANSCRIPT", "1") != "0":
            assert wait_for(lambda: os.path.getsize(self.transcript) > 0, 10)
        self.clear_calls()
        return pid

    def kill_all(self) -> None:
        """Kill every process started from this fake's bin dir (gateway, stray commands)."""
        mine = str(self.bin_dir)
        victims = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if proc.pid != os.getpid() and any(mine in part for part in cmdline):
                victims.append(proc)
        for proc in victims:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        # Gone, or a zombie until init reaps it (which can take a while in a container).
        wait_for(lambda: not any(procs.alive(proc.pid) for proc in victims), 5)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "openclaw"
    exe.write_text(f"#!{sys.executable}\n" + FAKE_SOURCE.read_text())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    home = tmp_path / "home"
    state = home / ".openclaw"
    for sub in ("memory", "agents/main/sessions", "agents/main/agent", "workspace"):
        (state / sub).mkdir(parents=True)
    (state / "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
    (state / "agents" / "main" / "agent" / "auth-profiles.json").write_text("{}\n")
    (state / "workspace" / "SOUL.md").write_text("be kind\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pattern = re.escape(str(exe)) + r"\s+gateway\s+run\b"
    service = replace(DEFAULT_SERVICE, process_pattern=pattern, stop_timeout=10.0,
                      start_timeout=10.0)
    f = Fake(bin_dir=bin_dir, run_dir=run_dir, home=home, service=service)
    for name in [k for k in os.environ if k.startswith(("OPENCLAW_", "FAKE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FAKE_OPENCLAW_RUN", str(run_dir))
    try:
        yield f
    finally:
        f.kill_all()


class Warnings(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@dataclass
class Holder:
    """A real process holding files open: ``{path: mode}``."""

    proc: subprocess.Popen[str]

    @classmethod
    def start(cls, files: dict[str, str]) -> Holder:
        code = (
            "import json, sys, time\n"
            "handles = [open(p, m) for p, m in json.loads(sys.argv[1]).items()]\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(files)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        return cls(proc)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


# --------------------------------------------------------------------------- detect()


def test_detect_live_gateway(fake: Fake) -> None:
    pid = fake.start_gateway()
    started = time.monotonic()
    d = detect([str(fake.state)], fake.service, account=str(fake.home))
    elapsed = time.monotonic() - started
    assert d.gateway_running
    assert d.gateway_pids == (pid,)
    assert d.open_for_writing == (fake.transcript,)  # not the db, not its -wal/-shm
    assert d.live_databases == (fake.db,)
    assert d.command_available and d.start_available
    assert (d.status_kind, d.supervisor, d.port, d.identity_problem) == (
        "json", "systemd", 18789, None)
    assert d.status_output.startswith("service: systemd (loaded, runtime running, pid ")
    assert fake.calls() == ["status"]
    assert elapsed < 3.0, f"detect() took {elapsed:.2f} s"

    # The default pattern recognises the fake gateway (among whatever else runs here).
    default = detect([str(fake.state)], replace(fake.service,
                                                process_pattern=DEFAULT_PROCESS_PATTERN))
    assert pid in default.gateway_pids


def test_detect_scopes_gateways_to_the_install(fake: Fake, tmp_path: Path) -> None:
    """Another install's gateway (matching the pattern, holding none of these files, not on
    this install's port) is not this install's gateway when the status is JSON."""
    fake.start_gateway()
    other = tmp_path / "other-source"
    other.mkdir()
    d = detect([str(other)], fake.service, env={"HOME": str(fake.home)},
               account=str(fake.home))
    assert d.gateway_running  # the status names it: it is on this install's port
    fake.openclaw("gateway", "stop", "--force")
    assert fake.gateway_pid() is None
    stray = subprocess.Popen([str(fake.exe), "gateway", "run", "--port", "1"],
                             env=fake.env(HOME=str(tmp_path / "elsewhere"),
                                          FAKE_OPENCLAW_RUN=str(tmp_path / "run2")))
    try:
        assert wait_for(lambda: (tmp_path / "run2" / "gateway.pid").exists(), 10)
        d = detect([str(fake.state)], fake.service, account=str(fake.home))
        assert not d.gateway_running and d.gateway_pids == ()
        # A text status has only the pattern to go on.
        text = detect([str(fake.state)], replace(
            fake.service, status_command=(str(fake.exe), "gateway", "status")))
        assert text.gateway_running and text.gateway_pids == (stray.pid,)
        assert text.status_kind == "text" and text.supervisor is None
    finally:
        stray.kill()
        stray.wait()


def test_detect_not_running_asks_status(fake: Fake) -> None:
    # A WAL database at rest: the sidecar exists, only this process has it open.
    db = fake.state / "tasks" / "runs.sqlite"
    db.parent.mkdir()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        (fake.state / "fake.db-wal").write_bytes(b"not a sidecar of a database")
        assert os.path.exists(str(db) + "-wal")
        d = detect([str(fake.state)], fake.service)
    finally:
        conn.close()
    assert not d.gateway_running
    assert d.gateway_pids == ()
    assert d.status_output == "service: systemd (loaded, runtime stopped); port 18789: free; " \
                              "rpc: failed"
    assert fake.calls() == ["status"]
    assert d.open_for_writing == ()  # our own handles do not count
    assert d.live_databases == (str(db),)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_detect_skips_the_status_when_nothing_runs(fake: Fake) -> None:
    """No gateway process, no file held open, nothing on the gateway's port: the status
    command (seconds with the real OpenClaw) is not run, and the record says why."""
    port = _free_port()
    d = detect([str(fake.state)], fake.service, port=port)
    assert not d.gateway_running and d.gateway_pids == ()
    assert fake.calls() == []
    assert d.status_kind == "skipped"
    assert d.status_output == f"not asked: no gateway process, nothing listening on port {port}"
    assert decide(d, "auto").stop is False


def test_detect_asks_the_status_at_any_sign_of_life(fake: Fake) -> None:
    """Something on the gateway's port (a gateway this account cannot see as a process), a
    gateway process, or an unknown port: the status is asked."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        d = detect([str(fake.state)], fake.service, port=int(listener.getsockname()[1]))
    assert d.status_kind == "json" and fake.calls() == ["status"]
    fake.clear_calls()
    detect([str(fake.state)], fake.service, port=None)
    assert fake.calls() == ["status"]
    fake.clear_calls()
    pid = fake.start_gateway()
    d = detect([str(fake.state)], fake.service, port=_free_port())
    assert d.gateway_running and pid in d.gateway_pids and fake.calls() == ["status"]


def test_detect_without_status_command(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    d = detect([str(fake.state)], fake.service)
    assert not d.gateway_running and not d.command_available
    assert (d.status_output, d.status_kind, d.supervisor) == ("", "none", None)
    assert fake.calls() == []


def test_detect_modes_and_selector(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "logs").mkdir(parents=True)
    files = {
        str(src / "notes.txt"): "a",
        str(src / "logs" / "gw.log"): "a",
        str(src / "readme.md"): "r",
        str(src / "state.json"): "r+",
    }
    for path in files:
        Path(path).write_text("x\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("x\n")
    holder = Holder.start({**files, str(outside): "a"})
    try:
        service = replace(DEFAULT_SERVICE, process_pattern=r"\Ano gateway here\Z",
                          status_command=(str(tmp_path / "no-such-status"),))
        d = detect([str(src)], service)
        assert d.open_for_writing == tuple(sorted(
            [str(src / "notes.txt"), str(src / "logs" / "gw.log"), str(src / "state.json")]))
        assert not d.gateway_running

        def matcher_for(root: str) -> tuple[Matcher, str]:
            return Matcher(RuleSet(name="t", exclude=("/logs/",))), "test rules"

        only = detect([str(src)], service, selected=selector([str(src)], matcher_for))
        assert only.open_for_writing == (str(src / "notes.txt"), str(src / "state.json"))

        # psutil's open_files() (used off Linux) agrees with the /proc fast path.
        roots = procs.Roots([str(src)])
        skip = procs.own_pids()
        assert sorted(procs.open_files_psutil(roots, skip)) == sorted(
            procs.open_files(roots, skip))

        # Not running, but another process writes: no stop, and a warning naming the file.
        decision = decide(d, "auto", "linux")
        assert not decision.stop and decision.warning is not None
        assert "notes.txt" in decision.warning
    finally:
        holder.stop()


# --------------------------------------------------------------------------- lifecycle


def test_stop_and_start_around_the_body(fake: Fake) -> None:
    old_pid = fake.start_gateway()
    prompts: list[str] = []
    warnings = Warnings()

    def confirm(prompt: str) -> bool:
        prompts.append(prompt)
        return True

    with fake.lifecycle(confirm=confirm, warn=warnings) as record:
        # The body sees the gateway stopped and the transcript released.
        assert fake.lifecycle_calls() == ["stop"]
        assert fake.gateway_pid() is None
        assert not procs.alive(old_pid)
        inside = detect([str(fake.state)], fake.service)
        assert not inside.gateway_running
        assert inside.open_for_writing == ()
        assert record.stopped and not record.restarted
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert prompts == [PROMPT]
    assert warnings == []
    new_pid = fake.gateway_pid()
    assert new_pid is not None and new_pid != old_pid
    assert record.restarted and record.errors == [] and not record.gateway_down
    assert record.restart_attempts == 1
    assert record.policy == "auto"
    assert record.decision == "1 file open for writing while the gateway runs"
    assert record.detection["open_for_writing"] == [fake.transcript]
    assert record.detection["gateway_pids"] == [old_pid]
    assert record.detection["supervisor"] == "systemd"
    assert record.start_command == ["openclaw", "gateway", "start"]


@pytest.mark.parametrize("error", [RuntimeError("snapshot failed"), KeyboardInterrupt(),
                                   Interrupted("terminated (SIGTERM)")],
                         ids=["error", "ctrl-c", "sigterm"])
def test_start_runs_when_the_body_raises(fake: Fake, error: BaseException) -> None:
    fake.start_gateway()
    with pytest.raises(type(error)) as caught, fake.lifecycle() as record:
        assert fake.gateway_pid() is None
        raise error
    assert caught.value is error
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert fake.gateway_pid() is not None
    assert record.stopped and record.restarted


@pytest.mark.parametrize("error", [KeyboardInterrupt, Interrupted], ids=["ctrl-c", "sigterm"])
def test_start_runs_when_interrupted_during_stop(fake: Fake,
                                                 error: type[BaseException]) -> None:
    fake.start_gateway()

    def run(command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, **kw)
        if command[2:3] == ["stop"]:
            raise error("terminated") if error is Interrupted else error()
        return result

    with pytest.raises(error), fake.lifecycle(run=run):
        pytest.fail("the body must not run")
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert fake.gateway_pid() is not None


def test_signal_during_restart_is_delivered_after_it(fake: Fake) -> None:
    fake.start_gateway()
    # A start command that sends snapkit (its parent) a second Ctrl-C while restarting.
    service = replace(fake.service, start_command=(
        "sh", "-c", f'kill -INT "$PPID"; exec "{fake.exe}" gateway start'))
    with pytest.raises(KeyboardInterrupt), fake.lifecycle(service=service) as record:
        pass
    assert record.restarted
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert fake.gateway_pid() is not None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_not_running_no_stop_no_start(fake: Fake) -> None:
    warnings = Warnings()
    with fake.lifecycle(policy="always", warn=warnings) as record:
        assert fake.gateway_pid() is None
    assert fake.lifecycle_calls() == []
    assert fake.gateway_pid() is None
    assert record.decision == "gateway not running"
    assert not record.stopped and not record.restarted
    assert warnings == []


@pytest.mark.parametrize("how", ["policy-never", "config-never", "no-control"])
def test_never_warns_and_completes(fake: Fake, how: str) -> None:
    pid = fake.start_gateway()
    warnings = Warnings()
    service = replace(fake.service, policy="never") if how == "config-never" else fake.service
    kw: dict[str, Any] = {"policy": "never"} if how == "policy-never" else {}
    if how == "no-control":
        kw["control"] = False
        kw["policy"] = "always"  # --no-service-control wins over any policy
    with fake.lifecycle(service=service, warn=warnings, **kw) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == []
    assert fake.gateway_pid() == pid
    assert len(warnings) == 1 and fake.transcript in warnings[0]
    assert record.warnings == warnings
    assert not record.stopped and not record.restarted
    if how == "no-control":
        assert "--no-service-control" in record.decision
        assert "--no-service-control" in warnings[0]
    else:
        assert record.decision == "policy never"


def test_declined_at_the_prompt(fake: Fake) -> None:
    pid = fake.start_gateway()
    warnings = Warnings()
    prompts: list[str] = []

    def confirm(prompt: str) -> bool:
        prompts.append(prompt)
        return False

    with fake.lifecycle(confirm=confirm, warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert prompts == [PROMPT]
    assert fake.lifecycle_calls() == []
    assert fake.gateway_pid() == pid
    assert len(warnings) == 1
    assert "declined" in warnings[0] and fake.transcript in warnings[0]
    assert not record.stopped and not record.restarted


def test_openclaw_missing_from_path(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = fake.start_gateway()
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    warnings = Warnings()
    with fake.lifecycle(warn=warnings,
                        confirm=lambda prompt: pytest.fail("no prompt without a command")
                        ) as record:
        assert fake.gateway_pid() == pid
    assert fake.calls() == []
    assert fake.gateway_pid() == pid
    assert record.detection["gateway_running"] and not record.detection["command_available"]
    assert warnings == [
        "not stopping the OpenClaw gateway (1 file open for writing while the gateway runs): "
        "`openclaw` not found on PATH; taking the snapshot with it running: 1 file open for "
        f"writing may be captured inconsistently: {fake.transcript}; 1 live SQLite database "
        "copied through the online backup API"]
    assert not record.stopped


@pytest.mark.parametrize("why", ["foreground", "identity", "external-supervisor"])
def test_never_stops_what_it_cannot_bring_back(fake: Fake, monkeypatch: pytest.MonkeyPatch,
                                               why: str) -> None:
    """No service manager runs the gateway, or OpenClaw would refuse `gateway start` here:
    the snapshot is taken with the gateway running, and one warning says why."""
    if why == "foreground":
        monkeypatch.setenv("FAKE_OPENCLAW_SUPERVISOR", "none")
    elif why == "identity":
        monkeypatch.setenv("OPENCLAW_STATE_DIR", str(fake.state))
        monkeypatch.setenv("HOME", str(fake.home.parent))
    else:
        monkeypatch.setenv("OPENCLAW_SUPERVISOR_MODE", "external")
    pid = fake.start_gateway()
    warnings = Warnings()
    with fake.lifecycle(policy="always", warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == []
    assert fake.gateway_pid() == pid
    assert len(warnings) == 1 and record.warnings == warnings
    assert warnings[0].startswith("not stopping the OpenClaw gateway (policy always): ")
    expected = {
        "foreground": "no service manager runs it",
        "identity": f"OpenClaw refuses `openclaw gateway start` here: HOME ({fake.home.parent})",
        "external-supervisor": "OPENCLAW_SUPERVISOR_MODE=external",
    }[why]
    assert expected in warnings[0]
    assert record.decision.startswith("not stopped (policy always): ")
    assert expected in record.decision
    assert not record.stopped and not record.restarted


def test_always_stops_for_a_live_database_alone(fake: Fake,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GATEWAY_TRANSCRIPT", "0")
    fake.start_gateway(FAKE_GATEWAY_TRANSCRIPT="0")
    with fake.lifecycle(policy="always") as record:
        assert fake.gateway_pid() is None
        # The gateway checkpointed on shutdown: the WAL sidecar is gone.
        assert not os.path.exists(fake.db + "-wal")
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert record.detection["open_for_writing"] == []
    assert record.detection["live_databases"] == [fake.db]
    assert record.decision == "policy always"
    assert record.stopped and record.restarted
    assert fake.gateway_pid() is not None


def test_auto_leaves_a_live_database_alone(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GATEWAY_TRANSCRIPT", "0")
    pid = fake.start_gateway(FAKE_GATEWAY_TRANSCRIPT="0")
    warnings = Warnings()
    with fake.lifecycle(warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == []
    assert record.detection["live_databases"] == [fake.db]
    assert "only live SQLite databases" in record.decision
    assert warnings == [] and not record.stopped


def test_auto_stops_for_a_live_database_on_windows(fake: Fake,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GATEWAY_TRANSCRIPT", "0")
    fake.start_gateway(FAKE_GATEWAY_TRANSCRIPT="0")
    with fake.lifecycle(platform="win32") as record:
        assert fake.gateway_pid() is None
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert "cannot be read on Windows" in record.decision


def test_failing_start_is_retried_loud_and_keeps_the_original_error(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL", "start")
    warnings, alerts = Warnings(), Warnings()
    started = time.monotonic()
    with pytest.raises(ValueError, match="snapshot broke"), fake.lifecycle(
        warn=warnings, alert=alerts
    ) as record:
        raise ValueError("snapshot broke")
    elapsed = time.monotonic() - started
    assert fake.lifecycle_calls() == ["stop"] + ["start"] * RESTART_ATTEMPTS
    assert record.stopped and not record.restarted and record.gateway_down
    assert record.restart_attempts == RESTART_ATTEMPTS == 3
    assert warnings == [] and alerts == record.errors
    assert record.errors == [
        "the OpenClaw gateway was stopped for the snapshot and could not be restarted: "
        "`openclaw gateway start` exited with status 1: openclaw gateway start: simulated "
        "failure (3 attempts); start it now with: openclaw gateway start"]
    assert 4.0 <= elapsed < 15.0  # backoff of 1 s and 3 s between the attempts


def test_start_that_does_not_bring_the_gateway_back(fake: Fake,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The start command succeeds but no gateway appears: that is a failed restart too."""
    fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_START", "noop")
    service = replace(fake.service, start_timeout=1.0)
    alerts = Warnings()
    with fake.lifecycle(service=service, alert=alerts) as record:
        pass
    assert fake.lifecycle_calls() == ["stop"] + ["start"] * RESTART_ATTEMPTS
    assert record.gateway_down and fake.gateway_pid() is None
    assert len(alerts) == 1
    assert ("`openclaw gateway start` exited with status 0, but the gateway was not running "
            "1 s after it was started (3 attempts)") in alerts[0]


def test_start_that_fails_once_is_retried(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL_ONCE", "start")
    alerts = Warnings()
    with fake.lifecycle(alert=alerts) as record:
        pass
    assert fake.lifecycle_calls() == ["stop", "start", "start"]
    assert record.restarted and record.restart_attempts == 2 and not record.gateway_down
    assert alerts == [] and record.errors == []
    assert fake.gateway_pid() is not None


def test_start_command_left_in_the_foreground(fake: Fake) -> None:
    """A start command that is the gateway itself (never returns): once the gateway is up at
    the end of start_timeout, it is left running."""
    fake.start_gateway()
    service = replace(fake.service, start_timeout=2.0,
                      start_command=(str(fake.exe), "gateway", "run", "--port", "18789"))
    with fake.lifecycle(service=service) as record:
        pass
    assert record.restarted and record.restart_attempts == 1
    assert fake.gateway_pid() is not None


def test_failing_stop_goes_on_best_effort(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL", "stop")
    warnings = Warnings()
    with fake.lifecycle(warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == ["stop"]  # never started: it was never stopped
    assert not record.stopped and not record.restarted
    assert len(warnings) == 1
    assert "could not stop the OpenClaw gateway" in warnings[0]
    assert fake.transcript in warnings[0]


def test_stop_without_force_is_refused(fake: Fake) -> None:
    """OpenClaw's `gateway stop` refuses off a terminal without --force (the fake does too):
    the default stop command passes it."""
    pid = fake.start_gateway()
    assert DEFAULT_SERVICE.stop_command == ("openclaw", "gateway", "stop", "--force")
    service = replace(fake.service, stop_command=("openclaw", "gateway", "stop"))
    warnings = Warnings()
    with fake.lifecycle(service=service, warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert "re-run with --force" in warnings[0] and not record.stopped


# --------------------------------------------------------------------------- the CLI


def _cli_env(tmp_path: Path, fake: Fake, **service: Any) -> dict[str, str]:
    """The CLI's environment: the fake's HOME and PATH, and a config naming the fake's own
    stop/start commands (a user's own commands, so OpenClaw's identity rules do not apply)."""
    env = cli_env(tmp_path, FAKE_OPENCLAW_RUN=str(fake.run_dir),
                  SNAPKIT_REPO=str(tmp_path / "repo"))
    env["HOME"] = str(fake.home)
    env["PATH"] = f"{fake.bin_dir}{os.pathsep}{env.get('PATH', '')}"
    if not (tmp_path / "repo").exists():  # outside the fake's home: made by `init`
        init_repo(tmp_path / "repo")
    config = tmp_path / "xdg-config" / "snapkit" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"service": {
        "process_pattern": fake.service.process_pattern, "stop_timeout": 10,
        "stop_command": [str(fake.exe), "gateway", "stop", "--force"],
        "start_command": [str(fake.exe), "gateway", "start"], **service}}))
    return env


def _service_map(tmp_path: Path) -> dict[str, Any]:
    from snapkit.store.repository import Repository

    return dict(Repository.open(tmp_path / "repo").snapshots()[-1][1].service)


def test_cli_snap_stops_and_restarts(tmp_path: Path, fake: Fake) -> None:
    old_pid = fake.start_gateway()
    result = run_snapkit(["snap", "--yes"], _cli_env(tmp_path, fake), cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert fake.lifecycle_calls() == ["stop", "start"]
    new_pid = fake.gateway_pid()
    assert new_pid is not None and new_pid != old_pid
    service = _service_map(tmp_path)
    assert service["stopped"] is True and service["restarted"] is True
    assert service["gateway_down"] is False and service["restart_attempts"] == 1
    assert service["detection"]["open_for_writing"] == [fake.transcript]
    assert service["errors"] == []
    assert "Gateway:     stopped for the snapshot, running again" in result.stdout


@pytest.mark.parametrize("flags", [["--no-service-control"], ["--service-policy", "never"]],
                         ids=["no-service-control", "policy-never"])
def test_cli_snap_without_service_control(tmp_path: Path, fake: Fake, flags: list[str]) -> None:
    pid = fake.start_gateway()
    result = run_snapkit(["snap", "--yes", *flags], _cli_env(tmp_path, fake), cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert fake.lifecycle_calls() == []
    assert fake.gateway_pid() == pid
    assert "s-1.jsonl" in result.stderr + result.stdout  # the warning names the locked file
    service = _service_map(tmp_path)
    assert service["stopped"] is False and service["restarted"] is False
    assert any(fake.transcript in w for w in service["warnings"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_signal_restarts_the_gateway(tmp_path: Path, fake: Fake, signum: int) -> None:
    data = fake.state / "workspace" / "data"
    data.mkdir()
    for i in range(20):  # 80 MB: the snapshot runs long enough to be interrupted
        (data / f"blob-{i:02}.bin").write_bytes(os.urandom(4 << 20))
    fake.start_gateway()
    proc = popen_snapkit(["snap", "--yes"], _cli_env(tmp_path, fake), cwd=REPO_ROOT)
    try:
        # Signal once the gateway is down and the stop command has returned: mid-snapshot.
        assert wait_for(lambda: "stop-done" in fake.calls() or proc.poll() is not None, 30)
        assert proc.poll() is None, "snapkit finished before it could be interrupted"
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert wait_for(lambda: fake.gateway_pid() is not None, 10)


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_cli_gateway_left_down_exits_4(tmp_path: Path, fake: Fake, json_out: bool) -> None:
    fake.start_gateway()
    env = _cli_env(tmp_path, fake)
    env["FAKE_OPENCLAW_FAIL"] = "start"
    args = ["--json"] if json_out else []
    result = run_snapkit([*args, "snap", "--yes", "--service-policy", "always"], env,
                         cwd=REPO_ROOT)
    assert result.returncode == EXIT_GATEWAY_DOWN == 4, result.stderr
    assert fake.lifecycle_calls() == ["stop"] + ["start"] * RESTART_ATTEMPTS
    assert fake.gateway_pid() is None
    start = f"{fake.exe} gateway start"
    lines = result.stderr.splitlines()
    # The last line: the snapshot is saved, the gateway is down, and the command to run (under
    # --json a JSON error object).
    last = (json.loads(lines[-1])["message"] if json_out
            else lines[-1].removeprefix("snapkit: error: "))
    assert last.startswith("snapshot ")
    assert last.endswith("was saved, but the OpenClaw gateway was stopped for it and is "
                         f"NOT running: start it now with: {start}")
    assert any(line.startswith("snapkit: error: the OpenClaw gateway was stopped for the "
                               "snapshot and could not be restarted") for line in lines)
    service = _service_map(tmp_path)
    assert service["gateway_down"] is True and service["restart_attempts"] == 3
    assert service["start_command"] == [str(fake.exe), "gateway", "start"]
    if json_out:
        events = [json.loads(line) for line in result.stdout.splitlines()]
        errors = [e for e in events if e["event"] == "error"]
        assert len(errors) == 1 and start in errors[0]["message"]
        summary = events[-1]
        assert summary["event"] == "summary"
        assert summary["gateway_down"] is True and summary["exit_code"] == 4
        assert summary["service"]["errors"] == service["errors"]
    else:
        assert "Gateway:     stopped for the snapshot, NOT running again" in result.stdout
        shown = run_snapkit(["show", "latest"], env, cwd=REPO_ROOT)
        assert shown.returncode == 0, shown.stderr
        assert (f"  service:  the gateway was left NOT running (start it with: {start})"
                in shown.stdout.splitlines())
