"""``snapkit schedule install|status|remove`` through the CLI, with HOME and the XDG dirs in a
temporary directory, and a run of the exact command the installed unit holds.

systemd: the real ``systemctl``, with no user manager reachable (the session bus and runtime
dir point into the temporary directory), which is the path this machine can take for real:
the units are written, nothing claims to be enabled, and the command to enable them is given.
The job's ``ExecStart`` is then parsed and run as a subprocess, with the small environment a
systemd user manager gives, against a real repository and source tree.

launchd, schtasks, (where no ``crontab`` binary is installed) cron, and a user systemd that
answers are not on this machine: their tests at the end run the real install/status/remove
code with a *stand-in* runner (:class:`StandIn`, or one answering as ``systemctl --user``)
that answers as those programs do, and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, invoke_main, make_tree

from snapkit.format.errors import UsageError
from snapkit.maintain.retention import KeepPolicy
from snapkit.ops.schedule import cron, manage, systemd
from snapkit.ops.schedule.base import MARKER, Home, Ran
from snapkit.ops.schedule.record import RunRecord, write_record
from snapkit.ops.schedule.spec import Schedule


def sched_env(tmp: Path) -> dict[str, str]:
    """The test's user: every directory below ``tmp``, no user systemd to reach, and a PATH
    holding only the real ``systemctl`` and ``loginctl`` — so no test but the one meant to
    reads or writes this machine's real crontab (which HOME does not isolate)."""
    (tmp / "runtime").mkdir(mode=0o700, exist_ok=True)
    tools = tmp / "bin"
    tools.mkdir(exist_ok=True)
    for name in ("systemctl", "loginctl"):
        real = shutil.which(name)
        if real and not (tools / name).exists():
            (tools / name).symlink_to(real)
    return cli_env(tmp, XDG_STATE_HOME=str(tmp / "xdg-state"), SNAPKIT_REPO=str(tmp / "repo"),
                   OPENCLAW_STATE_DIR=str(tmp / "no-openclaw"),
                   XDG_RUNTIME_DIR=str(tmp / "runtime"), PATH=str(tools),
                   DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp / 'no-bus'}")


def units(tmp: Path) -> tuple[Path, Path]:
    base = tmp / "xdg-config" / "systemd" / "user"
    return base / "snapkit-snap.service", base / "snapkit-snap.timer"


def exec_start(tmp: Path) -> list[str]:
    values = systemd.unit_values(units(tmp)[0].read_text())
    return systemd.split(values["ExecStart"])


