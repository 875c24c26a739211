"""The service-aware lifecycle: stop the OpenClaw gateway around a snapshot when needed.

OpenClaw's gateway keeps writing while a snapshot runs: session transcripts (``*.jsonl``) grow,
WAL-mode SQLite stores commit, and on Windows a file held open cannot be read at all. This
module finds out what is live under the sources and, when the policy says so, stops the
gateway for the snapshot and starts it again afterwards:

1. :func:`detect` looks at the machine: whether the gateway runs (a process whose command line
   matches ``service.process_pattern``, else the output of ``service.status_command``), which
   files under the sources another process holds open for writing, and which SQLite databases
   are live (a ``-wal`` sidecar present, or held open by another process).
2. :func:`decide` (pure) turns a :class:`Detection` and a policy into a :class:`Decision`:

   * ``auto`` stops only when needed: the gateway runs and non-SQLite files are open for
     writing, or the platform cannot read open files (Windows). Live SQLite databases alone need
     no stop: the online backup API copies them consistently while the gateway writes.
   * ``always`` stops whenever the gateway runs; ``never`` never stops.
   * A gateway that is not running is never stopped and never started.

3. :func:`gateway_lifecycle` is the context manager the snapshot runs in. When a stop is wanted
   it runs ``service.stop_command`` (unless the command is missing from PATH or the user says no
   at the prompt: then it goes on best-effort with a warning naming the locked files), waits
   (bounded by ``service.stop_timeout``) until the gateway's processes have exited and the files
   are released, yields, and in every case — success, errors, Ctrl-C, SIGTERM — runs
   ``service.start_command`` if and only if it stopped the gateway. A failing start is reported
   loudly (warning and :attr:`ServiceRecord.errors`) but never hides the original exception.

What happened is kept in a :class:`ServiceRecord`, which goes into the snapshot manifest's
``service`` map.

Open files are found through ``/proc/<pid>/fd`` on Linux (ten times faster than psutil's
``open_files()``, which reads every descriptor's ``fdinfo``; only the files under the sources
are looked at further) and through psutil's ``Process.open_files()`` elsewhere. Where the
platform does not report the open mode (macOS, Windows), every open file counts as open for
writing: the safe side.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psutil

from snapkit.config import SERVICE_POLICIES, ServiceConfig

#: Confirmation prompt shown on an interactive terminal (without ``--yes``).
PROMPT = "Stop the OpenClaw gateway for the snapshot and restart it after? [y/N]"

#: How long the status command may take.
STATUS_TIMEOUT = 10.0
#: The least time given to the stop and start commands, whatever ``stop_timeout`` says.
MIN_COMMAND_TIMEOUT = 10.0
#: How many paths a warning names before "and N more".
SHOWN_PATHS = 5

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")
_WRITE_MODES = frozenset({"w", "a", "r+", "a+", "w+"})
_STATUS_CHARS = 400
_POLL = 0.05

#: "Not running" wording of status commands (``openclaw gateway status``, systemd, launchd).
_STATUS_DOWN = re.compile(
    r"(?i)\b(?:not\s+running|isn'?t\s+running|inactive|disabled|stopped|not\s+loaded|"
    r"not\s+installed|not\s+started|dead|exited|failed|unreachable|no\s+gateway)\b"
)
_STATUS_UP = re.compile(r"(?i)\b(?:running|active)\b")

#: ``(absolute path, is_dir) -> selected``: which paths the snapshot takes (see
#: :func:`selector`). Files it rejects are not captured, so their being open does not matter.
Selector = Callable[[str, bool], bool]
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """What is live under the sources, and whether the gateway runs."""

    gateway_running: bool
    gateway_pids: tuple[int, ...]
    #: Non-SQLite files under the sources another process holds open for writing, sorted.
    open_for_writing: tuple[str, ...]
    #: SQLite databases under the sources with a ``-wal`` sidecar present or held open by
    #: another process, sorted.
    live_databases: tuple[str, ...]
    #: The executable of ``service.stop_command`` is on PATH.
    command_available: bool
    #: Short output of ``service.status_command`` ("" if it was not run).
    status_output: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "gateway_running": self.gateway_running,
            "gateway_pids": list(self.gateway_pids),
            "open_for_writing": list(self.open_for_writing),
            "live_databases": list(self.live_databases),
            "command_available": self.command_available,
            "status_output": self.status_output,
        }


@dataclass(frozen=True)
class Decision:
    """Whether to stop the gateway, why, and the warning when going on with locked files."""

    stop: bool
    reason: str
    warning: str | None


@dataclass
class ServiceRecord:
    """What the lifecycle saw and did: the snapshot manifest's ``service`` map."""

    policy: str
    detection: dict[str, Any]
    decision: str
    stopped: bool = False
    restarted: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "detection": dict(self.detection),
            "decision": self.decision,
            "stopped": self.stopped,
            "restarted": self.restarted,
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def shorten(paths: Sequence[str], limit: int = SHOWN_PATHS) -> str:
    """``a, b, c, d, e and 3 more``: a list of paths for a one-line message."""
    if len(paths) <= limit:
        return ", ".join(paths)
    return ", ".join(paths[:limit]) + f" and {len(paths) - limit} more"


