"""Rendering of ``snapkit repair index|packs|snapshots``: what was (or would be) done, as text
and as the JSON document ``--json`` prints."""

from __future__ import annotations

from typing import Any

import click

from snapkit.cli.common import Settings, human_bytes
from snapkit.maintain.repair_index import PackSalvage
from snapkit.ops.repair import ConfigRepair, IndexRepair, PackRepair, SnapshotRepair

#: At most this many blobs or paths are printed one per line (all of them in --json).
SHOWN = 20


def _say(settings: Settings, line: str) -> None:
    if not settings.json and not settings.quiet:
        click.echo(line)


def _warn(settings: Settings, line: str) -> None:
    """What could not be repaired: printed even with -q."""
    if not settings.json:
        click.echo(line)


def _would(dry_run: bool, done: str, would: str) -> str:
    return would if dry_run else done


def config_report(settings: Settings, r: ConfigRepair) -> dict[str, Any]:
    c = r.check
    if c.nothing_to_do:
        _say(settings, "the config is fine, nothing to do")
    elif not c.safe:
        _warn(settings, f"the config is damaged ({c.damaged}), but none of {c.blobs_failed} "
                        "blob(s) read back with the default config: not writing one (is this "
                        "a snapkit repository of this version?)")
    else:
        _say(settings, f"the config is damaged ({c.damaged}); {c.blobs_verified} blob(s) read "
                       "back with the defaults; "
                       + (_would(r.dry_run, f"wrote a new config (repository id {r.new_id})",
                                 "would write a new config")))
    return {"dry_run": r.dry_run, "ok": r.ok, "nothing_to_do": c.nothing_to_do,
            "damaged": c.damaged, "blobs_verified": c.blobs_verified,
            "blobs_failed": c.blobs_failed, "new_id": r.new_id}


def _salvage_line(s: PackSalvage) -> str:
    found = (f"recovered {s.from_index} blob(s) from the old index" if s.sealed else
             f"recovered {s.from_index} blob(s) from the old index and {s.scanned} by scanning "
             "its compressed blobs")
    which = "sealed blobs are" if s.sealed else "uncompressed blobs are"
    then = ("run `snapkit repair packs` to rewrite it" if s.recovered else
            "nothing in it is indexed now: `snapkit prune` removes it")
    return (f"pack {s.pack}: {s.reason}; {found}; {s.unrecognised:,} byte(s) not recognised "
            f"({which} recoverable only where an old index lists them); {then}")


def index_report(settings: Settings, r: IndexRepair) -> dict[str, Any]:
    p = r.plan
    for s in p.salvaged:
        _warn(settings, _salvage_line(s))
    for pack, reason in p.unreadable:
        _warn(settings, f"pack {pack} could not be read ({reason}); its blobs are not indexed")
    if p.nothing_to_do:
        _say(settings, f"read {p.packs_read:,} pack(s): the index is complete, nothing to do")
    else:
        verb = _would(r.dry_run, "rebuilt", "would rebuild")
        _say(settings, f"{verb} the index from {p.packs_read:,} pack(s): {len(p.entries):,} "
                       f"blob(s) indexed ({p.added:,} the old index lacked), {p.dropped:,} "
                       f"entries of {len(p.dropped_packs):,} missing pack(s) dropped, "
                       f"{len(p.damaged):,} damage record(s) kept; "
                       f"{_would(r.dry_run, 'removed', 'would remove')} "
                       f"{_old_files(p.old_files, p.new_name):,} old index file(s) "
                       f"({len(p.broken_files):,} damaged)")
    return {
        "dry_run": r.dry_run, "ok": r.ok, "nothing_to_do": p.nothing_to_do,
        "packs_read": p.packs_read, "blobs_indexed": len(p.entries), "blobs_added": p.added,
        "entries_dropped": p.dropped, "missing_packs": list(p.dropped_packs),
        "damage_records": len(p.damaged), "old_index_files": list(p.old_files),
        "broken_index_files": list(p.broken_files),
        "index_files_removed": None if r.done is None else r.done.index_files_removed,
        "salvaged_packs": [{"pack": s.pack, "reason": s.reason, "from_index": s.from_index,
                            "scanned": s.scanned, "unrecognised_bytes": s.unrecognised,
                            "known_lost": s.known_lost} for s in p.salvaged],
        "unreadable_packs": [{"pack": k, "reason": v} for k, v in p.unreadable],
    }


def _old_files(old: tuple[str, ...], new: str) -> int:
    return sum(1 for name in old if name != new)


