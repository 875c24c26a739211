"""Comparison of two stored trees, and of a stored tree with the live filesystem.

``diff_trees`` is a pure function over tree objects: it takes only a ``load_tree`` callable,
and it skips every subtree whose id is equal on both sides, so comparing two snapshots of a
big tree costs time proportional to what changed. Changes carry restic-style markers:

``+`` added, ``-`` removed, ``M`` content modified, ``T`` type changed, ``U`` metadata only
(mode, owner, mtime). A directory's own mtime is not reported (it moves with every change
inside); its mode and owner are.

``diff_live`` compares a snapshot with what is on disk now, taking entries from the same walk
(and rules) that a snapshot would; metadata first, and with ``content=True`` the files whose
metadata differs are hashed and reported only if their bytes really changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from snapkit.capture.files_cache import FileMeta, Verdict, decide, wal_mtime
from snapkit.capture.nodes import node_from_stat
from snapkit.capture.sqlite import copy as sqlite_copy
from snapkit.capture.sqlite import is_unstored_sidecar, temp_file
from snapkit.capture.walk import Enter, File, Leave, Link, Matcher, walk
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, Tree, file_hasher
from snapkit.read.treewalk import Parts, check_name, find_node, original_path
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy

TreeLoader = Callable[[str], Tree]
#: added, removed, content modified, type changed, metadata only
Marker = Literal["+", "-", "M", "T", "U"]


@dataclass(frozen=True)
class Change:
    marker: Marker
    path: str
    old: Node | None
    new: Node | None

    @property
    def is_dir(self) -> bool:
        node = self.new or self.old
        return node is not None and node.type == NODE_DIR


@dataclass(frozen=True)
class DiffStats:
    """How many entries each kind of change touched, and the file bytes on each side."""

    added: int = 0
    removed: int = 0
    modified: int = 0
    type_changed: int = 0
    metadata: int = 0
    added_bytes: int = 0
    removed_bytes: int = 0
    modified_old_bytes: int = 0
    modified_new_bytes: int = 0


class DiffTally:
    """Counts changes as they stream by (a diff is reported while it is found);
    :meth:`stats` is the frozen total."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(DiffStats.__dataclass_fields__, 0)

    def count(self, c: Change) -> None:
        counts = self._counts
        old = c.old.size if c.old and c.old.type == NODE_FILE else 0
        new = c.new.size if c.new and c.new.type == NODE_FILE else 0
        if c.marker == "+":
            counts["added"] += 1
            counts["added_bytes"] += new
        elif c.marker == "-":
            counts["removed"] += 1
            counts["removed_bytes"] += old
        elif c.marker in ("M", "T"):
            counts["modified" if c.marker == "M" else "type_changed"] += 1
            counts["modified_old_bytes"] += old
            counts["modified_new_bytes"] += new
        else:
            counts["metadata"] += 1

    def stats(self) -> DiffStats:
        return DiffStats(**self._counts)


def diff_stats(changes: Iterable[Change]) -> DiffStats:
    """The totals of ``changes`` (pure)."""
    tally = DiffTally()
    for c in changes:
        tally.count(c)
    return tally.stats()


def _meta_differs(a: Node, b: Node, with_mtime: bool) -> bool:
    if (a.mode, a.uid, a.gid) != (b.mode, b.uid, b.gid):
        return True
    return with_mtime and a.mtime_ns != b.mtime_ns


def _content_differs(a: Node, b: Node) -> bool:
    if a.type == NODE_FILE:
        if a.size != b.size:
            return True
        if a.hash and b.hash:
            return a.hash != b.hash
        return a.content != b.content
    if a.type == NODE_SYMLINK:
        return a.target != b.target
    return False


