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
#: The longest line written: Vixie cron 3 (Debian's ``cron``) reads at most 1000 bytes of a
#: command (``MAX_COMMAND``), System V's cron 1000 bytes of a line; longer would be cut.
MAX_LINE = 1000


def quote(word: str) -> str:
    """One word of the line's command, as ``sh`` reads it after cron: :func:`shlex.quote`
    for each run of text between ``%`` signs, and each ``%`` written ``\\%`` outside any
    quotes (cron turns an unescaped ``%`` into a newline and drops the backslash of ``\\%``;
    a cron that does neither hands ``\\%`` to ``sh``, which reads it as ``%`` too)."""
    if "%" not in word:
        return shlex.quote(word)
    return "\\%".join(shlex.quote(part) if part else "" for part in word.split("%"))


def render_line(job: Job) -> str:
    """The crontab line: the time fields, the command quoted for ``sh``, its output appended
    to the log, and the marker. A line break (``\\n``, ``\\r``) cannot be written in one."""
    for word in (*job.argv, str(job.log)):
        if "\n" in word or "\r" in word:
            raise UsageError(f"{word!r} holds a line break, which a crontab line cannot "
                             "carry; use a path without one, or --scheduler systemd")
    command = " ".join(quote(a) for a in job.argv)
    line = f"{cron_fields(job.schedule)} {command} >> {quote(str(job.log))} 2>&1{TAIL}"
    if len(line.encode()) >= MAX_LINE:
        raise UsageError(f"the crontab line would be {len(line.encode()):,} bytes, more than "
                         f"cron reads of one ({MAX_LINE - 1:,}); back up fewer or shorter "
                         "paths, or use --scheduler systemd")
    return line


def cron_unescape(text: str) -> str:
    """What cron hands to ``sh`` of a line's command: ``\\%`` becomes ``%``, and an
    unescaped ``%`` ends the command (the rest is its standard input)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("%" if text[i + 1] == "%" else text[i:i + 2])
            i += 2
            continue
        if c == "%":
            break
        out.append(c)
        i += 1
    return "".join(out)


def sh_words(text: str) -> list[tuple[str, bool]]:
    """The words ``sh`` reads in ``text`` (quotes and backslashes as POSIX says, no
    expansions), each with whether it was written bare (no quote, no backslash): an operator
    such as ``>>`` is one only when bare."""
    words: list[tuple[str, bool]] = []
    word: list[str] = []
    bare, started, i = True, False, 0
    while i < len(text):
        c = text[i]
        if c in " \t":
            if started:
                words.append(("".join(word), bare))
            word, bare, started, i = [], True, False, i + 1
            continue
        started = True
        if c == "'":
            end = text.find("'", i + 1)
            end = len(text) if end < 0 else end
            word.append(text[i + 1:end])
            bare, i = False, end + 1
        elif c == '"':
            i, bare = _double_quoted(text, i + 1, word), False
        elif c == "\\":
            word.append(text[i + 1:i + 2])
            bare, i = False, i + 2
        else:
            word.append(c)
            i += 1
    if started:
        words.append(("".join(word), bare))
    return words


def _double_quoted(text: str, i: int, word: list[str]) -> int:
    """Read a double-quoted part from ``i`` (after its quote) into ``word``; the index after
    its closing quote."""
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and text[i + 1:i + 2] in ('"', "\\", "$", "`"):
            i += 1
        word.append(text[i])
        i += 1
    return i + 1


def is_ours(line: str) -> bool:
    return line.rstrip().endswith(TAIL) or line.startswith(f"# {MARKER}:")


def parse_line(line: str) -> tuple[Schedule | None, tuple[str, ...]]:
    """The schedule and command of a line :func:`render_line` wrote: the words before the
    last bare ``>>`` (the log's redirection)."""
    body = line.rstrip().removesuffix(TAIL)
    parts = body.split(None, 5)
    if len(parts) < 6:
        return None, ()
    words = sh_words(cron_unescape(parts[5]))
    ops = [n for n, (w, bare) in enumerate(words) if bare and w == ">>"]
    if ops:
        words = words[:ops[-1]]
    return parse_cron_fields(parts[:5]), tuple(w for w, _ in words)


def lines_of(text: str) -> list[str]:
    """The lines of a crontab as cron reads them: split at ``\\n`` only (a form feed or
    ``\\x85`` in another line is not a line break, as :meth:`str.splitlines` would make it)."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def merged(existing: str, job: Job) -> str:
    """``existing`` without any line of ours, then the header and the new job line."""
    kept = [line for line in lines_of(existing) if not is_ours(line)]
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


#: What to run when no cron daemon runs (``crond`` on Fedora and Alpine).
START_DAEMON = "sudo service cron start"


def plan(job: Job, home: Home) -> Plan:
    return Plan("cron", (), (("crontab", "-l"), ("crontab", "-")),
                (f"the crontab line: {render_line(job)}",))


def install(job: Job, home: Home, runner: Runner, daemon: str | None) -> Applied:
    """Write the line into the crontab; it runs when a cron daemon (``daemon``: the one
    running, None: none is) reads it."""
    job.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = render_line(job)
    written = _write(runner, merged(read_crontab(runner), job))
    notes = (f"crontab line: {line}", *_daemon_note(daemon))
    return Applied("cron", (), (written,), daemon is not None,
                   () if daemon else (START_DAEMON,), notes)


def inspect(home: Home, runner: Runner, now: datetime, daemon: str | None) -> Installed | None:
    lines = [line for line in lines_of(read_crontab(runner))
             if line.rstrip().endswith(TAIL)]
    if not lines:
        return None
    schedule, argv = parse_line(lines[-1])
    notes = [f"{len(lines)} lines carry the marker; `snapkit schedule install` again keeps "
             "one"] if len(lines) > 1 else []
    state = (f"in the crontab, {daemon} running" if daemon
             else "in the crontab, but no cron daemon is running")
    return Installed("cron", schedule, argv, ("crontab",), daemon is not None, state,
                     next_run(schedule, now) if schedule and daemon else None, "computed",
                     (*notes, *_daemon_note(daemon)))


def remove(home: Home, runner: Runner) -> Applied:
    existing = read_crontab(runner)
    lines = lines_of(existing)
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


def _daemon_note(daemon: str | None) -> tuple[str, ...]:
    """A note when no cron daemon is running here (the line is then never run)."""
    if daemon:
        return ()
    return ("no cron daemon (cron, crond) is running on this machine: the line runs only "
            f"once one is started ({START_DAEMON})",)
