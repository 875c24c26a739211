"""Garbage collection: plan which packs to keep, repack and delete, then execute the plan.

Like restic's ``PlanPrune`` → ``plan.Execute``: :func:`plan_prune` reads the index files and
walks every snapshot's trees to find the used blobs, and decides without changing anything
(``prune --dry-run`` prints the plan); :func:`execute_prune` carries it out. The caller holds
the repository's exclusive lock for both (``snap`` holds a shared one, so no snapshot is being
written meanwhile).

A used blob listed in several packs (two concurrent ``snap`` runs, or an interrupted prune) is
kept in one of them, the pack with the fewest unused bytes; the other copies count as unused.
A pack with no used blob is deleted; a pack whose unused bytes reach
:data:`REPACK_UNUSED_FRACTION` of its size (or any, with ``repack_all_unused``) is repacked:
its used blobs are copied, stored bytes as they are (never recompressed, each one checked
against its id first), into new packs.

Execution order, so that a crash at any point leaves every remaining snapshot restorable:

1. write the new packs (repacked blobs) — unreferenced until step 2;
2. write ONE new index file listing every blob that remains: every blob of the kept packs and
   of the new packs;
3. remove the old index files — the new one already lists everything still needed;
4. remove the deleted and repacked packs, and old packs no index lists;
5. remove old temp files of interrupted writes.

Killed before 2, the old index still describes the old packs, which are all still there (the
new packs are unindexed leftovers). Killed between 2 and 4, blobs are listed twice (old and
new index) or packs are on disk without an index entry: both harmless, and the next prune
reclaims them and merges the index files again — repacking is deterministic, so it rewrites
the same new packs and the same index file.

Packs no index lists, and ``.tmp-*`` files, are orphans of an interrupted or failed write
(a kill, a full disk) — unless a writer still at work is about to index them. Every writer
holds a lock while it writes (and a live holder's lock is never judged stale), so when no
other process holds a lock on the repository — always the case under prune's exclusive lock
— they are removed whatever their age: a full disk is not made worse by a pack nobody can
use. Where other locks exist (``prune --dry-run`` beside a running ``snap``), they are kept
until older than :data:`UNINDEXED_GRACE_S` (a pack's age comes from ``Backend.modified``: a
file's mtime, an S3 object's ``LastModified``; only a local repository has temp files).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError
from snapkit.format.model import (
    BlobEntry,
    Damage,
)
from snapkit.maintain.prune_scan import read_index, used_blobs
from snapkit.maintain.strays import StrayFile as StrayFile
from snapkit.maintain.strays import find_strays
from snapkit.store.cipher import Cipher
from snapkit.store.index import Index, write_index
from snapkit.store.lock import other_holders
from snapkit.store.pack import PackBuilder
from snapkit.store.repository import Repository

#: While another process holds a lock, packs no index lists and temp files younger than this
#: are kept (they may be that process's).
UNINDEXED_GRACE_S = 3600.0
#: A pack is repacked once this fraction of its bytes is unused.
REPACK_UNUSED_FRACTION = 0.2

Step = Callable[[str], None]


@dataclass(frozen=True)
class PackInfo:
    """One indexed pack: every blob the index lists in it, and the used ones it keeps."""

    id: str
    size: int  # bytes on disk
    entries: tuple[BlobEntry, ...]  # by offset
    used: tuple[BlobEntry, ...]  # used blobs whose kept copy is this one, by offset

    @property
    def used_bytes(self) -> int:
        return sum(e.length for e in self.used)

    @property
    def unused_bytes(self) -> int:
        return sum(e.length for e in self.entries) - self.used_bytes


@dataclass(frozen=True)
class PrunePlan:
    """What :func:`execute_prune` will do; nothing has been changed yet."""

    snapshots: int  # snapshots whose blobs are kept
    used_blobs: frozenset[str]  # tree and data blobs those snapshots reference
    index_files: tuple[str, ...]  # the index files read (replaced when the index is rewritten)
    keep: tuple[PackInfo, ...]
    repack: tuple[PackInfo, ...]
    delete: tuple[PackInfo, ...]  # no used blob
    missing: tuple[str, ...]  # indexed packs that are gone (no used blob needs them)
    relisted: int  # entries listed again by a second index file (an interrupted prune)
    unindexed: tuple[StrayFile, ...]  # packs no index lists, old enough to delete
    unindexed_recent: tuple[StrayFile, ...]  # ... too recent: kept
    temp_files: tuple[StrayFile, ...]  # old temp files of interrupted writes
    grace_s: float
    #: damage records of the kept packs: carried into a rewritten index
    damaged: tuple[Damage, ...] = ()

    @property
    def rewrite_index(self) -> bool:
        return bool(self.delete or self.repack or self.missing or self.relisted)

    @property
    def nothing_to_do(self) -> bool:
        return not (self.rewrite_index or self.unindexed or self.temp_files)

    @property
    def bytes_to_free(self) -> int:
        """About how many bytes execution frees (new packs' trailers not counted)."""
        return (sum(p.size for p in self.delete)
                + sum(p.size - p.used_bytes for p in self.repack)
                + sum(f.size for f in self.unindexed) + sum(f.size for f in self.temp_files))

    @property
    def pack_bytes(self) -> int:
        """Bytes of every pack file on disk now."""
        packs = (*self.keep, *self.repack, *self.delete)
        return (sum(p.size for p in packs) + sum(f.size for f in self.unindexed)
                + sum(f.size for f in self.unindexed_recent))


@dataclass(frozen=True)
class PruneResult:
    """What :func:`execute_prune` did."""

    packs_written: int = 0
    packs_removed: int = 0
    index_files_written: int = 0
    index_files_removed: int = 0
    temp_files_removed: int = 0
    bytes_written: int = 0
    bytes_removed: int = 0

    @property
    def bytes_freed(self) -> int:
        return self.bytes_removed - self.bytes_written


# --------------------------------------------------------------------------- plan


def plan_prune(
    repo: Repository,
    *,
    repack_all_unused: bool = False,
    ignore_snapshots: Collection[str] = (),
    grace_s: float = UNINDEXED_GRACE_S,
    on_step: Step | None = None,
) -> PrunePlan:
    """Decide what to delete and repack. Changes nothing in the repository.

    ``ignore_snapshots`` are treated as already removed (``forget --dry-run --prune``).
    Raises IntegrityError, deleting nothing, when a snapshot references a blob no index lists.
    """
    step = on_step or (lambda _msg: None)
    backend = repo.backend
    step("index")
    index_files = tuple(sorted(backend.list("index")))
    index, listed, relisted = read_index(backend, index_files, repo.cipher)
    # Read under the caller's lock: a snapshot committed since the repository was opened must
    # have its blobs in the index we walk and keep. The walk reads through a view with this
    # index; the caller's repository is left as it was (execution reloads its index).
    view = copy.copy(repo)
    view.index = index

    snapshot_ids = [sid for sid in view.snapshot_ids() if sid not in ignore_snapshots]
    used = used_blobs(view, snapshot_ids, step)

    step("packs")
    on_disk = set(backend.list("packs"))
    missing = sorted(set(listed) - on_disk)
    present = sorted(set(listed) & on_disk)
    sizes = {p: backend.size("packs", p) for p in present}
    claimed = _claim(listed, present, sizes, used)
    _require_placed(used, claimed, listed, missing)
    keep, repack, delete = _classify_packs(listed, present, sizes, claimed, repack_all_unused)

    # No other lock: no writer is at work that could still index a stray pack.
    grace = grace_s if other_holders(backend, repo.cipher) else 0.0
    unindexed, recent, temps = find_strays(backend, sorted(on_disk - set(listed)), grace)
    return PrunePlan(
        snapshots=len(snapshot_ids),
        used_blobs=frozenset(used),
        index_files=index_files,
        keep=tuple(keep),
        repack=tuple(repack),
        delete=tuple(delete),
        missing=tuple(missing),
        relisted=relisted,
        unindexed=tuple(unindexed),
        unindexed_recent=tuple(recent),
        temp_files=tuple(temps),
        grace_s=grace,
        damaged=tuple(Damage(b, p, r) for (b, p), r in sorted(index.damaged.items())
                      if p in {k.id for k in keep}),
    )


def _require_placed(used: set[str], claimed: dict[str, list[BlobEntry]],
                    listed: dict[str, dict[str, BlobEntry]], missing: list[str]) -> None:
    """Raise IntegrityError when a used blob has no copy in a pack that is on disk."""
    unplaced = used - {e.id for entries in claimed.values() for e in entries}
    if unplaced:
        lost = {e.pack for p in missing for e in listed[p].values() if e.id in unplaced}
        raise IntegrityError(
            f"{len(unplaced)} used blob(s) are only in missing pack(s) "
            f"{', '.join(sorted(lost)[:3])}; prune stopped before changing anything "
            "(run `snapkit check`)"
        )


def _classify_packs(
    listed: dict[str, dict[str, BlobEntry]], present: list[str], sizes: dict[str, int],
    claimed: dict[str, list[BlobEntry]], repack_all_unused: bool,
) -> tuple[list[PackInfo], list[PackInfo], list[PackInfo]]:
    """Each present pack as kept, repacked or deleted (in that order of the result)."""
    keep: list[PackInfo] = []
    repack: list[PackInfo] = []
    delete: list[PackInfo] = []
    for pack in present:
        info = PackInfo(pack, sizes[pack], _by_offset(listed[pack].values()),
                        _by_offset(claimed.get(pack, ())))
        if not info.used:
            delete.append(info)
        elif info.unused_bytes and (
            repack_all_unused or info.unused_bytes >= REPACK_UNUSED_FRACTION * info.size
        ):
            repack.append(info)
        else:
            keep.append(info)
    return keep, repack, delete


def _claim(listed: dict[str, dict[str, BlobEntry]], packs: list[str], sizes: dict[str, int],
           used: set[str]) -> dict[str, list[BlobEntry]]:
    """Choose one copy of each used blob: packs with the fewest unused bytes claim first."""
    def unused_fraction(pack: str) -> tuple[float, str]:
        unused = sum(e.length for e in listed[pack].values() if e.id not in used)
        return (unused / max(sizes[pack], 1), pack)

    claimed: dict[str, list[BlobEntry]] = {}
    placed: set[str] = set()
    for pack in sorted(packs, key=unused_fraction):
        for e in listed[pack].values():
            if e.id in used and e.id not in placed:
                placed.add(e.id)
                claimed.setdefault(pack, []).append(e)
    return claimed


def _by_offset(entries: Iterable[BlobEntry]) -> tuple[BlobEntry, ...]:
    return tuple(sorted(entries, key=lambda e: (e.offset, e.id)))


# --------------------------------------------------------------------------- execute


def execute_prune(repo: Repository, plan: PrunePlan, on_step: Step | None = None) -> PruneResult:
    """Carry out ``plan`` in the crash-safe order (see the module docstring)."""
    step = on_step or (lambda _msg: None)
    backend = repo.backend
    written, new_entries, bytes_written = _repack(repo, plan.repack, step)

    index_written = 0
    new_index: str | None = None
    old_index: list[str] = []
    if plan.rewrite_index:
        entries = [e for p in plan.keep for e in p.entries] + new_entries
        step("write-index")
        if entries:
            new_index = write_index(backend, entries, plan.damaged, repo.cipher)
            index_written = 1
        old_index = [name for name in plan.index_files if name != new_index]
        for n, name in enumerate(old_index, 1):
            step(f"remove-index {n}/{len(old_index)}")
            backend.remove("index", name)

    # A new pack may have the name of an unindexed leftover of an interrupted prune (repacking
    # is deterministic): never remove what was just written.
    doomed = [(p.id, p.size) for p in (*plan.delete, *plan.repack)]
    doomed += [(f.name, f.size) for f in plan.unindexed]
    doomed = [(name, size) for name, size in doomed if name not in written]
    bytes_removed = 0
    for n, (name, size) in enumerate(doomed, 1):
        step(f"remove-pack {n}/{len(doomed)}")
        backend.remove("packs", name)
        bytes_removed += size

    temps = 0
    for n, tmp in enumerate(plan.temp_files, 1):
        step(f"remove-temp {n}/{len(plan.temp_files)}")
        if backend.remove_temp(tmp.name):
            temps += 1
            bytes_removed += tmp.size

    repo.index = Index.load(backend, repo.cipher)
    return PruneResult(
        packs_written=len(written),
        packs_removed=len(doomed),
        index_files_written=index_written,
        index_files_removed=len(old_index),
        temp_files_removed=temps,
        bytes_written=bytes_written,
        bytes_removed=bytes_removed,
    )


def _repack(repo: Repository, packs: tuple[PackInfo, ...],
            step: Step) -> tuple[set[str], list[BlobEntry], int]:
    """Copy the used blobs of ``packs`` into new packs; return (names, entries, bytes)."""
    backend = repo.backend
    written: set[str] = set()
    entries: list[BlobEntry] = []
    size = [0]
    builder = PackBuilder(repo.cipher)

    def flush() -> None:
        nonlocal builder
        if builder.count == 0:
            return
        pack_id, data, new = builder.finish()
        backend.save("packs", pack_id, data)
        written.add(pack_id)
        entries.extend(new)
        size[0] += len(data)
        builder = PackBuilder(repo.cipher)

    for n, pack in enumerate(packs, 1):
        step(f"repack {n}/{len(packs)}")
        data = backend.load("packs", pack.id)
        for e in pack.used:
            stored = data[e.offset: e.offset + e.length]
            if len(stored) != e.length or not _reads_back(repo.cipher, e, stored):
                raise IntegrityError(
                    f"blob {e.id} in pack {pack.id} is damaged; prune stopped before deleting "
                    "anything: run `snapkit repair packs`"
                )
            builder.add(e.kind, e.id, stored, e.raw_length)
            if builder.size >= repo.config.pack_size:
                flush()
    flush()
    return written, entries, size[0]


def _reads_back(cipher: Cipher, e: BlobEntry, stored: bytes) -> bool:
    """Whether a stored blob opens, decodes and hashes to its id."""
    try:
        return cipher.content_id(cipher.open_blob(stored, e.raw_length, e.id)) == e.id
    except IntegrityError:
        return False
