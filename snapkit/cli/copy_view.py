"""Rendering of ``snapkit copy``: what will be copied, a line per snapshot as it is committed,
one per snapshot the source's damage costs, the live progress line, the summary and the JSON
document."""

from __future__ import annotations

import time
from typing import Any

import click

from snapkit.cli.common import (
    ProgressLine,
    Settings,
    echo_event,
    emit_json,
    human_bytes,
    json_time,
    local_time,
    notice,
    shown,
)
from snapkit.cli.progress_line import pace, progress_line
from snapkit.format.model import Snapshot
from snapkit.maintain.copy import CopyProgress, SnapshotCopied, SnapshotDamaged
from snapkit.ops.copy import (
    CopyPlanned,
    CopyProgressed,
    CopyResult,
    PlainDestination,
    SnapshotDone,
)
from snapkit.ops.events import Event


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _what(sid: str, snap: Snapshot | None) -> str:
    if snap is None:
        return sid[:8]
    return (f"{sid[:8]}  {local_time(snap.time_ns)}  {snap.hostname}  "
            f"{', '.join(shown(s) for s in snap.sources)}")


class Watcher:
    """The events of a running copy, shown as they come (:meth:`on_event`)."""

    def __init__(self, settings: Settings, line: ProgressLine) -> None:
        self.settings = settings
        self.line = line
        self.started = time.monotonic()
        self._number = 0  # the snapshot the progress line is about

    def on_event(self, event: Event) -> None:
        s = self.settings
        if isinstance(event, CopyProgressed):
            if self.line.enabled:
                self.line.update(self._progress(event.progress, self.line.width))
        elif isinstance(event, CopyPlanned):
            if not s.json and not s.quiet and event.to_copy:
                there = f" ({_plural(len(event.present), 'snapshot')} already there)"
                click.echo(f"{'would copy' if event.dry_run else 'copying'} "
                           f"{_plural(len(event.to_copy), 'snapshot')} to "
                           f"{event.destination}{there if event.present else ''}")
        elif isinstance(event, SnapshotDone):
            self.line.clear()
            self._done(event.outcome, event.dry_run)
        elif isinstance(event, PlainDestination):
            if not s.json:
                notice(s, plain_note(event))
        else:
            echo_event(s, event)

    def _done(self, outcome: SnapshotCopied | SnapshotDamaged, dry_run: bool) -> None:
        if self.settings.json:
            return
        if isinstance(outcome, SnapshotDamaged):
            click.echo(f"snapkit: snapshot {_what(outcome.snapshot_id, outcome.snapshot)} "
                       f"{'would not be' if dry_run else 'not'} copied: {outcome.reason}",
                       err=True)
        elif not self.settings.quiet:
            renamed = (f" as {outcome.new_id[:8]}"
                       if outcome.new_id != outcome.snapshot_id and not dry_run else "")
            click.echo(f"{'would copy' if dry_run else 'copied'}  "
                       f"{_what(outcome.snapshot_id, outcome.snapshot)}{renamed}  "
                       f"({_plural(outcome.blobs, 'new blob')}, {human_bytes(outcome.bytes)})")

    def _progress(self, p: CopyProgress, width: int) -> str:
        """Snapshot n of m, then the line every command shows (blobs and bytes done of the
        snapshot's totals, percent, rate, elapsed, ETA: cli/progress_line), within ``width``."""
        if p.number != self._number:  # rate and ETA are per snapshot
            self._number, self.started = p.number, time.monotonic()
        head = f"copy {p.number}/{p.count} {p.snapshot_id[:8]}"
        done = pace(p.blobs, p.bytes, time.monotonic() - self.started, p.blobs_total,
                    p.bytes_total)
        rest = progress_line(done, "", max(width - len(head) - 2, 1), size=human_bytes,
                             unit="blobs")
        return f"{head}  {rest}"