def _all(load_tree: TreeLoader, node: Node, parts: Parts, marker: Marker,
         new_side: bool) -> Iterator[Change]:
    """Every entry of an added or removed subtree, the directory first (iterative)."""
    stack: list[tuple[Node, Parts]] = [(node, parts)]
    while stack:
        node, parts = stack.pop()
        yield Change(marker, original_path(parts), None if new_side else node,
                     node if new_side else None)
        if node.type == NODE_DIR and node.subtree:
            children = load_tree(node.subtree).nodes
            for child in children:
                check_name(child.name, parts)
            stack.extend((child, (*parts, child.name)) for child in reversed(children))


#: A unit of pending diff work: a change ready to yield, a whole subtree added or removed
#: (``marker``, its node, its parts, new side?), or two trees to compare.
_Work = (tuple[Literal["change"], Change]
         | tuple[Literal["all"], Marker, Node, Parts, bool]
         | tuple[Literal["trees"], str | None, str | None, Parts])


def diff_trees(
    load_tree: TreeLoader, old_tree: str | None, new_tree: str | None, prefix: Parts = ()
) -> Iterator[Change]:
    """Changes from ``old_tree`` to ``new_tree`` in path order (see the module docstring).

    Iterative — a stack of pending work, expanded lazily — so trees of any depth diff in
    constant Python stack and an added subtree streams instead of being listed first.
    """
    stack: list[_Work] = [("trees", old_tree, new_tree, prefix)]
    while stack:
        item = stack.pop()
        if item[0] == "change":
            yield item[1]
        elif item[0] == "all":
            yield from _all(load_tree, item[2], item[3], item[1], item[4])
        elif item[1] != item[2]:
            stack.extend(reversed(_expand(load_tree, item[1], item[2], item[3])))


def _expand(load_tree: TreeLoader, old_id: str | None, new_id: str | None,
            parts_above: Parts) -> list[_Work]:
    """The work one pair of trees gives, in path order."""
    old = {n.name: n for n in load_tree(old_id).nodes} if old_id else {}
    new = {n.name: n for n in load_tree(new_id).nodes} if new_id else {}
    work: list[_Work] = []
    for name in sorted(old.keys() | new.keys(), key=os.fsencode):
        check_name(name, parts_above)
        parts = (*parts_above, name)
        a, b = old.get(name), new.get(name)
        if a is None and b is not None:
            work.append(("all", "+", b, parts, True))
        elif b is None and a is not None:
            work.append(("all", "-", a, parts, False))
        elif a is not None and b is not None:
            work.extend(_compare(a, b, parts))
    return work


def _compare(a: Node, b: Node, parts: Parts) -> list[_Work]:
    """The work one entry present on both sides gives."""
    path = original_path(parts)
    if a.type != b.type:
        out: list[_Work] = [("change", Change("T", path, a, b))]
        if a.type == NODE_DIR and a.subtree:
            out.append(("trees", a.subtree, None, parts))
        if b.type == NODE_DIR and b.subtree:
            out.append(("trees", None, b.subtree, parts))
        return out
    if a.type == NODE_DIR:
        out = []
        if _meta_differs(a, b, with_mtime=False):
            out.append(("change", Change("U", path, a, b)))
        if a.subtree != b.subtree:
            out.append(("trees", a.subtree, b.subtree, parts))
        return out
    if _content_differs(a, b):
        return [("change", Change("M", path, a, b))]
    if _meta_differs(a, b, with_mtime=True):
        return [("change", Change("U", path, a, b))]
    return []


# ------------------------------------------------------------------ against the live tree


def hash_file(path: str) -> str | None:
    """xxh3-128 of a file's content, or None if it cannot be read."""
    hasher = file_hasher()
    try:
        with open(path, "rb") as f:
            while block := f.read(1024 * 1024):
                hasher.update(block)
    except OSError:
        return None
    return hasher.hexdigest()