def packs_report(settings: Settings, r: PackRepair) -> dict[str, Any]:
    p = r.plan
    for d in p.damaged:
        _warn(settings, f"pack {d.pack} {d.reason}: {len(d.readable):,} blob(s) readable, "
                        f"{len(d.lost):,} damaged")
    for pack in p.missing:
        _warn(settings, f"pack {pack} is missing")
    for blob in p.lost_blobs[:SHOWN]:
        _warn(settings, f"lost blob {blob}")
    if len(p.lost_blobs) > SHOWN:
        _warn(settings, f"... and {len(p.lost_blobs) - SHOWN:,} more lost blob(s)")
    if p.nothing_to_do:
        _say(settings, f"read {p.packs_read:,} pack(s) ({human_bytes(p.bytes_read)}): no "
                       "damaged or missing pack, nothing to do")
    else:
        copied = sum(len(d.readable) for d in p.damaged)
        _say(settings, f"{_would(r.dry_run, 'repaired', 'would repair')} "
                       f"{len(p.damaged):,} damaged and {len(p.missing):,} missing pack(s): "
                       f"{copied:,} readable blob(s) "
                       f"{_would(r.dry_run, 'salvaged', 'to salvage')}, "
                       f"{len(p.lost_blobs):,} lost (the next `snapkit snap` stores them again "
                       "from the live files)")
    if r.affected_snapshots:
        _warn(settings, f"{len(r.affected_snapshots):,} snapshot(s) reference lost data: "
                        + ", ".join(s[:8] for s in r.affected_snapshots[:SHOWN])
                        + "; run `snapkit repair snapshots` next")
    done = r.done
    return {
        "dry_run": r.dry_run, "ok": r.ok, "nothing_to_do": p.nothing_to_do,
        "packs_read": p.packs_read, "bytes_read": p.bytes_read,
        "damaged_packs": [{"pack": d.pack, "reason": d.reason, "readable": len(d.readable),
                           "lost": [e.id for e in d.lost]} for d in p.damaged],
        "missing_packs": list(p.missing), "lost_blobs": list(p.lost_blobs),
        "obsolete_damage_records": len(p.stale_records),
        "affected_snapshots": list(r.affected_snapshots),
        "result": None if done is None else {
            "blobs_copied": done.blobs_copied, "packs_written": done.packs_written,
            "packs_removed": done.packs_removed,
            "index_files_removed": done.index_files_removed,
        },
    }


def snapshots_report(settings: Settings, r: SnapshotRepair) -> dict[str, Any]:
    for sid, reason in r.damaged_manifests:
        removed = sid in r.manifests_removed
        _warn(settings, f"snapshot {sid}: manifest damaged ({reason}); "
                        + (_would(r.dry_run, "removed", "would be removed") if r.forget or removed
                           else "cannot be repaired; `--forget` removes it"))
    for f in r.fixes:
        _say(settings, f"snapshot {f.snapshot[:8]}: {len(f.lost):,} path(s) lost")
        for lost in f.lost[:SHOWN]:
            what = "removed" if lost.what == "file" else "kept empty"
            _say(settings, f"  {lost.path} ({lost.what} {what}; blob {lost.blob[:8]} lost)")
        if len(f.lost) > SHOWN:
            _say(settings, f"  ... and {len(f.lost) - SHOWN:,} more")
        if f.new_id is None:
            _warn(settings, f"snapshot {f.snapshot[:8]}: its root tree is lost, nothing can be "
                            "saved" + ("" if f.forgotten else "; `--forget` removes it"))
        elif f.existing:
            _say(settings, f"  already repaired as {f.new_id[:8]}")
        else:
            _say(settings, f"  {_would(r.dry_run, 'saved', 'would save')} the repaired copy "
                           f"{f.new_id[:8]} (tag `repaired`)")
        if f.forgotten:
            _say(settings, f"  {_would(r.dry_run, 'removed', 'would remove')} the original")
    if r.nothing_to_do:
        _say(settings, f"checked {r.checked:,} snapshot(s): nothing to repair")
    return {
        "dry_run": r.dry_run, "ok": r.ok, "nothing_to_do": r.nothing_to_do,
        "forget": r.forget, "checked": r.checked,
        "snapshots": [{"snapshot": f.snapshot, "repaired": f.new_id, "existing": f.existing,
                       "forgotten": f.forgotten,
                       "lost": [{"path": x.path, "what": x.what, "blob": x.blob,
                                 "size": x.size}
                                for x in f.lost]} for f in r.fixes],
        "damaged_manifests": [{"snapshot": s, "reason": why} for s, why in r.damaged_manifests],
        "manifests_removed": list(r.manifests_removed),
    }