def run_job(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """The job's command, run as a systemd user manager would: its own small environment
    (no SNAPKIT_* or OPENCLAW_* variables, no PYTHONPATH), from the home directory."""
    env = {"HOME": str(tmp / "home"), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    (tmp / "home").mkdir(exist_ok=True)
    return subprocess.run(argv, env=env, cwd=tmp / "home", capture_output=True, text=True,
                          timeout=120, check=False)


def status_json(env: dict[str, str]) -> dict[str, Any]:
    result = invoke_main(["schedule", "status", "--json"], env)
    assert result.code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.text)
    return data


def snapshots(env: dict[str, str]) -> list[dict[str, Any]]:
    result = invoke_main(["snapshots", "--json"], env)
    assert result.code == 0, result.stderr
    data = json.loads(result.text)
    return list(data if isinstance(data, list) else data["snapshots"])


# --------------------------------------------------------------------------- systemd


def test_install_print_shows_the_units_and_writes_nothing(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    result = invoke_main(["schedule", "install", "--print", "--at", "04:15", src], env)
    assert result.code == 0, result.stderr
    assert "OnCalendar=*-*-* 04:15:00" in result.text and "ExecStart=" in result.text
    assert "systemctl --user enable --now snapkit-snap.timer" in result.text
    assert not any(p.exists() for p in units(tmp_path))
    as_json = json.loads(invoke_main(["schedule", "install", "--dry-run", "--json", src],
                                     env).text)
    assert as_json["dry_run"] is True and len(as_json["files"]) == 2


def test_install_run_status_remove(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    src = make_tree(tmp_path / "src", {"a.txt": b"one\n", "d/b.json": b"{}\n"})
    manual = invoke_main(["snap", str(src), "-q"], env)  # by hand: never forgotten by the job
    assert manual.code == 0, manual.stderr
    result = invoke_main(["schedule", "install", "--at", "04:15", "--forget", "--keep-last",
                          "1", str(src), "--json"], env)
    assert result.code == 0, result.stderr
    done = json.loads(result.text)
    # No user systemd is reachable here: written, never reported enabled, the command given.
    assert done["enabled"] is False
    assert done["to_run"] == [systemd.ENABLE_TEXT]
    assert "NOT enabled" in result.stderr and systemd.ENABLE_TEXT in result.stderr
    assert done["files"] == [str(p) for p in units(tmp_path)]
    assert all(MARKER in p.read_text() for p in units(tmp_path))
    argv = exec_start(tmp_path)
    assert done["command"] == argv
    assert argv[-1] == str(src) and "--keep-last=1" in argv and "--forget" in argv
    assert ["--repo", str(tmp_path / "repo")] == argv[argv.index("--repo"):][:2]

    before = status_json(env)
    assert before["last_run"] is None
    [installed] = before["installed"]
    assert installed["scheduler"] == "systemd" and installed["command"] == argv
    assert installed["enabled"] is None and "no user systemd reachable" in installed["state"]
    assert installed["schedule"]["text"] == "daily at 04:15"
    assert installed["next_run"].split("T")[1].startswith("04:15:00")

    ran = run_job(argv, tmp_path)
    assert ran.returncode == 0, ran.stderr
    first = status_json(env)["last_run"]
    assert (first["state"], first["result"], first["exit_code"]) == ("finished", "ok", 0)
    listed = snapshots(env)
    by_id = {s["id"]: s for s in listed}
    assert first["snapshot_id"] in by_id and "scheduled" in by_id[first["snapshot_id"]]["tags"]
    assert first["forgotten"] == 0

    (src / "a.txt").write_text("two\n")
    ran = run_job(argv, tmp_path)
    assert ran.returncode == 0, ran.stderr
    second = status_json(env)["last_run"]
    assert second["forgotten"] == 1 and second["snapshot_id"] != first["snapshot_id"]
    ids = {s["id"] for s in snapshots(env)}
    assert ids == {second["snapshot_id"], *(set(by_id) - {first["snapshot_id"]})}
    assert len(ids) == 2  # the one taken by hand, and the newest scheduled one

    text = invoke_main(["schedule", "status"], env)
    assert text.code == 0
    assert f"snapshot {second['snapshot_id'][:8]}" in text.text
    assert "ok (exit 0)" in text.text and "journalctl --user -u snapkit-snap" in text.text

    gone = invoke_main(["schedule", "remove"], env)
    assert gone.code == 0, gone.stderr
    assert not any(p.exists() for p in units(tmp_path))
    after = invoke_main(["schedule", "status"], env)
    assert "No snapkit schedule is installed" in after.text
    assert "ok (exit 0)" in after.text  # the record of the last run stays


def test_a_failed_run_is_recorded_with_its_exit_code(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    (tmp_path / "not-a-repo").write_text("a file where the repository should be\n")
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    assert invoke_main(["schedule", "install", "--repo", str(tmp_path / "not-a-repo"),
                        str(src)], env).code == 0
    ran = run_job(exec_start(tmp_path), tmp_path)
    assert ran.returncode not in (0, 3, 4)
    last = status_json(env)["last_run"]
    assert (last["result"], last["exit_code"]) == ("failed", ran.returncode)
    assert last["message"] and last["message"] in ran.stderr
    assert last["snapshot_id"] is None
    text = invoke_main(["schedule", "status"], env).text
    assert f"failed (exit {ran.returncode})" in text


def test_a_run_that_was_killed_is_not_reported_as_running(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    gone = subprocess.run(["true"], check=True)  # a process id that has ended
    pid = subprocess.Popen(["true"])
    pid.wait()
    path = tmp_path / "xdg-state" / "snapkit" / "schedule-status.json"
    write_record(path, RunRecord("running", 1_700_000_000_000_000_000, pid.pid, "h"))
    assert gone.returncode == 0
    text = invoke_main(["schedule", "status"], env)
    assert "did not finish" in text.text
    assert status_json(env)["last_run"]["process_alive"] is False
    write_record(path, RunRecord("running", 1_700_000_000_000_000_000, os.getpid(), "h"))
    assert "running since" in invoke_main(["schedule", "status"], env).text


def test_remove_leaves_a_unit_it_did_not_write(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    service, timer = units(tmp_path)
    service.parent.mkdir(parents=True)
    timer.write_text("[Timer]\nOnCalendar=daily\n")  # the user's own, no marker
    result = invoke_main(["schedule", "remove"], env)
    assert result.code == 0
    assert timer.exists() and "not written by snapkit" in result.text


def test_a_repository_url_with_credentials_is_refused(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    result = invoke_main(["schedule", "install", "--repo",
                          "s3:https://AKIA:secret@s3.example.com/bucket/snapkit"], env)
    assert result.code == 2
    assert "credentials" in result.stderr and "secret" not in result.stderr
    assert not any(p.exists() for p in units(tmp_path))


def test_install_refuses_a_job_whose_snapshot_would_fail(tmp_path: Path) -> None:
    env = sched_env(tmp_path)  # OPENCLAW_STATE_DIR names a directory that is not there
    result = invoke_main(["schedule", "install"], env)
    assert result.code == 2 and "OpenClaw state dir" in result.stderr
    missing = invoke_main(["schedule", "install", str(tmp_path / "nowhere")], env)
    assert missing.code == 2 and "does not exist" in missing.stderr
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    mode = invoke_main(["schedule", "install", "--mode", "nosuch", src], env)
    assert mode.code == 2 and "unknown mode" in mode.stderr
    assert not any(p.exists() for p in units(tmp_path))


def test_forget_without_keep_options_uses_the_configs_retention(tmp_path: Path) -> None:
    """No --keep-*: the job runs `--forget` alone and the run applies the config's
    "retention" (read at each run); without one, install refuses, and a run whose config lost
    it records the failure before taking a snapshot."""
    env = sched_env(tmp_path)
    src = make_tree(tmp_path / "src", {"a.txt": b"one\n"})
    refused = invoke_main(["schedule", "install", "--forget", str(src)], env)
    assert refused.code == 2 and '"retention"' in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not any(p.exists() for p in units(tmp_path))

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"retention": {"keep_last": 1}}))
    result = invoke_main(["schedule", "install", "--config", str(cfg), "--forget", str(src)],
                         env)
    assert result.code == 0, result.stderr
    argv = exec_start(tmp_path)
    assert "--forget" in argv and not any(a.startswith("--keep-") for a in argv)
    assert argv[argv.index("--config") + 1] == str(cfg)
    for text in ("one\n", "two\n"):
        (src / "a.txt").write_text(text)
        ran = run_job(argv, tmp_path)
        assert ran.returncode == 0, ran.stderr
    last = status_json(env)["last_run"]
    assert last["forgotten"] == 1 and [s["id"] for s in snapshots(env)] == [
        last["snapshot_id"]]

    cfg.write_text(json.dumps({"retention": None}))
    ran = run_job(argv, tmp_path)
    assert ran.returncode == 2 and '"retention"' in ran.stderr
    failed = status_json(env)["last_run"]
    assert (failed["result"], failed["exit_code"]) == ("failed", 2)
    assert failed["snapshot_id"] is None and len(snapshots(env)) == 1  # no snapshot taken


def test_keep_options_need_forget(tmp_path: Path) -> None:
    result = invoke_main(["schedule", "install", "--keep-daily", "7"], sched_env(tmp_path))
    assert result.code == 2 and "--forget" in result.stderr


@pytest.mark.parametrize("sub", ["install", "status", "remove"])
def test_each_subcommand_has_help(sub: str, tmp_path: Path) -> None:
    result = invoke_main(["schedule", sub, "--help"], sched_env(tmp_path))
    assert result.code == 0 and f"Usage: snapkit schedule {sub}" in result.text
    listing = invoke_main(["schedule", "--help"], sched_env(tmp_path)).text
    commands = listing.split("Commands:")[1].split()
    assert "install" in commands and "run" not in commands  # the job's own one is hidden


# --------------------------------------------------------------------------- cron, for real


def test_cron_with_the_real_crontab(tmp_path: Path) -> None:
    """Installs into this user's real crontab (its other lines kept), runs the installed line's
    command as cron would (``/bin/sh``, a small environment) against a real repository, then
    removes it: the crontab is as it was (or absent, as it was)."""
    if shutil.which("crontab") is None:
        pytest.skip("no crontab binary on this machine (cron is not installed); the cron "
                    "path is tested with a stand-in below")
    env = {**sched_env(tmp_path), "PATH": os.environ["PATH"]}
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    original = before.stdout if before.returncode == 0 else ""
    if MARKER in original:
        pytest.skip("this user's real crontab holds a snapkit schedule: left alone")
    try:
        src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
        result = invoke_main(["schedule", "install", "--scheduler", "cron", "--hourly",
                              str(src)], env)
        assert result.code == 0, result.stderr
        now = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=True)
        assert now.stdout.startswith(original) and MARKER in now.stdout
        [found] = status_json(env)["installed"]
        assert found["scheduler"] == "cron" and found["schedule"]["kind"] == "hourly"
        # The line's command, as cron runs it: /bin/sh, a small environment, from HOME.
        [line] = [x for x in now.stdout.splitlines() if x.endswith(f"# {MARKER}")]
        (tmp_path / "home").mkdir(exist_ok=True)
        ran = subprocess.run(["/bin/sh", "-c", line.split(None, 5)[5]], cwd=tmp_path / "home",
                             env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin",
                                  "SHELL": "/bin/sh"}, timeout=120, check=False)
        assert ran.returncode == 0
        last = status_json(env)["last_run"]
        assert (last["result"], last["exit_code"]) == ("ok", 0) and last["snapshot_id"]
        log = (tmp_path / "xdg-state" / "snapkit" / "schedule.log").read_text()
        assert f"Snapshot {last['snapshot_id'][:8]} saved" in log
        assert invoke_main(["schedule", "remove", "--scheduler", "cron"], env).code == 0
        after = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        assert (after.returncode, after.stdout) == (before.returncode, before.stdout)
    finally:  # whatever happened, the crontab as it was
        now = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        if (now.returncode, now.stdout) != (before.returncode, before.stdout):
            subprocess.run(["crontab", "-"] if before.returncode == 0 else ["crontab", "-r"],
                           input=original, text=True, check=False)


# --------------------------------------------------------------------------- stand-ins


class StandIn:
    """A STAND-IN for ``crontab``, ``launchctl`` and ``schtasks``, none of which this machine
    has: it keeps a crontab and the loaded jobs in memory and answers as those programs do
    (``crontab -l`` with no crontab: exit 1, "no crontab for USER"). Every call is recorded."""

    def __init__(self) -> None:
        self.crontab: str | None = None
        self.loaded: set[str] = set()
        self.tasks: dict[str, str] = {}
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], input: str | None) -> Ran:
        args = tuple(argv)
        self.calls.append(args)
        if args == ("crontab", "-l"):
            return (Ran(0, self.crontab) if self.crontab is not None
                    else Ran(1, "", "no crontab for tester\n"))
        if args == ("crontab", "-"):
            self.crontab = input or ""
            return Ran(0)
        if args == ("crontab", "-r"):
            self.crontab = None
            return Ran(0)
        if args[:2] == ("launchctl", "bootstrap"):
            self.loaded.add(Path(args[3]).stem)
            return Ran(0)
        if args[:2] in (("launchctl", "bootout"), ("launchctl", "print")):
            label = args[2].rsplit("/", 1)[1]
            if label not in self.loaded:
                return Ran(113, "", f"Could not find service \"{label}\" in domain")
            if args[1] == "bootout":
                self.loaded.discard(label)
            return Ran(0, f"{label} = {{ state = waiting }}")
        if args[:2] == ("schtasks", "/Create"):
            self.tasks[args[3]] = Path(args[5]).read_text(encoding="utf-16")
            return Ran(0, "SUCCESS: The scheduled task has successfully been created.")
        if args[:2] in (("schtasks", "/Query"), ("schtasks", "/Delete")):
            if args[3] not in self.tasks:
                return Ran(1, "", "ERROR: The system cannot find the file specified.")
            xml = self.tasks.pop(args[3]) if args[1] == "/Delete" else self.tasks[args[3]]
            return Ran(0, xml if args[1] == "/Query" else "SUCCESS")
        return Ran(127, "", f"{args[0]}: command not found")


