"""What ``check`` found: the frozen report, and the accumulator that builds it.

The report keeps three views of one set of findings: ``errors`` and ``notes`` (one line per
problem object: a pack, a blob, an index file, a manifest), ``damaged`` (every damaged copy
and every blob the snapshots need that no index lists, with its pack and reason) and the
attribution (``affected``: per snapshot the files and directories that lost data;
``unaffected``: the snapshots that restore in full). ``repairs`` names the commands that
help, in the order to run them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from snapkit.format.model import KIND_DATA, KIND_TREE
from snapkit.store.repository import Repository

#: The repair commands, in the order they are run.
REPAIR_CONFIG = "snapkit repair config"
REPAIR_INDEX = "snapkit repair index"
REPAIR_PACKS = "snapkit repair packs"
REPAIR_SNAPSHOTS = "snapkit repair snapshots"
_REPAIR_ORDER = (REPAIR_CONFIG, REPAIR_INDEX, REPAIR_PACKS, REPAIR_SNAPSHOTS)


@dataclass(frozen=True)
class DamagedBlob:
    """A blob copy that cannot be read back, or (``pack`` None) a needed blob no index lists."""

    id: str
    kind: str  # "data", "tree" or "unknown"
    pack: str | None
    reason: str


@dataclass(frozen=True)
class AffectedSnapshot:
    """A snapshot that lost data: its files that cannot be restored in full, and its
    directories whose tree is lost (their contents are unknown)."""

    id: str
    files: tuple[str, ...]
    dirs: tuple[str, ...]


@dataclass(frozen=True)
class CheckReport:
    packs: int
    blobs: int
    snapshots: int
    trees: int
    files: int
    bytes_read: int
    errors: tuple[str, ...]
    notes: tuple[str, ...]  # not errors: leftovers of interrupted runs and the like
    packs_read: int = 0
    damaged: tuple[DamagedBlob, ...] = ()
    packs_damaged: tuple[str, ...] = ()  # on disk, not hashing to their id or unreadable
    packs_missing: tuple[str, ...] = ()  # listed by the index, gone
    index_files_damaged: tuple[str, ...] = ()
    snapshots_damaged: tuple[str, ...] = ()  # manifests that cannot be read
    key_files_damaged: tuple[str, ...] = ()  # key files that cannot be read as key files
    affected: tuple[AffectedSnapshot, ...] = ()
    unaffected: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def damaged_files(self) -> int:
        """Distinct paths of damaged files, over all affected snapshots."""
        return len({path for a in self.affected for path in a.files})

    @property
    def damaged_dirs(self) -> int:
        """Distinct paths of lost directories, over all affected snapshots."""
        return len({path for a in self.affected for path in a.dirs})


@dataclass
class Findings:
    """The mutable accumulator the check stages write into; :meth:`freeze` makes the report."""

    packs: int = 0
    blobs: int = 0
    snapshots: int = 0
    trees: int = 0
    files: int = 0
    bytes_read: int = 0
    packs_read: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: (blob, pack) → (kind, reason): damaged copies found or already recorded
    copies: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: blob → kind: blobs the snapshots need that no index lists
    unlisted: dict[str, str] = field(default_factory=dict)
    packs_damaged: set[str] = field(default_factory=set)
    packs_missing: set[str] = field(default_factory=set)
    index_files_damaged: list[str] = field(default_factory=list)
    snapshots_damaged: list[str] = field(default_factory=list)
    key_files_damaged: list[str] = field(default_factory=list)
    affected: list[AffectedSnapshot] = field(default_factory=list)
    unaffected: list[str] = field(default_factory=list)
    repairs: set[str] = field(default_factory=set)

    def freeze(self) -> CheckReport:
        damaged = [DamagedBlob(b, kind, p, reason)
                   for (b, p), (kind, reason) in sorted(self.copies.items())]
        damaged += [DamagedBlob(b, kind, None, "not in any index")
                    for b, kind in sorted(self.unlisted.items())]
        return CheckReport(
            packs=self.packs, blobs=self.blobs, snapshots=self.snapshots, trees=self.trees,
            files=self.files, bytes_read=self.bytes_read, errors=tuple(self.errors),
            notes=tuple(self.notes), packs_read=self.packs_read, damaged=tuple(damaged),
            packs_damaged=tuple(sorted(self.packs_damaged)),
            packs_missing=tuple(sorted(self.packs_missing)),
            index_files_damaged=tuple(self.index_files_damaged),
            snapshots_damaged=tuple(self.snapshots_damaged),
            key_files_damaged=tuple(self.key_files_damaged),
            affected=tuple(self.affected), unaffected=tuple(self.unaffected),
            repairs=tuple(r for r in _REPAIR_ORDER if r in self.repairs),
        )


def kind_name(kind: int) -> str:
    return {KIND_DATA: "data", KIND_TREE: "tree"}.get(kind, "unknown")


def record_copy(repo: Repository, found: Findings, blob: str, pack: str, kind: str,
                reason: str, line: str | None = None) -> None:
    """Count the copy of ``blob`` in ``pack`` as damaged (once), record it in the repository
    (written at the end of the operation, so the next ``snap`` stores the blob again) and add
    ``line`` to the errors."""
    if (blob, pack) in found.copies:
        return
    found.copies[(blob, pack)] = (kind, reason)
    found.repairs.add(REPAIR_PACKS)
    repo.record_damage(blob, pack, reason)
    if line is not None:
        found.errors.append(line)
