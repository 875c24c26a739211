"""The one walk over everything the snapshots reach, shared by ``check`` and ``prune``.

:func:`walk_reachable` visits every tree object reachable from a set of snapshot roots exactly
once — a subtree shared by many snapshots, or appearing twice in one, is visited the first time
only — iteratively (an explicit stack, so any depth walks in constant Python stack). What a
visit does is the caller's: ``check`` verifies the tree and its file nodes and reports what is
missing, ``prune`` collects the blobs it must keep. The visit returns the subtrees to descend
into, so a caller can refuse to descend (``check`` does not go below an unsafe name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

#: ``(snapshot id, tree id, path of the tree's directory)`` → the ``(subtree id, path)`` pairs
#: to visit next.
Visit = Callable[[str, str, str], Iterable[tuple[str, str]]]


def walk_reachable(roots: Iterable[tuple[str, str]], visit: Visit) -> int:
    """Call ``visit`` once for each tree reachable from ``roots`` (``(snapshot id, root tree
    id)`` pairs, consumed one at a time, so a generator may load each snapshot lazily); the
    path of a root is ``"/"``. Returns how many trees were visited."""
    seen: set[str] = set()
    for snapshot_id, root in roots:
        stack: list[tuple[str, str]] = [(root, "/")]
        while stack:
            tree_id, where = stack.pop()
            if tree_id in seen:
                continue
            seen.add(tree_id)
            stack.extend(visit(snapshot_id, tree_id, where))
    return len(seen)


def child_path(where: str, name: str) -> str:
    """The path of entry ``name`` in the directory at ``where`` (``"/"`` for the root)."""
    return where.rstrip("/") + "/" + name