def live_entries(
    sources: tuple[str, ...],
    matcher_for: Callable[[str], tuple[Matcher | None, str]],
    symlinks: SymlinkPolicy,
    sqlite: SqlitePolicy = "backup-api",
) -> dict[str, Node]:
    """Path → node (metadata only) of what a snapshot would select now."""
    out: dict[str, Node] = {}
    for src in sources:
        matcher, _ = matcher_for(src)
        listings: list[frozenset[str]] = []
        for event in walk(src, matcher):
            if isinstance(event, File):
                e = event.entry
                if listings and is_unstored_sidecar(e.path, listings[-1], sqlite):
                    continue
                out[e.path] = node_from_stat(os.path.basename(e.path), NODE_FILE, e.st)
            elif isinstance(event, Enter):
                e = event.entry
                listings.append(event.names)
                out[e.path] = node_from_stat(os.path.basename(e.path), NODE_DIR, e.st)
            elif isinstance(event, Leave):
                listings.pop()
            elif isinstance(event, Link) and symlinks == "record":
                e = event.entry
                out[e.path] = node_from_stat(os.path.basename(e.path), NODE_SYMLINK, e.st,
                                          target=e.target)
    return out


def stored_entries(load_tree: TreeLoader, root: str, sources: tuple[str, ...],
                   split: Callable[[str], Parts]) -> dict[str, Node]:
    """Path → node of a snapshot's entries at and below its sources."""
    out: dict[str, Node] = {}
    for src in sources:
        parts = split(src)
        node = find_node(load_tree, root, parts)
        if node is not None:
            out[original_path(parts)] = node
            if node.type == NODE_DIR and node.subtree:
                for change in _all(load_tree, node, parts, "+", True):
                    if change.new is not None:
                        out[change.path] = change.new
    return out


def _database_changed(path: str, a: Node, b: Node, since_ns: int, content: bool) -> bool:
    """Whether a database stored as a consistent copy changed on disk since the snapshot.

    Its stored size and hash are the copy's, not the file's, so they are not compared with
    the disk: the files cache decides (:func:`snapkit.capture.files_cache.decide`, the rule the
    snapshot builder applies). A ``-wal`` written within the cache's slack of the snapshot's
    start may or may not hold commits the copy lacks; that, and ``content``, is settled by
    hashing a fresh consistent copy.
    """
    verdict = decide(FileMeta.of_node(a), FileMeta.of_node(b), copied=True,
                     wal=wal_mtime(path), since_ns=since_ns)
    if verdict is Verdict.UNCHANGED:
        return False
    if (verdict is Verdict.CHANGED and not content) or not a.hash:
        return True
    with temp_file("snapkit-diff-") as tmp:
        try:
            sqlite_copy(path, tmp)
        except Exception:  # a copy that fails is a change we cannot rule out
            return True
        return hash_file(tmp) != a.hash


def diff_live(
    stored: dict[str, Node],
    live: dict[str, Node],
    content: bool,
    databases: frozenset[str] = frozenset(),
    since_ns: int = 0,
) -> Iterator[Change]:
    """Changes from a snapshot (``stored``) to the live tree (``live``), in path order.

    ``databases`` are the paths the snapshot stored as consistent SQLite copies and
    ``since_ns`` its time (see :func:`_database_changed`).
    """
    for path in sorted(stored.keys() | live.keys(), key=os.fsencode):
        a, b = stored.get(path), live.get(path)
        if a is None and b is not None:
            yield Change("+", path, None, b)
        elif b is None and a is not None:
            yield Change("-", path, a, None)
        elif a is not None and b is not None:
            if a.type != b.type:
                yield Change("T", path, a, b)
            elif a.type == NODE_DIR:
                if _meta_differs(a, b, with_mtime=False):
                    yield Change("U", path, a, b)
            elif a.type == NODE_SYMLINK:
                if a.target != b.target:
                    yield Change("M", path, a, b)
            elif path in databases:
                if _database_changed(path, a, b, since_ns, content):
                    yield Change("M", path, a, b)
            elif a.size != b.size:
                yield Change("M", path, a, b)
            elif a.mtime_ns != b.mtime_ns or a.mode != b.mode:
                if content and a.hash:
                    if hash_file(path) != a.hash:
                        yield Change("M", path, a, b)
                    else:
                        yield Change("U", path, a, b)
                else:
                    yield Change("M" if a.mtime_ns != b.mtime_ns else "U", path, a, b)
