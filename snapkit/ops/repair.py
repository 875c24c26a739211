"""``repair index``, ``repair packs`` and ``repair snapshots``: bring a damaged repository back
to one that checks clean, losing no more than the damage took.

Each holds the exclusive lock (a shared one for a dry run), plans first, and with ``dry_run``
changes nothing. The work is in :mod:`snapkit.maintain.repair_index`,
:mod:`~snapkit.maintain.repair_packs` and :mod:`~snapkit.maintain.repair_snapshots`; the results
here are frozen, the CLI renders them. The usual order after damage: ``repair index`` (when
an index file is damaged or gone), ``repair packs`` (when a pack is damaged or gone), then
``repair snapshots --forget``; then the next ``snap`` stores the lost chunks again from the
live files.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from snapkit.format.model import Snapshot, Tree, content_id, encode_snapshot, encode_tree
from snapkit.maintain.repair_config import ConfigCheck, check_config, write_config
from snapkit.maintain.repair_index import (
    IndexRebuild,
    IndexWritten,
    plan_index_rebuild,
    write_rebuilt_index,
)
from snapkit.maintain.repair_packs import (
    PackRepairDone,
    PackRepairPlan,
    execute_pack_repair,
    plan_pack_repair,
)
from snapkit.maintain.repair_snapshots import (
    Available,
    LostPath,
    repaired_from,
    repaired_manifest,
    rewrite_tree,
    uses_any,
)
from snapkit.maintain.selection import resolve
from snapkit.ops.events import OnEvent, RepositoryDamaged, ignore
from snapkit.ops.repo import Location, ask_passphrase, open_repository
from snapkit.store.repository import Repository


@dataclass(frozen=True)
class ConfigRepair:
    check: ConfigCheck
    new_id: str | None  # the new config's repository id; None: not written
    dry_run: bool

    @property
    def ok(self) -> bool:
        return self.check.nothing_to_do or self.check.safe


@dataclass(frozen=True)
class IndexRepair:
    plan: IndexRebuild
    done: IndexWritten | None  # None: dry run, or nothing to do
    dry_run: bool

    @property
    def ok(self) -> bool:
        """Every pack could be read (a damaged trailer is salvaged; ``repair packs`` then
        rewrites that pack)."""
        return not self.plan.unreadable


@dataclass(frozen=True)
class PackRepair:
    plan: PackRepairPlan
    done: PackRepairDone | None
    #: snapshots that reference a lost blob (``repair snapshots`` is next)
    affected_snapshots: tuple[str, ...]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return True  # every damaged pack is replaced; what was lost is listed


@dataclass(frozen=True)
class SnapshotFix:
    """One snapshot that references lost data, and what became of it."""

    snapshot: str
    lost: tuple[LostPath, ...]
    new_id: str | None  # the repaired copy; None: its root tree is lost (cannot repair)
    existing: bool  # the repaired copy was written by an earlier run
    forgotten: bool  # the original was removed (``forget``)


@dataclass(frozen=True)
class SnapshotRepair:
    checked: int
    fixes: tuple[SnapshotFix, ...]
    damaged_manifests: tuple[tuple[str, str], ...]  # (id, reason): cannot be decoded
    manifests_removed: tuple[str, ...]
    dry_run: bool
    forget: bool

    @property
    def nothing_to_do(self) -> bool:
        return (not self.damaged_manifests and all(f.existing for f in self.fixes)
                and not (self.forget and self.fixes))

    @property
    def ok(self) -> bool:
        """Every snapshot that referenced lost data has a repaired copy (or is gone), and no
        damaged manifest is left."""
        if not self.forget:
            return not self.damaged_manifests and all(f.new_id for f in self.fixes)
        return True


def _lock(repo: Repository, dry_run: bool) -> AbstractContextManager[None]:
    return repo.lock(exclusive=not dry_run, operation="repair")


def repair_config(location: Location, *, dry_run: bool = False,
                  on_event: OnEvent = ignore) -> ConfigRepair:
    """Write a damaged, missing or altered config again (see
    :mod:`snapkit.maintain.repair_config`): an encrypted repository's is opened through its key
    files even when its config fails its MAC or says it is plain."""
    repo = Repository.open_to_repair(location, ask_passphrase)
    repo.set_on_warning(lambda message: on_event(RepositoryDamaged(message)))
    repo = _uncached(repo)
    with _lock(repo, dry_run):
        check = check_config(repo)
        new_id = None
        if not dry_run and not check.nothing_to_do and check.safe:
            new_id = write_config(repo).id
    return ConfigRepair(check, new_id, dry_run)


def repair_index(location: Location, *, dry_run: bool = False,
                 on_event: OnEvent = ignore) -> IndexRepair:
    """Rebuild the index from the packs (see :mod:`snapkit.maintain.repair_index`)."""
    repo = _uncached(open_repository(location, on_event=on_event))
    with _lock(repo, dry_run):
        plan = plan_index_rebuild(repo)
        done = None
        if not dry_run and not plan.nothing_to_do:
            done = write_rebuilt_index(repo, plan)
    return IndexRepair(plan, done, dry_run)


def repair_packs(location: Location, *, dry_run: bool = False,
                 on_event: OnEvent = ignore) -> PackRepair:
    """Salvage damaged packs and drop lost blobs (see :mod:`snapkit.maintain.repair_packs`)."""
    repo = _uncached(open_repository(location, on_event=on_event))
    with _lock(repo, dry_run):
        plan = plan_pack_repair(repo)
        done = None
        if not dry_run and not plan.nothing_to_do:
            done = execute_pack_repair(repo, plan)
        affected: list[str] = []
        if plan.lost_blobs:
            lost, memo = frozenset(plan.lost_blobs), dict[str, bool]()
            affected = [sid for sid, snap in repo.snapshots()
                        if uses_any(repo, snap.tree, lost, memo)]
    return PackRepair(plan, done, tuple(affected), dry_run)


def repair_snapshots(location: Location, *, selectors: Sequence[str] = (),
                     forget: bool = False, dry_run: bool = False,
                     on_event: OnEvent = ignore) -> SnapshotRepair:
    """Write repaired copies of the snapshots that reference lost data (see
    :mod:`snapkit.maintain.repair_snapshots`); with ``forget``, remove the originals and the
    damaged manifests."""
    repo = _uncached(open_repository(location, on_event=on_event))
    with _lock(repo, dry_run):
        every = repo.snapshots()
        pairs: list[tuple[str, Snapshot]] = list(every)
        if selectors:
            chosen = {resolve(s, every)[0] for s in selectors}
            pairs = [p for p in every if p[0] in chosen]
        done_before = {orig: sid for sid, snap in every
                       if (orig := repaired_from(snap)) is not None}
        damaged = tuple(sorted(repo.damaged_snapshots.items()))
        fixes = _repair_all(repo, pairs, done_before, forget, dry_run)
        removed: list[str] = []
        if forget and not dry_run:
            for sid, _ in damaged:
                repo.remove_snapshot(sid)
                removed.append(sid)
    return SnapshotRepair(len(pairs), tuple(fixes), damaged, tuple(removed), dry_run, forget)


def _repair_all(repo: Repository, pairs: Sequence[tuple[str, Snapshot]],
                done_before: dict[str, str], forget: bool, dry_run: bool) -> list[SnapshotFix]:
    """Rewrite each snapshot of ``pairs`` that references lost data; trees through the saver,
    then (the saver closed, its trees indexed) the manifests, then the originals removed."""
    fixes: list[SnapshotFix] = []
    manifests: list[Snapshot] = []
    available = Available(repo)
    with repo.saver() as saver:
        def save(tree: Tree) -> str:
            return repo.cipher.content_id(encode_tree(tree)) if dry_run else saver.save_tree(tree)

        for sid, snap in pairs:
            new_root, lost = rewrite_tree(repo, snap.tree, save, available)
            if not lost:
                continue
            existing = done_before.get(sid)
            if existing is not None or new_root is None:
                fixes.append(SnapshotFix(sid, lost, existing, existing is not None, forget))
                continue
            manifest = repaired_manifest(sid, snap, new_root, lost)
            manifests.append(manifest)
            # (the id a plain repository will give it; a sealed manifest's id is known once
            # it is written, below)
            fixes.append(SnapshotFix(sid, lost, content_id(encode_snapshot(manifest)), False,
                                     forget))
    if not dry_run:
        saved = iter([repo.save_snapshot(manifest) for manifest in manifests])
        fixes = [replace(f, new_id=next(saved)) if f.new_id is not None and not f.existing
                 else f for f in fixes]
        if forget:
            for fix in fixes:
                repo.remove_snapshot(fix.snapshot)
    return fixes


def _uncached(repo: Repository) -> Repository:
    """``repo`` reading the store itself: a repair acts on what is stored, never on a good
    copy a local cache still holds of a damaged object."""
    repo.backend = repo.backend.uncached()
    return repo
