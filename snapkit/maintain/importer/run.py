"""The import itself: one sequential pass over the archive, then layout, assembly and the
manifest (the commit point).
"""

from __future__ import annotations

import tarfile
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from snapkit.capture.chunker import Chunker
from snapkit.format import archive_meta
from snapkit.format.model import Skipped, Snapshot, Summary
from snapkit.format.paths import join_path
from snapkit.maintain.importer.assemble import Assembler, archive_sources
from snapkit.maintain.importer.collect import Collector, lookup, show
from snapkit.maintain.importer.layout import Layout, choose_layout
from snapkit.maintain.importer.manifest import already_present, manifest
from snapkit.maintain.importer.stream import (
    Damaged,
    Guarded,
    archive_stem,
    open_stream,
    open_tar,
    read_members,
)
from snapkit.read.archive_verify import read_metadata
from snapkit.read.treewalk import Parts
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver

LAYOUTS = ("snapkit", "openclaw", "tar")
FOREIGN_ROOT = "imported"  # foreign tars go under /imported/<archive stem>


@dataclass(frozen=True)
class ImportOptions:
    tags: tuple[str, ...] = ()
    hostname: str | None = None  # None: the archive's (snapkit exports), else this machine's
    workers: int = 2
    zstd_level: int | None = None  # None: the repository's level


@dataclass(frozen=True)
class ImportResult:
    snapshot_id: str
    snapshot: Snapshot
    layout: str  # "snapkit" | "openclaw" | "tar"
    compression: str  # "gzip" | "zstd" | "bzip2" | "xz" | "none"
    origin_snapshot: str | None  # the exported snapshot's id (snapkit layout)
    files: int
    dirs: int
    symlinks: int
    bytes: int
    complete: bool  # False: the archive ended early or was damaged; the rest was saved
    #: the archive holds a snapshot of this repository (or a subset of one): nothing was
    #: added, and ``snapshot_id`` names the snapshot already there
    already_present: bool = False


def import_archive(repo: Repository, path: str, opts: ImportOptions) -> ImportResult:
    """Read ``path`` into ``repo`` as a new snapshot; the manifest is the commit point."""
    started = time.time_ns()
    stream, compression = open_stream(path)
    fallback: Parts = (FOREIGN_ROOT, archive_stem(path))
    with stream:
        tar = open_tar(stream, path)
        meta = read_metadata(tar, path)
        present = already_present(repo, meta)
        if present is not None:
            sid, snap = present
            return ImportResult(snapshot_id=sid, snapshot=snap, layout=(
                meta.layout if meta else "snapkit"), compression=compression,
                origin_snapshot=str(meta.snapshot if meta else None), files=0, dirs=0,
                symlinks=0, bytes=0, complete=True, already_present=True)
        checksums: dict[str, str] = dict(meta.files) if meta is not None else {}
        with repo.saver(opts.workers, opts.zstd_level) as saver:
            col = Collector(saver, Chunker(repo.config.chunker), checksums)
            _read_archive(tar, stream, col)
            _note_omitted(tar, col)
            layout, doc = choose_layout(col, meta, fallback)
            _store_plain_manifests(col, layout, saver)
            asm = _assemble(col, layout, fallback, saver)
            root_id, counts = asm.save()
            saver.flush()
            sources = archive_sources(layout, asm, fallback)
            summary = _summary(col, saver, counts, started)
    skipped = tuple(
        Skipped(join_path(asm.map(p) or fallback + p) if p is not None else f"(archive) {name}",
                reason, detail)
        for p, name, reason, detail in col.st.skipped
    )
    snap = manifest(layout, meta, doc, opts.tags, opts.hostname, sources, root_id, summary, skipped,
                     col.st.warnings, started, path, col.st.complete)
    snap_id = repo.save_snapshot(snap)
    return ImportResult(
        snapshot_id=snap_id,
        snapshot=snap,
        layout=layout.name,
        compression=compression,
        origin_snapshot=meta.snapshot if meta else None,
        files=counts["files"],
        dirs=counts["dirs"],
        symlinks=counts["symlinks"],
        bytes=counts["bytes"],
        complete=col.st.complete,
    )


def _note_omitted(tar: tarfile.TarFile, col: Collector) -> None:
    """An export from a damaged repository names what it left out in its last global header
    (``archive_meta.decode_omitted``): listed as skipped, and the snapshot is incomplete."""
    omitted = archive_meta.decode_omitted(tar.pax_headers.get(archive_meta.PAX_RECORD))
    for o in omitted:
        col.st.skipped.append((None, o.name, "omitted", o.reason))
    if omitted:
        col.st.complete = False
        col.warn(f"{len(omitted)} entries were left out of this archive when it was exported "
                 "(the repository was damaged); they are listed as skipped")


def _read_archive(tar: tarfile.TarFile, stream: IO[bytes], col: Collector) -> None:
    """Collect every member; damage ends the pass with a warning, keeping what came before."""
    current = ""
    try:
        with tar:
            for m in read_members(tar):
                current = m.name
                col.member(tar, m)
                current = ""
        # Read to the end so the compression's own check (gzip CRC, zstd checksum)
        # covers everything imported; extractors stop at the tar end blocks.
        drain = Guarded(stream)
        while drain.read(1024 * 1024):
            pass
    except Damaged as exc:
        col.st.complete = False
        where = f" in {show(current)}" if current else ""
        col.warn(f"archive damaged or truncated{where} ({exc}); the entries before "
                 "it were imported")
        if current:
            col.st.skipped.append((None, current, "truncated", str(exc)))


def _store_plain_manifests(col: Collector, layout: Layout, saver: BlobSaver) -> None:
    """Candidate manifests that stay ordinary files are stored now."""
    for parts, (node, kept) in col.st.manifests.items():
        if parts in layout.drop or lookup(col.root, parts) is not node:
            continue
        for blob_id, chunk in zip(node.content, kept, strict=True):
            saver.save_data(chunk, blob_id)


def _assemble(col: Collector, layout: Layout, fallback: Parts, saver: BlobSaver) -> Assembler:
    """Place the collected tree at absolute paths, warning about entries put under fallback."""
    asm = Assembler(saver, layout, fallback, col.st.warnings)
    asm.run(col.root)
    if asm.relative:
        col.warn(f"{asm.relative} entries below payload/relative have no recorded base "
                 "directory (OpenClaw takes such a path relative to the working "
                 "directory of `openclaw backup create`, which no archive records); "
                 f"placed under {join_path(fallback)}")
    if layout.name == "openclaw" and asm.unmapped:
        col.warn(f"{asm.unmapped} entries outside payload/ were placed under "
                 f"{join_path(fallback)}")
    return asm


def _summary(col: Collector, saver: BlobSaver, counts: dict[str, int], started: int) -> Summary:
    return Summary(
        files_new=counts["files"],
        dirs=counts["dirs"],
        symlinks=counts["symlinks"],
        total_files=counts["files"],
        total_bytes=counts["bytes"],
        bytes_read=col.st.bytes_read,
        blobs_added=saver.blobs_added,
        bytes_added_raw=saver.bytes_added_raw,
        bytes_added_stored=saver.bytes_added_stored,
        duration_s=round((time.time_ns() - started) / 1e9, 3),
    )
