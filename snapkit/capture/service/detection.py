"""Detection: whether the gateway of these sources runs, who runs it, and what is live.

:func:`detect` puts together

* the status command's reading (:mod:`snapkit.capture.service.status`): with OpenClaw's
  ``gateway status --json``, whether a gateway answers on the install's port, its processes,
  and whether a service manager (systemd, launchd, schtasks) runs it;
* the processes whose command line matches ``service.process_pattern`` (the foreground gateway
  is titled ``openclaw-gateway``). With a JSON status, such a process is this install's
  gateway only when the status names it or it holds a file under the sources open — another
  profile's or another user's gateway is left alone. With a text status or none, every match
  counts, as the pattern is all there is to go on;
* the files under the sources other processes hold open for writing, and the live SQLite
  databases (a ``-wal`` sidecar present, or held open);
* whether OpenClaw would refuse ``gateway stop|start`` here
  (:mod:`snapkit.capture.service.identity`),
  and whether the commands are on PATH.

The status command costs seconds (OpenClaw's CLI starts node and probes the port), so it is
not run when the gateway plainly is not running: no process matches the pattern, no other
process holds a file under the sources open, and nothing listens on the gateway's port
(``port``, as OpenClaw resolves it) on the loopback interface. Then ``status_kind`` is
``skipped``. Any sign of life, or a port that cannot be told, and the status is asked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from snapkit.capture.service.identity import identity_problem
from snapkit.capture.service.processes import (
    Roots,
    Selector,
    gateway_pids,
    own_pids,
    scan_locks,
    wal_databases,
)
from snapkit.capture.service.status import GatewayStatus, Runner, read_status
from snapkit.select.config import ServiceConfig


@dataclass(frozen=True)
class Detection:
    """What is live under the sources, and whether (and how) the gateway runs."""

    gateway_running: bool
    gateway_pids: tuple[int, ...]
    #: Non-SQLite files under the sources another process holds open for writing, sorted.
    open_for_writing: tuple[str, ...]
    #: SQLite databases under the sources with a ``-wal`` sidecar present or held open by
    #: another process, sorted.
    live_databases: tuple[str, ...]
    #: The executable of ``service.stop_command`` is on PATH.
    command_available: bool
    #: Short reading of ``service.status_command`` ("" if it was not run or said nothing).
    status_output: str = ""
    #: ``json``, ``text``, ``none`` (no status command could be run), or ``skipped`` (not
    #: run: nothing showed a running gateway).
    status_kind: str = "none"
    #: The service manager that runs the gateway (``systemd``, ``launchd``, ``schtasks``), or
    #: None: no service manager runs it (a foreground gateway), or the status cannot tell.
    supervisor: str | None = None
    #: The gateway's port, when the status names it.
    port: int | None = None
    #: Why OpenClaw's ``gateway stop|start`` would refuse here, or None.
    identity_problem: str | None = None
    #: The executable of ``service.start_command`` is on PATH.
    start_available: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "gateway_running": self.gateway_running,
            "gateway_pids": list(self.gateway_pids),
            "open_for_writing": list(self.open_for_writing),
            "live_databases": list(self.live_databases),
            "command_available": self.command_available,
            "start_available": self.start_available,
            "status_output": self.status_output,
            "status_kind": self.status_kind,
            "supervisor": self.supervisor,
            "port": self.port,
            "identity_problem": self.identity_problem,
        }


def on_path(command: Sequence[str]) -> bool:
    """The command's executable is found (an absolute path, or on PATH)."""
    return bool(command) and shutil.which(command[0]) is not None


def gateway_processes(status: GatewayStatus | None, matched: Sequence[int],
                      holders: frozenset[int]) -> tuple[bool, tuple[int, ...]]:
    """(running, pids) from the status reading and the processes matching the pattern.

    With a JSON status, a matching process counts when the status names it or it holds a
    file under the sources open; with a text status or none, every matching process counts.
    """
    if status is not None and status.kind == "json":
        pids = set(status.pids) | {pid for pid in matched if pid in holders}
        return bool(status.running) or bool(pids), tuple(sorted(pids))
    running = bool(matched) or (status is not None and status.running is True)
    return running, tuple(sorted(matched))


def listening(port: int, timeout: float = 0.25) -> bool:
    """Whether anything accepts a TCP connection on ``port`` at 127.0.0.1 or ::1."""
    for host in ("127.0.0.1", "::1"):
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def detect(sources: Sequence[str], service: ServiceConfig, *,
           selected: Selector | None = None, run: Runner = subprocess.run,
           env: Mapping[str, str] | None = None, account: str | None = None,
           port: int | None = None) -> Detection:
    """Look at the gateway and at what is live under ``sources`` (see the module docstring).

    The status command is bounded by :data:`~snapkit.capture.service.status.STATUS_TIMEOUT` and
    skipped when its executable is not on PATH. ``selected`` (see :func:`selector`) leaves out
    files the snapshot does not take. ``env`` and ``account`` (the account's home) are what
    the identity rules are checked against (default: this process's). ``port`` is the
    gateway's (None: unknown, so the status is always asked).
    """
    skip = own_pids()
    roots = Roots(sources)
    cache: dict[str, bool] = {}
    matched = gateway_pids(service.process_pattern, skip)
    locks = scan_locks(roots, skip, selected, cache)
    quiet = (not matched and not locks.holders and port is not None and not listening(port))
    status = None if quiet else read_status(service.status_command, service.process_pattern,
                                            run)
    running, pids = gateway_processes(status, matched, locks.holders)
    live = set(locks.held_databases) | wal_databases(roots, selected, cache)
    return Detection(
        gateway_running=running,
        gateway_pids=pids,
        open_for_writing=locks.writing,
        live_databases=tuple(sorted(live)),
        command_available=on_path(service.stop_command),
        status_output=(f"not asked: no gateway process, nothing listening on port {port}"
                       if quiet else status.summary if status is not None else ""),
        status_kind="skipped" if quiet else status.kind if status is not None else "none",
        supervisor=status.supervisor if status is not None else None,
        port=status.port if status is not None else None,
        identity_problem=identity_problem(env, account=account),
        start_available=on_path(service.start_command),
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