def _home(tmp: Path, platform: str) -> Home:
    return Home(tmp / "home", tmp / "home" / ".config", tmp / "state", platform, 501)


def _options(tmp: Path) -> manage.RunOptions:
    return manage.RunOptions(repo=str(tmp / "repo"), paths=(str(tmp / "src"),),
                             policy=KeepPolicy(daily=7, weekly=4, monthly=6))


def _no_crontab(_name: str) -> str | None:
    return None


@pytest.mark.parametrize("platform,scheduler", [("darwin", "launchd"), ("win32", "schtasks"),
                                                ("linux", "cron")])
def test_install_status_remove_with_a_stand_in(tmp_path: Path, platform: str,
                                               scheduler: str) -> None:
    """The real install, status and remove code for launchd, schtasks and cron, against the
    STAND-IN runner above (these programs are not on this machine)."""
    home, runner, now = _home(tmp_path, platform), StandIn(), datetime.now().astimezone()
    runner.crontab = "MAILTO=me\n*/5 * * * * /usr/bin/true\n"

    def which(name: str) -> str | None:
        return "/usr/bin/crontab" if name == "crontab" else None

    assert manage.detect(platform, which) == scheduler
    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    done = manage.install(scheduler, job, home, runner, now, which)
    assert done.enabled and done.scheduler == scheduler
    found = manage.status(home, runner, now, None, which)
    [installed] = found.installed
    assert installed.scheduler == scheduler and installed.argv == job.argv
    assert installed.schedule == job.schedule and installed.enabled is True
    assert found.record_path == home.state / "schedule-status.json"
    [gone] = manage.remove(home, runner, now, None, which)
    assert gone.scheduler == scheduler
    assert manage.status(home, runner, now, None, which).installed == ()
    assert runner.crontab == "MAILTO=me\n*/5 * * * * /usr/bin/true\n"  # others untouched
    assert not runner.loaded and not runner.tasks
    assert not list((tmp_path / "home").rglob("*.plist"))


