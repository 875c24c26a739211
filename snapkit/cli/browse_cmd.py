"""``snapkit show``, ``ls``, ``cat`` and ``find``: look inside snapshots."""

from __future__ import annotations

import stat
import sys

import click

from snapkit.browse import find, list_entries, resolve_path
from snapkit.cli.common import (
    Settings,
    emit_json,
    human_bytes,
    json_time,
    local_time,
    no_lock_option,
    open_repo_reading,
    with_settings,
)
from snapkit.errors import UsageError
from snapkit.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node
from snapkit.rules import path_matches
from snapkit.selection import resolve
from snapkit.service import command_text


@click.command("show")
@click.argument("snapshot")
@no_lock_option
@with_settings
def show(settings: Settings, snapshot: str, no_lock: bool) -> None:
    """Print a snapshot's manifest: sources, host, counts, service actions, skipped entries."""
    repo = open_repo_reading(settings, no_lock, "show")
    sid, s = resolve(snapshot, repo.snapshots())
    doc = {
        "id": sid, "time": json_time(s.time_ns), "time_ns": s.time_ns, "host": s.hostname,
        "username": s.username, "sources": list(s.sources), "mode": s.mode,
        "tags": list(s.tags), "parent": s.parent, "program_version": s.program_version,
        "tree": s.tree, "summary": s.summary.__dict__, "rules": list(s.rules),
        "sqlite": list(s.sqlite), "service": dict(s.service), "warnings": list(s.warnings),
        "openclaw": dict(s.openclaw),
        "skipped": [{"path": k.path, "reason": k.reason, "detail": k.detail}
                    for k in s.skipped],
    }
    if settings.json:
        emit_json(doc)
        return
    out = click.echo
    out(f"snapshot {sid}")
    out(f"  time:     {local_time(s.time_ns)}")
    out(f"  host:     {s.hostname} (user {s.username or '?'})")
    out(f"  mode:     {s.mode}")
    out(f"  tags:     {', '.join(s.tags) or '-'}")
    out(f"  parent:   {s.parent or '-'}")
    out(f"  snapkit:  {s.program_version}")
    for src in s.sources:
        out(f"  source:   {src}")
    for r in s.rules:
        out(f"  rules:    {r}")
    m = s.summary
    out(f"  files:    {m.total_files:,} ({human_bytes(m.total_bytes)}): {m.files_new:,} new, "
        f"{m.files_changed:,} changed, {m.files_unmodified:,} unmodified")
    out(f"  dirs:     {m.dirs:,}   symlinks recorded: {m.symlinks:,}")
    out(f"  read:     {human_bytes(m.bytes_read)}   added: {human_bytes(m.bytes_added_raw)} "
        f"(stored {human_bytes(m.bytes_added_stored)})   duration: {m.duration_s:.1f} s")
    for db in s.sqlite:
        out(f"  sqlite:   {db} (consistent copy; sidecars not stored)")
    if s.service:
        svc = dict(s.service)
        out(f"  service:  policy {svc.get('policy', '?')}, {svc.get('decision', '')}; "
            f"stopped: {svc.get('stopped', False)}, restarted: {svc.get('restarted', False)}")
        if svc.get("gateway_down"):
            start = command_text([str(part) for part in svc.get("start_command") or ()])
            out(f"  service:  the gateway was left NOT running (start it with: {start})")
    for w in s.warnings:
        out(f"  warning:  {w}")
    if s.skipped:
        out(f"  skipped:  {len(s.skipped):,}")
        for k in s.skipped:
            detail = f" -> {k.detail}" if k.reason == "symlink" else (
                f": {k.detail}" if k.detail else "")
            out(f"    {k.reason:<10} {k.path}{detail}")


def _mode_string(node: Node) -> str:
    kind = {NODE_DIR: stat.S_IFDIR, NODE_SYMLINK: stat.S_IFLNK}.get(node.type, stat.S_IFREG)
    return stat.filemode(kind | node.mode)


