"""``schedule run``: what the scheduler starts. It takes the snapshot with the same operation
``snapkit snap`` runs (:func:`snapkit.ops.snap.snap`), then, when the job carries a keep
policy (given at install, else the config's ``retention``), forgets what the policy does not
keep among this host's scheduled snapshots and prunes — and records the outcome
(:mod:`.record`) whatever it is.

The record is written ``running`` before anything else and ``finished`` at the end, with the
exit code the command then exits with: 0, 3 (some files unreadable), 4 (the gateway stopped for
the snapshot is down), or the error's. Every scheduled snapshot carries the ``scheduled``
tag; the forget considers only those (of this host), so a snapshot taken by hand is never
removed by the schedule.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from snapkit.format.errors import (
    EXIT_FATAL,
    EXIT_GATEWAY_DOWN,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    SnapkitError,
)
from snapkit.format.host import host_name
from snapkit.maintain.retention import KeepPolicy
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.forget import ForgetResult, forget
from snapkit.ops.repo import Location
from snapkit.ops.schedule.base import SCHEDULED_TAG
from snapkit.ops.schedule.record import RunRecord, write_record
from snapkit.ops.snap import SnapRequest, SnapResult, snap
from snapkit.ops.snap_forget import config_policy


@dataclass(frozen=True)
class ScheduledRun:
    snap: SnapResult
    forget: ForgetResult | None
    exit_code: int
    record: RunRecord


def snap_exit_code(result: SnapResult) -> tuple[int, str]:
    """``snap``'s exit status for its result (as ``snapkit snap`` exits) and its name."""
    if result.gateway_down:
        return EXIT_GATEWAY_DOWN, "gateway down"
    if not result.complete:
        return EXIT_INCOMPLETE, "incomplete"
    return 0, "ok"


def failure(exc: BaseException) -> tuple[int, str, str]:
    """The exit code, result and one-line message a run that raised ``exc`` ends with (the
    codes the command's error boundary exits with)."""
    if isinstance(exc, SnapkitError):
        interrupted = exc.exit_code == EXIT_INTERRUPTED
        return exc.exit_code, "interrupted" if interrupted else "failed", exc.message
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted", "interrupted"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return EXIT_FATAL, "failed", f"{exc.strerror or exc}{where}"
    return EXIT_FATAL, "failed", f"internal error: {type(exc).__name__}: {exc}"


def run_scheduled(location: Location, request: SnapRequest, policy: KeepPolicy | None,
                  status_file: Path, *, on_event: OnEvent = ignore) -> ScheduledRun:
    """Snapshot, then forget and prune by ``policy`` (None: no forget; empty: the config's
    ``retention``, which must be there before the snapshot is taken); the outcome is in
    ``status_file`` before this returns or raises."""
    started = RunRecord("running", time.time_ns(), os.getpid(), host_name())
    write_record(status_file, started)
    if SCHEDULED_TAG not in request.tags:
        request = replace(request, tags=(*request.tags, SCHEDULED_TAG))
    taken: SnapResult | None = None
    try:
        if policy is not None and policy.empty:
            policy = config_policy(request.config, "--forget without --keep-* options")
        taken = snap(location, request, confirm=None, on_event=on_event)
        code, result = snap_exit_code(taken)
        forgot = None
        if policy is not None:
            forgot = forget(location, policy=policy, host=taken.snapshot.hostname,
                            tags=(SCHEDULED_TAG,), prune=True, on_event=on_event)
    except BaseException as exc:
        code, result, message = failure(exc)
        if taken is not None:
            message = f"snapshot {taken.snapshot_id[:8]} saved, then the forget failed: " \
                      f"{message}"
        write_record(status_file, replace(
            started, state="finished", finished_ns=time.time_ns(), exit_code=code,
            result=result, message=message,
            snapshot_id=taken.snapshot_id if taken is not None else None))
        raise
    s = taken.snapshot.summary
    message = (f"{s.files_new:,} new, {s.files_changed:,} changed, {s.files_unmodified:,} "
               f"unmodified files; {s.bytes_added_stored:,} bytes stored")
    if forgot is not None:
        message += f"; forgot {len(forgot.removed)} scheduled snapshot(s)"
    record = replace(started, state="finished", finished_ns=time.time_ns(), exit_code=code,
                     result=result, message=message, snapshot_id=taken.snapshot_id,
                     forgotten=None if forgot is None else len(forgot.removed))
    write_record(status_file, record)
    return ScheduledRun(taken, forgot, code, record)
