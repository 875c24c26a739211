"""The decision (pure): stop the gateway for this snapshot or not, and why.

:func:`decide` turns a :class:`~snapkit.capture.service.detection.Detection`, a policy and the
service
config into a :class:`Decision`:

* A gateway that is not running is never stopped (and never started).
* ``never`` never stops. ``always`` wants a stop whenever the gateway runs. ``auto`` wants one
  only when needed: non-SQLite files are open for writing, or the platform cannot read open
  files (Windows). Live SQLite databases alone need no stop: the online backup API copies them
  consistently while the gateway writes.
* A wanted stop happens only when snapkit can bring the gateway back (:func:`restart_blocker`):
  its start command is on PATH and either the user configured ``service.start_command`` or a
  service manager (systemd, launchd, schtasks) runs the gateway — OpenClaw's ``gateway start``
  cannot start a gateway that was run in the foreground. With OpenClaw's own commands, the
  environment must also be one OpenClaw acts in (:mod:`snapkit.capture.service.identity`). Otherwise
  the snapshot is taken with the gateway running, and the warning says why.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from snapkit.capture.service.detection import Detection
from snapkit.select.config import DEFAULT_SERVICE, SERVICE_POLICIES, ServiceConfig, ServicePolicy

#: How many paths a warning names before "and N more".
SHOWN_PATHS = 5


@dataclass(frozen=True)
class Decision:
    """Whether to stop the gateway, why, and the warning when going on without a stop."""

    stop: bool
    reason: str
    warning: str | None


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def shorten(paths: Sequence[str], limit: int = SHOWN_PATHS) -> str:
    """``a, b, c, d, e and 3 more``: a list of paths for a one-line message."""
    if len(paths) <= limit:
        return ", ".join(paths)
    return ", ".join(paths[:limit]) + f" and {len(paths) - limit} more"


def command_text(command: Sequence[str]) -> str:
    """A command as the user would type it (POSIX shell quoting)."""
    return shlex.join(command)


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
        parts.append(f"{plural(len(locked), 'file')} {what}: {shorten(locked)}")
    else:
        parts.append("no files are open for writing")
    if d.live_databases and platform != "win32":
        parts.append(f"{plural(len(d.live_databases), 'live SQLite database')} "
                     "copied through the online backup API")
    return "; ".join(parts)


def restart_blocker(d: Detection, service: ServiceConfig = DEFAULT_SERVICE) -> str | None:
    """Why snapkit must not stop this gateway — it could not stop it, or could not bring it
    back — or None when it can (see the module docstring)."""
    own_start = service.user_set("start_command")
    own_stop = service.user_set("stop_command")
    if not d.command_available:
        name = service.stop_command[0] if service.stop_command else "the stop command"
        return f"`{name}` not found on PATH"
    if not d.start_available:
        name = service.start_command[0] if service.start_command else "the start command"
        return f"`{name}` (service.start_command) not found on PATH"
    if d.identity_problem and not (own_stop and own_start):
        which = command_text(service.start_command if not own_start else service.stop_command)
        return (f"OpenClaw refuses `{which}` here: {d.identity_problem}; set "
                "service.stop_command and service.start_command to control this gateway")
    if not own_start and d.supervisor is None:
        how = ("no service manager runs it (it runs in the foreground), and "
               f"`{command_text(service.start_command)}` starts only a gateway that systemd, "
               "launchd or schtasks runs")
        if d.status_kind != "json":
            how = ("the status command cannot tell whether a service manager runs it "
                   "(use `openclaw gateway status --json`)")
        return how + "; set service.start_command to a command that starts it"
    return None


def decide(d: Detection, policy: ServicePolicy, platform: str = sys.platform,
           service: ServiceConfig = DEFAULT_SERVICE) -> Decision:
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
    wanted = _wanted(d, policy, platform)
    if isinstance(wanted, Decision):
        return wanted
    blocker = restart_blocker(d, service)
    if blocker is not None:
        return Decision(False, f"not stopped ({wanted}): {blocker}",
                        f"not stopping the OpenClaw gateway ({wanted}): {blocker}; taking the "
                        "snapshot with it running: " + best_effort_note(d, platform))
    return Decision(True, wanted, None)


def _wanted(d: Detection, policy: ServicePolicy, platform: str) -> str | Decision:
    """Why a stop is wanted (policy ``always`` or ``auto``), or the no-stop Decision."""
    if policy == "always":
        return "policy always"
    if d.open_for_writing:
        n = len(d.open_for_writing)
        verb = "is" if n == 1 else "are"
        if platform == "win32":
            return (f"{plural(n, 'file')} {verb} held open while the gateway runs (open files "
                    "cannot be read on Windows)")
        return f"{plural(n, 'file')} open for writing while the gateway runs"
    locked = _locked(d, platform)
    if locked:  # Windows: live databases held open
        return (f"{plural(len(locked), 'SQLite database')} held open while the gateway runs "
                "(open files cannot be read on Windows)")
    if d.live_databases:
        return Decision(False, "only live SQLite databases (copied through the online backup "
                        "API)", None)
    return Decision(False, "no files open for writing", None)