@click.command("ls")
@click.argument("snapshot")
@click.argument("path", required=False)
@click.option("-l", "--long", "long_form", is_flag=True, help="Mode, owner, size and mtime.")
@click.option("-R", "--recursive", is_flag=True, help="List subdirectories too.")
@no_lock_option
@with_settings
def ls(settings: Settings, snapshot: str, path: str | None, long_form: bool,
       recursive: bool, no_lock: bool) -> None:
    """List the entries of SNAPSHOT at PATH (default: each source).

    PATH is absolute, or relative to a source of the snapshot.
    """
    repo = open_repo_reading(settings, no_lock, "ls")
    _, snap = resolve(snapshot, repo.snapshots())
    targets = [path] if path else list(snap.sources)
    for target in targets:
        parts, node = resolve_path(repo.load_tree, snap, target)
        for p, n in list_entries(repo.load_tree, parts, node, recursive):
            if settings.json:
                emit_json({"path": p, "type": n.type, "size": n.size, "mode": oct(n.mode),
                           "mtime_ns": n.mtime_ns, "user": n.user, "group": n.group,
                           "uid": n.uid, "gid": n.gid,
                           **({"target": n.target} if n.target else {})})
            elif long_form:
                owner = f"{n.user or n.uid}/{n.group or n.gid}"
                link = f" -> {n.target}" if n.type == NODE_SYMLINK else ""
                click.echo(f"{_mode_string(n)} {owner:<15} {n.size:>12,} "
                           f"{local_time(n.mtime_ns)} {p}{'/' if n.type == NODE_DIR else ''}"
                           f"{link}")
            else:
                click.echo(p + ("/" if n.type == NODE_DIR else ""))


@click.command("cat")
@click.argument("snapshot")
@click.argument("path")
@no_lock_option
@with_settings
def cat(settings: Settings, snapshot: str, path: str, no_lock: bool) -> None:
    """Write the content of one file of SNAPSHOT to stdout."""
    repo = open_repo_reading(settings, no_lock, "cat")
    _, snap = resolve(snapshot, repo.snapshots())
    _, node = resolve_path(repo.load_tree, snap, path)
    if node.type != NODE_FILE:
        raise UsageError(f"{path} is a {node.type}, not a file; use `snapkit ls` for directories")
    out = sys.stdout.buffer
    for block in repo.read_blobs(node.content):
        out.write(block)
    out.flush()


@click.command("find")
@click.argument("pattern")
@click.option("--snapshot", "-s", "snapshot_sel", metavar="ID",
              help="Search only this snapshot [default: all].")
@no_lock_option
@with_settings
def find_cmd(settings: Settings, pattern: str, snapshot_sel: str | None,
             no_lock: bool) -> None:
    """Which snapshots hold paths matching PATTERN (gitignore-style glob: `*.json`,
    `/home/me/.openclaw/credentials/**`), with size and mtime."""
    repo = open_repo_reading(settings, no_lock, "find")
    pairs = repo.snapshots()
    if snapshot_sel:
        pairs = [resolve(snapshot_sel, pairs)]
    select = path_matches(pattern)
    hits = 0
    for f in find(repo.load_tree, pairs, select):
        hits += 1
        if settings.json:
            emit_json({"snapshot": f.snapshot_id, "time": json_time(f.snapshot.time_ns),
                       "path": f.path, "type": f.node.type, "size": f.node.size,
                       "mtime_ns": f.node.mtime_ns})
        else:
            click.echo(f"{f.snapshot_id[:8]}  {local_time(f.snapshot.time_ns)}  "
                       f"{human_bytes(f.node.size) if f.node.type == NODE_FILE else '-':>10}  "
                       f"{local_time(f.node.mtime_ns)}  {f.path}"
                       f"{'/' if f.node.type == NODE_DIR else ''}")
    if not hits and not settings.json and not settings.quiet:
        click.echo(f"no snapshot holds a path matching {pattern!r}", err=True)
