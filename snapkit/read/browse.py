"""Looking inside snapshots: resolve a path, list a directory, find by glob.

All of it walks stored trees through a ``load_tree`` callable (a file's content is read with
``Repository.read_blobs``, the one content reader); nothing is restored to disk. ``find``
caches what it found per (path, subtree id), so an unchanged directory shared by many
snapshots is searched once. A path is absolute, or relative to one of the snapshot's sources;
:func:`source_patterns` gives the patterns of ``restore --include/--exclude`` the same rule.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from snapkit.format.errors import UsageError
from snapkit.format.model import NODE_DIR, Node, Snapshot, Tree
from snapkit.format.paths import split_path
from snapkit.read.treewalk import Parts, check_name, find_node, iter_tree, original_path
from snapkit.select.rules import path_matches

TreeLoader = Callable[[str], Tree]
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]!#])")


def resolve_path(load_tree: TreeLoader, snap: Snapshot, path: str) -> tuple[Parts, Node]:
    """The stored entry at ``path``: absolute, or relative to one of the snapshot's sources."""
    candidates: list[Parts] = []
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        candidates.append(split_path(posixpath.normpath(path) if path.startswith("/") else path))
    else:
        rel = tuple(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))
        candidates.extend((*split_path(src), *rel) for src in snap.sources)
    for parts in candidates:
        node = _lookup(load_tree, snap.tree, parts)
        if node is not None:
            return parts, node
    raise UsageError(f"{path} is not in the snapshot; list what is with `snapkit ls`")


def source_patterns(patterns: Sequence[str], sources: Sequence[str]) -> tuple[str, ...]:
    """Gitignore-style patterns matched against absolute paths, with relative ones also
    anchored at each source, as :func:`resolve_path` takes a relative path.

    A pattern that is not absolute (``credentials/oauth.json``, ``*.json``, ``!x``) stays as
    written — a name without an inner ``/`` still matches at any depth — and is followed by a
    copy anchored at each source (``/home/me/.openclaw/credentials/oauth.json``), the source
    path escaped so that its own ``*``, ``?`` or ``[`` match literally. A leading ``./`` is
    dropped. Absolute patterns are kept as they are.
    """
    out: list[str] = []
    for pattern in patterns:
        bang, body = ("!", pattern[1:]) if pattern.startswith("!") else ("", pattern)
        if body.startswith("/") or (len(body) > 1 and body[1] == ":"):
            out.append(pattern)
            continue
        while body.startswith("./"):
            body = body[2:].lstrip("/")
        out.append(bang + body)
        for src in sources:
            base = "/" + "/".join(split_path(src))
            out.append(bang + _GLOB_SPECIAL.sub(r"\\\1", base).rstrip("/") + "/" + body)
    return tuple(out)


def unmatched_patterns(load_tree: TreeLoader, snap: Snapshot,
                       patterns: Sequence[str]) -> list[str]:
    """The patterns (as written; ``!`` ones are not looked at) that name no entry of the
    snapshot, tried as :func:`source_patterns` expands them."""
    tests = {p: [path_matches(x) for x in source_patterns([p], snap.sources)]
             for p in patterns if not p.startswith("!")}
    for parts, node, leaving in iter_tree(load_tree, snap.tree):
        if not tests:
            break
        if leaving:
            continue
        path, is_dir = original_path(parts), node.type == NODE_DIR
        for pattern in [p for p, t in tests.items() if any(m(path, is_dir) for m in t)]:
            del tests[pattern]
    return [p for p in patterns if p in tests]


def _lookup(load_tree: TreeLoader, root: str, parts: Parts) -> Node | None:
    if not parts:
        return Node("", NODE_DIR, 0o755, 0, subtree=root)
    return find_node(load_tree, root, parts)


def list_entries(
    load_tree: TreeLoader, parts: Parts, node: Node, recursive: bool
) -> Iterator[tuple[str, Node]]:
    """(absolute path, node) of a directory's entries (or the entry itself if not a dir)."""
    if node.type != NODE_DIR:
        yield original_path(parts), node
        return
    if not node.subtree:
        return
    if not recursive:
        for child in load_tree(node.subtree).nodes:
            check_name(child.name, parts)
            yield original_path((*parts, child.name)), child
        return
    for child_parts, child, leaving in iter_tree(load_tree, node.subtree, parts):
        if not leaving:
            yield original_path(child_parts), child


@dataclass(frozen=True)
class Found:
    snapshot_id: str
    snapshot: Snapshot
    path: str
    node: Node


def find(
    load_tree: TreeLoader,
    snapshots: Sequence[tuple[str, Snapshot]],
    select: Callable[[str, bool], bool],
) -> Iterator[Found]:
    """Entries whose absolute path ``select`` accepts, snapshot by snapshot (oldest first)."""
    cache: dict[tuple[Parts, str], list[tuple[str, Node]]] = {}

    def search(parts: Parts, tree_id: str) -> list[tuple[str, Node]]:
        """Matches below one tree, in walk order; iterative, and each (place, subtree) pair is
        searched once across snapshots."""
        results: dict[tuple[Parts, str], list[tuple[str, Node]]] = {}
        # (parts, tree id, child index to go on at, resuming after that child's subtree?,
        #  matches so far)
        stack: list[tuple[Parts, str, int, bool, list[tuple[str, Node]]]] = [
            (parts, tree_id, 0, False, [])
        ]
        while stack:
            here, tid, start, resumed, found = stack.pop()
            key = (here, tid)
            hit = cache.get(key)
            if hit is not None and not resumed:
                results[key] = hit
                continue
            nodes = load_tree(tid).nodes
            for i in range(start, len(nodes)):
                child = nodes[i]
                child_parts = (*here, child.name)
                is_dir = child.type == NODE_DIR
                if not (resumed and i == start):
                    check_name(child.name, here)
                    path = original_path(child_parts)
                    if select(path, is_dir):
                        found.append((path, child))
                if is_dir and child.subtree:
                    sub = (child_parts, child.subtree)
                    below = results.pop(sub, None)
                    if below is None:
                        below = cache.get(sub)
                    if below is None:
                        # Go on at this child once its subtree has been searched.
                        stack.append((here, tid, i, True, found))
                        stack.append((child_parts, child.subtree, 0, False, []))
                        break
                    found.extend(below)
            else:
                cache[key] = found
                results[key] = found
        return results[(parts, tree_id)]

    for sid, snap in snapshots:
        for path, node in search((), snap.tree):
            yield Found(sid, snap, path, node)
