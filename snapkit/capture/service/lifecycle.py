"""The lifecycle: stop the gateway for the snapshot, start it again, and prove it is back.

:func:`gateway_lifecycle` is the context manager the snapshot runs in. It detects, decides
(:mod:`snapkit.capture.service.decision`), asks at the prompt on a terminal, and when a stop is
wanted
runs ``service.stop_command``, waits (bounded by ``service.stop_timeout``) until the gateway's
processes have exited and the files are released, and yields. In every case — success,
errors, Ctrl-C, SIGTERM — it starts the gateway again if and only if it stopped it:

* ``service.start_command`` runs in its own session with its output in a temporary file (a
  gateway it leaves in the background can hold no pipe of ours). It should return once the
  gateway is started (``openclaw gateway start`` does; a foreground ``openclaw gateway run``
  must be put in the background); one still running after ``service.start_timeout`` is left
  running if the gateway is up by then, else killed.
* Then the gateway must be running again within ``service.start_timeout``: the status command
  says so (``rpc.ok``, a listener on its port, or its service running), or — without a status
  command — a process matches ``service.process_pattern``.
* A start that fails or does not bring the gateway back is tried :data:`RESTART_ATTEMPTS`
  times in all, with :data:`RESTART_BACKOFF` seconds between tries. If the gateway is still
  down, the record says so (:attr:`ServiceRecord.gateway_down`), ``alert`` gets one loud line
  naming the command to run, and the CLI exits with ``EXIT_GATEWAY_DOWN``. A failed restart
  never hides the original exception.

SIGINT/SIGTERM arriving during the restart are held back (and delivered afterwards); they cut
short the waiting for the gateway and the retries, never the start command itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from snapkit.capture.service.decision import (
    best_effort_note,
    command_text,
    decide,
    plural,
    shorten,
)
from snapkit.capture.service.detection import Detection, detect
from snapkit.capture.service.processes import (
    Roots,
    Selector,
    alive,
    gateway_pids,
    own_pids,
    scan_locks,
)
from snapkit.capture.service.status import Runner, read_status
from snapkit.select.config import ServiceConfig, ServicePolicy

#: Confirmation prompt shown on an interactive terminal (without ``--yes``).
PROMPT = "Stop the OpenClaw gateway for the snapshot and restart it after? [y/N]"

#: The least time given to the stop command, whatever ``stop_timeout`` says.
MIN_COMMAND_TIMEOUT = 10.0
#: How many times the start command is tried before the gateway is reported down.
RESTART_ATTEMPTS = 3
#: Seconds to wait before the second and the third try.
RESTART_BACKOFF = (1.0, 3.0)
#: Seconds between two looks at whether the gateway is back.
UP_POLL = 1.0
_POLL = 0.05
_OUTPUT_CHARS = 400


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
    #: The command that starts the gateway again (named in every message about it).
    start_command: list[str] = field(default_factory=list)
    #: How many times it was run (0: no restart was needed).
    restart_attempts: int = 0

    @property
    def gateway_down(self) -> bool:
        """The gateway was stopped for the snapshot and is not running again."""
        return self.stopped and not self.restarted

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "detection": dict(self.detection),
            "decision": self.decision,
            "stopped": self.stopped,
            "restarted": self.restarted,
            "gateway_down": self.gateway_down,
            "start_command": list(self.start_command),
            "restart_attempts": self.restart_attempts,
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


def _stderr_warning(message: str) -> None:
    print(f"snapkit: warning: {message}", file=sys.stderr, flush=True)


def _stderr_error(message: str) -> None:
    print(f"snapkit: error: {message}", file=sys.stderr, flush=True)


def _short(text: str) -> str:
    text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= _OUTPUT_CHARS else text[: _OUTPUT_CHARS - 3] + "..."


def _run_command(run: Runner, command: Sequence[str], timeout: float) -> str | None:
    """Run the stop command; None on success, else what went wrong (one phrase).

    A timeout or an OSError becomes the phrase; anything else — an
    :class:`~snapkit.format.errors.Interrupted` from the SIGTERM handler — propagates.
    """
    try:
        result = run(list(command), capture_output=True, text=True, timeout=timeout,
                     check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s"
    except OSError as exc:
        return f"could not be run: {exc.strerror or exc}"
    if result.returncode == 0:
        return None
    out = "\n".join(p for p in (result.stdout, result.stderr) if isinstance(p, str) and p)
    output = _short(out)
    return f"exited with status {result.returncode}" + (f": {output}" if output else "")


def _sleep(seconds: float, received: list[int]) -> None:
    """Sleep, but return at once when a signal has been held back."""
    end = time.monotonic() + seconds
    while not received and time.monotonic() < end:
        time.sleep(min(_POLL, max(0.0, end - time.monotonic())))


def gateway_up(service: ServiceConfig, before: Detection, run: Runner) -> bool:
    """Whether the gateway runs now, asked the way it was found (see the module docstring)."""
    if before.status_kind != "none":
        status = read_status(service.status_command, service.process_pattern, run)
        if status is not None and status.running is not None:
            return status.running
    return bool(gateway_pids(service.process_pattern, own_pids()))


def _wait_up(service: ServiceConfig, before: Detection, run: Runner, deadline: float,
             received: list[int]) -> bool:
    while True:
        if gateway_up(service, before, run):
            return True
        if received or time.monotonic() >= deadline:
            return False
        _sleep(min(UP_POLL, max(0.0, deadline - time.monotonic())), received)


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    with suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _start_once(service: ServiceConfig, before: Detection, run: Runner,
                received: list[int]) -> str | None:
    """Run the start command once; None when the gateway is running again, else why not."""
    command = list(service.start_command)
    timeout = service.start_timeout
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            return f"could not be run: {exc.strerror or exc}"
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(_POLL)
        code = proc.poll()
        if code is None:  # still running: the gateway itself, or hung
            if gateway_up(service, before, run):
                return None
            _kill_session(proc)
            return f"did not finish in {timeout:g} s (killed)"
        out.seek(0)
        output = _short(out.read().decode("utf-8", "replace"))
    if code != 0:
        return f"exited with status {code}" + (f": {output}" if output else "")
    if _wait_up(service, before, run, deadline, received):
        return None
    if received:
        return "exited with status 0, but the gateway was not running yet when interrupted"
    return (f"exited with status 0, but the gateway was not running "
            f"{timeout:g} s after it was started")


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


def _restart(service: ServiceConfig, before: Detection, record: ServiceRecord,
             alert: Callable[[str], None], run: Runner, *, redeliver: bool) -> None:
    """Start the gateway again, retrying; report a failure loudly but never raise for it."""
    text = command_text(service.start_command)
    problems: list[str] = []
    with _signals_deferred() as received:
        for attempt in range(1, RESTART_ATTEMPTS + 1):
            record.restart_attempts = attempt
            try:
                problem = _start_once(service, before, run, received)
            except Exception as exc:  # never let the restart hide the original exception
                problem = f"failed: {type(exc).__name__}: {exc}"
            if problem is None:
                record.restarted = True
                break
            problems.append(problem)
            if received or attempt == RESTART_ATTEMPTS:
                break
            _sleep(RESTART_BACKOFF[min(attempt, len(RESTART_BACKOFF)) - 1], received)
    if not record.restarted:
        tries = plural(record.restart_attempts, "attempt")
        message = (f"the OpenClaw gateway was stopped for the snapshot and could not be "
                   f"restarted: `{text}` {problems[-1]} ({tries}); start it now with: {text}")
        record.errors.append(message)
        try:
            alert(message)
        except Exception:
            _stderr_error(message)
    if received and redeliver:
        signal.raise_signal(received[0])


def _note(record: ServiceRecord, warn: Callable[[str], None], message: str) -> None:
    record.warnings.append(message)
    warn(message)


def _still_held(roots: Roots, skip: set[int], selected: Selector | None,
                platform: str) -> tuple[str, ...]:
    locks = scan_locks(roots, skip, selected, {})
    if platform == "win32":
        return tuple(sorted(set(locks.writing) | set(locks.held_databases)))
    return locks.writing


def _wait_released(sources: Sequence[str], before: Detection, deadline: float,
                   selected: Selector | None,
                   platform: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Wait until the gateway's processes have exited and no file is held for writing.

    Returns what is still there at ``deadline``: (gateway pids alive, files held).
    """
    roots = Roots(sources)
    skip = own_pids()
    while True:
        left = tuple(pid for pid in before.gateway_pids if alive(pid))
        held = _still_held(roots, skip, selected, platform)
        if (not left and not held) or time.monotonic() >= deadline:
            return left, held
        time.sleep(_POLL)


