"""``check``'s snapshot stage: walk every tree once, then say which files of which snapshots
lost data.

The walk (:func:`~snapkit.maintain.reachability.walk_reachable`) visits each tree once, however
many snapshots share it, and records per tree its direct damage — the tree itself cannot be
read, or names of file nodes whose chunks are damaged or not indexed, or whose chunks do not
add up to the file's size — and its subtrees. Attribution then asks, memoised per tree,
"does anything below hold damage?", and descends only those subtrees once per snapshot,
so a tree shared by three snapshots is attributed to all three, with each one's paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from snapkit.format.errors import BlobUnreadable, IntegrityError
from snapkit.format.model import (
    KIND_DATA,
    KIND_TREE,
    NODE_DIR,
    NODE_FILE,
    Node,
    Tree,
    decode_tree,
)
from snapkit.maintain.check_report import (
    REPAIR_SNAPSHOTS,
    AffectedSnapshot,
    Findings,
    record_copy,
)
from snapkit.maintain.reachability import child_path, walk_reachable
from snapkit.read.treewalk import check_name
from snapkit.store.repository import Repository


@dataclass
class _Facts:
    """One tree's direct damage and its subtrees, as found by the single walk."""

    lost: str | None = None  # why the tree itself cannot be read
    files: list[str] = field(default_factory=list)  # names of damaged file nodes
    dirs: list[tuple[str, str]] = field(default_factory=list)  # (name, subtree id)


class _Walk:
    def __init__(self, repo: Repository, found: Findings) -> None:
        self.repo = repo
        self.found = found
        self.trees: dict[str, _Facts] = {}
        self._lost: dict[str, bool] = {}

    def visit(self, sid: str, tree_id: str, where: str) -> list[tuple[str, str]]:
        facts = self.trees[tree_id] = _Facts()
        tree = self._load(facts, sid, tree_id, where)
        if tree is None:
            return []
        self.found.trees += 1
        below: list[tuple[str, str]] = []
        for node in tree.nodes:
            try:
                check_name(node.name, ())
            except IntegrityError as exc:
                self.found.errors.append(f"snapshot {sid[:8]}: {exc.message}")
                continue
            if node.type == NODE_DIR and node.subtree:
                facts.dirs.append((node.name, node.subtree))
                below.append((node.subtree, child_path(where, node.name)))
            elif node.type == NODE_FILE:
                self.found.files += 1
                if self._file_damaged(sid, child_path(where, node.name), node):
                    facts.files.append(node.name)
        return below

    def _load(self, facts: _Facts, sid: str, tree_id: str, where: str) -> Tree | None:
        repo, found = self.repo, self.found
        entry = repo.index.get(tree_id)
        if entry is None or entry.kind != KIND_TREE:
            found.unlisted.setdefault(tree_id, "tree")
            facts.lost = "not in any index"
            return None
        while not repo.index.is_damaged(tree_id):
            try:
                return decode_tree(repo.load_blob(tree_id))
            except BlobUnreadable as exc:
                record_copy(repo, found, exc.blob, exc.pack, "tree", exc.message,
                            f"tree at {where} (snapshot {sid[:8]}): {exc.message}")
            except IntegrityError as exc:  # stored as written, but not a tree
                found.repairs.add(REPAIR_SNAPSHOTS)
                found.errors.append(f"tree at {where} (snapshot {sid[:8]}): tree {tree_id}: "
                                    f"{exc.message}")
                facts.lost = exc.message
                return None
        facts.lost = next((reason for (blob, _), (_, reason) in found.copies.items()
                           if blob == tree_id), "damaged")
        return None

    def _file_damaged(self, sid: str, path: str, node: Node) -> bool:
        """Whether a chunk of the file is lost, or its chunks do not hold its size."""
        index = self.repo.index
        if any(self._blob_lost(blob) for blob in node.content):
            return True
        total = 0
        for blob in node.content:
            entry = index.get(blob)
            total += entry.raw_length if entry is not None else 0
        if total != node.size:
            self.found.repairs.add(REPAIR_SNAPSHOTS)
            self.found.errors.append(f"snapshot {sid[:8]}: {path}: its chunks hold {total} "
                                     f"bytes, the node says {node.size}")
            return True
        return False

    def _blob_lost(self, blob: str) -> bool:
        lost = self._lost.get(blob)
        if lost is None:
            entry = self.repo.index.get(blob)
            if entry is None or entry.kind != KIND_DATA:
                self.found.unlisted.setdefault(blob, "data")
                lost = True
            else:
                lost = self.repo.index.is_damaged(blob)
            self._lost[blob] = lost
        return lost


def walk_snapshots(repo: Repository, found: Findings, roots: list[tuple[str, str]]) -> None:
    """Walk the trees of ``roots`` (``(snapshot id, root tree id)``, in report order) once,
    then fill ``found.affected`` and ``found.unaffected``."""
    walk = _Walk(repo, found)
    walk_reachable(roots, walk.visit)
    damaged = _damaged_subtrees(walk.trees)
    for sid, root in roots:
        if root not in damaged:
            found.unaffected.append(sid)
            continue
        files: list[str] = []
        dirs: list[str] = []
        stack = [(root, "/")]
        while stack:
            tree_id, where = stack.pop()
            facts = walk.trees[tree_id]
            if facts.lost is not None:
                dirs.append(where)
                continue
            files.extend(child_path(where, name) for name in facts.files)
            stack.extend((sub, child_path(where, name)) for name, sub in facts.dirs
                         if sub in damaged)
        found.affected.append(AffectedSnapshot(sid, tuple(sorted(files)), tuple(sorted(dirs))))


def _damaged_subtrees(trees: dict[str, _Facts]) -> set[str]:
    """The trees holding damage themselves or anywhere below (iterative, memoised)."""
    memo: dict[str, bool] = {}
    for top in trees:
        stack = [(top, False)]
        while stack:
            tree_id, expanded = stack.pop()
            if tree_id in memo:
                continue
            facts = trees[tree_id]
            if facts.lost is not None or facts.files:
                memo[tree_id] = True
            elif expanded:
                memo[tree_id] = any(memo.get(sub, False) for _, sub in facts.dirs)
            else:
                stack.append((tree_id, True))
                stack.extend((sub, False) for _, sub in facts.dirs if sub not in memo)
    return {tree_id for tree_id, damaged in memo.items() if damaged}
