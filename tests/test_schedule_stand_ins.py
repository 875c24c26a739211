"""``snapkit schedule``'s install, status and remove code for what this machine does not
have — launchd, the Task Scheduler, a running cron daemon, a user systemd that answers — run
against a STAND-IN (:class:`StandIn`, or a runner answering as ``systemctl --user``) that
answers as those programs do; each test says so. The commands the plist and the task hold are
run for real."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import make_tree
from schedule_helpers import run_job, sched_env, snapshots

from snapkit.format.errors import SnapkitError, UsageError
from snapkit.maintain.retention import KeepPolicy
from snapkit.ops.schedule import cron, manage, systemd
from snapkit.ops.schedule.base import MARKER, Home, Host, Ran
from snapkit.ops.schedule.spec import Schedule


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


def _which(name: str) -> str | None:
    """A PATH holding crontab, launchctl and schtasks (each answered by the STAND-IN)."""
    return f"/usr/bin/{name}" if name in ("crontab", "launchctl", "schtasks") else None


def stand_in_host(runner: Any, daemon: str | None = "cron",
                  which: Any = _which) -> Host:
    """The STAND-IN machine: ``runner`` for its programs, ``which`` for its PATH, and a cron
    daemon said to run (``daemon``) — this machine runs none."""
    return Host(runner, which, lambda: daemon, lambda: False)


@pytest.mark.parametrize("platform,scheduler", [("darwin", "launchd"), ("win32", "schtasks"),
                                                ("linux", "cron")])
def test_install_status_remove_with_a_stand_in(tmp_path: Path, platform: str,
                                               scheduler: str) -> None:
    """The real install, status and remove code for launchd, schtasks and cron, against the
    STAND-IN runner above (these programs are not on this machine)."""
    home, runner, now = _home(tmp_path, platform), StandIn(), datetime.now().astimezone()
    runner.crontab = "MAILTO=me\n*/5 * * * * /usr/bin/true\n"
    host = stand_in_host(runner)
    assert manage.choose("auto", home, host) == manage.Usable(scheduler, True)
    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    done = manage.install(scheduler, job, home, host, now)
    assert done.enabled and done.scheduler == scheduler
    found = manage.status(home, host, now)
    [installed] = found.installed
    assert installed.scheduler == scheduler and installed.argv == job.argv
    assert installed.schedule == job.schedule and installed.enabled is True
    assert installed.next_run is not None
    assert found.record_path == home.state / "schedule-status.json"
    [gone] = manage.remove(home, host, now)
    assert gone.scheduler == scheduler
    assert manage.status(home, host, now).installed == ()
    assert runner.crontab == "MAILTO=me\n*/5 * * * * /usr/bin/true\n"  # others untouched
    assert not runner.loaded and not runner.tasks
    assert not list((tmp_path / "home").rglob("*.plist"))


def test_auto_picks_a_scheduler_that_can_run_the_job(tmp_path: Path) -> None:
    """On Linux: a user systemd that answers, else cron with a crontab AND a running daemon;
    with neither, a refusal naming both — unless --write-only, which writes for the one this
    machine has (systemd as init, else cron). The STAND-IN answers for the programs."""
    home, runner = _home(tmp_path, "linux"), StandIn()
    assert manage.choose("auto", home, stand_in_host(runner)).scheduler == "cron"
    no_daemon = stand_in_host(runner, daemon=None)
    with pytest.raises(UsageError, match=r"no scheduler can run the job here \(systemd: "
                       r"systemctl is not installed; cron: no cron daemon is running\)"):
        manage.choose("auto", home, no_daemon)
    assert manage.choose("auto", home, no_daemon, write_only=True) == manage.Usable(
        "cron", False, "no cron daemon is running",
        f"start a cron daemon ({cron.START_DAEMON})")
    with pytest.raises(UsageError, match="cron is not installed"):
        manage.choose("cron", home, stand_in_host(runner, which=_no_crontab))

    def systemctl(argv: Sequence[str], input: str | None) -> Ran:
        return Ran(0, "Version=255\n") if argv[0] == "systemctl" else runner(argv, input)

    answers = Host(systemctl, lambda n: f"/usr/bin/{n}", lambda: None, lambda: True)
    assert manage.choose("auto", home, answers) == manage.Usable("systemd", True)
    for other in ("launchd", "schtasks"):
        with pytest.raises(UsageError, match=f"--scheduler {other} cannot run the job here"):
            manage.choose(other, home, answers)


def test_cron_without_a_daemon_is_written_only_when_asked(tmp_path: Path) -> None:
    """--write-only with no cron daemon (STAND-IN crontab): the line is written, not enabled,
    the command to start cron given; status claims no next run; a daemon started later makes
    it enabled."""
    home, runner, now = _home(tmp_path, "linux"), StandIn(), datetime.now().astimezone()
    host = stand_in_host(runner, daemon=None)
    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    done = manage.install("cron", job, home, host, now, write_only=True)
    assert not done.enabled and done.manual == (cron.START_DAEMON,)
    assert MARKER in (runner.crontab or "")
    [found] = manage.status(home, host, now).installed
    assert (found.enabled, found.next_run) == (False, None)
    assert "no cron daemon is running" in found.state_text
    [later] = manage.status(home, stand_in_host(runner), now).installed
    assert later.enabled and later.next_run is not None
    with pytest.raises(SnapkitError, match="nothing is installed"):  # not --write-only
        manage.install("cron", job, home, host, now)
    assert MARKER not in (runner.crontab or "")


def test_a_failed_enable_leaves_nothing_installed(tmp_path: Path) -> None:
    """A user systemd that answers (STAND-IN) but fails to enable the timer: install raises
    one line, and the units it wrote are removed."""
    home, now = _home(tmp_path, "linux"), datetime.now().astimezone()

    def systemctl(argv: Sequence[str], _input: str | None) -> Ran:
        if "enable" in argv:
            return Ran(1, "", "Failed to enable unit: Access denied\n")
        return Ran(0)

    host = Host(systemctl, _no_crontab, lambda: None, lambda: True)
    job = manage.make_job(_options(tmp_path), Schedule("daily", 4, 15), home)
    with pytest.raises(SnapkitError, match=r"systemd did not enable the job: .*Access denied.*"
                       r"nothing is installed"):
        manage.install("systemd", job, home, host, now)
    assert not list((home.config / "systemd" / "user").glob("snapkit-snap.*"))


def test_install_refuses_a_second_scheduler(tmp_path: Path) -> None:
    """systemd's units are on disk; installing with cron (the stand-in crontab) is refused
    until `schedule remove` runs."""
    home, runner, now = _home(tmp_path, "linux"), StandIn(), datetime.now().astimezone()
    job = manage.make_job(_options(tmp_path), Schedule("hourly"), home)
    systemd.install(job, home, runner)  # the stand-in has no systemctl: written, not enabled
    with pytest.raises(UsageError, match="already installed with systemd"):
        manage.install("cron", job, home, stand_in_host(runner), now)
    assert runner.crontab is None and cron.HEADER not in (runner.crontab or "")


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
    host = Host(systemctl, _no_crontab, lambda: None, lambda: True)
    done = manage.install("systemd", job, home, host, now)
    assert done.enabled and not done.manual
    assert ("systemctl", "--user", "enable", "--now", "snapkit-snap.timer") in calls
    assert any("loginctl enable-linger" in note for note in done.notes)
    [found] = manage.status(home, host, now).installed
    assert (found.enabled, found.state_text, found.next_from) == (True, "enabled, active",
                                                                  "systemd")
    assert found.next_run is not None and int(found.next_run.timestamp()) == 1796180400
    [gone] = manage.remove(home, host, now)
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
    host = stand_in_host(runner, which=_no_crontab)
    manage.install(scheduler, job, home, host, now)
    [installed] = manage.status(home, host, now).installed
    assert installed.argv == job.argv
    ran = run_job(list(installed.argv), tmp_path)
    assert ran.returncode == 0, ran.stderr
    record = manage.status(home, host, now).record
    assert record is not None and (record.result, record.exit_code) == ("ok", 0)
    env = sched_env(tmp_path)
    assert [s["id"] for s in snapshots(env)] == [record.snapshot_id]
