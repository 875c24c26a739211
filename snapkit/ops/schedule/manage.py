"""``schedule install``, ``status`` and ``remove``: which scheduler, the job's exact command,
and dispatching to the scheduler's module.

The job's command is the same on every scheduler (:func:`run_argv`): this Python running
``-m snapkit schedule run`` with the repository and config as absolute paths, the status
file's path, the OpenClaw location variables and the passphrase's file or command set at
install time (``--setenv``; never a secret itself: only the names in :data:`CARRIED_ENV`),
the mode, tags and keep policy. What is installed is always read back from the scheduler's
own files, so ``status`` shows what will really run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from snapkit.format.errors import SnapkitError, UsageError
from snapkit.maintain.retention import KeepPolicy, format_duration
from snapkit.ops.schedule import cron, launchd, schtasks, systemd
from snapkit.ops.schedule.base import JOB_NAME, Applied, Home, Host, Installed, Job, Plan
from snapkit.ops.schedule.record import FILE_NAME, RunRecord, process_alive, read_record
from snapkit.ops.schedule.spec import Schedule

SCHEDULERS = ("systemd", "launchd", "schtasks", "cron")
#: The variables that say where an OpenClaw installation is (paths, names, a port): carried
#: into the job as they were at install time. Nothing else is: no token, no password.
CARRIED_ENV = ("OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_HOME",
               "OPENCLAW_PROFILE", "OPENCLAW_AGENT_DIR", "OPENCLAW_OAUTH_DIR",
               "OPENCLAW_WORKSPACE_DIR", "OPENCLAW_INCLUDE_ROOTS", "OPENCLAW_GATEWAY_PORT",
               "OPENCLAW_SYSTEMD_UNIT", "OPENCLAW_LAUNCHD_LABEL", "OPENCLAW_SUPERVISOR_MODE",
               # where an encrypted repository's passphrase is found (never SNAPKIT_PASSWORD)
               "SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD_COMMAND")
_PATH_VARS = {"OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_HOME",
              "OPENCLAW_AGENT_DIR", "OPENCLAW_OAUTH_DIR", "OPENCLAW_WORKSPACE_DIR",
              "SNAPKIT_PASSWORD_FILE"}

@dataclass(frozen=True)
class RunOptions:
    """What the scheduled run does: the ``snap`` (and ``forget``) it runs."""

    repo: str  # an absolute path or an s3: URL
    config: str | None = None  # an absolute path; None: the usual lookup at run time
    paths: tuple[str, ...] = ()  # absolute; none: the OpenClaw installation
    mode: str = "full"
    tags: tuple[str, ...] = ()
    #: None: no forget; an empty policy: the config's ``retention``, read when the job runs
    policy: KeepPolicy | None = None


@dataclass(frozen=True)
class Usable:
    """Whether a scheduler can run a job on this machine now, and if not, why and what
    would make it."""

    scheduler: str
    ok: bool
    reason: str = ""
    fix: str = ""


#: Each platform's schedulers, in the order ``--scheduler auto`` tries them.
CANDIDATES = {"darwin": ("launchd", "cron"), "win32": ("schtasks",),
              "linux": ("systemd", "cron")}


def usable(name: str, home: Home, host: Host) -> Usable:
    """Ask this machine whether ``name`` can run a job: launchd on macOS and the Task
    Scheduler on Windows (their program on PATH); systemd when the user's manager answers;
    cron when ``crontab -l`` works and a cron daemon is running."""
    if name in ("launchd", "schtasks"):
        system, program = {"launchd": ("darwin", "launchctl"),
                           "schtasks": ("win32", "schtasks")}[name]
        if home.platform != system or not host.which(program):
            where = "macOS's" if name == "launchd" else "Windows'"
            return Usable(name, False, f"{name} is {where} scheduler and `{program}` is not "
                          f"here (this machine runs {home.platform})",
                          "leave --scheduler at auto to use one this machine has")
        return Usable(name, True)
    if name == "systemd":
        if not host.which("systemctl"):
            return Usable(name, False, "systemctl is not installed",
                          "use --scheduler cron")
        ran = systemd.reachable(host.runner)
        if ran.code != 0:
            return Usable(name, False, f"no user systemd answers ({ran.message})",
                          "log in to a session with a user systemd (over SSH: `loginctl "
                          "enable-linger $USER` keeps one running)")
        return Usable(name, True)
    if not host.which("crontab"):
        return Usable(name, False, "cron is not installed (no crontab program)",
                      "install cron (e.g. `apt install cron`)")
    try:
        cron.read_crontab(host.runner)
    except SnapkitError as exc:
        return Usable(name, False, exc.message.partition(";")[0], "check `crontab -l`")
    if host.cron_daemon() is None:
        return Usable(name, False, "no cron daemon is running",
                      f"start a cron daemon ({cron.START_DAEMON})")
    return Usable(name, True)


def choose(requested: str, home: Home, host: Host, write_only: bool = False) -> Usable:
    """The scheduler to install with: ``requested``, refused when it cannot run the job here
    (unless ``write_only``); ``auto``: the first of this platform's that can, else (with
    ``write_only``) the one most likely to once enabled."""
    if requested != "auto":
        found = usable(requested, home, host)
        if not found.ok and not write_only:
            raise UsageError(f"--scheduler {requested} cannot run the job here: "
                             f"{found.reason}; {found.fix}, or pass --write-only to write "
                             "its files without enabling them")
        return found
    tried = [usable(name, home, host) for name in CANDIDATES[home.platform]]
    for found in tried:
        if found.ok:
            return found
    if write_only:
        return next((t for t in tried if _installed_here(t.scheduler, host)), tried[0])
    why = "; ".join(f"{t.scheduler}: {t.reason}" for t in tried)
    fixes = " or ".join(t.fix for t in tried)
    raise UsageError(f"no scheduler can run the job here ({why}); {fixes}, then install "
                     "again — or pass --write-only to write the job now and enable it later")


def _installed_here(name: str, host: Host) -> bool:
    """Whether ``name`` is on this machine at all (so that a job written for it can be
    enabled once it runs): systemd as init, a crontab program."""
    if name == "systemd":
        return host.booted_systemd() and host.which("systemctl") is not None
    return host.which({"cron": "crontab", "launchd": "launchctl"}.get(name, name)) is not None


def keep_flags(policy: KeepPolicy) -> list[str]:
    """``policy`` as the ``--keep-*`` options that make it again."""
    flags = [f"--keep-{name}={n}" for name, n in (
        ("last", policy.last), ("hourly", policy.hourly), ("daily", policy.daily),
        ("weekly", policy.weekly), ("monthly", policy.monthly), ("yearly", policy.yearly),
    ) if n]
    if policy.within is not None:
        flags.append(f"--keep-within={format_duration(policy.within)}")
    return flags + [f"--keep-tag={t}" for t in policy.tags]


def run_argv(options: RunOptions, status_file: Path,
             env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The job's exact command line."""
    env = os.environ if env is None else env
    argv = [sys.executable, "-m", "snapkit", "schedule", "run", "--repo", options.repo]
    if options.config:
        argv += ["--config", options.config]
    argv += ["--status-file", str(status_file)]
    for name in CARRIED_ENV:
        value = env.get(name, "")
        if value:
            if name in _PATH_VARS:
                value = os.path.abspath(os.path.expanduser(value))
            argv += ["--setenv", f"{name}={value}"]
    if options.mode != "full":
        argv += ["--mode", options.mode]
    for tag in options.tags:
        argv += ["--tag", tag]
    if options.policy is not None:
        argv += ["--forget", *keep_flags(options.policy)]
    return (*argv, *options.paths)


