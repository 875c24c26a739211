"""The Windows scheduler: a Scheduled Task named ``snapkit-snap``, registered from the task
XML :func:`render_task` writes (``schtasks /Create /TN snapkit-snap /XML FILE /F``) and
removed with ``schtasks /Delete``.

The task runs as the user, only while they are logged on (no password is stored), and starts
a missed run as soon as it can. Its command is split into ``Command`` and ``Arguments`` with
Windows' quoting (:func:`subprocess.list2cmdline`; :func:`split_arguments` reads it back).
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from snapkit.ops.schedule.base import (
    JOB_NAME,
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
from snapkit.ops.schedule.spec import Schedule, next_run

NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"


def xml_path(home: Home) -> Path:
    return home.state / f"{JOB_NAME}.xml"


def _trigger(schedule: Schedule, day: str) -> str:
    if schedule.kind == "hourly":
        return ("    <TimeTrigger>\n"
                "      <Repetition><Interval>PT1H</Interval>"
                "<StopAtDurationEnd>false</StopAtDurationEnd></Repetition>\n"
                f"      <StartBoundary>{day}T00:{schedule.minute:02}:00</StartBoundary>\n"
                "      <Enabled>true</Enabled>\n"
                "    </TimeTrigger>\n")
    return ("    <CalendarTrigger>\n"
            f"      <StartBoundary>{day}T{schedule.hour:02}:{schedule.minute:02}:00"
            "</StartBoundary>\n"
            "      <Enabled>true</Enabled>\n"
            "      <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>\n"
            "    </CalendarTrigger>\n")


def render_task(job: Job, day: str) -> str:
    """The task XML; ``day`` (``YYYY-MM-DD``) is the first day its trigger counts from."""
    return ('<?xml version="1.0" encoding="UTF-16"?>\n'
            f'<Task version="1.2" xmlns="{NS}">\n'
            "  <RegistrationInfo>\n"
            f"    <Description>snapkit scheduled snapshot ({job.schedule.describe()}); "
            "written by snapkit schedule install</Description>\n"
            f"    <URI>\\{JOB_NAME}</URI>\n"
            "  </RegistrationInfo>\n"
            "  <Triggers>\n" + _trigger(job.schedule, day) + "  </Triggers>\n"
            "  <Settings>\n"
            "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
            "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
            "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
            "    <StartWhenAvailable>true</StartWhenAvailable>\n"
            "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n"
            "    <Enabled>true</Enabled>\n"
            "    <Priority>7</Priority>\n"
            "  </Settings>\n"
            "  <Principals>\n"
            '    <Principal id="Author">\n'
            "      <LogonType>InteractiveToken</LogonType>\n"
            "      <RunLevel>LeastPrivilege</RunLevel>\n"
            "    </Principal>\n"
            "  </Principals>\n"
            '  <Actions Context="Author">\n'
            "    <Exec>\n"
            f"      <Command>{escape(job.argv[0])}</Command>\n"
            f"      <Arguments>{escape(subprocess.list2cmdline(job.argv[1:]))}</Arguments>\n"
            "    </Exec>\n"
            "  </Actions>\n"
            "</Task>\n")


def split_arguments(text: str) -> list[str]:
    """Windows' own split of a command line (``CommandLineToArgvW``): backslashes are
    literal unless they precede a quote; ``"`` groups; ``\\"`` is a quote."""
    words: list[str] = []
    word: list[str] = []
    in_quotes, has_word, i = False, False, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            run = j - i
            if j < len(text) and text[j] == '"':
                word.append("\\" * (run // 2))
                if run % 2:  # an odd run escapes the quote
                    word.append('"')
                    j += 1
            else:
                word.append("\\" * run)
            i, has_word = j, True
            continue
        if c == '"':
            in_quotes, has_word = not in_quotes, True
        elif c in " \t" and not in_quotes:
            if has_word:
                words.append("".join(word))
            word, has_word = [], False
        else:
            word.append(c)
            has_word = True
        i += 1
    if has_word:
        words.append("".join(word))
    return words


def read_task(xml: str) -> tuple[Schedule | None, tuple[str, ...], bool]:
    """The schedule, command and enabled flag of a task XML written by :func:`render_task`."""
    root = ElementTree.fromstring(xml.encode("utf-16") if xml.startswith("<?xml") else xml)
    ns = {"t": NS}
    command = root.findtext("t:Actions/t:Exec/t:Command", "", ns)
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", "", ns)
    boundary = root.findtext("t:Triggers/*/t:StartBoundary", "", ns)
    hourly = root.find("t:Triggers/t:TimeTrigger", ns) is not None
    schedule = None
    if len(boundary) >= 16 and boundary[10] == "T":
        hour, minute = int(boundary[11:13]), int(boundary[14:16])
        schedule = Schedule("hourly", 0, minute) if hourly else Schedule("daily", hour, minute)
    enabled = root.findtext("t:Settings/t:Enabled", "true", ns).strip() == "true"
    return schedule, (command, *split_arguments(arguments)), enabled


def plan(job: Job, home: Home, day: str) -> Plan:
    path = xml_path(home)
    return Plan("schtasks", (PlannedFile(path, render_task(job, day), 0o600, "utf-16"),),
                (("schtasks", "/Create", "/TN", JOB_NAME, "/XML", str(path), "/F"),))


def install(job: Job, home: Home, runner: Runner, day: str, enable: bool = True) -> Applied:
    """Write the task XML, then (``enable``) register it."""
    p = plan(job, home, day)
    for f in p.files:
        write_file(f)
    argv = p.commands[0]
    if not enable:
        return Applied("schtasks", (str(xml_path(home)),), (), False,
                       (subprocess.list2cmdline(argv),))
    ran = runner(argv, None)
    if ran.code != 0:
        return Applied("schtasks", (str(xml_path(home)),), ((argv, ran),), False,
                       (subprocess.list2cmdline(argv),),
                       (f"`schtasks /Create` failed: {ran.message}",))
    return Applied("schtasks", (str(xml_path(home)),), ((argv, ran),), True)


def inspect(home: Home, runner: Runner, now: datetime) -> Installed | None:
    """The registered task (asked of ``schtasks`` on Windows), else the XML install wrote."""
    path = xml_path(home)
    queried = (runner(("schtasks", "/Query", "/TN", JOB_NAME, "/XML"), None)
               if home.platform == "win32" else Ran(127, "", "schtasks: not on this system"))
    try:
        if queried.code != 0:
            if not path.exists():
                return None
            schedule, argv, _ = read_task(path.read_text(encoding="utf-16"))
            return Installed("schtasks", schedule, argv, (str(path),), False,
                             f"written, not registered ({queried.message})")
        schedule, argv, enabled = read_task(queried.out)
    except (ElementTree.ParseError, UnicodeError, ValueError) as exc:
        return Installed("schtasks", None, (), (str(path),), None,
                         f"unreadable task XML ({exc}): run `snapkit schedule install` again")
    return Installed("schtasks", schedule, argv, (f"task {JOB_NAME}",), enabled,
                     "enabled" if enabled else "disabled",
                     next_run(schedule, now) if schedule and enabled else None)


def remove(home: Home, runner: Runner) -> Applied:
    argv = ("schtasks", "/Delete", "/TN", JOB_NAME, "/F")
    ran = runner(argv, None)
    removed = (f"task {JOB_NAME}",) if ran.code == 0 else ()
    if remove_file(xml_path(home)):
        removed = (*removed, str(xml_path(home)))
    return Applied("schtasks", removed, ((argv, ran),), True)
