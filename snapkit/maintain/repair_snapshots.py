"""``repair snapshots``: rewrite snapshots that reference lost data, without the lost parts.

A data blob is lost when no index lists a copy of it that is not known damaged (``blob not in
index``: ``repair packs`` dropped it), or its pack is gone; a tree is lost the same way, or
when it cannot be loaded. An index file that cannot be read makes blobs look lost that are
not: :class:`Available` refuses to judge until ``repair index`` has run. :func:`find_lost`
walks one snapshot's trees (each tree once) and :func:`rewrite_tree` builds the repaired tree
bottom-up:

- a file with a lost chunk is removed (restoring part of a file would write wrong bytes);
- a directory whose tree is lost is kept, empty, with its own metadata (so its name and the
  fact that something was there survive);
- every removed or emptied path is listed (:class:`LostPath`).

The repaired snapshot keeps time, host, user, sources and parent of the original, adds the tag
``repaired``, and lists in its ``warnings`` the original's id (``repaired from snapshot
<id>``) and every lost path. A snapshot whose root tree is lost cannot be repaired (nothing of
it can be read). Trees are saved through the caller's ``save_tree`` (the saver, or only an id
function for a dry run); the caller writes the manifest and removes originals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, NODE_FILE, Node, Snapshot, Tree
from snapkit.maintain.reachability import child_path
from snapkit.store.repository import Repository

REPAIRED_TAG = "repaired"
NOTE = "repaired from snapshot "

SaveTree = Callable[[Tree], str]


class Available:
    """Whether a blob can be read: a copy not known damaged is indexed, in a pack that is on
    disk. Raises IntegrityError while an index file is damaged."""

    def __init__(self, repo: Repository) -> None:
        if repo.index.broken:
            raise IntegrityError(
                f"index file {sorted(repo.index.broken)[0]} is damaged, so blobs only it lists "
                "would look lost; run `snapkit repair index` first")
        self._index = repo.index
        self._packs = set(repo.backend.list("packs"))

    def __call__(self, blob: str) -> bool:
        entry = self._index.get(blob)
        return entry is not None and blob in self._index and entry.pack in self._packs


@dataclass(frozen=True)
class LostPath:
    """A path of a snapshot whose data is lost."""

    path: str
    what: str  # "file" (removed) or "directory" (kept empty)
    blob: str  # the first lost blob: a data blob, or the directory's tree
    size: int = 0  # a removed file's size


@dataclass(frozen=True)
class Walked:
    """The trees of one snapshot: each loadable tree by id, and the lost ones."""

    trees: dict[str, Tree]
    order: tuple[str, ...]  # loadable tree ids, every subtree before its parent
    lost_trees: frozenset[str]


def find_lost(repo: Repository, root: str, available: Callable[[str], bool]) -> Walked:
    """Load every tree below ``root`` once (iteratively: any depth)."""
    trees: dict[str, Tree] = {}
    lost: set[str] = set()
    order: list[str] = []
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        tree_id, expanded = stack.pop()
        if expanded:
            order.append(tree_id)
            continue
        if tree_id in trees or tree_id in lost:
            continue
        tree = _load(repo, tree_id) if available(tree_id) else None
        if tree is None:
            lost.add(tree_id)
            continue
        trees[tree_id] = tree
        stack.append((tree_id, True))
        stack.extend((n.subtree, False) for n in tree.nodes if n.type == NODE_DIR and n.subtree)
    return Walked(trees, tuple(order), frozenset(lost))


def _load(repo: Repository, tree_id: str) -> Tree | None:
    try:
        return repo.load_tree(tree_id)
    except IntegrityError:
        return None


def rewrite_tree(repo: Repository, root: str, save_tree: SaveTree,
                 available: Callable[[str], bool]) -> tuple[str | None, tuple[LostPath, ...]]:
    """The repaired root tree id (``root`` itself when nothing is lost; None when the root
    is lost) and every lost path, in tree order."""
    walked = find_lost(repo, root, available)
    if root in walked.lost_trees:
        return None, (LostPath("/", "directory", root),)
    done: dict[str, tuple[str, tuple[tuple[str, str, str, int], ...]]] = {}
    empty: list[str] = []

    def empty_tree() -> str:
        if not empty:
            empty.append(save_tree(Tree()))
        return empty[0]

    for tree_id in walked.order:
        nodes: list[Node] = []
        lost: list[tuple[str, str, str, int]] = []
        for node in walked.trees[tree_id].nodes:
            if node.type == NODE_FILE:
                blob = next((b for b in node.content if not available(b)), None)
                if blob is not None:
                    lost.append((node.name, "file", blob, node.size))
                    continue
            elif node.type == NODE_DIR and node.subtree:
                sub = node.subtree
                if sub in walked.lost_trees:
                    lost.append((node.name, "directory", sub, 0))
                    node = replace(node, subtree=empty_tree())
                else:
                    new_id, below = done[sub]
                    lost.extend((node.name + "/" + p, w, b, n) for p, w, b, n in below)
                    if new_id != sub:
                        node = replace(node, subtree=new_id)
            nodes.append(node)
        new_tree = save_tree(Tree(tuple(nodes))) if lost else tree_id
        done[tree_id] = (new_tree, tuple(lost))
    new_root, lost_paths = done[root]
    return new_root, tuple(LostPath(child_path("/", p), w, b, n) for p, w, b, n in lost_paths)


def repaired_manifest(sid: str, snap: Snapshot, tree: str,
                      lost: tuple[LostPath, ...]) -> Snapshot:
    """The manifest of the repaired copy of snapshot ``sid``: its summary's totals less the
    removed files (what emptied directories held is not known any more)."""
    tags = snap.tags if REPAIRED_TAG in snap.tags else (*snap.tags, REPAIRED_TAG)
    files = [p for p in lost if p.what == "file"]
    summary = replace(snap.summary,
                      total_files=max(0, snap.summary.total_files - len(files)),
                      total_bytes=max(0, snap.summary.total_bytes - sum(p.size for p in files)))
    notes = [f"{NOTE}{sid}: {len(lost)} path(s) lost (files removed, directories emptied)"]
    notes += [f"lost {p.what}: {p.path}" for p in lost]
    return replace(snap, tree=tree, tags=tags, summary=summary,
                   warnings=(*snap.warnings, *notes))


def repaired_from(snap: Snapshot) -> str | None:
    """The id of the snapshot ``snap`` is a repaired copy of, if it is one."""
    if REPAIRED_TAG not in snap.tags:
        return None
    for warning in reversed(snap.warnings):
        if warning.startswith(NOTE):
            return warning[len(NOTE):].split(":", 1)[0]
    return None


def uses_any(repo: Repository, root: str, blobs: frozenset[str],
             memo: dict[str, bool]) -> bool:
    """Whether the trees below ``root`` reference any of ``blobs`` (or cannot be read);
    ``memo`` (tree id → answer) is shared between calls."""
    if root in blobs:
        return True
    walked = find_lost(repo, root, lambda blob: blob not in blobs)
    for tree_id in walked.order:
        if tree_id in memo:
            continue
        hit = False
        for node in walked.trees[tree_id].nodes:
            if node.type == NODE_FILE and any(b in blobs for b in node.content):
                hit = True
            elif node.type == NODE_DIR and node.subtree:
                sub = node.subtree
                hit = sub in blobs or sub in walked.lost_trees or memo.get(sub, False)
            if hit:
                break
        memo[tree_id] = hit
    return root in walked.lost_trees or memo.get(root, False)