def test_install_refuses_a_second_scheduler(tmp_path: Path) -> None:
    """systemd's units are on disk; installing with cron (the stand-in crontab) is refused
    until `schedule remove` runs."""
    home, runner, now = _home(tmp_path, "linux"), StandIn(), datetime.now().astimezone()
    job = manage.make_job(_options(tmp_path), Schedule("hourly"), home)
    systemd.install(job, home, runner)  # the stand-in has no systemctl: written, not enabled
    with pytest.raises(UsageError, match="already installed with systemd"):
        manage.install("cron", job, home, runner, now, lambda n: f"/usr/bin/{n}")
    assert runner.crontab is None and cron.HEADER not in (runner.crontab or "")
    with pytest.raises(UsageError, match="no scheduler found"):
        manage.detect("linux", _no_crontab)


def test_install_refuses_a_python_that_cannot_import_snapkit(tmp_path: Path) -> None:
    """A real Python without snapkit (a fresh venv): the job could never start, so install
    says so instead of writing it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, timeout=120)
    python = str(tmp_path / "venv" / "bin" / "python")
    with pytest.raises(UsageError, match="cannot import snapkit without PYTHONPATH"):
        manage.importable(python)
    manage.importable(sys.executable)  # this one can


def test_systemd_when_a_user_manager_answers(tmp_path: Path) -> None:
    """No user systemd can run on this machine, so a STAND-IN answers as ``systemctl --user``
    and ``loginctl`` do when one runs: install enables the timer and notes that the manager
    does not linger; status reports what ``systemctl show`` says, next run included."""
    home, now = _home(tmp_path, "linux"), datetime.now().astimezone()
    calls: list[tuple[str, ...]] = []

    def systemctl(argv: Sequence[str], _input: str | None) -> Ran:
        calls.append(tuple(argv))
        if argv[:3] == ("systemctl", "--user", "show"):
            return Ran(0, "UnitFileState=enabled\nActiveState=active\n"
                          "NextElapseUSecRealtime=@1796180400\n")
        if argv[0] == "loginctl":
            return Ran(0, "no\n")
        return Ran(0)

    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    done = manage.install("systemd", job, home, systemctl, now, _no_crontab)
    assert done.enabled and not done.manual
    assert ("systemctl", "--user", "enable", "--now", "snapkit-snap.timer") in calls
    assert any("loginctl enable-linger" in note for note in done.notes)
    [found] = manage.status(home, systemctl, now, None, _no_crontab).installed
    assert (found.enabled, found.state_text, found.next_from) == (True, "enabled, active",
                                                                  "systemd")
    assert found.next_run is not None and int(found.next_run.timestamp()) == 1796180400
    [gone] = manage.remove(home, systemctl, now, None, _no_crontab)
    assert gone.enabled and ("systemctl", "--user", "disable", "--now",
                             "snapkit-snap.timer") in calls


@pytest.mark.parametrize("platform,scheduler", [("darwin", "launchd"), ("win32", "schtasks")])
def test_the_command_the_plist_and_task_hold_runs(tmp_path: Path, platform: str,
                                                  scheduler: str) -> None:
    """The plist's ``ProgramArguments`` and the task XML's ``Command`` + ``Arguments``, read
    back from the files install wrote (registered with the STAND-IN runner: launchd and
    schtasks are not here), run as a subprocess: a snapshot, and its record in the status
    file both name."""
    home, runner, now = _home(tmp_path, platform), StandIn(), datetime.now().astimezone()
    make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    manage.install(scheduler, job, home, runner, now, _no_crontab)
    [installed] = manage.status(home, runner, now, None, _no_crontab).installed
    assert installed.argv == job.argv
    ran = run_job(list(installed.argv), tmp_path)
    assert ran.returncode == 0, ran.stderr
    record = manage.status(home, runner, now, None, _no_crontab).record
    assert record is not None and (record.result, record.exit_code) == ("ok", 0)
    env = sched_env(tmp_path)
    assert [s["id"] for s in snapshots(env)] == [record.snapshot_id]
