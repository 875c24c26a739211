"""``import_archive``: ingest a tar, tar.gz or tar.zst archive as a new, deduplicated snapshot.

The archive is probed before anything else, so a bad one fails before a repository is
created; then the repository is opened (created when nothing is there yet) and the archive
read into it under a shared lock (:mod:`snapkit.maintain.importer`: layouts, hostile-entry policy,
the manifest as commit point). An archive of a snapshot the repository holds adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from snapkit.maintain.importer import ImportOptions, ImportResult, probe_archive
from snapkit.maintain.importer import import_archive as read_into
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.repo import Location, open_repository


def import_archive(location: Location, archive: str, *, tags: Sequence[str] = (),
                   host: str | None = None, on_event: OnEvent = ignore) -> ImportResult:
    """Import ``archive`` into the repository at ``location``; ``tags`` (``imported`` is
    always added) and ``host`` (None: the archive's, else this machine's) go in the manifest.
    """
    probe_archive(archive)
    repo = open_repository(location, create=True, on_event=on_event)
    with repo.lock(exclusive=False, operation="import"):
        return read_into(repo, archive, ImportOptions(tags=tuple(tags), hostname=host))
