"""Rendering of ``snapkit show``, ``ls`` and ``find``, as text or JSON."""

from __future__ import annotations

import os
import stat

import click

from snapkit.capture.service import command_text
from snapkit.cli.common import Settings, emit_json, human_bytes, json_time, local_time
from snapkit.cli.common import shown as printable
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node
from snapkit.ops.browse import ShowResult
from snapkit.read.browse import Found


def show(settings: Settings, shown: ShowResult) -> None:
    sid, s = shown.snapshot_id, shown.snapshot
    doc = {
        "id": sid, "time": json_time(s.time_ns), "time_ns": s.time_ns, "host": s.hostname,
        "username": s.username, "sources": list(s.sources), "mode": s.mode,
        "tags": list(s.tags), "parent": s.parent, "original": s.original,
        "program_version": s.program_version, "tree": s.tree, "summary": s.summary.__dict__,
        "rules": list(s.rules),
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
    if s.original:
        out(f"  copied:   from snapshot {s.original} of another repository (`snapkit copy`)")
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
            f"{_gateway_outcome(svc)}")
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
            out(f"    {k.reason:<10} {printable(k.path)}{printable(detail)}")


def _gateway_outcome(svc: dict[str, object]) -> str:
    """What happened to the gateway, in words (the manifest keeps the booleans)."""
    if not svc.get("stopped"):
        return "the gateway was not stopped"
    if svc.get("restarted"):
        return "the gateway was stopped for the snapshot and started again"
    return "the gateway was stopped and not started again"


def _mode_string(node: Node) -> str:
    kind = {NODE_DIR: stat.S_IFDIR, NODE_SYMLINK: stat.S_IFLNK}.get(node.type, stat.S_IFREG)
    return stat.filemode(kind | node.mode)


def _size(n: Node) -> int:
    """A node's size as ``ls -l`` gives it: a symlink's is its target's length in bytes (the
    stored node holds none)."""
    return len(os.fsencode(n.target or "")) if n.type == NODE_SYMLINK else n.size


def entry(settings: Settings, long_form: bool, p: str, n: Node) -> None:
    """One entry of ``ls``."""
    if settings.json:
        emit_json({"path": p, "type": n.type, "size": _size(n), "mode": oct(n.mode),
                   "mtime_ns": n.mtime_ns, "user": n.user, "group": n.group,
                   "uid": n.uid, "gid": n.gid,
                   **({"target": n.target} if n.target else {})})
    elif long_form:
        owner = f"{n.user or n.uid}/{n.group or n.gid}"
        link = f" -> {printable(n.target or '')}" if n.type == NODE_SYMLINK else ""
        click.echo(f"{_mode_string(n)} {owner:<15} {_size(n):>12,} "
                   f"{local_time(n.mtime_ns)} {printable(p)}{'/' if n.type == NODE_DIR else ''}"
                   f"{link}")
    else:
        click.echo(printable(p) + ("/" if n.type == NODE_DIR else ""))


def found(settings: Settings, f: Found) -> None:
    """One match of ``find``."""
    if settings.json:
        emit_json({"snapshot": f.snapshot_id, "time": json_time(f.snapshot.time_ns),
                   "path": f.path, "type": f.node.type, "size": f.node.size,
                   "mtime_ns": f.node.mtime_ns})
    else:
        click.echo(f"{f.snapshot_id[:8]}  {local_time(f.snapshot.time_ns)}  "
                   f"{human_bytes(f.node.size) if f.node.type == NODE_FILE else '-':>10}  "
                   f"{local_time(f.node.mtime_ns)}  {printable(f.path)}"
                   f"{'/' if f.node.type == NODE_DIR else ''}")


def no_match(settings: Settings, pattern: str) -> None:
    if not settings.json and not settings.quiet:
        click.echo(f"no snapshot holds a path matching {pattern!r}", err=True)
