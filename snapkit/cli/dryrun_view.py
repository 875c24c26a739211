"""Rendering of the ``snap --dry-run`` report as text or JSON."""

from __future__ import annotations

import click

from snapkit.capture.dryrun import DryRunReport
from snapkit.cli.common import Settings, emit_json, human_bytes


def render_dry_run(settings: Settings, r: DryRunReport, list_paths: bool) -> None:
    if settings.json:
        emit_json({
            "event": "dry_run",
            "sources": [{"path": p, "rules": d} for p, d in r.sources],
            "included": {"files": r.files, "bytes": r.bytes, "dirs": r.dirs},
            "excluded": [{"rule": rule, "files": c.files, "bytes": c.bytes,
                          "entries": c.entries} for rule, c in r.rules_by_bytes()],
            "symlinks": [{"path": p, "target": t} for p, t in r.symlinks],
            "symlinks_policy": "record" if r.symlinks_recorded else "skip",
            "special": [{"path": p, "kind": k} for p, k in r.special],
            "problems": [{"path": p, "reason": why, "detail": d} for p, why, d in r.problems],
            "largest": [{"path": p, "bytes": n} for n, p in r.largest],
            **({"paths": r.paths} if list_paths else {}),
        })
        return
    out = click.echo
    if list_paths:
        for p in r.paths:
            out(p)
        if settings.quiet:
            return
        out("")
    for path, desc in r.sources:
        out(f"Source {path}: {desc}")
    out(f"Would include: {r.files:,} files, {human_bytes(r.bytes)} in {r.dirs:,} dirs")
    excluded_files = sum(c.files for c in r.by_rule.values())
    excluded_bytes = sum(c.bytes for c in r.by_rule.values())
    if r.by_rule:
        out(f"Excluded: {excluded_files:,} files, {human_bytes(excluded_bytes)}")
        for rule, c in r.rules_by_bytes():
            out(f"  {rule}: {c.files:,} files, {human_bytes(c.bytes)}")
    if r.symlinks:
        verb = "recorded as links" if r.symlinks_recorded else "skipped"
        out(f"Symlinks {verb} (never followed): {len(r.symlinks):,}")
        for p, t in r.symlinks[: None if settings.verbose else 20]:
            out(f"  {p} -> {t}")
        if len(r.symlinks) > 20 and not settings.verbose:
            out(f"  ... {len(r.symlinks) - 20:,} more (-v lists all)")
    if r.special:
        out(f"Special files skipped: {len(r.special):,}")
        for p, k in r.special:
            out(f"  {k:<7} {p}")
    if r.problems:
        out(f"Unreadable or vanished: {len(r.problems):,}")
        for p, why, d in r.problems:
            out(f"  {why:<10} {p}" + (f": {d}" if d else ""))
    if r.largest:
        out("Largest included files:")
        for n, p in r.largest:
            out(f"  {human_bytes(n):>10}  {p}")
