"""The one walk over a stored snapshot tree, shared by restore, export, ls and diff.

``iter_tree`` yields ``(parts, node, leaving)`` in pre-order (a directory before its
contents, entries sorted by name) and a second time with ``leaving=True`` after a
directory's contents, so sinks can set directory metadata last. Every name is checked: a
stored name that could escape its directory (``..``, a separator, NUL, empty) raises
:class:`UnsafeName` — whatever a manifest holds, no consumer ever sees such a path.

Given ``on_damage``, a directory whose tree cannot be loaded (a damaged or missing blob) is
neither yielded nor entered: it goes to ``on_damage`` and the walk goes on with the rest, so
restore and export can write what is intact and list what is not (:class:`Failed`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, Node, Tree
from snapkit.format.paths import join_path

TreeLoader = Callable[[str], Tree]
#: The one content reader every sink uses: a file's blobs (its ``content`` ids), in order,
#: each verified against its id — ``Repository.read_blobs``, which reads them pack by pack.
BlobReader = Callable[[Sequence[str]], Iterator[bytes]]
Parts = tuple[str, ...]
#: Told about a directory whose tree cannot be loaded: its path, its node and the error.
OnDamage = Callable[[Parts, Node, IntegrityError], None]


@dataclass(frozen=True)
class Failed:
    """An entry a sink could not write because the repository is damaged."""

    path: str  # where it would have gone: the restore's destination, the archive's entry name
    type: str  # "file", or "dir" for a directory whose listing cannot be read
    reason: str


class UnsafeName(IntegrityError):
    """A stored name that would escape its directory."""


_WINDOWS = os.name == "nt"


def check_name(name: str, parts: Parts) -> None:
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\0" in name
        # A backslash or a drive spec is an ordinary name on POSIX, a separator on Windows.
        or (_WINDOWS and "\\" in name)
        or (_WINDOWS and len(name) == 2 and name[1] == ":" and parts)
    ):
        shown = "/".join((*parts, repr(name)))
        raise UnsafeName(f"snapshot holds an unsafe path name {shown}; refusing to use it "
                         "(the repository may have been tampered with — run `snapkit check`)")


def iter_tree(
    load_tree: TreeLoader, tree_id: str, prefix: Parts = (), on_damage: OnDamage | None = None
) -> Iterator[tuple[Parts, Node, bool]]:
    """Pre-order walk with leave events for directories (see the module docstring).

    Iterative — an explicit stack of open directory listings — so a tree of any depth walks
    in constant Python stack. The root tree must load (its error is raised even with
    ``on_damage``).
    """
    stack: list[tuple[Parts, Node | None, Iterator[Node]]] = [
        (prefix, None, iter(load_tree(tree_id).nodes))
    ]
    while stack:
        parts_above, dir_node, children = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if dir_node is not None:
                yield parts_above, dir_node, True
            continue
        check_name(node.name, parts_above)
        parts = (*parts_above, node.name)
        if node.type == NODE_DIR and node.subtree and on_damage is not None:
            try:
                nodes = load_tree(node.subtree).nodes
            except IntegrityError as exc:
                on_damage(parts, node, exc)
                continue
            yield parts, node, False
            stack.append((parts, node, iter(nodes)))
            continue
        yield parts, node, False
        if node.type == NODE_DIR:
            if node.subtree:
                stack.append((parts, node, iter(load_tree(node.subtree).nodes)))
            else:
                yield parts, node, True


#: The absolute path an entry had on its machine ("C:" first component = a drive).
original_path = join_path


Entry = tuple[Parts, Node, bool]


def select_entries(
    entries: list[Entry], select: Callable[[Parts, Node], bool], keep_dirs: bool
) -> list[Entry]:
    """Filter a walk: selected files and links plus the directories leading to them.

    A directory ``select`` rejects is not descended into. ``keep_dirs`` also keeps directories
    that pass ``select`` themselves even when nothing inside is selected (exclude-only
    filters); with include patterns a passing directory may only lead to matches.
    """
    keep: set[Parts] = set()
    pruned: Parts | None = None
    for parts, node, leaving in entries:
        if leaving:
            continue
        if pruned is not None and parts[: len(pruned)] == pruned:
            continue
        pruned = None
        is_dir = node.type == NODE_DIR
        if not select(parts, node):
            if is_dir:
                pruned = parts
            continue
        if not is_dir or keep_dirs:
            keep.update(parts[:i] for i in range(1, len(parts) + 1))
    return [e for e in entries if e[0] in keep]


def damage_selected(parts: Parts, select: Callable[[Parts, Node], bool]) -> bool:
    """Whether a damaged directory at ``parts`` is one a filtered walk would have gone into:
    ``select`` passes it and each directory above it (as :func:`select_entries` descends)."""
    return all(select(parts[:i], Node(parts[i - 1], NODE_DIR, 0, 0))
               for i in range(1, len(parts) + 1))


def or_empty(load_tree: TreeLoader, damaged: list[str]) -> TreeLoader:
    """``load_tree`` that gives an empty tree for one that cannot be loaded (its id appended
    to ``damaged``): for the look-ups beside a tolerant walk, which reports the damage."""
    def load(tree_id: str) -> Tree:
        try:
            return load_tree(tree_id)
        except IntegrityError:
            damaged.append(tree_id)
            return Tree()

    return load


def find_node(load_tree: TreeLoader, root: str, parts: Parts) -> Node | None:
    """The node at ``parts`` below the root tree, or None."""
    tree_id: str | None = root
    node: Node | None = None
    for name in parts:
        if tree_id is None:
            return None
        node = load_tree(tree_id).by_name().get(name)
        if node is None:
            return None
        tree_id = node.subtree if node.type == NODE_DIR else None
    return node
