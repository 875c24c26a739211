"""The copy of snapshots between repositories whose ids agree (:class:`Copier`): blobs and
manifests keep their ids, so each is sent as it is read (``snapkit.maintain.copy`` has the
whole story; :mod:`snapkit.maintain.copy_rekey` builds on this for repositories whose ids
differ)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from snapkit.format.errors import BlobUnreadable, IntegrityError, SnapkitError
from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, Snapshot, content_id
from snapkit.maintain.copy_records import (
    CopyProgress,
    CopyStopped,
    Hooks,
    Pair,
    Sent,
    SnapshotCopied,
    SnapshotDamaged,
    Work,
)
from snapkit.maintain.copy_trees import tree_children
from snapkit.store.backend import NotFound
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver

#: Manifests are committed as soon as a snapshot's data is complete when a pack's worth of
#: new stored data (the destination's pack size) arrived since the last commit, or after this
#: many seconds, whichever comes first; and at the end, and when the run is stopped.
COMMIT_SECONDS = 60.0


class Copier:
    """Copies snapshots from ``src`` into ``dst`` (see :mod:`snapkit.maintain.copy`). With
    ``saver`` None it is a dry run: nothing is written, what would be sent is counted.
    ``known``: source snapshot id -> its id in the destination, for those already there."""

    #: a dry run reads the data (its destination ids are computed from it), not the index only
    reads_data = False

    def __init__(self, src: Repository, dst: Repository, saver: BlobSaver | None,
                 hooks: Hooks, known: Mapping[str, str] | None = None) -> None:
        self.src = src
        self.dst = dst
        self.saver = saver
        self.hooks = hooks
        self.known = dict(known or {})
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
        """Copy ``chosen`` (oldest first); returns what was sent. Stopped by
        :attr:`Hooks.stopping`, it commits the snapshots whose data is complete (and makes
        what the next one sent durable and indexed) before :class:`CopyStopped` is raised."""
        try:
            for number, (sid, snap) in enumerate(chosen, 1):
                self._stop_point()
                self._one(sid, snap, number, len(chosen))
        except CopyStopped:
            self._commit()
            raise
        self._commit()
        return self._totals()

    def _stop_point(self) -> None:
        """A safe point to stop at: nothing half-saved (:attr:`Hooks.stopping`)."""
        if self.hooks.stopping():
            raise CopyStopped

    def _one(self, sid: str, snap: Snapshot, number: int, count: int) -> None:
        manifest = self._manifest(sid)
        work = Work()
        if isinstance(manifest, str):
            work.damage = manifest
        else:
            self._walk(snap.tree, work)
        if work.damage is None:
            self._send_data(sid, work, number, count)
        if work.damage is None:
            assert isinstance(manifest, bytes)
            self.done_trees.update(work.trees)
            self._copied(SnapshotCopied(sid, snap, work.blobs, work.bytes), manifest, work)
        else:
            self._damaged(sid, snap, work)

    def _copied(self, copied: SnapshotCopied, manifest: bytes, work: Work) -> None:
        """``copied``'s data all sent: its ``manifest`` (stored bytes) waits for a commit."""
        for blob_id in work.reused:
            self.unused.pop(blob_id, None)
        self.known[copied.snapshot_id] = copied.new_id
        self._pending.append((copied, manifest))
        if self._commit_due():
            self._commit()

    def _damaged(self, sid: str, snap: Snapshot, work: Work) -> None:
        assert work.damage is not None
        self.unused.update(work.saved)
        self.hooks.on_done(SnapshotDamaged(sid, snap, work.damage))

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

    def _walk(self, root: str, work: Work) -> None:
        """Walk the trees under ``root`` a level at a time (each level read in the source's
        pack order, a window at a time: few requests on S3); save the tree blobs the
        destination lacks and list the data blobs it lacks in ``work``; stop at the first
        blob that cannot be read."""
        level, seen, listed = [root], set(), set()
        index, failed = self.src.index, self.failed
        while level:
            self._stop_point()
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
            for tree_id, raw, subtrees, content in self._decoded(todo, work):
                self._store(work, KIND_TREE, tree_id, raw, index.get(tree_id))
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

    def _decoded(self, tree_ids: list[str], work: Work
                 ) -> Iterator[tuple[str, bytes, list[str], list[str]]]:
        """The trees ``tree_ids`` as :meth:`_trees` reads them, each with its subtree and data
        blob ids, until the first that cannot be read or decoded (``work.damage`` is set)."""
        for tree_id, raw in self._trees(tree_ids, work):
            try:
                subtrees, content = tree_children(raw)
            except IntegrityError as exc:
                self._fail(work, tree_id, f"tree {tree_id}: {exc.message}")
                return
            yield tree_id, raw, subtrees, content

    def _trees(self, tree_ids: list[str], work: Work) -> Iterator[tuple[str, bytes]]:
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

    def _store(self, work: Work, kind: int, blob_id: str, plain: bytes,
               entry: BlobEntry | None) -> None:
        """Save blob ``blob_id`` (the destination's id of ``plain``) unless the destination
        has it; a dry run counts it (``entry``: its copy in the source, for the stored size)."""
        if self.has(blob_id):
            if blob_id in self.unused:
                work.reused.append(blob_id)
            return
        if self.saver is None:
            self._plan(work, blob_id, len(plain), entry)
            return
        self.saver.save(kind, plain, blob_id)
        work.saved.append((blob_id, len(plain)))
        work.blobs += 1
        work.bytes += len(plain)

    def _put_data(self, work: Work, blob_id: str, plain: bytes, entry: BlobEntry) -> None:
        """Data blob ``blob_id`` of the source, read: saved under its id."""
        self._store(work, KIND_DATA, blob_id, plain, entry)

    def _send_data(self, sid: str, work: Work, number: int, count: int) -> None:
        """Read the listed data blobs in the source's pack order and save them; each that
        cannot be read is remembered, the first one as the snapshot's damage, and ends the
        snapshot's sending. Nothing is sent when :meth:`_preflight` finds damage. A dry run
        reads no data unless :attr:`reads_data`: the source's index stands for it."""
        if not self._preflight(work):
            return
        order = []
        for blob_id, entry in work.data:
            assert entry is not None  # (checked by the pre-flight)
            order.append((entry.pack, entry.offset, blob_id, entry))
        order.sort(key=lambda o: (o[0], o[1]))
        if self.saver is None and not self.reads_data:
            for _, _, blob_id, entry in order:
                self._plan(work, blob_id, entry.raw_length, entry)
            return
        ids = [blob_id for _, _, blob_id, _ in order]
        total = sum(entry.raw_length for *_, entry in order)
        done_bytes = 0
        for i, plain in self._read(ids, work):
            if work.damage is not None:  # the rest is sent by a snapshot that needs it
                break
            self._put_data(work, ids[i], plain, order[i][3])
            done_bytes += len(plain)
            if self.hooks.progress_due():
                self.hooks.on_progress(CopyProgress(sid, number, count, i + 1, len(ids),
                                                    done_bytes, total))
            self._stop_point()

    def _preflight(self, work: Work) -> bool:
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

    def _read(self, ids: list[str], work: Work) -> Iterator[tuple[int, bytes]]:
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

    def _fail(self, work: Work, blob_id: str, reason: str) -> None:
        self.failed[blob_id] = reason
        if work.damage is None:
            work.damage = reason

    def _plan(self, work: Work, blob_id: str, raw: int, entry: BlobEntry | None) -> None:
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
        return (grown >= self.dst.config.pack_size
                or time.monotonic() - when >= COMMIT_SECONDS)

    def _commit(self) -> None:
        """Make the data of the pending snapshots durable, then write their manifests."""
        if self.saver is not None:
            self.saver.flush()
            self._since = (time.monotonic(), self.saver.bytes_added_stored)
        pending, self._pending = self._pending, []
        for copied, manifest in pending:
            if self.saver is not None:
                self.dst.backend.save("snapshots", copied.new_id, manifest)
            self.hooks.on_done(copied)

    def _totals(self) -> Sent:
        unused = len(self.unused), sum(self.unused.values())
        if self.saver is None:
            return Sent(self.sent.blobs, self.sent.bytes_raw, self.sent.bytes_stored, *unused)
        return Sent(self.saver.blobs_added, self.saver.bytes_added_raw,
                    self.saver.bytes_added_stored, *unused)