def plain_note(e: PlainDestination) -> str:
    """The note for a destination that is not encrypted (as ``export`` notes that its archive
    of an encrypted repository is plain)."""
    if e.source_encrypted:
        what = (f"snapkit: note: the source is encrypted, the destination {e.destination} is "
                "not: the snapshots copied there are stored in plain (to keep them encrypted, "
                "copy to one made by `snapkit init --repo DEST --encryption repokey`)")
    else:
        what = f"snapkit: note: the destination {e.destination} is not encrypted"
    if e.unused:
        what += f"; {' and '.join(e.unused)} unused: it has no passphrase"
    return what


def render(settings: Settings, r: CopyResult) -> None:
    """The summary line (text), or the JSON document."""
    if settings.json:
        emit_json(result_json(r))
        return
    if settings.quiet:
        return
    if not r.copied and not r.damaged:
        click.echo(_nothing(r))
        return
    verb = "would copy" if r.dry_run else "copied"
    sent = "would send" if r.dry_run else "sent"
    stored = "stored in the source" if r.dry_run else "stored"
    damaged = f", {len(r.damaged):,} not (damaged in the source)" if r.damaged else ""
    click.echo(f"{verb} {_plural(len(r.copied), 'snapshot')}{damaged}: {sent} "
               f"{_plural(r.sent.blobs, 'blob')}, {human_bytes(r.sent.bytes_raw)} "
               f"({human_bytes(r.sent.bytes_stored)} {stored})")
    if r.sent.unused_blobs:
        click.echo(f"{'would be' if r.dry_run else 'of which'} "
                   f"{_plural(r.sent.unused_blobs, 'blob')}, "
                   f"{human_bytes(r.sent.unused_bytes)} only for the "
                   f"{'snapshot' if len(r.damaged) == 1 else 'snapshots'} not copied: "
                   f"`snapkit prune --repo {r.destination}` frees them")
    if r.damaged:
        click.echo("snapkit: `snapkit check --read-data` on the source names every file the "
                   "damage costs; `snapkit repair` helps", err=True)


def _nothing(r: CopyResult) -> str:
    """Why nothing was copied: all there, no snapshot matches the filters, or none at all."""
    if r.present:
        return (f"nothing to copy: {r.destination} holds all "
                f"{_plural(len(r.present), 'selected snapshot')}")
    if r.filters and r.listed:
        return (f"nothing to copy: no snapshots match {r.filters} (the source holds "
                f"{_plural(r.listed, 'snapshot')}; `snapkit snapshots` lists them)")
    return "nothing to copy: the source has no snapshots"


def _row(sid: str, snap: Snapshot | None) -> dict[str, Any]:
    if snap is None:
        return {"id": sid, "short_id": sid[:8]}
    return {"id": sid, "short_id": sid[:8], "time": json_time(snap.time_ns),
            "time_ns": snap.time_ns, "host": snap.hostname, "sources": list(snap.sources),
            "tags": list(snap.tags)}


def _new_id(r: CopyResult, c: SnapshotCopied) -> str | None:
    """The copy's id in the destination; None for a re-keyed one in a dry run (not written:
    a sealed manifest's id changes with its nonce)."""
    return None if r.dry_run and c.new_id != c.snapshot_id else c.new_id


def result_json(r: CopyResult) -> dict[str, Any]:
    return {
        "source": r.source,
        "destination": r.destination,
        "dry_run": r.dry_run,
        "source_encrypted": r.source_encrypted,
        "destination_encrypted": r.destination_encrypted,
        "snapshots_copied": len(r.copied),
        "snapshots_skipped": len(r.present),
        "snapshots_damaged": len(r.damaged),
        "copied": [{**_row(c.snapshot_id, c.snapshot), "destination_id": _new_id(r, c),
                    "blobs": c.blobs, "bytes": c.bytes} for c in r.copied],
        "skipped": list(r.present),
        "damaged": [{**_row(d.snapshot_id, d.snapshot), "reason": d.reason}
                    for d in r.damaged],
        "blobs_sent": r.sent.blobs,
        "bytes_sent": r.sent.bytes_raw,
        "bytes_sent_stored": r.sent.bytes_stored,
        "blobs_sent_unused": r.sent.unused_blobs,
        "bytes_sent_unused": r.sent.unused_bytes,
    }
