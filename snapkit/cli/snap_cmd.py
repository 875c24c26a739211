"""``snapkit snap``: take a snapshot."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from snapkit.cli.common import (
    ProgressLine,
    Settings,
    count_reasons,
    emit_json,
    human_bytes,
    open_repo,
    repo_path,
    with_settings,
)
from snapkit.cli.dryrun_view import render_dry_run
from snapkit.config import load_config
from snapkit.dryrun import dry_run as dry_run_report
from snapkit.errors import EXIT_GATEWAY_DOWN, EXIT_INCOMPLETE, GatewayDown
from snapkit.model import Snapshot
from snapkit.selection import find_parent, resolve
from snapkit.service import ServiceRecord, command_text, gateway_lifecycle, selector
from snapkit.snapshot import Progress, SnapOptions, create_snapshot
from snapkit.sources import plan_sources


@click.command("snap")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the snapshot (repeatable).")
@click.option("--host", metavar="NAME", help="Host name to record [default: this machine's].")
@click.option("--parent", metavar="ID", help="Snapshot to compare against for unchanged files.")
@click.option("--force", is_flag=True, help="Re-read every file, ignoring the parent.")
@click.option("--mode", default="full", show_default=True, metavar="MODE",
              help="What to take from an OpenClaw state dir: full, config-only, or a mode "
                   "defined in the config.")
@click.option("--symlinks", type=click.Choice(["skip", "record"]), default=None,
              help="Skip symlinks (listed in the manifest) or record them as links; never "
                   "followed either way [default: config, else skip].")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Also leave out paths matching PATTERN (gitignore-style, relative to each "
                   "source; repeatable).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Report what would be taken and what each rule excludes; touch no "
                   "repository.")
@click.option("--list", "list_paths", is_flag=True, help="With --dry-run: print every path.")
@click.option("--service-policy", type=click.Choice(["auto", "always", "never"]), default=None,
              help="When to stop the OpenClaw gateway around the snapshot [default: config "
                   "service.policy, else auto: only when files it holds open need it].")
@click.option("--no-service-control", is_flag=True,
              help="Never stop or start the gateway; go on best-effort with a warning.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before stopping the gateway.")
@with_settings
def snap(settings: Settings, paths: tuple[str, ...], tags: tuple[str, ...], host: str | None,
         parent: str | None, force: bool, mode: str, symlinks: str | None,
         excludes: tuple[str, ...], dry_run: bool, list_paths: bool,
         service_policy: str | None, no_service_control: bool, yes: bool) -> None:
    """Snapshot PATHS (default: the OpenClaw installation) into the repository.

    With no PATHS, the OpenClaw state dir is discovered ($OPENCLAW_STATE_DIR, else
    ~/.openclaw, ...) with its workspaces; `snapkit where` shows what was found.

    \b
    snapkit snap              back up ~/.openclaw (or $OPENCLAW_STATE_DIR)
    snapkit snap .            back up the current directory
    snapkit snap --json       JSON lines: progress events, then a summary
    """
    loaded = load_config(settings.config)
    location = repo_path(settings)
    plan = plan_sources(paths, mode, symlinks, loaded, excludes,
                        repository=str(location) if isinstance(location, Path) else None)
    if dry_run:
        report = dry_run_report(plan.sources, plan.matcher_for, plan.symlinks, list_paths,
                                sqlite=loaded.config.sqlite)
        render_dry_run(settings, report, list_paths)
        return
    repo = open_repo(settings, create=True)
    hostname = host or socket.gethostname()
    with repo.lock(exclusive=False, operation="snap"):
        snapshots = repo.snapshots()
        parent_pair: tuple[str, Snapshot] | None
        if parent:
            parent_pair = resolve(parent, snapshots)
        else:
            parent_pair = None if force else find_parent(snapshots, plan.sources, hostname, mode)
        line = ProgressLine(settings)
        last_json = [0.0]

        def on_progress(p: Progress) -> None:
            elapsed = max(time.monotonic() - p.started, 1e-6)
            if settings.json:
                now = time.monotonic()
                if now - last_json[0] >= 1.0:
                    last_json[0] = now
                    emit_json({"event": "progress", "files": p.files, "dirs": p.dirs,
                               "bytes": p.bytes_seen, "bytes_read": p.bytes_read,
                               "elapsed_s": round(elapsed, 2), "current": p.current})
                return
            line.update(f"{p.files:,} files  {human_bytes(p.bytes_seen)}  "
                        f"{human_bytes(p.bytes_read / elapsed)}/s  {p.current}")

        opts = SnapOptions(
            sources=plan.sources,
            hostname=hostname,
            tags=tags,
            mode=mode,
            force=force,
            symlinks=plan.symlinks,
            matchers=plan.matcher_for,
            zstd_level=loaded.config.zstd_level,
            sqlite=loaded.config.sqlite,
            openclaw=(plan.installation.to_dict()
                      if plan.installation is not None and plan.touches_openclaw else {}),
        )
        lifecycle = (
            gateway_lifecycle(
                plan.sources, loaded.config.service, policy=service_policy,
                control=not no_service_control, confirm=_confirm(settings, yes),
                warn=lambda message: _warn(settings, line, message),
                alert=lambda message: _alert(settings, line, message),
                selected=selector(plan.sources, plan.matcher_for),
            )
            if plan.touches_openclaw
            else nullcontext(None)
        )
        try:
            with lifecycle as record:
                _, manifest = create_snapshot(repo, opts, parent_pair, on_progress,
                                              commit=False)
        finally:
            line.clear()
        if record is not None:  # after the restart, so the manifest says how it went
            manifest = replace(manifest, service=record.to_dict())
        snap_id = repo.save_snapshot(manifest)
    _report(settings, snap_id, manifest, parent_pair[0] if parent_pair else None)
    if record is not None and record.gateway_down:
        raise GatewayDown(_gateway_down_message(snap_id, record))
    if any(s.reason == "unreadable" for s in manifest.skipped):
        raise SystemExit(EXIT_INCOMPLETE)


def _gateway_down_message(snap_id: str, record: ServiceRecord) -> str:
    return (f"snapshot {snap_id[:8]} was saved, but the OpenClaw gateway was stopped for it and "
            f"is NOT running: start it now with: {command_text(record.start_command)}")


def _confirm(settings: Settings, yes: bool) -> Callable[[str], bool] | None:
    """The terminal prompt before stopping the gateway, or None (--yes, or no terminal)."""
    if yes or settings.json or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    return lambda question: click.confirm(question.removesuffix(" [y/N]"), default=False,
                                          err=True)


def _warn(settings: Settings, line: ProgressLine, message: str) -> None:
    line.clear()
    if settings.json:
        emit_json({"event": "warning", "message": message})
    click.echo(f"snapkit: warning: {message}", err=True)


def _alert(settings: Settings, line: ProgressLine, message: str) -> None:
    line.clear()
    if settings.json:
        emit_json({"event": "error", "message": message})
    click.echo(f"snapkit: error: {message}", err=True)


def summary_dict(snap_id: str, m: Snapshot) -> dict[str, Any]:
    s = m.summary
    reasons = count_reasons(m.skipped)
    return {
        "event": "summary",
        "snapshot_id": snap_id,
        "short_id": snap_id[:8],
        "parent": m.parent,
        "sources": list(m.sources),
        "mode": m.mode,
        "tags": list(m.tags),
        "files_new": s.files_new,
        "files_changed": s.files_changed,
        "files_unmodified": s.files_unmodified,
        "dirs": s.dirs,
        "symlinks": s.symlinks,
        "total_files": s.total_files,
        "total_bytes": s.total_bytes,
        "bytes_read": s.bytes_read,
        "bytes_added_raw": s.bytes_added_raw,
        "bytes_added_stored": s.bytes_added_stored,
        "excluded_entries": s.excluded_entries,
        "skipped": reasons,
        "skipped_entries": [{"path": k.path, "reason": k.reason, "detail": k.detail}
                            for k in m.skipped],
        "warnings": list(m.warnings),
        "duration_s": s.duration_s,
        "complete": not any(k.reason == "unreadable" for k in m.skipped),
        "service": dict(m.service),
        "gateway_down": bool(m.service.get("gateway_down", False)),
        "exit_code": _exit_code(m),
    }


def _exit_code(m: Snapshot) -> int:
    """The exit status of ``snap`` for this manifest: 4, 3 or 0 (see the README)."""
    if m.service.get("gateway_down"):
        return EXIT_GATEWAY_DOWN
    if any(k.reason == "unreadable" for k in m.skipped):
        return EXIT_INCOMPLETE
    return 0


def _report(settings: Settings, snap_id: str, m: Snapshot, parent: str | None) -> None:
    if settings.json:
        emit_json(summary_dict(snap_id, m))
        return
    s = m.summary
    if settings.quiet:
        click.echo(snap_id)
        return
    out = click.echo
    out(f"Files:       {s.files_new:,} new, {s.files_changed:,} changed, "
        f"{s.files_unmodified:,} unmodified")
    out(f"Dirs:        {s.dirs:,}")
    out(f"Read:        {human_bytes(s.bytes_read)} of {human_bytes(s.total_bytes)}")
    out(f"Added:       {human_bytes(s.bytes_added_raw)} "
        f"(stored {human_bytes(s.bytes_added_stored)})")
    if s.excluded_entries:
        out(f"Excluded:    {s.excluded_entries:,} entries by rules (`snap --dry-run` details "
            "them)")
    reasons = count_reasons(m.skipped)
    if reasons:
        out("Skipped:     " + ", ".join(f"{n:,} {r}" for r, n in sorted(reasons.items())))
        if settings.verbose:
            for k in m.skipped:
                detail = f" -> {k.detail}" if k.reason == "symlink" else (
                    f": {k.detail}" if k.detail else "")
                out(f"  {k.reason:<10} {k.path}{detail}")
    service = m.service
    if service.get("stopped"):
        out("Gateway:     stopped for the snapshot, "
            + ("NOT running again" if service.get("gateway_down") else "running again"))
    for w in m.warnings:
        out(f"Warning:     {w}")
    for k in m.skipped:
        if k.reason == "unreadable":
            click.echo(f"snapkit: could not read {k.path}: {k.detail}", err=True)
    vanished = reasons.get("vanished", 0)
    if vanished:
        click.echo(f"note: {vanished} file(s) vanished while the snapshot ran and were skipped",
                   err=True)
    out(f"Duration:    {s.duration_s:.1f} s")
    out(f"Snapshot {snap_id[:8]} saved" + (f" (parent {parent[:8]})" if parent else "")
        + f" — {snap_id}")
