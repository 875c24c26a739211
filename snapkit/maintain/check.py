"""Repository verification: structure always, every byte with ``read_data``, and what any
damage costs.

:func:`check_repository` never stops at the first problem. In order: a config read with the
defaults because its file is damaged; an encrypted repository's key files that cannot be
read (their structure and scrypt parameters); index files that cannot be read; the packs
(:mod:`~snapkit.maintain.check_packs`: every index entry points into an existing pack whose
trailer lists the same blob at the same place and, when the pack is read, every blob decodes
to bytes that hash to its id — a pack that does not match its id is still verified blob by
blob); snapshot manifests that cannot be read; then one walk over every snapshot's trees
(:mod:`~snapkit.maintain.attribute`), which names, for every damaged or missing blob, the
files and directories of every snapshot that lose data. Packs no index lists are told apart:
holding blobs the snapshots need (an error, ``snapkit repair index`` lists them again) or
unused (a note, as an interrupted run leaves). Problems that lose data are errors; leftovers
of interrupted runs are notes. The result is a frozen
:class:`~snapkit.maintain.check_report.CheckReport`.
"""

from __future__ import annotations

from collections.abc import Callable

from snapkit.maintain.attribute import walk_snapshots
from snapkit.maintain.check_packs import Subset, check_packs, parse_subset
from snapkit.maintain.check_report import (
    REPAIR_CONFIG,
    REPAIR_INDEX,
    REPAIR_SNAPSHOTS,
    AffectedSnapshot,
    CheckReport,
    DamagedBlob,
    Findings,
)
from snapkit.store.repository import Repository

__all__ = ["AffectedSnapshot", "CheckReport", "DamagedBlob", "Subset", "check_repository",
           "parse_subset"]


def check_repository(repo: Repository, read_data: bool = False,
                     on_step: Callable[[str], None] | None = None,
                     subset: Subset | None = None) -> CheckReport:
    """Check ``repo``; with ``read_data`` read every pack, with ``subset`` only those it
    selects. Blobs found damaged are recorded in ``repo`` (``Repository.record_damage``; the
    caller flushes them)."""
    found = Findings()
    step = on_step or (lambda _msg: None)
    if repo.config_damaged is not None:
        found.repairs.add(REPAIR_CONFIG)
        found.errors.append(f"the repository config is damaged ({repo.config_damaged}); "
                            f"`{REPAIR_CONFIG}` writes it again")
    if repo.cipher.encrypted:
        _key_files(repo, found)
    for name, reason in sorted(repo.index.broken.items()):
        found.index_files_damaged.append(name)
        found.repairs.add(REPAIR_INDEX)
        found.errors.append(f"index file {name} is damaged ({reason}); `{REPAIR_INDEX}` "
                            "rebuilds the index from the packs")
    step("packs")
    unindexed = check_packs(repo, found, read_data, subset)
    step("snapshots")
    snaps = repo.snapshots()
    found.snapshots = len(snaps) + len(repo.damaged_snapshots)
    for sid, reason in sorted(repo.damaged_snapshots.items()):
        found.snapshots_damaged.append(sid)
        found.repairs.add(REPAIR_SNAPSHOTS)
        what = reason if sid in reason else f"snapshot {sid}: {reason}"
        found.errors.append(f"{what}; `{REPAIR_SNAPSHOTS} --forget` removes it")
    walk_snapshots(repo, found, [(sid, snap.tree) for sid, snap in snaps])
    _unindexed(found, unindexed)
    if found.affected and any(repo.index.is_damaged(blob) for blob, _ in found.copies):
        found.repairs.add(REPAIR_SNAPSHOTS)
    return found.freeze()


def _key_files(repo: Repository, found: Findings) -> None:
    """Every key file's structure and scrypt parameters: a damaged one no longer opens with its
    passphrase (and unlocking names it)."""
    from snapkit.store.keys import damaged_keys

    for name, reason in sorted(damaged_keys(repo.backend).items()):
        why = reason.removeprefix(f"key file {name}").removeprefix(":").removeprefix(" is")
        found.key_files_damaged.append(name)
        found.errors.append(f"key file {name} is damaged ({why.strip()}): its passphrase no "
                            "longer opens the repository; restore the file from a copy of the "
                            "repository, or add a new passphrase (`snapkit key add`) and then "
                            f"`snapkit key remove {name}`")


def _unindexed(found: Findings, unindexed: dict[str, set[str] | None]) -> None:
    """Packs no index lists: an error when they hold blobs the snapshots need (the data is
    there), else a note. Needed blobs in no pack at all are lost."""
    rescued: set[str] = set()
    unused = 0
    for pack, ids in unindexed.items():
        held = set(found.unlisted) & (ids or set())
        if not held:
            unused += 1
            continue
        rescued |= held
        found.repairs.add(REPAIR_INDEX)
        found.errors.append(f"pack {pack} is not in any index but holds {len(held)} blob(s) "
                            f"the snapshots need: the data is there, `{REPAIR_INDEX}` lists "
                            "it again")
    if unused:
        found.notes.append(f"{unused} pack(s) not in any index (left by an interrupted run; "
                           "their data is unused)")
    for blob, kind in sorted(found.unlisted.items()):
        if blob not in rescued:
            found.repairs.add(REPAIR_SNAPSHOTS)
            found.errors.append(f"{kind} blob {blob} is not in any index (lost)")
