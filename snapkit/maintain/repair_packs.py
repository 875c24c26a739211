"""``repair packs``: salvage the readable blobs of damaged packs and forget the lost ones.

Plan, then execute, as prune does. :func:`plan_pack_repair` reads every indexed pack whole: one
whose bytes hash to its id is intact (no per-blob pass); any other has each blob the index or
its trailer lists verified against its id. Copies already recorded damaged
(``Index.damaged``) are verified too; a record whose copy reads back fine is obsolete.
Indexed packs that are gone are missing: their entries are dropped.

:func:`execute_pack_repair`, in a crash-safe order:

1. copy every readable blob of the damaged packs into new packs, through the saver (a blob
   with an intact copy elsewhere is not copied again); the saver indexes them;
2. write ONE new index file: every entry except those of the damaged and missing packs, the
   new packs', and the damage records that still apply;
3. remove the old index files;
4. remove the damaged packs.

Killed before 2, the old index still lists the damaged packs (the new packs are listed twice or
not at all: harmless); killed before 4, a damaged pack is on disk but unindexed: prune removes
it. Afterwards the lost blobs are in no index, so the next ``snap`` of the live files stores
them again (the files cache reuses a file only when every chunk is ``in`` the index), and
``repair snapshots`` rewrites the snapshots that referenced them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError
from snapkit.format.model import BlobEntry, Damage, content_id
from snapkit.maintain.repair_index import read_pack_entries, verified
from snapkit.store.backend import NotFound
from snapkit.store.index import Index, write_index
from snapkit.store.repository import Repository

Step = Callable[[str], None]


@dataclass(frozen=True)
class DamagedPack:
    """A pack whose bytes do not hash to its id, or that holds a copy recorded damaged."""

    pack: str
    reason: str
    readable: tuple[BlobEntry, ...]  # copied into new packs
    lost: tuple[BlobEntry, ...]  # cannot be read back


@dataclass(frozen=True)
class PackRepairPlan:
    """What :func:`execute_pack_repair` will do; nothing has been changed yet."""

    packs_read: int
    bytes_read: int
    damaged: tuple[DamagedPack, ...]
    missing: tuple[str, ...]  # indexed packs that are gone
    missing_entries: tuple[BlobEntry, ...]
    stale_records: tuple[Damage, ...]  # damage records whose copy reads back fine
    index_files: tuple[str, ...]
    #: blobs no readable copy of which will be left: no index lists them afterwards
    lost_blobs: tuple[str, ...]

    @property
    def nothing_to_do(self) -> bool:
        return not (self.damaged or self.missing or self.stale_records)


@dataclass(frozen=True)
class PackRepairDone:
    """What :func:`execute_pack_repair` did."""

    blobs_copied: int
    packs_written: int
    packs_removed: int
    index_files_removed: int


def plan_pack_repair(repo: Repository, on_step: Step | None = None) -> PackRepairPlan:
    """Find the damaged and missing packs. Raises IntegrityError while an index file is
    damaged: a blob only it lists would be lost with its pack (`repair index` first)."""
    step = on_step or (lambda _msg: None)
    index, backend = repo.index, repo.backend
    if index.broken:
        raise IntegrityError(f"index file {sorted(index.broken)[0]} is damaged; run `snapkit "
                             "repair index` first (a blob only it lists would be lost)")
    by_pack: dict[str, dict[str, BlobEntry]] = {}
    for e in index.copies():
        by_pack.setdefault(e.pack, {}).setdefault(e.id, e)
    recorded = {pack for _, pack in index.damaged}
    on_disk = set(backend.list("packs"))
    damaged: list[DamagedPack] = []
    stale: list[Damage] = []
    size = 0
    present = sorted(set(by_pack) & on_disk)
    for n, pack in enumerate(present, 1):
        step(f"pack {n}/{len(present)}")
        try:
            data = backend.load("packs", pack)
        except NotFound:
            on_disk.discard(pack)
            continue
        size += len(data)
        intact = content_id(data) == pack
        if intact and pack not in recorded:
            continue
        entries = dict(by_pack[pack])
        if not intact:
            entries.update({e.id: e for e in _trailer(repo, pack) if e.id not in entries})
        good = [e for e in entries.values() if verified(e, data, repo.cipher)]
        ok = {e.id for e in good}
        # a trailer-only entry that does not read back is no loss: no index lists it
        bad = [e for e in entries.values() if e.id not in ok and e.id in by_pack[pack]]
        if intact:
            stale += [Damage(b, p, r) for (b, p), r in index.damaged.items()
                      if p == pack and b in ok]
            if not bad:
                continue
        reason = "does not match its id" if not intact else "holds blobs recorded damaged"
        damaged.append(DamagedPack(pack, reason, _ordered(good), _ordered(bad)))
    missing = sorted(set(by_pack) - on_disk)
    missing_entries = tuple(e for p in missing for e in by_pack[p].values())
    gone = {p.pack for p in damaged} | set(missing)
    survivors = {e.id for e in index.copies()
                 if e.pack not in gone and (e.id, e.pack) not in index.damaged}
    salvaged = {e.id for p in damaged for e in p.readable}
    candidates = {e.id for p in damaged for e in p.lost} | {e.id for e in missing_entries}
    return PackRepairPlan(
        packs_read=len(present), bytes_read=size, damaged=tuple(damaged),
        missing=tuple(missing), missing_entries=missing_entries, stale_records=tuple(stale),
        index_files=tuple(sorted(backend.list("index"))),
        lost_blobs=tuple(sorted(candidates - survivors - salvaged)),
    )


def _trailer(repo: Repository, pack: str) -> list[BlobEntry]:
    try:
        return read_pack_entries(repo.backend, pack, repo.cipher)
    except IntegrityError:
        return []


def _ordered(entries: list[BlobEntry]) -> tuple[BlobEntry, ...]:
    return tuple(sorted(entries, key=lambda e: (e.offset, e.id)))


def execute_pack_repair(repo: Repository, plan: PackRepairPlan,
                        on_step: Step | None = None) -> PackRepairDone:
    """Carry out ``plan`` in the crash-safe order (see the module docstring)."""
    step = on_step or (lambda _msg: None)
    backend = repo.backend
    old = repo.index
    gone = {p.pack for p in plan.damaged} | set(plan.missing)
    stale = {(d.blob, d.pack) for d in plan.stale_records}
    fresh = Index()
    fresh.add(e for e in old.copies() if e.pack not in gone)
    fresh.add_damage(Damage(b, p, r) for (b, p), r in old.damaged.items()
                     if p not in gone and (b, p) not in stale)
    repo.index = fresh
    kept_packs = fresh.packs()
    copied = 0
    with repo.saver() as saver:
        for n, pack in enumerate(plan.damaged, 1):
            step(f"salvage {n}/{len(plan.damaged)}")
            data = backend.load("packs", pack.pack)
            for e in pack.readable:
                try:
                    plain = repo.cipher.open_blob(data[e.offset: e.offset + e.length],
                                                  e.raw_length, e.id)
                except IntegrityError:  # changed since the plan: leave it lost
                    continue
                if repo.cipher.content_id(plain) != e.id:
                    continue
                if not saver.known(e.id):
                    copied += 1
                saver.save(e.kind, plain, e.id)
    step("write-index")
    # a salvaged pack may come out byte-identical to the original: same name, now intact
    written = fresh.packs() - kept_packs
    records = [Damage(b, p, r) for (b, p), r in fresh.damaged.items()]
    entries = sorted(fresh.copies(), key=lambda e: (e.pack, e.offset, e.id))
    name = write_index(backend, entries, records, repo.cipher) if entries else None
    doomed = (set(plan.index_files) | fresh.files) - {name}
    for old_name in sorted(doomed):
        _remove(repo, "index", old_name)
    removed = 0
    for pack in plan.damaged:
        if pack.pack not in written:
            _remove(repo, "packs", pack.pack)
            removed += 1
    repo.index = Index.load(backend, repo.cipher)
    return PackRepairDone(copied, len(written), removed, len(doomed))


def _remove(repo: Repository, kind: str, name: str) -> None:
    with contextlib.suppress(NotFound):
        repo.backend.remove(kind, name)