def _stop(sources: Sequence[str], service: ServiceConfig, d: Detection, record: ServiceRecord,
          warn: Callable[[str], None], run: Runner, selected: Selector | None,
          platform: str) -> None:
    """Stop the gateway and wait for it (``record.stopped`` says whether to start it later)."""
    text = command_text(service.stop_command)
    deadline = time.monotonic() + service.stop_timeout
    record.stopped = True  # from here on the gateway may be down: start it again in any case
    problem = _run_command(run, service.stop_command,
                           max(service.stop_timeout, MIN_COMMAND_TIMEOUT))
    if problem is not None and gateway_up(service, d, run):
        record.stopped = False
        _note(record, warn, f"could not stop the OpenClaw gateway: `{text}` {problem}; "
              "continuing best-effort: " + best_effort_note(d, platform))
        return
    if problem is not None:
        _note(record, warn, f"`{text}` {problem}, but the gateway has stopped")
    left, held = _wait_released(sources, d, max(deadline, time.monotonic() + 1.0), selected,
                                platform)
    if left:
        _note(record, warn, f"gateway process {', '.join(map(str, left))} still running "
              f"{service.stop_timeout:g} s after `{text}`; continuing best-effort")
    if held:
        _note(record, warn, f"{plural(len(held), 'file')} still held open "
              f"{service.stop_timeout:g} s after stopping the gateway; continuing best-effort: "
              + shorten(held))


