"""Copying snapshots into another repository (``snapkit copy``), sending only what it lacks.

Blobs keep their ids between repositories (an id is the xxh3-128 of the plain bytes), so the
destination's index decides what is missing. Per snapshot, oldest first: its trees are walked
(a tree walked whole for an earlier snapshot of this run is not walked again), each tree blob
the destination lacks is saved as it is read, byte for byte, and the data blobs it lacks are
listed; then those are read from the source in pack order, each checked against its id, and
saved. Everything goes through the destination's own :class:`~snapkit.store.saver.BlobSaver`
(its packs, compression level and index files). The manifest is copied byte for byte, so the
snapshot keeps its id, which is how a later run knows it is there.

A blob that cannot be read (damaged, its pack gone, not in the index) costs the snapshot: it is
reported with the reason, its manifest not written, and a later snapshot reaching the same blob
skipped the same way. What can be found without reading the data is found before any is sent
(a blob no index lists, a copy recorded damaged, a pack missing: one listing of the packs per
run); damaged bytes inside a pack show only when read: the snapshot's data stops there, and
what it sent that no copied snapshot uses is counted (:attr:`Sent.unused_blobs`) for the
summary's ``prune`` hint. Verifying every blob first would read all data twice for a rare case
whose cost is bounded and reclaimable.

Manifests are written in batches, each after :meth:`BlobSaver.flush` made the packs and index
files they need durable: every :data:`COMMIT_BYTES` of new stored data (at least a pack),
every :data:`COMMIT_SECONDS`, and at the end. A run killed at any moment leaves the
destination valid (at worst packs no snapshot uses yet, which ``prune`` reclaims, and index
files listing them, which a second run finds and does not send again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snapkit.format.errors import BlobUnreadable, IntegrityError, SnapkitError
from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, Snapshot, content_id
from snapkit.maintain.copy_trees import tree_children
from snapkit.store.backend import NotFound
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver

#: Manifests are committed after about this much new stored data (or a pack, if larger) ...
COMMIT_BYTES = 64 * 1024 * 1024
#: ... or after this many seconds, whichever comes first.
COMMIT_SECONDS = 60.0

Pair = tuple[str, Snapshot]


@dataclass(frozen=True)
class SnapshotCopied:
    """A snapshot whose manifest is now in the destination (with ``dry_run``: would be), and
    the new blobs and plain bytes its copy needed (those an earlier one sent not counted)."""

    snapshot_id: str
    snapshot: Snapshot
    blobs: int
    bytes: int


@dataclass(frozen=True)
class SnapshotDamaged:
    """A snapshot not copied: data it needs cannot be read from the source (``reason``);
    ``snapshot`` is None when its manifest itself cannot be read."""

    snapshot_id: str
    snapshot: Snapshot | None
    reason: str


@dataclass(frozen=True)
class CopyProgress:
    """The data of snapshot ``number`` of ``count`` being copied: blobs and plain bytes done
    of those it needs."""

    snapshot_id: str
    number: int
    count: int
    blobs: int
    blobs_total: int
    bytes: int
    bytes_total: int


@dataclass(frozen=True)
class Sent:
    """What the run added to the destination (with ``dry_run``: would add; stored bytes are
    then the source's)."""

    blobs: int = 0
    bytes_raw: int = 0
    bytes_stored: int = 0
    #: of those, the blobs (plain bytes) only snapshots not copied reach: ``prune`` frees them
    unused_blobs: int = 0
    unused_bytes: int = 0


@dataclass
class _Hooks:
    on_done: Callable[[SnapshotCopied | SnapshotDamaged], None]
    on_progress: Callable[[CopyProgress], None]
    progress_due: Callable[[], bool]


@dataclass
class _Work:
    """One snapshot's share of the run: the data blobs it must send (with their entries in
    the source's index), the trees it walked, what it counted, and the first damage found."""

    data: list[tuple[str, BlobEntry | None]] = field(default_factory=list)
    trees: list[str] = field(default_factory=list)
    #: the blobs it sent (id, plain bytes); those an earlier, damaged one sent that it reaches
    saved: list[tuple[str, int]] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    blobs: int = 0
    bytes: int = 0
    damage: str | None = None


class Copier:
    """Copies snapshots from ``src`` into ``dst`` (see the module docstring). With ``saver``
    None it is a dry run: nothing is written, what would be sent is counted."""

    def __init__(self, src: Repository, dst: Repository, saver: BlobSaver | None,
                 hooks: _Hooks) -> None:
        self.src = src
        self.dst = dst
        self.saver = saver
        self.hooks = hooks
        #: trees walked whole for a snapshot whose data all arrived: not walked again
        self.done_trees: set[str] = set()
        #: blob id -> why it cannot be read from the source
        self.failed: dict[str, str] = {}
        #: dry run: what would have been sent already
        self.planned: set[str] = set()
        #: blobs sent for snapshots not copied that no copied one reached (id -> plain bytes)
        self.unused: dict[str, int] = {}
        #: the source's packs, listed once, when data is first about to be sent
        self._packs: set[str] | None = None
        self.sent = Sent()
        self._pending: list[tuple[SnapshotCopied, bytes]] = []
        self._since = (time.monotonic(), 0)  # the last commit: when, and stored bytes then

    def has(self, blob_id: str) -> bool:
        """Whether the destination holds (or this run already sends) ``blob_id``."""
        if self.saver is not None:
            return self.saver.known(blob_id)
        return blob_id in self.planned or blob_id in self.dst.index

    def run(self, chosen: Sequence[Pair]) -> Sent:
        """Copy ``chosen`` (oldest first); returns what was sent."""
        for number, (sid, snap) in enumerate(chosen, 1):
            self._one(sid, snap, number, len(chosen))
        self._commit()
        return self._totals()

    def _one(self, sid: str, snap: Snapshot, number: int, count: int) -> None:
        manifest = self._manifest(sid)
        work = _Work()
        if isinstance(manifest, str):
            work.damage = manifest
        else:
            self._walk(snap.tree, work)
        if work.damage is None:
            self._send_data(sid, work, number, count)
        if work.damage is not None:
            self.unused.update(work.saved)
            self.hooks.on_done(SnapshotDamaged(sid, snap, work.damage))
            return
        for blob_id in work.reused:
            self.unused.pop(blob_id, None)
        self.done_trees.update(work.trees)
        assert isinstance(manifest, bytes)
        self._pending.append((SnapshotCopied(sid, snap, work.blobs, work.bytes), manifest))
        if self._commit_due():
            self._commit()

    def _manifest(self, sid: str) -> bytes | str:
        """The manifest's bytes as stored (checked against its id), or why they cannot be."""
        try:
            data = self.src.backend.load("snapshots", sid)
        except NotFound:
            return "its manifest is gone from the source (removed since it was listed)"
        except (OSError, SnapkitError) as exc:
            return f"its manifest cannot be read ({exc})"
        if content_id(data) != sid:
            return f"its manifest {sid} does not match its id (file damaged)"
        return data

    def _walk(self, root: str, work: _Work) -> None:
        """Walk the trees under ``root`` a level at a time (each level read in the source's
        pack order, a window at a time: few requests on S3); save the tree blobs the
        destination lacks and list the data blobs it lacks in ``work``; stop at the first
        blob that cannot be read."""
        level, seen, listed = [root], set(), set()
        index, failed = self.src.index, self.failed
        while level:
            todo = []
            for tree_id in level:
                if tree_id in seen or tree_id in self.done_trees:
                    continue
                seen.add(tree_id)
                if tree_id in failed:
                    work.damage = failed[tree_id]
                    return
                todo.append(tree_id)
            work.trees.extend(todo)
            level = []
            for tree_id, raw in self._trees(todo, work):
                try:
                    subtrees, content = tree_children(raw)
                except IntegrityError as exc:
                    self._fail(work, tree_id, f"tree {tree_id}: {exc.message}")
                    return
                self._save_tree(work, tree_id, raw)
                level.extend(subtrees)
                for blob_id in content:
                    if blob_id in failed:
                        work.damage = failed[blob_id]
                        return
                    if blob_id not in listed and not self.has(blob_id):
                        listed.add(blob_id)
                        work.data.append((blob_id, index.get(blob_id)))
                    elif blob_id in self.unused:
                        work.reused.append(blob_id)
            if work.damage is not None:
                return

    def _trees(self, tree_ids: list[str], work: _Work) -> Iterator[tuple[str, bytes]]:
        """``(id, bytes)`` of the trees ``tree_ids``, read in pack order, until the first
        that cannot be read (``work.damage`` is set then)."""
        placed = []
        for tree_id in tree_ids:
            entry = self.src.index.get(tree_id)
            if entry is None:
                self._fail(work, tree_id, f"tree {tree_id} is not in the source's index")
                return
            placed.append((entry.pack, entry.offset, tree_id))
        ids = [tree_id for _, _, tree_id in sorted(placed)]
        for i, raw in self._read(ids, work):
            if work.damage is not None:
                return
            yield ids[i], raw

    def _save_tree(self, work: _Work, tree_id: str, raw: bytes) -> None:
        if self.has(tree_id):
            if tree_id in self.unused:
                work.reused.append(tree_id)
            return
        if self.saver is None:
            self._plan(work, tree_id, len(raw), self.src.index.get(tree_id))
            return
        self.saver.save(KIND_TREE, raw, tree_id)
        work.saved.append((tree_id, len(raw)))
        work.blobs += 1
        work.bytes += len(raw)

    def _send_data(self, sid: str, work: _Work, number: int, count: int) -> None:
        """Read the listed data blobs in the source's pack order and save them; each that
        cannot be read is remembered, the first one as the snapshot's damage, and ends the
        snapshot's sending. Nothing is sent when :meth:`_preflight` finds damage. A dry run
        reads no data: the source's index stands for it."""
        if not self._preflight(work):
            return
        order = []
        for blob_id, entry in work.data:
            assert entry is not None  # (checked by the pre-flight)
            order.append((entry.pack, entry.offset, blob_id, entry))
        order.sort(key=lambda o: (o[0], o[1]))
        if self.saver is None:
            for _, _, blob_id, entry in order:
                self._plan(work, blob_id, entry.raw_length, entry)
            return
        ids = [blob_id for _, _, blob_id, _ in order]
        total = sum(entry.raw_length for *_, entry in order)
        done_bytes = 0
        for i, plain in self._read(ids, work):
            if work.damage is not None:  # the rest is sent by a snapshot that needs it
                break
            self.saver.save(KIND_DATA, plain, ids[i])
            work.saved.append((ids[i], len(plain)))
            work.blobs += 1
            work.bytes += len(plain)
            done_bytes += len(plain)
            if self.hooks.progress_due():
                self.hooks.on_progress(CopyProgress(sid, number, count, i + 1, len(ids),
                                                    done_bytes, total))

    def _preflight(self, work: _Work) -> bool:
        """Whether every data blob ``work`` lists has a copy in the source's index, not known
        damaged, in a pack the source holds (one in a missing pack is recorded as damaged and
        another tried); else the first that has not is the snapshot's damage."""
        index = self.src.index
        if self._packs is None and work.data:
            self._packs = set(self.src.backend.list("packs"))
        packs = self._packs or set()
        for i, (blob_id, entry) in enumerate(work.data):
            while entry is not None and entry.pack not in packs and (
                    (blob_id, entry.pack) not in index.damaged):
                self.src.record_damage(blob_id, entry.pack,
                                       f"pack {entry.pack} holding blob {blob_id} is missing")
                entry = index.get(blob_id)
            if entry is None:
                self._fail(work, blob_id, f"blob {blob_id} is not in the source's index")
                return False
            if (blob_id, entry.pack) in index.damaged:
                self._fail(work, blob_id, index.damaged[(blob_id, entry.pack)])
                return False
            work.data[i] = (blob_id, entry)
        return True

    def _read(self, ids: list[str], work: _Work) -> Iterator[tuple[int, bytes]]:
        """``(position, plain bytes)`` of each of ``ids`` that can be read, in order; one
        that cannot is remembered in :attr:`failed` and the reading goes on after it."""
        start = 0
        while start < len(ids):
            at = start
            try:
                for plain in self.src.read_blobs(ids[start:]):
                    yield at, plain
                    at += 1
                start = len(ids)
            except BlobUnreadable as exc:
                other = self._other_copy(ids[at])
                if other is None:
                    self._fail(work, ids[at], exc.message)
                else:
                    yield at, other
                start = at + 1

    def _other_copy(self, blob_id: str) -> bytes | None:
        """The blob read from another copy the source's index lists (the one that failed is
        recorded as damaged now, so it is not tried again), or None when none is left."""
        while blob_id in self.src.index:
            try:
                return self.src.load_blob(blob_id)
            except BlobUnreadable:
                continue
        return None

    def _fail(self, work: _Work, blob_id: str, reason: str) -> None:
        self.failed[blob_id] = reason
        if work.damage is None:
            work.damage = reason

    def _plan(self, work: _Work, blob_id: str, raw: int, entry: BlobEntry | None) -> None:
        """Dry run: count a blob that would be sent (its stored size as in the source)."""
        self.planned.add(blob_id)
        work.saved.append((blob_id, raw))
        work.blobs += 1
        work.bytes += raw
        self.sent = Sent(self.sent.blobs + 1, self.sent.bytes_raw + raw,
                         self.sent.bytes_stored + (entry.length if entry else 0))

    def _commit_due(self) -> bool:
        if self.saver is None:
            return False
        when, stored = self._since
        grown = self.saver.bytes_added_stored - stored
        return (grown >= max(COMMIT_BYTES, self.dst.config.pack_size)
                or time.monotonic() - when >= COMMIT_SECONDS)

    def _commit(self) -> None:
        """Make the data of the pending snapshots durable, then write their manifests."""
        if self.saver is not None:
            self.saver.flush()
            self._since = (time.monotonic(), self.saver.bytes_added_stored)
        pending, self._pending = self._pending, []
        for copied, manifest in pending:
            if self.saver is not None:
                self.dst.backend.save("snapshots", copied.snapshot_id, manifest)
            self.hooks.on_done(copied)

    def _totals(self) -> Sent:
        unused = len(self.unused), sum(self.unused.values())
        if self.saver is None:
            return Sent(self.sent.blobs, self.sent.bytes_raw, self.sent.bytes_stored, *unused)
        return Sent(self.saver.blobs_added, self.saver.bytes_added_raw,
                    self.saver.bytes_added_stored, *unused)


def copy_snapshots(src: Repository, dst: Repository, chosen: Iterable[Pair], *,
                   dry_run: bool,
                   on_done: Callable[[SnapshotCopied | SnapshotDamaged], None],
                   on_progress: Callable[[CopyProgress], None],
                   progress_due: Callable[[], bool]) -> Sent:
    """Copy ``chosen`` from ``src`` into ``dst`` (both locked by the caller), reporting each
    snapshot to ``on_done`` as it is committed or found damaged; returns what was sent.
    On an error (the destination cannot be written) the blobs not yet listed by an index file
    are removed again and the error raised; the snapshots committed before it stay."""
    hooks = _Hooks(on_done, on_progress, progress_due)
    chosen = list(chosen)
    if dry_run:
        return Copier(src, dst, None, hooks).run(chosen)
    with dst.saver() as saver:
        return Copier(src, dst, saver, hooks).run(chosen)
