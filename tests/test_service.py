"""The service-aware lifecycle (``snapkit.service``) with real processes.

A fake ``openclaw`` executable (``tests/service_fake/fake_openclaw.py``, installed as
``<tmp>/bin/openclaw`` first on PATH) really starts and stops a background "gateway" process
that holds a WAL-mode SQLite store and a session transcript open and keeps writing to both.
Every call of the fake is logged, so the tests check that ``stop`` and ``start`` happen in the
right order around the body — also when the body fails, on Ctrl-C and on SIGTERM — and never
when the gateway was not running or the user declined. Nothing of psutil is mocked.

Each test gets its own gateway and matches it with a process pattern anchored at its own bin
dir, so tests (or test sessions) running side by side never see each other's gateways; one test
checks that the default pattern matches the fake gateway too.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
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
from helpers import cli_env, popen_snapkit, run_snapkit, wait_for

from snapkit import service as svc
from snapkit.config import DEFAULT_PROCESS_PATTERN, DEFAULT_SERVICE, ServiceConfig
from snapkit.errors import Interrupted
from snapkit.rules import Matcher, RuleSet
from snapkit.service import (
    PROMPT,
    Decision,
    Detection,
    ServiceRecord,
    decide,
    detect,
    gateway_lifecycle,
    selector,
    status_says_running,
)

FAKE_SOURCE = Path(__file__).resolve().parent / "service_fake" / "fake_openclaw.py"
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the fake


@dataclass
class Fake:
    """One fake OpenClaw installation: bin dir with ``openclaw``, state dir, run dir."""

    bin_dir: Path
    run_dir: Path
    state: Path
    service: ServiceConfig

    @property
    def exe(self) -> Path:
        return self.bin_dir / "openclaw"

    @property
    def transcript(self) -> str:
        return str(self.state / "agents" / "main" / "sessions" / "s-1.jsonl")

    @property
    def db(self) -> str:
        return str(self.state / "memory" / "main.sqlite")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATH=f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}",
            OPENCLAW_STATE_DIR=str(self.state),
            FAKE_OPENCLAW_RUN=str(self.run_dir),
        )
        env.update(extra)
        return env

    def openclaw(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.exe), *args], env=self.env(**extra), capture_output=True,
                              text=True, timeout=30, check=False)

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
        wait_for(lambda: not any(svc._alive(proc.pid) for proc in victims), 5)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "openclaw"
    exe.write_text(f"#!{sys.executable}\n" + FAKE_SOURCE.read_text())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    state = tmp_path / "state"
    for sub in ("memory", "agents/main/sessions", "agents/main/agent", "workspace"):
        (state / sub).mkdir(parents=True)
    (state / "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
    (state / "agents" / "main" / "agent" / "auth-profiles.json").write_text("{}\n")
    (state / "workspace" / "SOUL.md").write_text("be kind\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pattern = re.escape(str(exe)) + r"\s+gateway\s+run\b"
    service = replace(DEFAULT_SERVICE, process_pattern=pattern, stop_timeout=10.0)
    f = Fake(bin_dir=bin_dir, run_dir=run_dir, state=state, service=service)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    monkeypatch.setenv("FAKE_OPENCLAW_RUN", str(run_dir))
    monkeypatch.delenv("FAKE_OPENCLAW_FAIL", raising=False)
    monkeypatch.delenv("FAKE_GATEWAY_TRANSCRIPT", raising=False)
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


# --------------------------------------------------------------------------- decide()

RUNNING = {"gateway_running": True, "gateway_pids": (4242,)}
SITUATIONS: dict[str, Detection] = {
    name: Detection(
        gateway_running=bool(kw.get("gateway_running", False)),
        gateway_pids=tuple(kw.get("gateway_pids", ())),
        open_for_writing=tuple(kw.get("open_for_writing", ())),
        live_databases=tuple(kw.get("live_databases", ())),
        command_available=True,
        status_output="",
    )
    for name, kw in {
        "not-running": {},
        "not-running-locked": {"open_for_writing": ("/s/notes.txt",)},
        "idle": {**RUNNING},
        "db-only": {**RUNNING, "live_databases": ("/s/memory/main.sqlite",)},
        "writers": {**RUNNING, "open_for_writing": ("/s/a.jsonl", "/s/b.jsonl")},
        "writers+db": {**RUNNING, "open_for_writing": ("/s/a.jsonl",),
                       "live_databases": ("/s/memory/main.sqlite",)},
    }.items()
}

# policy, situation, platform -> (stop, text in reason, text in warning or None)
NEVER_WARN = {"writers": "a.jsonl", "writers+db": "a.jsonl"}
TABLE: list[tuple[str, str, str, bool, str, str | None]] = []
for _platform in ("linux", "darwin", "win32"):
    win = _platform == "win32"
    for _situation in SITUATIONS:
        nr_warn = "notes.txt" if _situation == "not-running-locked" else None
        if _situation.startswith("not-running"):
            for _policy in ("auto", "always", "never"):
                TABLE.append((_policy, _situation, _platform, False, "gateway not running",
                              nr_warn))
            continue
        # auto
        auto_stop = _situation in ("writers", "writers+db") or (win and _situation == "db-only")
        auto_reason = {
            "idle": "no files open for writing",
            "db-only": "SQLite database held open" if win else "only live SQLite databases",
            "writers": "2 files" + (" are held open" if win else " open for writing"),
            "writers+db": "1 file" + (" is held open" if win else " open for writing"),
        }[_situation]
        TABLE.append(("auto", _situation, _platform, auto_stop, auto_reason, None))
        TABLE.append(("always", _situation, _platform, True, "policy always", None))
        never_warn = NEVER_WARN.get(_situation)
        if win and _situation == "db-only":
            never_warn = "main.sqlite"
        TABLE.append(("never", _situation, _platform, False, "policy never", never_warn))


@pytest.mark.parametrize(("policy", "situation", "platform", "stop", "reason", "warning"), TABLE,
                         ids=[f"{p}-{s}-{pl}" for p, s, pl, *_ in TABLE])
def test_decide_table(policy: str, situation: str, platform: str, stop: bool, reason: str,
                      warning: str | None) -> None:
    decision = decide(SITUATIONS[situation], policy, platform)
    assert isinstance(decision, Decision)
    assert decision.stop is stop
    assert reason in decision.reason
    if warning is None:
        assert decision.warning is None
    else:
        assert decision.warning is not None and warning in decision.warning
    if stop:
        assert decision.warning is None


def test_decide_rejects_unknown_policy() -> None:
    with pytest.raises(ValueError, match="sometimes"):
        decide(SITUATIONS["idle"], "sometimes", "linux")


def test_decide_warning_shortens_long_lists() -> None:
    many = tuple(f"/s/f{i}.jsonl" for i in range(8))
    d = replace(SITUATIONS["writers"], open_for_writing=many)
    decision = decide(d, "never", "linux")
    assert decision.warning is not None
    assert "8 files" in decision.warning
    assert "/s/f4.jsonl and 3 more" in decision.warning
    assert "/s/f5.jsonl" not in decision.warning


@pytest.mark.parametrize(("text", "expected"), [
    ("Gateway: running (pid 4242)", True),
    ("Service: systemd (enabled)\nRuntime: running (pid 12, state active)", True),
    ("Active: active (running) since Mon", True),
    ("Gateway: not running", False),
    ("Active: inactive (dead)", False),
    ("Gateway service disabled", False),
    ("Runtime: stopped", False),
    ("Service: LaunchAgent (not loaded)", False),
    ("Gateway service disabled.\nRuntime: running (pid 7, foreground)", True),
    ("", None),
    ("openclaw 2026.9.1", None),
])
def test_status_says_running(text: str, expected: bool | None) -> None:
    assert status_says_running(text) is expected


def test_records_to_dict_are_plain_data() -> None:
    d = SITUATIONS["writers+db"]
    as_dict = d.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["open_for_writing"] == ["/s/a.jsonl"]
    record = ServiceRecord(policy="auto", detection=as_dict, decision="policy always",
                           stopped=True, restarted=True, warnings=["w"])
    out = record.to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["stopped"] is True and out["errors"] == [] and out["warnings"] == ["w"]


# --------------------------------------------------------------------------- detect()


def test_detect_live_gateway(fake: Fake) -> None:
    pid = fake.start_gateway()
    started = time.monotonic()
    d = detect([str(fake.state)], fake.service)
    elapsed = time.monotonic() - started
    assert d.gateway_running
    assert d.gateway_pids == (pid,)
    assert d.open_for_writing == (fake.transcript,)  # not the db, not its -wal/-shm
    assert d.live_databases == (fake.db,)
    assert d.command_available
    assert d.status_output == ""  # the process was found: status not needed
    assert elapsed < 2.0, f"detect() took {elapsed:.2f} s"

    # The default pattern recognises the fake gateway (among whatever else runs here).
    default = detect([str(fake.state)], replace(fake.service,
                                                process_pattern=DEFAULT_PROCESS_PATTERN))
    assert pid in default.gateway_pids
    assert "status" not in fake.calls()


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
    assert "not running" in d.status_output
    assert fake.calls() == ["status"]
    assert d.open_for_writing == ()  # our own handles do not count
    assert d.live_databases == (str(db),)


def test_detect_without_status_command(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    d = detect([str(fake.state)], fake.service)
    assert not d.gateway_running and not d.command_available
    assert d.status_output == ""
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
        service = replace(DEFAULT_SERVICE, process_pattern=r"\Ano gateway here\Z")
        d = detect([str(src)], service)
        assert d.open_for_writing == tuple(sorted(
            [str(src / "notes.txt"), str(src / "logs" / "gw.log"), str(src / "state.json")]))
        assert not d.gateway_running

        def matcher_for(root: str) -> tuple[Matcher, str]:
            return Matcher(RuleSet(name="t", exclude=("/logs/",))), "test rules"

        only = detect([str(src)], service, selected=selector([str(src)], matcher_for))
        assert only.open_for_writing == (str(src / "notes.txt"), str(src / "state.json"))

        # psutil's open_files() (used off Linux) agrees with the /proc fast path.
        roots = svc._Roots([str(src)])
        skip = svc._own_pids()
        assert sorted(svc._open_files_psutil(roots, skip)) == sorted(
            svc._open_files(roots, skip))

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

    with gateway_lifecycle([str(fake.state)], fake.service, confirm=confirm,
                           warn=warnings) as record:
        # The body sees the gateway stopped and the transcript released.
        assert fake.lifecycle_calls() == ["stop"]
        assert fake.gateway_pid() is None
        assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == "zombie"
        inside = detect([str(fake.state)], fake.service)
        assert not inside.gateway_running
        assert inside.open_for_writing == ()
        assert record.stopped and not record.restarted
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert prompts == [PROMPT]
    assert warnings == []
    new_pid = fake.gateway_pid()
    assert new_pid is not None and new_pid != old_pid
    assert record.restarted and record.errors == []
    assert record.policy == "auto"
    assert record.decision == "1 file open for writing while the gateway runs"
    assert record.detection["open_for_writing"] == [fake.transcript]
    assert record.detection["gateway_pids"] == [old_pid]


@pytest.mark.parametrize("error", [RuntimeError("snapshot failed"), KeyboardInterrupt(),
                                   Interrupted("terminated (SIGTERM)")],
                         ids=["error", "ctrl-c", "sigterm"])
def test_start_runs_when_the_body_raises(fake: Fake, error: BaseException) -> None:
    fake.start_gateway()
    with pytest.raises(type(error)) as caught, gateway_lifecycle(
        [str(fake.state)], fake.service
    ) as record:
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
        if command[-1] == "stop":
            raise error("terminated") if error is Interrupted else error()
        return result

    with pytest.raises(error), gateway_lifecycle(
        [str(fake.state)], fake.service, run=run
    ):
        pytest.fail("the body must not run")
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert fake.gateway_pid() is not None


def test_signal_during_restart_is_delivered_after_it(fake: Fake) -> None:
    fake.start_gateway()

    def run(command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        if command[-1] == "start":
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while restarting
        return subprocess.run(command, **kw)

    with pytest.raises(KeyboardInterrupt), gateway_lifecycle(
        [str(fake.state)], fake.service, run=run
    ) as record:
        pass
    assert record.restarted
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert fake.gateway_pid() is not None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_not_running_no_stop_no_start(fake: Fake) -> None:
    warnings = Warnings()
    with gateway_lifecycle([str(fake.state)], fake.service, policy="always",
                           warn=warnings) as record:
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
    with gateway_lifecycle([str(fake.state)], service, warn=warnings, **kw) as record:
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

    with gateway_lifecycle([str(fake.state)], fake.service, confirm=confirm,
                           warn=warnings) as record:
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
    with gateway_lifecycle([str(fake.state)], fake.service, warn=warnings,
                           confirm=lambda prompt: pytest.fail("no prompt without a command")
                           ) as record:
        assert fake.gateway_pid() == pid
    assert fake.calls() == []
    assert fake.gateway_pid() == pid
    assert record.detection["gateway_running"] and not record.detection["command_available"]
    assert len(warnings) == 1
    assert warnings[0].startswith("`openclaw` not found on PATH; continuing best-effort")
    assert fake.transcript in warnings[0]
    assert not record.stopped


def test_always_stops_for_a_live_database_alone(fake: Fake,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GATEWAY_TRANSCRIPT", "0")
    fake.start_gateway(FAKE_GATEWAY_TRANSCRIPT="0")
    with gateway_lifecycle([str(fake.state)], fake.service, policy="always") as record:
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
    with gateway_lifecycle([str(fake.state)], fake.service, warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == []
    assert record.detection["live_databases"] == [fake.db]
    assert "only live SQLite databases" in record.decision
    assert warnings == [] and not record.stopped


def test_auto_stops_for_a_live_database_on_windows(fake: Fake,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GATEWAY_TRANSCRIPT", "0")
    fake.start_gateway(FAKE_GATEWAY_TRANSCRIPT="0")
    with gateway_lifecycle([str(fake.state)], fake.service, platform="win32") as record:
        assert fake.gateway_pid() is None
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert "cannot be read on Windows" in record.decision


def test_failing_start_is_loud_but_keeps_the_original_error(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL", "start")
    warnings = Warnings()
    with pytest.raises(ValueError, match="snapshot broke"), gateway_lifecycle(
        [str(fake.state)], fake.service, warn=warnings
    ) as record:
        raise ValueError("snapshot broke")
    assert fake.lifecycle_calls() == ["stop", "start"]
    assert record.stopped and not record.restarted
    assert len(record.errors) == 1
    assert "could not restart the OpenClaw gateway" in record.errors[0]
    assert "simulated failure" in record.errors[0]
    assert warnings == record.errors


def test_failing_start_after_success_is_recorded(fake: Fake,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL", "start")
    warnings = Warnings()
    with gateway_lifecycle([str(fake.state)], fake.service, warn=warnings) as record:
        pass
    assert record.stopped and not record.restarted
    assert len(record.errors) == 1 and warnings == record.errors


def test_failing_stop_goes_on_best_effort(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = fake.start_gateway()
    monkeypatch.setenv("FAKE_OPENCLAW_FAIL", "stop")
    warnings = Warnings()
    with gateway_lifecycle([str(fake.state)], fake.service, warn=warnings) as record:
        assert fake.gateway_pid() == pid
    assert fake.lifecycle_calls() == ["stop"]  # never started: it was never stopped
    assert not record.stopped and not record.restarted
    assert len(warnings) == 1
    assert "could not stop the OpenClaw gateway" in warnings[0]
    assert fake.transcript in warnings[0]


# --------------------------------------------------------------------------- the CLI


@functools.cache
def _cli_has_service_options() -> bool:
    result = subprocess.run([sys.executable, "-m", "snapkit", "snap", "--help"],
                            capture_output=True, text=True, timeout=60, check=False,
                            cwd=REPO_ROOT, env=cli_env(Path("/nonexistent-snapkit-test")))
    return "--no-service-control" in result.stdout


cli_wired = pytest.mark.skipif(not _cli_has_service_options(), reason="CLI wiring pending")


def _cli_env(tmp_path: Path, fake: Fake) -> dict[str, str]:
    env = cli_env(
        tmp_path,
        OPENCLAW_STATE_DIR=str(fake.state),
        FAKE_OPENCLAW_RUN=str(fake.run_dir),
        SNAPKIT_REPO=str(tmp_path / "repo"),
    )
    env["PATH"] = f"{fake.bin_dir}{os.pathsep}{env.get('PATH', '')}"
    config = tmp_path / "xdg-config" / "snapkit" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"service": {"process_pattern": fake.service.process_pattern,
                                              "stop_timeout": 10}}))
    return env


def _service_map(tmp_path: Path) -> dict[str, Any]:
    from snapkit.store.repository import Repository

    return dict(Repository.open(tmp_path / "repo").snapshots()[-1][1].service)


@cli_wired
def test_cli_snap_stops_and_restarts(tmp_path: Path, fake: Fake) -> None:
    old_pid = fake.start_gateway()
    result = run_snapkit(["snap", "--yes"], _cli_env(tmp_path, fake), cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert fake.lifecycle_calls() == ["stop", "start"]
    new_pid = fake.gateway_pid()
    assert new_pid is not None and new_pid != old_pid
    service = _service_map(tmp_path)
    assert service["stopped"] is True  # ("restarted" is only known after the manifest)
    assert service["detection"]["open_for_writing"] == [fake.transcript]
    assert service["errors"] == []


@cli_wired
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


@cli_wired
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
