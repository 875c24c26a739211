"""The cron scheduler, where no systemd, launchd or Task Scheduler is: one line in the
user's crontab, read with ``crontab -l`` and written back whole with ``crontab -``, every
other line kept as it was.

The job line ends with the ``# snapkit-schedule`` marker (a shell comment, so cron runs the
command without it) and follows a comment line saying who wrote it; ``remove`` drops exactly
the lines carrying the marker. cron keeps no output: the line appends it to the log file.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from snapkit.format.errors import SnapkitError, UsageError
from snapkit.ops.schedule.base import (
    MARKER,
    Applied,
    Home,
    Installed,
    Job,
    Plan,
    Ran,
    Runner,
)
from snapkit.ops.schedule.spec import Schedule, cron_fields, next_run, parse_cron_fields

HEADER = (f"# {MARKER}: written by `snapkit schedule install`; `snapkit schedule remove` "
          "removes it")
TAIL = f" # {MARKER}"


def render_line(job: Job) -> str:
    """The crontab line: the time fields, the command quoted for ``sh``, its output appended
    to the log, and the marker. A ``%`` (cron's newline) or a newline cannot be written."""
    for word in (*job.argv, str(job.log)):
        if "%" in word or "\n" in word:
            raise UsageError(f"{word!r} holds a '%' or a newline, which a crontab line cannot "
                             "carry; use a path without them")
    command = " ".join(shlex.quote(a) for a in job.argv)
    return (f"{cron_fields(job.schedule)} {command} >> {shlex.quote(str(job.log))} 2>&1"
            f"{TAIL}")


def is_ours(line: str) -> bool:
    return line.rstrip().endswith(TAIL) or line.startswith(f"# {MARKER}:")


def parse_line(line: str) -> tuple[Schedule | None, tuple[str, ...]]:
    """The schedule and command of a line :func:`render_line` wrote."""
    body = line.rstrip().removesuffix(TAIL)
    parts = body.split(None, 5)
    if len(parts) < 6:
        return None, ()
    words = shlex.split(parts[5])
    if ">>" in words:
        words = words[:words.index(">>")]
    return parse_cron_fields(parts[:5]), tuple(words)


def merged(existing: str, job: Job) -> str:
    """``existing`` without any line of ours, then the header and the new job line."""
    kept = [line for line in existing.splitlines() if not is_ours(line)]
    return "\n".join([*kept, HEADER, render_line(job)]) + "\n"


def read_crontab(runner: Runner) -> str:
    """The user's crontab (empty when there is none)."""
    ran = runner(("crontab", "-l"), None)
    if ran.code == 0:
        return ran.out
    if "no crontab" in ran.err.lower():
        return ""
    raise SnapkitError(f"cannot read the crontab: {ran.message}; check that cron is "
                       "installed (`crontab -l` must work) or pick --scheduler")


def _write(runner: Runner, text: str) -> tuple[tuple[str, ...], Ran]:
    argv = ("crontab", "-")
    ran = runner(argv, text)
    if ran.code != 0:
        raise SnapkitError(f"cannot write the crontab: {ran.message} (it is unchanged)")
    return argv, ran


def plan(job: Job, home: Home) -> Plan:
    return Plan("cron", (), (("crontab", "-l"), ("crontab", "-")),
                (f"the crontab line: {render_line(job)}",))


def install(job: Job, home: Home, runner: Runner) -> Applied:
    job.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = render_line(job)
    written = _write(runner, merged(read_crontab(runner), job))
    return Applied("cron", (), (written,), True, (), (f"crontab line: {line}",
                                                        *_daemon_note()))


def inspect(home: Home, runner: Runner, now: datetime) -> Installed | None:
    lines = [line for line in read_crontab(runner).splitlines()
             if line.rstrip().endswith(TAIL)]
    if not lines:
        return None
    schedule, argv = parse_line(lines[-1])
    notes = [f"{len(lines)} lines carry the marker; `snapkit schedule install` again keeps "
             "one"] if len(lines) > 1 else []
    return Installed("cron", schedule, argv, ("crontab",), True, "in the crontab",
                     next_run(schedule, now) if schedule else None, "computed",
                     (*notes, *_daemon_note()))


def remove(home: Home, runner: Runner) -> Applied:
    existing = read_crontab(runner)
    lines = existing.splitlines()
    kept = [line for line in lines if not is_ours(line)]
    if len(kept) == len(lines):
        return Applied("cron", (), (), True)
    if kept:
        written = _write(runner, "\n".join(kept) + "\n")
    else:  # nothing else was there: no crontab, as before install
        argv = ("crontab", "-r")
        written = (argv, runner(argv, None))
        if written[1].code != 0:
            written = _write(runner, "")
    return Applied("cron", ("crontab",), (written,), True,
                   (), tuple(f"removed: {line}" for line in lines if is_ours(line)))


def _daemon_note() -> tuple[str, ...]:
    """A note when no cron daemon is running here (the line is then never run)."""
    import psutil

    names = {"cron", "crond", "cronie", "busybox-crond"}
    for proc in psutil.process_iter(["name"]):
        if (proc.info.get("name") or "") in names:
            return ()
    return ("no cron daemon (cron, crond) is running on this machine: the line runs only "
            "once one is started",)