def log_path(home: Home) -> Path:
    """Where launchd and cron append the job's output (systemd keeps it in the journal)."""
    if home.platform == "darwin":
        return home.home / "Library" / "Logs" / "snapkit" / "schedule.log"
    return home.state / "schedule.log"


def make_job(options: RunOptions, schedule: Schedule, home: Home,
             env: Mapping[str, str] | None = None) -> Job:
    return Job(schedule, run_argv(options, home.state / FILE_NAME, env), log_path(home))


def plan(scheduler: str, job: Job, home: Home, now: datetime) -> Plan:
    """What install would write and run (``--dry-run``)."""
    if scheduler == "schtasks":
        return schtasks.plan(job, home, now.date().isoformat())
    if scheduler == "launchd":
        return launchd.plan(job, home)
    return systemd.plan(job, home) if scheduler == "systemd" else cron.plan(job, home)


def inspect_all(home: Home, host: Host, now: datetime,
                scheduler: str | None = None) -> list[Installed]:
    """Every snapkit job found, in ``scheduler``'s place or in every scheduler's (a plist
    written on Linux, units left on a machine now without systemd: all are found)."""
    found = []
    for name in [scheduler] if scheduler else SCHEDULERS:
        if name == "cron" and not host.which("crontab"):
            continue
        if name == "cron":
            installed = cron.inspect(home, host.runner, now, host.cron_daemon())
        else:
            module = {"systemd": systemd, "launchd": launchd, "schtasks": schtasks}[name]
            installed = module.inspect(home, host.runner, now)
        if installed is not None:
            found.append(installed)
    return found


