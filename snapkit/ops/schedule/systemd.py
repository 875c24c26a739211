"""The systemd scheduler (Linux): a user service and timer in
``~/.config/systemd/user/snapkit-snap.{service,timer}``, enabled with ``systemctl --user``.

:func:`render_service` and :func:`render_timer` write the units; :func:`quote` and
:func:`split` are systemd's command-line quoting both ways (``%`` and ``$`` doubled, double
quotes with backslash escapes). When no user systemd is reachable (no login session, a
container), the units are written and the commands to enable them are left for the user.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from snapkit.ops.schedule.base import (
    JOB_NAME,
    MARKER,
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
from snapkit.ops.schedule.spec import Schedule, next_run, on_calendar, parse_on_calendar

SERVICE = f"{JOB_NAME}.service"
TIMER = f"{JOB_NAME}.timer"
SYSTEMCTL = ("systemctl", "--user")
ENABLE_TEXT = f"systemctl --user daemon-reload && systemctl --user enable --now {TIMER}"

_SAFE = re.compile(r"^[A-Za-z0-9_@+=:,./-]+$")


def unit_dir(home: Home) -> Path:
    return home.config / "systemd" / "user"


def quote(arg: str) -> str:
    """One word of an ``ExecStart=`` line: bare when safe, else double-quoted with ``\\``
    and ``"`` escaped; ``%`` (specifiers) and ``$`` (variables) doubled either way."""
    if _SAFE.match(arg):
        return arg
    text = (arg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\t", "\\t"))
    return '"' + text.replace("%", "%%").replace("$", "$$") + '"'


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", " ": " "}


def split(line: str) -> list[str]:
    """The words of an ``ExecStart=`` value, as systemd reads them (the quoting
    :func:`quote` writes, single quotes and backslash escapes; ``%%`` and ``$$`` undoubled)."""
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        word: list[str] = []
        quote_char = ""
        while i < n and (quote_char or line[i] not in " \t"):
            c = line[i]
            if c in "\"'" and not quote_char:
                quote_char, i = c, i + 1
                continue
            if quote_char and c == quote_char:
                quote_char, i = "", i + 1
                continue
            if c == "\\" and i + 1 < n:
                word.append(_ESCAPES.get(line[i + 1], line[i + 1]))
                i += 2
                continue
            if c in "%$" and line[i + 1:i + 2] == c:
                i += 1
            word.append(c)
            i += 1
        words.append("".join(word))
    return words


def render_service(job: Job) -> str:
    command = " ".join(quote(a) for a in job.argv)
    return (f"# {MARKER}: written by `snapkit schedule install`; "
            "`snapkit schedule remove` removes it.\n"
            "[Unit]\n"
            "Description=snapkit scheduled snapshot\n"
            "\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"ExecStart={command}\n"
            "Nice=10\n"
            "IOSchedulingClass=idle\n")


def render_timer(schedule: Schedule) -> str:
    return (f"# {MARKER}: written by `snapkit schedule install`; "
            "`snapkit schedule remove` removes it.\n"
            "[Unit]\n"
            f"Description=snapkit scheduled snapshot ({schedule.describe()})\n"
            "\n"
            "[Timer]\n"
            f"OnCalendar={on_calendar(schedule)}\n"
            "Persistent=true\n"
            "\n"
            "[Install]\n"
            "WantedBy=timers.target\n")


def unit_values(text: str) -> dict[str, str]:
    """``Key=value`` settings of a unit file (the last one of each key), sections ignored."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def plan(job: Job, home: Home) -> Plan:
    units = unit_dir(home)
    return Plan("systemd",
                (PlannedFile(units / SERVICE, render_service(job)),
                 PlannedFile(units / TIMER, render_timer(job.schedule))),
                ((*SYSTEMCTL, "daemon-reload"), (*SYSTEMCTL, "enable", "--now", TIMER)))


def install(job: Job, home: Home, runner: Runner, enable: bool = True) -> Applied:
    """Write both units, then (``enable``) reload the user systemd and enable the timer;
    without ``enable``, the commands to do it are left for the user."""
    p = plan(job, home)
    for f in p.files:
        write_file(f)
    files = tuple(str(f.path) for f in p.files)
    if not enable:
        return Applied("systemd", files, (), False, (ENABLE_TEXT,))
    ran: list[tuple[tuple[str, ...], Ran]] = []
    for argv in p.commands:
        result = runner(argv, None)
        ran.append((argv, result))
        if result.code != 0:
            return Applied("systemd", files, tuple(ran), False, (ENABLE_TEXT,),
                           (f"`{' '.join(argv)}` failed: {result.message}",))
    return Applied("systemd", files, tuple(ran), True, (), _linger_note(runner))


def reachable(runner: Runner) -> Ran:
    """Ask the user's systemd manager for its version: exit 0 when one answers."""
    return runner((*SYSTEMCTL, "show", "--property=Version"), None)


def _linger_note(runner: Runner) -> tuple[str, ...]:
    """A note when the user's manager stops at logout (no lingering): the timer then runs
    only while the user is logged in."""
    import getpass

    user = getpass.getuser()
    asked = runner(("loginctl", "show-user", user, "--property=Linger", "--value"), None)
    if asked.code == 0 and asked.out.strip() == "no":
        return (f"the timer runs only while {user} is logged in; to run it always, run: "
                f"loginctl enable-linger {user}",)
    return ()


def inspect(home: Home, runner: Runner, now: datetime) -> Installed | None:
    """The installed units read back, and what the user systemd says of the timer."""
    units = unit_dir(home)
    service, timer = units / SERVICE, units / TIMER
    if not service.exists() and not timer.exists():
        return None
    svc = unit_values(service.read_text(errors="replace")) if service.exists() else {}
    tmr = unit_values(timer.read_text(errors="replace")) if timer.exists() else {}
    schedule = parse_on_calendar(tmr.get("OnCalendar", ""))
    argv = tuple(split(svc.get("ExecStart", "")))
    files = tuple(str(p) for p in (service, timer) if p.exists())
    notes = [f"{p} is missing: run `snapkit schedule install` again"
             for p in (service, timer) if not p.exists()]
    props_argv = ("-p", "UnitFileState", "-p", "ActiveState", "-p", "NextElapseUSecRealtime")
    shown = runner((*SYSTEMCTL, "show", TIMER, "--timestamp=unix", *props_argv), None)
    if shown.code != 0 and "timestamp" in shown.err:  # systemd < 247: times as text
        shown = runner((*SYSTEMCTL, "show", TIMER, *props_argv), None)
    if shown.code != 0:
        linked = (units / "timers.target.wants" / TIMER).exists()
        return Installed("systemd", schedule, argv, files, None,
                         f"unknown: no user systemd reachable ({shown.message}); the "
                         f"timer's enable link is {'present' if linked else 'absent'}",
                         None, "computed", tuple(notes))
    props = dict(line.partition("=")[::2] for line in shown.out.splitlines())
    enabled = props.get("UnitFileState") == "enabled"
    state = f"{props.get('UnitFileState') or 'unknown'}, {props.get('ActiveState') or '?'}"
    asked = _unix_time(props.get("NextElapseUSecRealtime", ""))
    computed = next_run(schedule, now) if schedule and enabled else None
    return Installed("systemd", schedule, argv, files, enabled, state,
                     asked or computed, "systemd" if asked else "computed", tuple(notes))


def _unix_time(value: str) -> datetime | None:
    """``@1764558000`` (``--timestamp=unix``) as an aware local time; None for anything else."""
    if value.startswith("@") and value[1:].isdigit():
        return datetime.fromtimestamp(int(value[1:]), UTC).astimezone()
    return None


def remove(home: Home, runner: Runner) -> Applied:
    """Disable the timer (when systemd answers), then remove the units install wrote (those
    carrying its marker) and the timer's enable link."""
    units = unit_dir(home)
    ran: list[tuple[tuple[str, ...], Ran]] = []
    disable = (*SYSTEMCTL, "disable", "--now", TIMER)
    result = runner(disable, None)
    ran.append((disable, result))
    removed, notes = [], []
    link = units / "timers.target.wants" / TIMER
    if link.is_symlink() and remove_file(link):
        removed.append(str(link))
    for path in (units / TIMER, units / SERVICE):
        if not path.exists():
            continue
        if MARKER not in path.read_text(errors="replace"):
            notes.append(f"{path} was not written by snapkit (no '{MARKER}' line): left alone")
        elif remove_file(path):
            removed.append(str(path))
    reachable = result.code == 0
    if reachable:
        reload = (*SYSTEMCTL, "daemon-reload")
        ran.append((reload, runner(reload, None)))
    else:
        notes.append(f"no user systemd reachable ({result.message}); if a timer is still "
                     f"loaded, run: systemctl --user daemon-reload")
    return Applied("systemd", tuple(removed), tuple(ran), reachable, (), tuple(notes))
