"""Import a tar / tar.gz / tar.zst archive as a new snapshot, deduplicated against the store.

The archive is read once, sequentially (tarfile mode ``r|``; the compression is detected by
its magic bytes, not the file name). File content goes through the repository's chunker
straight into a :class:`BlobSaver`, so memory is bounded by chunks, not file size; only the
tree structure (one :class:`Node` per entry) is held until the end. Nothing is ever written
to the filesystem except the repository.

Entries are first collected under their archive names, then placed under absolute paths by
the archive's layout:

``snapkit``
    an archive made by ``snapkit export`` (metadata in the PAX global header ``comment``):
    ``paths: absolute`` names are absolute paths without the leading ``/`` (a first component
    ``C`` is the drive ``C:`` when a source was on it); ``paths: relative`` names start with
    the name of a source directory and go back under its parent. Host, user, sources, time,
    mode and tags are restored, plus the tag ``imported``; each file is checked against the
    checksum the metadata carries.
``openclaw``
    an archive made by ``openclaw backup create``: one top directory ``<root>/`` holding
    ``manifest.json`` and ``payload/posix/<absolute path without its leading />`` (and
    ``payload/windows/<drive>/...`` or ``payload/win32/<drive>/...`` for ``<drive>:``). The
    manifest itself is not stored; sources come from its ``assets[].sourcePath``,
    ``paths.stateDir`` / ``stateDir``, ``sources`` or ``entries``, else the common top
    directory of the payload.
``tar``
    any other tar: everything goes under ``/imported/<archive name without extensions>``,
    which is the snapshot's one source (a ``./`` entry gives that directory's metadata).

Hostile entries are neutralised or dropped, each with a warning (see :data:`POLICY`). A
member that cannot be read to its end (a truncated or corrupt archive) ends the import: what
was read before it is saved, with a warning, and :attr:`ImportResult.complete` is False.

The package, one module per stage (each imports only those before it):
:mod:`~snapkit.maintain.importer.stream` opens the archive,
:mod:`~snapkit.maintain.importer.collect` reads its
members under the hostile-entry policy, :mod:`~snapkit.maintain.importer.layout` decides where
names go,
:mod:`~snapkit.maintain.importer.assemble` builds the trees at their absolute paths,
:mod:`~snapkit.maintain.importer.manifest` writes the manifest, and
:mod:`~snapkit.maintain.importer.run` is the
pass that drives them (:func:`import_archive`).
"""

from __future__ import annotations

from snapkit.maintain.importer.collect import NAME_MAX, POLICY
from snapkit.maintain.importer.manifest import IMPORT_TAG
from snapkit.maintain.importer.run import (
    FOREIGN_ROOT,
    LAYOUTS,
    ImportOptions,
    ImportResult,
    import_archive,
)
from snapkit.maintain.importer.stream import probe_archive

__all__ = [
    "FOREIGN_ROOT",
    "IMPORT_TAG",
    "LAYOUTS",
    "NAME_MAX",
    "POLICY",
    "ImportOptions",
    "ImportResult",
    "import_archive",
    "probe_archive",
]
