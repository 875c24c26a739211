"""Rendering of ``snapkit schedule``: an install's plan (``--print``) or outcome, what
``status`` found (the installed job, the last run, the next), and what ``remove`` removed —
as text, or as JSON with ``--json``."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import replace
from datetime import datetime
from typing import Any

import click

from snapkit.cli.common import Settings, emit_json, json_time, local_time, notice
from snapkit.ops.schedule.base import Applied, Installed, Job, Plan
from snapkit.ops.schedule.manage import Status, Usable
from snapkit.ops.schedule.record import RunRecord
from snapkit.ops.schedule.run import ScheduledRun


def command_text(argv: tuple[str, ...], scheduler: str) -> str:
    """The job's command as its scheduler's shell would read it."""
    if scheduler == "schtasks":
        return subprocess.list2cmdline(argv)
    return " ".join(shlex.quote(a) for a in argv)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "unknown"


def _json_moment(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def warn(settings: Settings, message: str) -> None:
    """A warning on stderr: ``snapkit: warning: …``, or under ``--json`` a JSON event
    (``{"event": "warning", "message"}``), as errors are."""
    if settings.json:
        click.echo(json.dumps({"event": "warning", "message": message}), err=True)
    else:
        click.echo(f"snapkit: warning: {message}", err=True)


def _unusable(chosen: Usable) -> str:
    return (f"{chosen.scheduler} cannot run the job here: {chosen.reason}; {chosen.fix} "
            "(install refuses it without --write-only)")


def plan(settings: Settings, p: Plan, job: Job, chosen: Usable) -> None:
    """``install --print``: every file with its content, then the commands, changing nothing
    (and whether the scheduler can run the job here)."""
    if settings.json:
        emit_json({"dry_run": True, "scheduler": p.scheduler, "usable": chosen.ok,
                   "schedule": job.schedule.to_dict(), "command": list(job.argv),
                   "files": [{"path": str(f.path), "mode": f"{f.mode:04o}",
                              "content": f.content} for f in p.files],
                   "commands": [list(c) for c in p.commands],
                   "notes": [*p.manual, *([] if chosen.ok else [_unusable(chosen)])]})
        return
    out = click.echo
    out(f"Scheduler:  {p.scheduler} — {job.schedule.describe()} (dry run: nothing written)")
    if not chosen.ok:
        out(f"Note:       {_unusable(chosen)}")
    out(f"Command:    {command_text(job.argv, p.scheduler)}")
    for f in p.files:
        out(f"\n--- {f.path} (mode {f.mode:04o})")
        out(f.content.rstrip("\n"))
    if p.manual:
        out("")
        for line in p.manual:
            out(line)
    out("\nThen runs:")
    for argv in p.commands:
        out(f"  {command_text(argv, p.scheduler)}")


def installed(settings: Settings, done: Applied, job: Job, next_run: datetime,
              logs: str, chosen: Usable) -> None:
    """What install wrote and ran, whether the job is enabled, and what is left to do (a
    warning, even under -q)."""
    if not chosen.ok:
        done = replace(done, notes=(*done.notes, f"{chosen.scheduler} cannot run the job here "
                                    f"now: {chosen.reason}; {chosen.fix}"))
    if settings.json:
        emit_json({"installed": True, "scheduler": done.scheduler, "enabled": done.enabled,
                   "schedule": job.schedule.to_dict(), "command": list(job.argv),
                   "files": list(done.files),
                   "next_run": _json_moment(next_run) if done.enabled else None,
                   "commands": [{"argv": list(a), "exit_code": r.code}
                                for a, r in done.commands],
                   "to_run": list(done.manual), "notes": list(done.notes), "logs": logs})
    elif not settings.quiet:
        out = click.echo
        out(f"Scheduler:  {done.scheduler} — {job.schedule.describe()}")
        out(f"Command:    {command_text(job.argv, done.scheduler)}")
        for i, path in enumerate(done.files):
            out(f"{'Wrote:' if i == 0 else '':<12}{path}")
        for argv, ran in done.commands:
            out(f"Ran:        {command_text(argv, done.scheduler)} (exit {ran.code})")
        for note in done.notes:
            out(f"Note:       {note}")
        out(f"Enabled:    {'yes' if done.enabled else 'NO'}")
        out(f"Next run:   {_when(next_run) if done.enabled else 'none until it is enabled'}")
        out(f"Logs:       {logs}")
    if not done.enabled:
        warn(settings, f"the {done.scheduler} job is written but NOT enabled, so it will not "
                       f"run; to enable it, run: {'; '.join(done.manual)}")


def _installed_json(i: Installed) -> dict[str, Any]:
    return {"scheduler": i.scheduler, "schedule": i.schedule.to_dict() if i.schedule else None,
            "command": list(i.argv), "files": list(i.files), "enabled": i.enabled,
            "state": i.state_text, "next_run": _json_moment(i.next_run),
            "next_run_from": i.next_from, "notes": list(i.notes)}


def _record_json(r: RunRecord, running: bool | None) -> dict[str, Any]:
    data = r.to_dict()
    data["started"] = json_time(r.started_ns)
    data["finished"] = json_time(r.finished_ns) if r.finished_ns else None
    if r.state == "running":
        data["process_alive"] = running
    return data


def _record_lines(r: RunRecord, running: bool | None) -> list[str]:
    started = local_time(r.started_ns)
    if r.state == "running":
        if running:
            return [f"running since {started} (process {r.pid} on {r.host})"]
        return [f"started {started} and did not finish: its process {r.pid} is gone "
                "(killed, or the machine went down)"]
    took = (r.finished_ns or r.started_ns) - r.started_ns
    lines = [f"{started}, {r.result} (exit {r.exit_code}), took {took / 1e9:.1f} s"]
    if r.snapshot_id:
        lines.append(f"snapshot {r.snapshot_id[:8]} — {r.snapshot_id}")
    if r.message:
        lines.append(r.message)
    return lines


def _next_text(i: Installed) -> str:
    if i.next_run is not None:
        src = "from the schedule" if i.next_from == "computed" else f"from {i.next_from}"
        return f"{_when(i.next_run)} ({src})"
    if i.enabled is False:
        return "none: the job is not enabled"
    return "unknown: the scheduler cannot be asked" if i.enabled is None else "unknown"


def status(settings: Settings, st: Status, logs: dict[str, str]) -> None:
    """The installed job(s), the last run, the next run; a run record that cannot be read
    is named (and the jobs still shown)."""
    if settings.json:
        emit_json({"installed": [_installed_json(i) for i in st.installed],
                   "last_run": _record_json(st.record, st.running) if st.record else None,
                   "last_run_error": st.record_error,
                   "status_file": str(st.record_path),
                   "logs": {i.scheduler: logs[i.scheduler] for i in st.installed}})
        return
    out = click.echo
    if not st.installed:
        out("No snapkit schedule is installed (`snapkit schedule install` adds one).")
    for i in st.installed:
        out(f"Scheduler:  {i.scheduler} ({i.state_text})")
        out(f"Schedule:   {i.schedule.describe() if i.schedule else 'not one snapkit wrote'}")
        out(f"Command:    {command_text(i.argv, i.scheduler)}")
        out(f"Files:      {', '.join(i.files)}")
        out(f"Next run:   {_next_text(i)}")
        for note in i.notes:
            out(f"Note:       {note}")
        out(f"Logs:       {logs[i.scheduler]}")
    lines = (_record_lines(st.record, st.running) if st.record
             else [f"unknown: {st.record_error}"] if st.record_error
             else [f"none recorded yet ({st.record_path})"])
    for n, text in enumerate(lines):
        out(f"{'Last run:' if n == 0 else '':<12}{text}")


def removed(settings: Settings, done: list[Applied]) -> None:
    if settings.json:
        emit_json({"removed": [{"scheduler": a.scheduler, "files": list(a.files),
                                "commands": [{"argv": list(c), "exit_code": r.code}
                                             for c, r in a.commands],
                                "notes": list(a.notes)} for a in done]})
        return
    if not done:
        notice(settings, "No snapkit schedule is installed; nothing removed.")
        return
    if settings.quiet:
        return
    for a in done:
        click.echo(f"Removed ({a.scheduler}): " + (", ".join(a.files) or "nothing"))
        for argv, ran in a.commands:
            click.echo(f"Ran:        {command_text(argv, a.scheduler)} (exit {ran.code})")
        for note in a.notes:
            click.echo(f"Note:       {note}")


def forgot(settings: Settings, done: ScheduledRun) -> None:
    """The scheduled forget's outcome (before snap's own summary)."""
    if done.forget is None:
        return
    removed_ids = list(done.forget.removed)
    if settings.json:
        emit_json({"event": "forget", "removed": removed_ids,
                   "pruned": done.forget.prune is not None})
    elif not settings.quiet:
        click.echo(f"Forget:     {len(removed_ids)} scheduled snapshot(s) removed"
                   + (", then pruned" if done.forget.prune is not None else ""))
