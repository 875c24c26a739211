"""What ``service.status_command`` says about the gateway.

The default, ``openclaw gateway status --json`` (OpenClaw 2026.9: ``dist/status.gather-*.mjs``,
``dist/service-*.mjs``), prints one JSON object. The parts read here:

* ``service``: the service manager's view. ``label`` is ``systemd`` (Linux), ``LaunchAgent``
  (macOS), ``Scheduled Task`` (Windows), or ``no supported service manager detected`` (with
  ``inspectionReason: "service-manager-unavailable"``); ``loaded`` says whether the gateway's
  unit/agent/task is installed and enabled; ``runtime.status`` is ``running``, ``stopped`` or
  ``unknown``, with ``runtime.pid`` when a service manager runs it.
* ``port``: the gateway's port (from the environment and the config), ``status`` (``busy``,
  ``free``) and ``listeners`` (``pid``, ``commandLine`` — ``openclaw-gateway`` for the
  foreground gateway).
* ``rpc.ok``: the gateway answered the connectivity probe.

A foreground gateway (``openclaw gateway run``) with no service manager reads as
``service.loaded: false``, ``runtime.status: "unknown"``, ``port.status: "busy"`` with its
listener, ``rpc.ok: true``. Only a gateway whose service is loaded *and* running is
"supervised": that is the one ``openclaw gateway start`` can bring back.

Any other status command (a user's ``service.status_command``) is read as text by
:func:`status_says_running`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: How long the status command may take (OpenClaw's own connectivity probe gives up after 10 s).
STATUS_TIMEOUT = 30.0

#: ``service.label`` of ``openclaw gateway status --json`` -> the service manager's name.
SUPERVISORS: Mapping[str, str] = {
    "systemd": "systemd",
    "launchagent": "launchd",
    "scheduled task": "schtasks",
}

Runner = Callable[..., "subprocess.CompletedProcess[str]"]

_SUMMARY_CHARS = 400

#: "Not running" wording of status commands (``openclaw gateway status``, systemd, launchd).
_STATUS_DOWN = re.compile(
    r"(?i)\b(?:not\s+running|isn'?t\s+running|inactive|disabled|stopped|not\s+loaded|"
    r"not\s+installed|not\s+started|dead|exited|failed|unreachable|no\s+gateway)\b"
)
_STATUS_UP = re.compile(r"(?i)\b(?:running|active)\b")
#: ``Label: value`` lines; only labels about the gateway itself count.
_LABELED = re.compile(r"^\s*([A-Za-z][A-Za-z ()_-]{0,40}?)\s*:\s*(.*)$")
_RELEVANT_LABEL = re.compile(
    r"(?i)\b(?:gateway|service|runtime|status|state|active|probe|rpc|listening|daemon|"
    r"process|connectivity|sub)\b"
)
_PROBE_OK = re.compile(r"(?i)^(?:ok|connected|reachable)\b")


@dataclass(frozen=True)
class GatewayStatus:
    """One reading of the status command."""

    #: ``json`` (``openclaw gateway status --json``) or ``text`` (any other output).
    kind: str
    #: Whether a gateway runs: True, False, or None when the output does not say.
    running: bool | None
    #: The service manager running the gateway (``systemd``, ``launchd``, ``schtasks``), or None
    #: when none does (a foreground gateway, no gateway, or a text status).
    supervisor: str | None
    #: The gateway's processes the status names (port listeners, the service's main pid).
    pids: tuple[int, ...]
    #: The gateway's port, when the status names it.
    port: int | None
    #: One line for the snapshot record.
    summary: str


def _short(text: str, limit: int = _SUMMARY_CHARS) -> str:
    text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def status_says_running(text: str) -> bool | None:
    """Read a status command's text: True (running), False (not running), None (no idea).

    A line saying "running" or "active" means running, unless the same line says "not
    running", "inactive", "disabled", "stopped", ... (``Gateway service disabled``,
    ``Active: inactive (dead)``). One positive line wins over negative ones elsewhere.
    ``Label: value`` lines count only when the label is about the gateway (``Runtime``,
    ``Service``, ``Active``, ``Connectivity probe``, ``Listening``, ...): OpenClaw's
    ``Host desktop: disabled`` says nothing about the gateway. ``Connectivity probe: ok`` and
    ``Listening: 127.0.0.1:18789`` mean running.
    """
    up = down = False
    for line in text.splitlines():
        labeled = _LABELED.match(line)
        if labeled is not None:
            label, value = labeled.group(1), labeled.group(2).strip()
            if not _RELEVANT_LABEL.search(label):
                continue
            lowered = label.lower()
            if "listening" in lowered and value:
                up = True
                continue
            if ("probe" in lowered or "rpc" in lowered) and _PROBE_OK.match(value):
                up = True
                continue
        if _STATUS_DOWN.search(line):
            down = True
        elif _STATUS_UP.search(line):
            up = True
    if up:
        return True
    if down:
        return False
    return None


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object the output holds (tolerating lines printed before it), or None."""
    stripped = text.strip()
    candidates = [stripped]
    start = stripped.find("\n{")
    if start >= 0:
        candidates.append(stripped[start + 1 :])
    for candidate in candidates:
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse_status_json(doc: Mapping[str, Any], pattern: str) -> GatewayStatus:
    """Read ``openclaw gateway status --json`` (see the module docstring).

    A port listener counts as the gateway when the probe answered or its command line matches
    ``pattern`` (``service.process_pattern``): another program on the port is not a gateway.
    """
    regex = re.compile(pattern)
    service = _dict(doc.get("service"))
    runtime = _dict(service.get("runtime"))
    raw_label = service.get("label")
    label = raw_label.strip() if isinstance(raw_label, str) else ""
    loaded = service.get("loaded") is True
    runtime_status = runtime.get("status") if isinstance(runtime.get("status"), str) else ""
    runtime_pid = _int(runtime.get("pid"))
    rpc = _dict(doc.get("rpc"))
    rpc_ok = rpc.get("ok") is True
    port_info = _dict(doc.get("port"))
    port = _int(port_info.get("port")) or _int(_dict(doc.get("gateway")).get("port"))
    listeners: list[int] = []
    for item in port_info.get("listeners") or ():
        entry = _dict(item)
        pid = _int(entry.get("pid"))
        text = str(entry.get("commandLine") or entry.get("command") or "")
        if pid is not None and (rpc_ok or (text and regex.search(text))):
            listeners.append(pid)
    service_running = loaded and runtime_status == "running"
    supervisor = SUPERVISORS.get(label.lower()) if service_running else None
    if service_running and supervisor is None:
        supervisor = label or "service manager"
    pids = set(listeners)
    if service_running and runtime_pid is not None:
        pids.add(runtime_pid)
    running = rpc_ok or bool(listeners) or service_running

    parts = [f"service: {label or 'unknown'} ({'loaded' if loaded else 'not loaded'}, "
             f"runtime {runtime_status or 'unknown'}"
             + (f", pid {runtime_pid}" if runtime_pid else "") + ")"]
    if port is not None:
        port_status = port_info.get("status") if isinstance(port_info.get("status"), str) else "?"
        parts.append(f"port {port}: {port_status}"
                     + (f" (pid {', '.join(map(str, sorted(listeners)))})" if listeners else ""))
    if "ok" in rpc:
        parts.append("rpc: ok" if rpc_ok else "rpc: failed")
    return GatewayStatus("json", running, supervisor, tuple(sorted(pids)), port,
                         _short("; ".join(parts)))


def parse_status(output: str, pattern: str) -> GatewayStatus:
    """A status command's output: JSON when it is a JSON object, else text."""
    doc = _json_object(output)
    if doc is not None:
        return parse_status_json(doc, pattern)
    return GatewayStatus("text", status_says_running(output), None, (), None, _short(output))


def completed_output(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout if isinstance(result.stdout, str) else ""
    err = result.stderr if isinstance(result.stderr, str) else ""
    return "\n".join(part for part in (out, err) if part)


def read_status(command: Sequence[str], pattern: str, run: Runner) -> GatewayStatus | None:
    """Run the status command and read it; None when it could not be run (not on PATH,
    timed out, no output)."""
    command = list(command)
    if not command or shutil.which(command[0]) is None:
        return None
    try:
        result = run(command, capture_output=True, text=True, timeout=STATUS_TIMEOUT,
                     check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    out = result.stdout if isinstance(result.stdout, str) else ""
    doc = _json_object(out)
    if doc is not None:
        return parse_status_json(doc, pattern)
    text = completed_output(result)
    if not text.strip():
        return None
    return GatewayStatus("text", status_says_running(text), None, (), None, _short(text))
