"""The copy of snapshots between repositories whose ids differ (:class:`ReKeyer`): one of them
is encrypted, or both under different keys, so a blob's id in the destination is not its id
in the source (ids are keyed; ``docs/format.md``, "Encryption").

Per snapshot: its trees are read from the source (a level at a time, in pack order, as
:class:`~snapkit.maintain.copy_send.Copier` does), each data blob not met before in this run
is read plain (verified there), its destination id computed by the destination's cipher and
the blob saved unless the destination holds it; then the trees are re-keyed bottom-up (each
child's id replaced by its destination id: :func:`~snapkit.maintain.copy_trees.rekey_tree`),
saved under their new ids, and the manifest written with the new root tree and an
``original`` naming the source snapshot, sealed for the destination. Chunk boundaries are
kept (nothing is cut again). The map of source ids to destination ids lives for the run: a
blob or a whole subtree met again costs nothing more. A later run starts it from a snapshot
whose copy the destination holds (:meth:`ReKeyer._seed`): the parent, else the newest of the
same host and sources (:meth:`ReKeyer._base`). The two snapshots' trees are read side by
side, each destination tree checked to be its source tree re-keyed, and their ids paired, so
only the data that snapshot lacks is read, as in a copy with equal ids. The snapshots a later
run skips are found by their ``original``.

Damage, batching of manifests after a flush and kill-safety are those of the copy with equal
ids; only the trees are saved after the data (a tree's new id depends on its children's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from snapkit.format.errors import IntegrityError, SnapkitError
from snapkit.format.model import KIND_DATA, KIND_TREE, BlobEntry, Snapshot, content_id
from snapkit.maintain.copy_records import Hooks, Pair, SnapshotCopied, Work
from snapkit.maintain.copy_send import Copier
from snapkit.maintain.copy_trees import rekey_manifest, rekey_tree, tree_children
from snapkit.store.repository import Repository

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver


class ReKeyer(Copier):
    """A :class:`Copier` that gives every blob and manifest the destination's id."""

    reads_data = True

    def __init__(self, src: Repository, dst: Repository, saver: BlobSaver | None,
                 hooks: Hooks, known: Mapping[str, str] | None = None,
                 listing: Sequence[Pair] = ()) -> None:
        super().__init__(src, dst, saver, hooks, known)
        #: the source's snapshots, to find one whose copy is there (:meth:`_base`)
        self.listing = listing
        #: source id -> destination id, of the blobs read (data) or saved (trees) in this run
        self.ids: dict[str, str] = {}
        #: the trees of the snapshot being copied: raw bytes and subtree ids
        self._raw: dict[str, tuple[bytes, list[str]]] = {}
        #: source snapshots whose trees are in :attr:`ids` (or could not be paired)
        self._seeded: set[str] = set()

    def _one(self, sid: str, snap: Snapshot, number: int, count: int) -> None:
        work = Work()
        plain = self._opened(sid, work)
        self._raw = {}
        if work.damage is None:
            base = self._base(snap)
            if base is not None:
                self._seed(base, self.known[base])
            self._walk(snap.tree, work)
        if work.damage is None:
            self._send_data(sid, work, number, count)
        if work.damage is None:
            self._rekey(snap.tree, work)
        self._raw = {}
        if work.damage is not None or plain is None:
            self._damaged(sid, snap, work)
            return
        self._seeded.add(sid)
        parent = self.known.get(snap.parent) if snap.parent else None
        manifest = self.dst.cipher.seal(
            rekey_manifest(plain, self.ids[snap.tree], sid, parent), "snapshot")
        self._copied(SnapshotCopied(sid, snap, work.blobs, work.bytes, content_id(manifest)),
                     manifest, work)

    def _base(self, snap: Snapshot) -> str | None:
        """The source snapshot whose copy in the destination to pair ids with first: the
        parent when it is there, else the newest there of the same host and sources and
        not newer than ``snap``; None when there is none."""
        if snap.parent is not None and snap.parent in self.known:
            return snap.parent
        base = None
        for sid, other in self.listing:  # (oldest first)
            if other.time_ns > snap.time_ns:
                break
            if (sid in self.known and other.hostname == snap.hostname
                    and other.sources == snap.sources):
                base = sid
        return base

    def _seed(self, sid: str, copy_id: str) -> None:
        """Pair the ids of source snapshot ``sid``'s trees and blobs with those of its copy
        ``copy_id`` in the destination, a level of trees at a time; each destination tree
        must be its source tree re-keyed by the pairs it names, byte for byte. Whatever
        cannot be read or does not match ends the pairing (the blobs are read instead): the
        data pairs of the trees checked so far are kept, the tree pairs only when all
        matched (a paired tree stands for everything below it)."""
        if sid in self._seeded:
            return
        self._seeded.add(sid)
        trees: dict[str, str] = {}
        try:
            level = [(self.src.load_snapshot(sid).tree, self.dst.load_snapshot(copy_id).tree)]
            while level:
                self._stop_point()
                pairs = list({s: d for s, d in level
                              if s not in self.ids and s not in trees}.items())
                level = []
                for (old, new), raw, copy in zip(
                        pairs, self.src.read_blobs([s for s, _ in pairs]),
                        self.dst.read_blobs([d for _, d in pairs]), strict=True):
                    (subtrees, content), (subtrees2, content2) = (tree_children(raw),
                                                                  tree_children(copy))
                    paired = dict(zip(subtrees + content, subtrees2 + content2, strict=True))
                    if rekey_tree(raw, paired.__getitem__) != copy:
                        return
                    self.ids.update(zip(content, content2, strict=True))
                    trees[old] = new
                    level.extend(zip(subtrees, subtrees2, strict=True))
        except (SnapkitError, ValueError):  # (ValueError: a tree of another shape)
            return
        self.ids.update(trees)

    def _opened(self, sid: str, work: Work) -> bytes | None:
        """The manifest's plain bytes, or None with ``work.damage`` saying why."""
        stored = self._manifest(sid)
        if isinstance(stored, str):
            work.damage = stored
            return None
        try:
            return self.src.cipher.open(stored, "snapshot", f"snapshot manifest {sid}")
        except IntegrityError as exc:
            work.damage = exc.message
            return None

    def _walk(self, root: str, work: Work) -> None:
        """Read the trees under ``root`` not re-keyed yet in this run (a level at a time, in
        pack order) into :attr:`_raw`, and list the data blobs not read yet; stop at the
        first blob that cannot be read."""
        level, listed = [root], set()
        failed, index = self.failed, self.src.index
        while level:
            self._stop_point()
            todo = []
            for tree_id in level:
                if tree_id in self._raw or tree_id in self.ids:
                    self._reached(work, self.ids.get(tree_id))
                    continue
                if tree_id in failed:
                    work.damage = failed[tree_id]
                    return
                self._raw[tree_id] = (b"", [])
                todo.append(tree_id)
            level = []
            for tree_id, raw, subtrees, content in self._decoded(todo, work):
                self._raw[tree_id] = (raw, subtrees)
                level.extend(subtrees)
                for blob_id in content:
                    if blob_id in failed:
                        work.damage = failed[blob_id]
                        return
                    if blob_id in self.ids:
                        self._reached(work, self.ids[blob_id])
                    elif blob_id not in listed:
                        listed.add(blob_id)
                        work.data.append((blob_id, index.get(blob_id)))
            if work.damage is not None:
                return

    def _reached(self, work: Work, new_id: str | None) -> None:
        """A blob already in the destination (``new_id``) that this snapshot needs."""
        if new_id is not None and new_id in self.unused:
            work.reused.append(new_id)

    def _put_data(self, work: Work, blob_id: str, plain: bytes, entry: BlobEntry) -> None:
        new_id = self.dst.cipher.content_id(plain)
        self.ids[blob_id] = new_id
        self._store(work, KIND_DATA, new_id, plain, entry)

    def _rekey(self, root: str, work: Work) -> None:
        """Save the trees read for this snapshot under their destination ids, children
        first (a depth-first walk without recursion: trees may nest deeply)."""
        stack = [root]
        while stack:
            tree_id = stack[-1]
            if tree_id in self.ids:
                stack.pop()
                continue
            raw, subtrees = self._raw[tree_id]
            pending = [t for t in subtrees if t not in self.ids]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            new_raw = rekey_tree(raw, self.ids.__getitem__)
            new_id = self.dst.cipher.content_id(new_raw)
            self._store(work, KIND_TREE, new_id, new_raw, self.src.index.get(tree_id))
            self.ids[tree_id] = new_id
