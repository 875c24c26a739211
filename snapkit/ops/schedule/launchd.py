"""The launchd scheduler (macOS): a LaunchAgent in
``~/Library/LaunchAgents/org.snapkit.snap.plist``, loaded with
``launchctl bootstrap gui/$UID`` and unloaded with ``launchctl bootout``.

:func:`render_plist` writes the property list (``StartCalendarInterval`` for the schedule, the
command's output appended to the log); ``status`` reads it back and asks ``launchctl print``
whether the agent is loaded. launchd runs a job missed while the Mac slept at wake-up.
"""

from __future__ import annotations

import plistlib
from datetime import datetime
from pathlib import Path

from snapkit.ops.schedule.base import (
    LAUNCHD_LABEL,
    Applied,
    Home,
    Installed,
    Job,
    Plan,
    PlannedFile,
    Ran,
    Runner,
    remove_file,
    write_file,
)
from snapkit.ops.schedule.spec import launchd_interval, next_run, parse_launchd_interval


def plist_path(home: Home) -> Path:
    return home.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def render_plist(job: Job) -> str:
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(job.argv),
        "StartCalendarInterval": launchd_interval(job.schedule),
        "StandardOutPath": str(job.log),
        "StandardErrorPath": str(job.log),
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "Nice": 10,
        "RunAtLoad": False,
    }).decode()


def _domain(home: Home) -> str:
    return f"gui/{home.uid}"


def plan(job: Job, home: Home) -> Plan:
    path = plist_path(home)
    return Plan("launchd", (PlannedFile(path, render_plist(job)),),
                (("launchctl", "bootout", f"{_domain(home)}/{LAUNCHD_LABEL}"),
                 ("launchctl", "bootstrap", _domain(home), str(path))))


def install(job: Job, home: Home, runner: Runner, enable: bool = True) -> Applied:
    """Write the plist, then (``enable``) unload an earlier copy (its failure means none was
    loaded) and load it."""
    p = plan(job, home)
    job.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for f in p.files:
        write_file(f)
    manual = f"launchctl bootstrap {_domain(home)} {plist_path(home)}"
    if not enable:
        return Applied("launchd", (str(plist_path(home)),), (), False, (manual,))
    ran = [(argv, runner(argv, None)) for argv in p.commands]
    loaded = ran[-1][1]
    if loaded.code != 0:
        return Applied("launchd", (str(plist_path(home)),), tuple(ran), False, (manual,),
                       (f"`launchctl bootstrap` failed: {loaded.message}",))
    return Applied("launchd", (str(plist_path(home)),), tuple(ran), True)


def inspect(home: Home, runner: Runner, now: datetime) -> Installed | None:
    path = plist_path(home)
    if not path.exists():
        return None
    try:
        data = plistlib.loads(path.read_bytes())
    except (plistlib.InvalidFileException, ValueError) as exc:
        return Installed("launchd", None, (), (str(path),), None,
                         f"unreadable plist ({exc}): run `snapkit schedule install` again")
    schedule = parse_launchd_interval(data.get("StartCalendarInterval"))
    argv = tuple(str(a) for a in data.get("ProgramArguments", ()))
    printed: Ran = runner(("launchctl", "print", f"{_domain(home)}/{LAUNCHD_LABEL}"), None)
    loaded = printed.code == 0
    return Installed("launchd", schedule, argv, (str(path),), loaded,
                     "loaded" if loaded else f"not loaded ({printed.message})",
                     next_run(schedule, now) if schedule and loaded else None)


def remove(home: Home, runner: Runner) -> Applied:
    argv = ("launchctl", "bootout", f"{_domain(home)}/{LAUNCHD_LABEL}")
    ran = runner(argv, None)
    path = plist_path(home)
    removed = (str(path),) if remove_file(path) else ()
    return Applied("launchd", removed, ((argv, ran),), True)