def install(scheduler: str, job: Job, home: Home, host: Host, now: datetime,
            write_only: bool = False) -> Applied:
    """Install ``job`` on ``scheduler`` and enable it; refuses when a job is installed on
    another one. A scheduler that fails to enable it leaves nothing behind and raises. With
    ``write_only``, the files (the crontab line) are written and the enabling commands are
    left for the user (:attr:`Applied.manual`)."""
    other = [i.scheduler for i in inspect_all(home, host, now)
             if i.scheduler != scheduler]
    if other:
        raise UsageError(f"a snapkit schedule is already installed with {other[0]}; run "
                         "`snapkit schedule remove` first, then install again")
    importable(job.argv[0])
    home.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    enable = not write_only
    if scheduler == "schtasks":
        done = schtasks.install(job, home, host.runner, now.date().isoformat(), enable)
    elif scheduler == "launchd":
        done = launchd.install(job, home, host.runner, enable)
    elif scheduler == "systemd":
        done = systemd.install(job, home, host.runner, enable)
    else:
        done = cron.install(job, home, host.runner, host.cron_daemon())
    if done.enabled or write_only:
        return done
    if scheduler == "cron":  # the daemon stopped since it was checked
        remove(home, host, now, "cron")
        raise SnapkitError(f"no cron daemon is running, so the crontab line would never run; "
                           f"nothing is installed; start one ({cron.START_DAEMON}) and "
                           "install again, or pass --write-only")
    remove(home, host, now, scheduler)
    raise SnapkitError(f"{scheduler} did not enable the job: {'; '.join(done.notes)}; "
                       "nothing is installed; fix that and install again, or pass "
                       "--write-only to write the files and enable them yourself")


def importable(python: str) -> None:
    """Refuse a job whose Python cannot import snapkit as the scheduler will start it: without
    PYTHONPATH, from the root directory (a checkout run through PYTHONPATH is not enough)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        done = subprocess.run([python, "-c", "import snapkit"], env=env, cwd=os.path.abspath(
            os.sep), capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run {python}: {exc}") from exc
    if done.returncode != 0:
        raise UsageError(f"{python} cannot import snapkit without PYTHONPATH, so the scheduled "
                         "job could not start; install snapkit into it (`pip install .`), then "
                         "run `snapkit schedule install` again")


def remove(home: Home, host: Host, now: datetime,
           scheduler: str | None = None) -> list[Applied]:
    """Remove the job from every scheduler it is found on (or from ``scheduler``)."""
    done = []
    for installed in inspect_all(home, host, now, scheduler):
        module = {"systemd": systemd, "launchd": launchd, "schtasks": schtasks,
                  "cron": cron}[installed.scheduler]
        done.append(module.remove(home, host.runner))
    return done


@dataclass(frozen=True)
class Status:
    installed: tuple[Installed, ...]
    record: RunRecord | None
    record_path: Path
    #: for a record still "running": whether its process is alive (None: finished)
    running: bool | None
    #: why the record could not be read (damaged, not a file), else None
    record_error: str | None = None


def status(home: Home, host: Host, now: datetime, scheduler: str | None = None) -> Status:
    """What is installed and the last run's record (from the file the job's command names);
    a record that cannot be read is named, the jobs still shown."""
    installed = tuple(inspect_all(home, host, now, scheduler))
    path = home.state / FILE_NAME
    for job in installed:
        if "--status-file" in job.argv[:-1]:
            path = Path(job.argv[job.argv.index("--status-file") + 1])
            break
    try:
        record = read_record(path)
    except UsageError as exc:
        return Status(installed, None, path, None, exc.message)
    running = None
    if record is not None and record.state == "running":
        running = process_alive(record.pid)
    return Status(installed, record, path, running)


def pinned_config(explicit: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The config file the job names (absolute): the one ``--config`` or ``$SNAPKIT_CONFIG``
    gives, or the default one when it exists; None leaves the run to the usual lookup."""
    from snapkit.select.config import config_search_path

    label, path = config_search_path(explicit, env)[0]
    if label != "default" or path.exists():
        return os.path.abspath(os.path.expanduser(str(path)))
    return None


