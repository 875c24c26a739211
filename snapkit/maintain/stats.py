"""``stats``: what snapshots hold and what they cost in the repository — the size they
restore to, the unique data behind them (deduplication), and the bytes stored for it
(compression). Every tree reached is read once (``reachability``); a tree that cannot be read
is counted, not fatal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError
from snapkit.format.model import KIND_DATA, NODE_DIR, NODE_FILE, Snapshot
from snapkit.maintain.reachability import walk_reachable
from snapkit.store.repository import Repository


@dataclass(frozen=True)
class Stats:
    """Totals for a set of snapshots (see :func:`compute`)."""

    snapshots: int
    files: int  # file entries, summed over the snapshots
    restore_size: int  # what they restore to, summed
    data_blobs: int  # unique data blobs they reference
    data_raw: int  # their plain bytes
    data_stored: int  # their stored bytes (compressed, with the codec byte)
    tree_blobs: int
    tree_stored: int
    unreadable_trees: int = 0  # trees that could not be read (their files are not counted)

    @property
    def dedup_ratio(self) -> float:
        """Restore size over the unique data: how much deduplication saves."""
        return self.restore_size / self.data_raw if self.data_raw else 0.0

    @property
    def compression_ratio(self) -> float:
        return self.data_raw / self.data_stored if self.data_stored else 0.0

    @property
    def stored(self) -> int:
        return self.data_stored + self.tree_stored


def compute(repo: Repository, snapshots: Sequence[tuple[str, Snapshot]]) -> Stats:
    """The totals of ``snapshots``: unique blobs counted once however many reference them."""
    data: set[str] = set()
    trees: set[str] = set()
    unreadable = 0

    def roots() -> Iterator[tuple[str, str]]:
        for sid, snap in snapshots:
            yield sid, snap.tree

    def visit(_sid: str, tree_id: str, _where: str) -> list[tuple[str, str]]:
        nonlocal unreadable
        try:
            tree = repo.load_tree(tree_id)
        except IntegrityError:
            unreadable += 1
            return []
        trees.add(tree_id)
        below = []
        for node in tree.nodes:
            if node.type == NODE_DIR and node.subtree:
                below.append((node.subtree, ""))
            elif node.type == NODE_FILE:
                data.update(node.content)
        return below

    walk_reachable(roots(), visit)
    data_raw = data_stored = 0
    for blob in data:
        entry = repo.index.get(blob)
        if entry is not None and entry.kind == KIND_DATA:
            data_raw += entry.raw_length
            data_stored += entry.length
    tree_stored = sum(e.length for e in map(repo.index.get, trees) if e is not None)
    return Stats(
        snapshots=len(snapshots),
        files=sum(s.summary.total_files for _, s in snapshots),
        restore_size=sum(s.summary.total_bytes for _, s in snapshots),
        data_blobs=len(data), data_raw=data_raw, data_stored=data_stored,
        tree_blobs=len(trees), tree_stored=tree_stored, unreadable_trees=unreadable,
    )
