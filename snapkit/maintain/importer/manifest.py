"""The imported snapshot's manifest, from the archive's metadata (a ``snapkit export``), an
OpenClaw backup's ``manifest.json``, or this machine; and whether the repository already holds
the snapshot an archive was exported from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from snapkit import __version__
from snapkit.capture.nodes import current_user
from snapkit.format.archive_meta import ArchiveMeta
from snapkit.format.host import host_name
from snapkit.format.model import Skipped, Snapshot, Summary
from snapkit.maintain.importer.layout import Layout
from snapkit.read.openclaw_archive import iso_ns, snapshot_mode
from snapkit.store.repository import Repository

IMPORT_TAG = "imported"


def already_present(repo: Repository, meta: ArchiveMeta | None
                     ) -> tuple[str, Snapshot] | None:
    """The snapshot of this repository that a snapkit archive was exported from — itself, or
    a complete earlier import of the same snapshot — or None. (An import cut short by a
    truncated archive does not count: a complete copy may still bring the rest.)"""
    origin = meta.snapshot if meta else None
    if not origin:
        return None
    for sid, snap in repo.snapshots():
        if sid == origin or (snap.imported.get("snapshot") == origin and not snap.incomplete):
            return sid, snap
    return None


def manifest(
    layout: Layout,
    archive: ArchiveMeta | None,
    doc: Mapping[str, Any],
    extra_tags: Sequence[str],
    hostname: str | None,
    sources: tuple[str, ...],
    root_id: str,
    summary: Summary,
    skipped: tuple[Skipped, ...],
    warnings: Sequence[str],
    started: int,
    archive_path: str,
    complete: bool,
) -> Snapshot:
    meta = archive or ArchiveMeta()
    tags = [IMPORT_TAG, *meta.tags, *extra_tags]
    time_ns = meta.time_ns
    if time_ns is None:
        time_ns = iso_ns(doc.get("createdAt")) or started
    hostname = hostname or meta.hostname or host_name()
    username = meta.username or current_user()
    mode = meta.mode or (snapshot_mode(doc) if layout.name == "openclaw" else "full")
    return Snapshot(
        time_ns=time_ns,
        hostname=hostname,
        username=username,
        sources=sources,
        tree=root_id,
        tags=tuple(dict.fromkeys(tags)),
        mode=mode,
        program_version=__version__,
        summary=summary,
        skipped=skipped,
        warnings=tuple(warnings),
        rules=tuple(f"{s}: import ({layout.name} archive)" for s in sources),
        imported={"archive": os.path.basename(archive_path), "layout": layout.name,
                  "complete": complete,
                  **({"snapshot": meta.snapshot} if meta.snapshot else {})},
    )