def _command_text(command: Sequence[str]) -> str:
    return " ".join(command)


def _short_output(text: str) -> str:
    text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= _STATUS_CHARS else text[: _STATUS_CHARS - 3] + "..."


def _completed_output(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout if isinstance(result.stdout, str) else ""
    err = result.stderr if isinstance(result.stderr, str) else ""
    return _short_output("\n".join(part for part in (out, err) if part))


def status_says_running(text: str) -> bool | None:
    """Read a status command's output: True (running), False (not running), None (no idea).

    A line saying "running" or "active" means running, unless the same line says "not
    running", "inactive", "disabled", "stopped", ... (``Gateway service disabled``,
    ``Active: inactive (dead)``). One positive line wins over negative ones elsewhere.
    """
    up = down = False
    for line in text.splitlines():
        if _STATUS_DOWN.search(line):
            down = True
        elif _STATUS_UP.search(line):
            up = True
    if up:
        return True
    if down:
        return False
    return None


def _is_sqlite(path: str, cache: dict[str, bool]) -> bool:
    known = cache.get(path)
    if known is not None:
        return known
    try:
        with open(path, "rb") as handle:
            result = handle.read(16) == _SQLITE_MAGIC
    except OSError:
        result = False
    cache[path] = result
    return result


def _sidecar_base(path: str) -> str | None:
    for suffix in _SIDECARS:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return None


class _Roots:
    """The source roots, as given and resolved, for "is this path under a source"."""

    def __init__(self, sources: Sequence[str]) -> None:
        pairs: list[tuple[str, str]] = []  # (prefix to match, prefix to report)
        for source in sources:
            given = os.path.abspath(source)
            for form in {given, os.path.realpath(given)}:
                pairs.append((form, given))
        # Longest first, so nested sources report under the innermost one.
        pairs.sort(key=lambda p: len(p[0]), reverse=True)
        self.pairs = tuple(pairs)
        self.given = tuple(dict.fromkeys(os.path.abspath(s) for s in sources))

    def map(self, path: str) -> str | None:
        """``path`` re-rooted at the source (as given) it lies under, or None."""
        for prefix, given in self.pairs:
            if path == prefix:
                return given
            base = prefix if prefix.endswith(os.sep) else prefix + os.sep
            if path.startswith(base):
                return os.path.join(given, path[len(base) :])
        return None


# --------------------------------------------------------------------------------------------
# Processes and open files
# --------------------------------------------------------------------------------------------


def _own_pids() -> set[int]:
    """This process and its ancestors: never "the gateway", never "another process"."""
    pids = {os.getpid()}
    with suppress(psutil.Error):
        pids.update(parent.pid for parent in psutil.Process().parents())
    return pids


def _gateway_pids(pattern: str, skip: set[int]) -> tuple[int, ...]:
    regex = re.compile(pattern)
    found: list[int] = []
    for proc in psutil.process_iter(["pid", "cmdline", "name", "status"]):
        info = proc.info
        pid = info.get("pid")
        if not isinstance(pid, int) or pid in skip:
            continue
        if info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        cmdline = info.get("cmdline") or []
        text = " ".join(cmdline) if cmdline else (info.get("name") or "")
        if text and regex.search(text):
            found.append(pid)
    return tuple(sorted(found))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _open_files(roots: _Roots, skip: set[int]) -> list[tuple[str, bool]]:
    """``(path as under its source, open for writing)`` for files other processes hold open."""
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd"):
        return _open_files_proc(roots, skip)
    return _open_files_psutil(roots, skip)


def _open_files_proc(roots: _Roots, skip: set[int]) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    for pid in psutil.pids():
        if pid in skip:
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # gone, or another user's process
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if not target.startswith("/"):
                continue  # socket:[…], pipe:[…], anon_inode:…
            mapped = roots.map(target)
            if mapped is None:
                continue
            try:
                if not stat.S_ISREG(os.stat(target).st_mode):
                    continue
            except OSError:
                continue  # "… (deleted)", or gone meanwhile
            found.append((mapped, _proc_fd_writing(pid, fd)))
    return found


def _proc_fd_writing(pid: int, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    flags = int(line.split(":", 1)[1].strip(), 8)
                    return (flags & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError):
        pass
    return True  # unknown: the safe side


def _open_files_psutil(roots: _Roots, skip: set[int]) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    for proc in psutil.process_iter():
        if proc.pid in skip:
            continue
        try:
            files = proc.open_files()
        except psutil.Error:  # AccessDenied, NoSuchProcess, ZombieProcess
            continue
        for entry in files:
            mapped = roots.map(entry.path)
            if mapped is not None:
                found.append((mapped, _entry_writing(entry)))
    return found


def _entry_writing(entry: Any) -> bool:
    mode = getattr(entry, "mode", None)
    if isinstance(mode, str):
        return mode in _WRITE_MODES
    flags = getattr(entry, "flags", None)
    if isinstance(flags, int):
        return (flags & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    return True  # the platform does not say (macOS, Windows): the safe side


@dataclass(frozen=True)
class _Locks:
    writing: tuple[str, ...]  # non-SQLite files open for writing
    held_databases: tuple[str, ...]  # SQLite databases (or their sidecars) held open


def _scan_locks(roots: _Roots, skip: set[int], selected: Selector | None,
                cache: dict[str, bool]) -> _Locks:
    writing: set[str] = set()
    held: set[str] = set()
    for path, is_writing in _open_files(roots, skip):
        base = _sidecar_base(path)
        if base is not None and _is_sqlite(base, cache):
            if selected is None or selected(base, False):
                held.add(base)
            continue
        if selected is not None and not selected(path, False):
            continue
        if _is_sqlite(path, cache):
            held.add(path)
        elif is_writing:
            writing.add(path)
    return _Locks(tuple(sorted(writing)), tuple(sorted(held)))


def _wal_databases(roots: _Roots, selected: Selector | None,
                   cache: dict[str, bool]) -> set[str]:
    """SQLite databases under the sources whose ``-wal`` sidecar exists (a name-only walk)."""
    found: set[str] = set()

    def check(base: str) -> None:
        if (selected is None or selected(base, False)) and _is_sqlite(base, cache):
            found.add(base)

    for source in roots.given:
        if os.path.isfile(source):
            if os.path.lexists(source + "-wal"):
                check(source)
            continue
        for dirpath, dirnames, filenames in os.walk(source):
            if selected is not None:
                dirnames[:] = [d for d in dirnames
                               if selected(os.path.join(dirpath, d), True)]
            names = set(filenames)
            for name in filenames:
                if name.endswith("-wal") and name[:-4] in names:
                    check(os.path.join(dirpath, name[:-4]))
    return found


def _run_status(service: ServiceConfig, run: Runner) -> str | None:
    """The status command's output, or None when it could not be run."""
    command = list(service.status_command)
    if not command or shutil.which(command[0]) is None:
        return None
    try:
        result = run(command, capture_output=True, text=True, timeout=STATUS_TIMEOUT,
                     check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return _completed_output(result)


def detect(sources: Sequence[str], service: ServiceConfig, *,
           selected: Selector | None = None, run: Runner = subprocess.run) -> Detection:
    """Look at the gateway and at what is live under ``sources``.

    The gateway runs when a process (not this one, nor an ancestor) has a command line matching
    ``service.process_pattern``; when none does, ``service.status_command`` is asked (bounded by
    :data:`STATUS_TIMEOUT`; skipped when its executable is not on PATH). ``selected`` (see
    :func:`selector`) leaves out files the snapshot does not take.
    """
    skip = _own_pids()
    roots = _Roots(sources)
    cache: dict[str, bool] = {}
    pids = _gateway_pids(service.process_pattern, skip)
    status_output = ""
    running = bool(pids)
    if not running:
        output = _run_status(service, run)
        if output is not None:
            status_output = output
            running = status_says_running(output) is True
    locks = _scan_locks(roots, skip, selected, cache)
    live = set(locks.held_databases) | _wal_databases(roots, selected, cache)
    stop_command = list(service.stop_command)
    return Detection(
        gateway_running=running,
        gateway_pids=pids,
        open_for_writing=locks.writing,
        live_databases=tuple(sorted(live)),
        command_available=bool(stop_command) and shutil.which(stop_command[0]) is not None,
        status_output=status_output,
    )


def selector(sources: Sequence[str],
             matcher_for: Callable[[str], tuple[Any, str]]) -> Selector:
    """A :data:`Selector` from the snapshot's rules (``SourcePlan.matcher_for``).

    A path is selected when no rule excludes it or any directory above it, up to its source.
    ``.snapkitignore`` files are not read: close enough for deciding what is locked.
    """
    roots = sorted((os.path.abspath(s) for s in sources), key=len, reverse=True)
    matchers = {root: matcher_for(root)[0] for root in roots}

    def select(path: str, is_dir: bool) -> bool:
        for root in roots:
            if path == root:
                return True
            if not path.startswith(root + os.sep):
                continue
            matcher = matchers[root]
            if matcher is None:
                return True
            parts = path[len(root) + 1 :].split(os.sep)
            for i in range(1, len(parts)):
                if matcher.excluded("/".join(parts[:i]), True) is not None:
                    return False
            return matcher.excluded("/".join(parts), is_dir) is None
        return True

    return select


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------


def _locked(d: Detection, platform: str) -> tuple[str, ...]:
    """The files that cannot be captured consistently while their holder runs."""
    if platform == "win32":
        return tuple(sorted(set(d.open_for_writing) | set(d.live_databases)))
    return d.open_for_writing


def best_effort_note(d: Detection, platform: str = sys.platform) -> str:
    """What going on without a stop means for the files found locked."""
    locked = _locked(d, platform)
    if platform == "win32":
        what = "held open may not be readable"
    else:
        what = "open for writing may be captured inconsistently"
    parts: list[str] = []
    if locked:
        parts.append(f"{_plural(len(locked), 'file')} {what}: {shorten(locked)}")
    else:
        parts.append("no files are open for writing")
    if d.live_databases and platform != "win32":
        parts.append(f"{_plural(len(d.live_databases), 'live SQLite database')} "
                     "copied through the online backup API")
    return "; ".join(parts)


def decide(d: Detection, policy: str, platform: str = sys.platform) -> Decision:
    """Whether to stop the gateway for this snapshot (pure; see the module docstring)."""
    if policy not in SERVICE_POLICIES:
        raise ValueError(f"unknown service policy {policy!r}; use one of "
                         + ", ".join(SERVICE_POLICIES))
    locked = _locked(d, platform)
    if not d.gateway_running:
        warning = None
        if locked:
            warning = ("the gateway is not running, but another process holds files; "
                       "continuing best-effort: " + best_effort_note(d, platform))
        return Decision(False, "gateway not running", warning)
    if policy == "never":
        warning = None
        if locked:
            warning = ("not stopping the gateway (policy never); continuing best-effort: "
                       + best_effort_note(d, platform))
        return Decision(False, "policy never", warning)
    if policy == "always":
        return Decision(True, "policy always", None)
    if d.open_for_writing:
        n = len(d.open_for_writing)
        verb = "is" if n == 1 else "are"
        if platform == "win32":
            return Decision(True, f"{_plural(n, 'file')} {verb} held open while the gateway "
                            "runs (open files cannot be read on Windows)", None)
        return Decision(True, f"{_plural(n, 'file')} open for writing while the gateway runs",
                        None)
    if locked:  # Windows: live databases held open
        n = len(locked)
        return Decision(True, f"{_plural(n, 'SQLite database')} held open while the gateway "
                        "runs (open files cannot be read on Windows)", None)
    if d.live_databases:
        return Decision(False, "only live SQLite databases (copied through the online backup "
                        "API)", None)
    return Decision(False, "no files open for writing", None)


# --------------------------------------------------------------------------------------------
# The lifecycle
# --------------------------------------------------------------------------------------------


def _stderr_warn(message: str) -> None:
    print(f"snapkit: warning: {message}", file=sys.stderr, flush=True)


def _command_timeout(service: ServiceConfig) -> float:
    return max(service.stop_timeout, MIN_COMMAND_TIMEOUT)


def _run_command(run: Runner, command: Sequence[str], timeout: float, *, contain: bool,
                 **extra: Any) -> str | None:
    """Run ``command``; None on success, else what went wrong (one phrase).

    ``contain`` turns any exception of ``run`` into the phrase (for the restart, which runs in
    a ``finally``); otherwise only a timeout or an OSError is, and anything else — an
    :class:`~snapkit.errors.Interrupted` from the SIGTERM handler — propagates.
    """
    try:
        result = run(list(command), capture_output=True, text=True, timeout=timeout,
                     check=False, stdin=subprocess.DEVNULL, **extra)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s"
    except OSError as exc:
        return f"could not be run: {exc.strerror or exc}"
    except Exception as exc:
        if not contain:
            raise
        return f"failed: {type(exc).__name__}: {exc}"
    if result.returncode == 0:
        return None
    output = _completed_output(result)
    return f"exited with status {result.returncode}" + (f": {output}" if output else "")


def _still_held(roots: _Roots, skip: set[int], selected: Selector | None,
                platform: str) -> tuple[str, ...]:
    locks = _scan_locks(roots, skip, selected, {})
    if platform == "win32":
        return tuple(sorted(set(locks.writing) | set(locks.held_databases)))
    return locks.writing


def _wait_released(sources: Sequence[str], service: ServiceConfig, before: Detection,
                   deadline: float, selected: Selector | None,
                   platform: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Wait until the gateway's processes have exited and no file is held for writing.

    Returns what is still there at ``deadline``: (gateway pids alive, files held).
    """
    roots = _Roots(sources)
    skip = _own_pids()
    while True:
        alive = tuple(pid for pid in before.gateway_pids if _alive(pid))
        held = _still_held(roots, skip, selected, platform)
        if (not alive and not held) or time.monotonic() >= deadline:
            return alive, held
        time.sleep(_POLL)


def _still_running(service: ServiceConfig, before: Detection, run: Runner) -> bool:
    if before.gateway_pids:
        return any(_alive(pid) for pid in before.gateway_pids)
    output = _run_status(service, run)
    return output is not None and status_says_running(output) is True


@contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM back (main thread only) while the gateway is being restarted.

    The handlers are Python functions, which ``exec`` resets: the start command and the gateway
    it launches get the default handlers, not ours.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    wanted: list[signal.Signals] = [signal.SIGINT]
    if hasattr(signal, "SIGTERM"):
        wanted.append(signal.SIGTERM)
    previous: dict[signal.Signals, Any] = {}

    def note(signum: int, frame: Any) -> None:
        received.append(signum)

    for signum in wanted:
        with suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, note)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _restart(service: ServiceConfig, record: ServiceRecord, warn: Callable[[str], None],
             run: Runner, *, redeliver: bool) -> None:
    """Run the start command; report a failure loudly but never raise for it.

    A SIGINT/SIGTERM arriving meanwhile is held back and, when no exception is already on its
    way out (``redeliver``), delivered again afterwards.
    """
    command = service.start_command
    with _signals_deferred() as received:
        problem = _run_command(run, command, _command_timeout(service), contain=True,
                               start_new_session=True)
    if problem is None:
        record.restarted = True
    else:
        message = (f"could not restart the OpenClaw gateway: `{_command_text(command)}` "
                   f"{problem}; start it by hand with `{_command_text(command)}`")
        record.errors.append(message)
        try:
            warn(message)
        except Exception:
            _stderr_warn(message)
    if received and redeliver:
        signal.raise_signal(received[0])


def _note(record: ServiceRecord, warn: Callable[[str], None], message: str) -> None:
    record.warnings.append(message)
    warn(message)


def _stop(sources: Sequence[str], service: ServiceConfig, d: Detection, record: ServiceRecord,
          warn: Callable[[str], None], run: Runner, selected: Selector | None,
          platform: str) -> None:
    """Stop the gateway and wait for it (``record.stopped`` says whether to start it later)."""
    timeout = _command_timeout(service)
    deadline = time.monotonic() + service.stop_timeout
    record.stopped = True  # from here on the gateway may be down: start it again in any case
    problem = _run_command(run, service.stop_command, timeout, contain=False)
    if problem is not None and _still_running(service, d, run):
        record.stopped = False
        _note(record, warn, f"could not stop the OpenClaw gateway: "
              f"`{_command_text(service.stop_command)}` {problem}; continuing best-effort: "
              + best_effort_note(d, platform))
        return
    if problem is not None:
        _note(record, warn, f"`{_command_text(service.stop_command)}` {problem}, but the "
              "gateway has stopped")
    alive, held = _wait_released(sources, service, d, max(deadline, time.monotonic() + 1.0),
                                 selected, platform)
    if alive:
        _note(record, warn, f"gateway process {', '.join(map(str, alive))} still running "
              f"{service.stop_timeout:g} s after `{_command_text(service.stop_command)}`; "
              "continuing best-effort")
    if held:
        _note(record, warn, f"{_plural(len(held), 'file')} still held open "
              f"{service.stop_timeout:g} s after stopping the gateway; continuing best-effort: "
              + shorten(held))


@contextmanager
def gateway_lifecycle(
    sources: Sequence[str],
    service: ServiceConfig,
    *,
    policy: str | None = None,
    control: bool = True,
    confirm: Callable[[str], bool] | None = None,
    warn: Callable[[str], None] = _stderr_warn,
    run: Runner = subprocess.run,
    selected: Selector | None = None,
    platform: str = sys.platform,
) -> Iterator[ServiceRecord]:
    """Run the ``with`` body with the gateway stopped when the policy wants it.

    ``policy`` overrides ``service.policy``; ``control=False`` (``--no-service-control``) acts
    like policy ``never`` but still detects and warns. ``confirm`` (given on an interactive
    terminal without ``--yes``) is asked :data:`PROMPT` before stopping; a no goes on
    best-effort. ``warn`` gets every warning (they are also kept in the record); ``run`` runs
    the commands (``subprocess.run``). ``selected`` (see :func:`selector`) leaves out files the
    snapshot does not take.

    The gateway is started again if and only if it was stopped here — after the body returns,
    raises, or is interrupted (KeyboardInterrupt, snapkit's ``Interrupted`` on SIGTERM).
    """
    effective = service.policy if policy is None else policy
    d = detect(sources, service, selected=selected, run=run)
    decision = decide(d, effective if control else "never", platform)
    reason = decision.reason
    warning = decision.warning
    if not control and d.gateway_running:
        reason = "service control disabled (--no-service-control)"
        if warning is not None:
            warning = ("not stopping the gateway (--no-service-control); continuing "
                       "best-effort: " + best_effort_note(d, platform))
    record = ServiceRecord(policy=effective, detection=d.to_dict(), decision=reason)
    if warning is not None:
        _note(record, warn, warning)

    stop = decision.stop
    if stop and not d.command_available:
        stop = False
        name = service.stop_command[0] if service.stop_command else "the stop command"
        _note(record, warn, f"`{name}` not found on PATH; continuing best-effort without "
              "stopping the gateway: " + best_effort_note(d, platform))
    if stop and confirm is not None and not confirm(PROMPT):
        stop = False
        _note(record, warn, "gateway left running (declined at the prompt); continuing "
              "best-effort: " + best_effort_note(d, platform))

    try:
        if stop:
            _stop(sources, service, d, record, warn, run, selected, platform)
        yield record
    except BaseException:
        if record.stopped:
            _restart(service, record, warn, run, redeliver=False)
        raise
    if record.stopped:
        _restart(service, record, warn, run, redeliver=True)