def check_sources(options: RunOptions) -> None:
    """Refuse a job whose snapshot would fail at once: an unknown mode, a missing path, no
    OpenClaw installation when no path is given (checked as ``snap`` checks them now; the
    config is the one the job names), or a forget by a config with no ``retention``."""
    from snapkit.ops.snap_forget import config_policy
    from snapkit.select.config import load_config
    from snapkit.select.openclaw import discover
    from snapkit.select.sources import plan_sources
    from snapkit.store.location import is_remote

    if not options.paths and not (found := discover()).exists:
        raise UsageError(f"OpenClaw state dir {found.state_dir} not found; set "
                         "OPENCLAW_STATE_DIR or pass the paths to back up, e.g. `snapkit "
                         "schedule install ~/projects`")
    plan_sources(options.paths, options.mode, None, load_config(options.config),
                 repository=None if is_remote(options.repo) else options.repo)
    if options.policy is not None and options.policy.empty:
        config_policy(options.config, "--forget without --keep-* options")


def check_passphrase(repo: str, env: Mapping[str, str] | None = None) -> None:
    """Refuse a job for an encrypted repository it could not open: it runs without a terminal,
    so it needs ``SNAPKIT_PASSWORD_FILE`` or ``SNAPKIT_PASSWORD_COMMAND`` (carried into the
    job; ``SNAPKIT_PASSWORD`` never is), and what they give must open the repository now. A
    repository that cannot be read now is left to the job's run to report."""
    from snapkit.format.errors import PassphraseNeeded, WrongPassphrase
    from snapkit.ops.passphrase import name_the_source, passphrase
    from snapkit.store.repository import Repository

    env = os.environ if env is None else env
    try:
        Repository.open(repo)
        return
    except PassphraseNeeded:
        pass
    except (SnapkitError, OSError):
        return
    carried = {k: env[k] for k in ("SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD_COMMAND")
               if env.get(k)}
    if not carried:
        raise UsageError(f"the repository {repo} is encrypted and a scheduled job has no "
                         "terminal to ask on: install it with --password-file FILE, or "
                         "SNAPKIT_PASSWORD_FILE / SNAPKIT_PASSWORD_COMMAND set, which the job "
                         "carries (SNAPKIT_PASSWORD is never written into a job)")
    try:
        Repository.open(repo, lambda: passphrase(carried))  # a wrong one: exit 12 now
    except WrongPassphrase as exc:
        name_the_source(exc, carried)  # (a wrong one: named by where it came from)


def s3_credentials_note(repo: str, env: Mapping[str, str] | None = None) -> str | None:
    """The warning for an ``s3:`` job whose keys are this shell's ``AWS_*`` (never carried
    into a job) with no shared credentials file to read them from: every run would stop."""
    env = os.environ if env is None else env
    if not repo.startswith("s3:") or not env.get("AWS_ACCESS_KEY_ID"):
        return None
    shared = env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
        os.path.expanduser("~"), ".aws", "credentials")
    if os.path.isfile(os.path.expanduser(shared)):
        return None
    return (f"the S3 keys of this shell (AWS_ACCESS_KEY_ID) are not carried into the job, and "
            f"there is no {shared}: every run would stop with exit 10 (no S3 credentials); "
            "put the keys in that file (docs/s3.md, \"Credentials and region\")")


def checked_repo(repo: str) -> str:
    """``repo`` for the job's command line, refused when it carries a secret (user info or a
    signed query in an ``s3:`` URL): a command line is no place for one."""
    from snapkit.store.location import redact

    if redact(repo) != repo:
        raise UsageError(f"the repository URL {redact(repo)} carries credentials, which a "
                         "scheduled command line would show; give the URL without them and "
                         "put the keys in ~/.aws/credentials (docs/s3.md)")
    return repo


def logs_hint(scheduler: str, home: Home) -> str:
    """Where the job's output goes."""
    if scheduler == "systemd":
        return f"journalctl --user -u {systemd.SERVICE}"
    if scheduler == "schtasks":
        return (f"the Task Scheduler's history of {JOB_NAME}; the outcome of each "
                "run is in the status file")
    return str(log_path(home))
