"""Copying snapshots into another repository (``snapkit copy``), sending only what it lacks.

**Equal ids** (both repositories plain, or both encrypted under one master key: see
:func:`rekeys`): blobs keep their ids, so the destination's index decides what is missing
(:class:`~snapkit.maintain.copy_send.Copier`). Per snapshot, oldest first: its trees are walked
(a tree walked whole for an earlier snapshot of this run is not walked again), each tree blob
the destination lacks is saved as it is read, byte for byte, and the data blobs it lacks are
listed; then those are read from the source in pack order, each checked against its id, and
saved. The manifest is copied byte for byte, so the snapshot keeps its id, which is how a
later run knows it is there.

**Different ids** (one side encrypted, or both under different keys): every blob is given the
destination's id (:class:`~snapkit.maintain.copy_rekey.ReKeyer`): data read plain and hashed
by the destination's cipher, trees re-keyed bottom-up, the manifest written with the new root
tree and ``original`` (the source snapshot's id, or the one it records), sealed for the
destination. A later run knows the snapshot by that ``original`` (:func:`present`). Chunks are
not cut again: the chunker is the same in every repository (FastCDC with the default
parameters and seed 0, not keyed), so they are the chunks the destination would cut itself.

Everything goes through the destination's own :class:`~snapkit.store.saver.BlobSaver` (its
packs, compression level and index files). A blob that cannot be read (damaged, its pack
gone, not in the index) costs the snapshot: it is reported with the reason, its manifest not
written, and a later snapshot reaching the same blob skipped the same way. What can be found
without reading the data is found before any is sent (a blob no index lists, a copy recorded
damaged, a pack missing: one listing of the packs per run); damaged bytes inside a pack show
only when read: the snapshot's data stops there, and what it sent that no copied snapshot uses
is counted (:attr:`Sent.unused_blobs`) for the summary's ``prune`` hint. Verifying every blob
first would read all data twice for a rare case whose cost is bounded and reclaimable.

Manifests are written after :meth:`BlobSaver.flush` made the packs and index files they need
durable: a snapshot's as soon as its data is complete when a pack's worth of new stored data
(the destination's pack size) arrived since the last commit or
:data:`~snapkit.maintain.copy_send.COMMIT_SECONDS` passed, and every one pending at the end.
Stopped at a safe point (``stopping``: the caller's deferred Ctrl-C or SIGTERM), a run
commits the snapshots whose data is complete, and flushes what the next one sent, before it
raises :class:`CopyStopped`. A run killed at any moment leaves the destination valid (at
worst packs no snapshot uses yet, which ``prune`` reclaims, and index files listing them,
which a second run finds and does not send again): a second run sends again at most the
data stored since the last commit that no index file lists yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from snapkit.format.errors import SnapkitError
from snapkit.maintain.copy_records import CopyProgress as CopyProgress
from snapkit.maintain.copy_records import CopyStopped as CopyStopped
from snapkit.maintain.copy_records import Hooks, Pair
from snapkit.maintain.copy_records import Sent as Sent
from snapkit.maintain.copy_records import SnapshotCopied as SnapshotCopied
from snapkit.maintain.copy_records import SnapshotDamaged as SnapshotDamaged
from snapkit.maintain.copy_rekey import ReKeyer
from snapkit.maintain.copy_send import Copier
from snapkit.store.cipher import Sealed
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver


def rekeys(src: Repository, dst: Repository) -> bool:
    """Whether ids differ between ``src`` and ``dst``: not both plain, nor both encrypted
    under one master key (a repository's files copied elsewhere)."""
    a, b = src.cipher, dst.cipher
    if not a.encrypted and not b.encrypted:
        return False
    if isinstance(a, Sealed) and isinstance(b, Sealed):
        return a.key.to_bytes() != b.key.to_bytes()
    return True


def present(listing: Sequence[Pair], dst: Repository) -> dict[str, str]:
    """The snapshots of ``listing`` (the source's) that ``dst`` holds: source id -> id in
    ``dst``. One is there under its own id (copied byte for byte), or as a snapshot whose
    ``original`` (else its id) is the source snapshot's ``original`` (else its id). Only the
    manifests of ``dst`` not named like a source snapshot are read; one that cannot be is
    passed over (the snapshot is copied again)."""
    there = set(dst.snapshot_ids())
    mine = dict(listing)
    by_original: dict[str, str] = {}
    for did in sorted(there):
        if did in mine:
            by_original.setdefault(mine[did].original or did, did)
            continue
        try:
            snap = dst.load_snapshot(did)
        except SnapkitError:
            continue
        by_original.setdefault(snap.original or did, did)
    found = {}
    for sid, snap in listing:
        if sid in there:
            found[sid] = sid
        elif (snap.original or sid) in by_original:
            found[sid] = by_original[snap.original or sid]
    return found


def copy_snapshots(src: Repository, dst: Repository, chosen: Iterable[Pair], *,
                   dry_run: bool,
                   on_done: Callable[[SnapshotCopied | SnapshotDamaged], None],
                   on_progress: Callable[[CopyProgress], None],
                   progress_due: Callable[[], bool],
                   known: Mapping[str, str] | None = None,
                   listing: Sequence[Pair] = (),
                   stopping: Callable[[], bool] | None = None) -> Sent:
    """Copy ``chosen`` from ``src`` into ``dst`` (both locked by the caller), reporting each
    snapshot to ``on_done`` as it is committed or found damaged; returns what was sent.
    ``known``: the source's snapshots already in ``dst`` (:func:`present`), whose ids a
    re-keyed manifest's ``parent`` takes and a re-keying run pairs with their copies' among
    ``listing`` (the source's snapshots, oldest first). On an error (the destination cannot
    be written) the blobs not yet listed by an index file are removed again and the error
    raised; the snapshots committed before it stay. ``stopping``: asked at safe points; True
    stops the run there (:class:`CopyStopped`, after the complete snapshots are committed)."""
    hooks = Hooks(on_done, on_progress, progress_due)
    if stopping is not None:
        hooks.stopping = stopping
    chosen = list(chosen)

    def copier(saver: BlobSaver | None) -> Copier:
        if rekeys(src, dst):
            return ReKeyer(src, dst, saver, hooks, known, listing)
        return Copier(src, dst, saver, hooks, known)

    if dry_run:
        return copier(None).run(chosen)
    with dst.saver() as saver:
        return copier(saver).run(chosen)
