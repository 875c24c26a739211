"""What every scheduler shares: the user's directories, the job to schedule, how an external
command is run (a :data:`Runner`, passed in, so a stand-in can take the place of a scheduler
that is not on this machine), and the records of an install plan and of what is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from snapkit.ops.schedule.spec import Schedule

#: The name every scheduler knows the job by (unit, task), and the label of the LaunchAgent.
JOB_NAME = "snapkit-snap"
LAUNCHD_LABEL = "org.snapkit.snap"
#: The marker on everything install writes, so remove touches nothing else.
MARKER = "snapkit-schedule"
#: The tag every scheduled snapshot carries; the scheduled forget considers only those.
SCHEDULED_TAG = "scheduled"


@dataclass(frozen=True)
class Ran:
    """One external command's outcome."""

    code: int
    out: str = ""
    err: str = ""

    @property
    def message(self) -> str:
        """Its last line of error output (else of output), for a one-line report."""
        lines = (self.err.strip() or self.out.strip()).splitlines()
        return lines[-1].strip() if lines else f"exit status {self.code}"


#: Runs ``argv`` (with ``input`` on stdin) and returns what it did; never raises for a
#: missing program or a non-zero exit.
Runner = Callable[[Sequence[str], str | None], Ran]


def run_command(argv: Sequence[str], input: str | None = None) -> Ran:
    """The real :data:`Runner`: ``subprocess.run`` with a timeout of a minute."""
    try:
        done = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                              timeout=60, check=False)
    except FileNotFoundError:
        return Ran(127, "", f"{argv[0]}: command not found")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Ran(126, "", f"{argv[0]}: {exc}")
    return Ran(done.returncode, done.stdout, done.stderr)


#: The process names of the cron daemons (Debian's cron, cronie, dcron and busybox's crond,
#: fcron).
CRON_DAEMONS = frozenset({"cron", "crond", "fcron"})


def running_cron_daemon() -> str | None:
    """The name of a cron daemon running on this machine, or None."""
    import psutil

    for proc in psutil.process_iter(["name"]):
        name = proc.info.get("name") or ""
        if name in CRON_DAEMONS:
            return str(name)
    return None


def systemd_booted() -> bool:
    """Whether systemd is this machine's init (``sd_booted``: ``/run/systemd/system``)."""
    return os.path.isdir("/run/systemd/system")


@dataclass(frozen=True)
class Host:
    """How this machine is asked what it has: commands run, programs found on PATH, a
    running cron daemon, systemd as init. The real one by default; tests pass stand-ins for
    what this machine does not have (and say so)."""

    runner: Runner = run_command
    which: Callable[[str], str | None] = shutil.which
    cron_daemon: Callable[[], str | None] = running_cron_daemon
    booted_systemd: Callable[[], bool] = systemd_booted


@dataclass(frozen=True)
class Home:
    """The user's directories the schedulers and the status file live in."""

    home: Path
    config: Path  # $XDG_CONFIG_HOME, else ~/.config (systemd's user units are below it)
    state: Path  # snapkit's state dir: the status file and the logs
    platform: str  # sys.platform's family: "linux", "darwin", "win32"
    uid: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 platform: str | None = None) -> Home:
        env = os.environ if env is None else env
        platform = platform or ("win32" if sys.platform.startswith(("win", "cygwin"))
                                else "darwin" if sys.platform == "darwin" else "linux")
        home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
        xdg = env.get("XDG_CONFIG_HOME", "")
        config = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
        return cls(home, config, state_dir(env, platform, home), platform,
                   os.getuid() if hasattr(os, "getuid") else 0)


def state_dir(env: Mapping[str, str], platform: str, home: Path) -> Path:
    """snapkit's per-user state dir: ``$XDG_STATE_HOME/snapkit`` (``~/.local/state/snapkit``);
    ``~/Library/Application Support/snapkit`` on macOS; ``%LOCALAPPDATA%\\snapkit`` on
    Windows."""
    if platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "snapkit"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "snapkit"
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "state"
    return base / "snapkit"


@dataclass(frozen=True)
class Job:
    """What to schedule: when, and the exact command (``argv[0]`` an absolute path)."""

    schedule: Schedule
    argv: tuple[str, ...]
    log: Path  # where the command's output goes, for the schedulers that do not keep it


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    mode: int = 0o644
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Plan:
    """What ``install`` writes and then runs, in order (``--dry-run`` prints it)."""

    scheduler: str
    files: tuple[PlannedFile, ...]
    commands: tuple[tuple[str, ...], ...]
    #: what install leaves for the user to run when a command cannot (e.g. no user systemd)
    manual: tuple[str, ...] = ()


@dataclass(frozen=True)
class Installed:
    """What ``status`` found installed, read back from the scheduler's own files."""

    scheduler: str
    schedule: Schedule | None  # None: the file holds a schedule snapkit did not write
    argv: tuple[str, ...]
    files: tuple[str, ...]
    #: True/False when the scheduler says whether the job is enabled, None when it cannot
    #: be asked (state_text says why)
    enabled: bool | None
    state_text: str
    next_run: datetime | None = None
    next_from: str = "computed"  # "computed" from the schedule, or the scheduler's name
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Applied:
    """What ``install`` or ``remove`` did: files written/removed, commands run, and what the
    user must still do."""

    scheduler: str
    files: tuple[str, ...]
    commands: tuple[tuple[tuple[str, ...], Ran], ...]
    enabled: bool  # install: the scheduler runs the job now; remove: it no longer knows it
    manual: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def write_file(planned: PlannedFile) -> None:
    """Write one planned file atomically (temp file, fsync, rename), creating its folder."""
    planned.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = planned.path.with_name(f".{planned.path.name}.tmp{os.getpid()}")
    data = planned.content.encode(planned.encoding)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, planned.mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, planned.mode)
        os.replace(tmp, planned.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_file(path: Path) -> bool:
    """Remove ``path``; True when it was there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