@contextmanager
def gateway_lifecycle(
    sources: Sequence[str],
    service: ServiceConfig,
    *,
    policy: ServicePolicy | None = None,
    control: bool = True,
    confirm: Callable[[str], bool] | None = None,
    warn: Callable[[str], None] = _stderr_warning,
    alert: Callable[[str], None] = _stderr_error,
    run: Runner = subprocess.run,
    selected: Selector | None = None,
    platform: str = sys.platform,
    env: Mapping[str, str] | None = None,
    account: str | None = None,
    port: int | None = None,
) -> Iterator[ServiceRecord]:
    """Run the ``with`` body with the gateway stopped when the policy wants it and snapkit can
    bring it back (see the module docstring).

    ``policy`` overrides ``service.policy``; ``control=False`` (``--no-service-control``) acts
    like policy ``never`` but still detects and warns. ``confirm`` (given on an interactive
    terminal without ``--yes``) is asked :data:`PROMPT` before stopping; a no goes on
    best-effort. ``warn`` gets every warning (they are also kept in the record), ``alert`` the
    message that the gateway could not be restarted. ``run`` runs the stop and status commands.
    ``selected``, ``env``, ``account`` and ``port`` go to
    :func:`~snapkit.capture.service.detection.detect`.
    """
    effective = service.policy if policy is None else policy
    d = detect(sources, service, selected=selected, run=run, env=env, account=account,
               port=port)
    decision = decide(d, effective if control else "never", platform, service)
    reason = decision.reason
    warning = decision.warning
    if not control and d.gateway_running:
        reason = "service control disabled (--no-service-control)"
        if warning is not None:
            warning = ("not stopping the gateway (--no-service-control); continuing "
                       "best-effort: " + best_effort_note(d, platform))
    record = ServiceRecord(policy=effective, detection=d.to_dict(), decision=reason,
                           start_command=list(service.start_command))
    if warning is not None:
        _note(record, warn, warning)

    stop = decision.stop
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
            _restart(service, d, record, alert, run, redeliver=False)
        raise
    if record.stopped:
        _restart(service, d, record, alert, run, redeliver=True)
