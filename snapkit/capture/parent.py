"""The parent snapshot as the snapshot builder reads it, one directory at a time.

:class:`ParentTrees` gives the entries of a parent's tree by name, as their stored maps
(:mod:`snapkit.format.raw_tree`), and its id when a tree of the same maps would have that id;
a tree not in the index, or found damaged, gives nothing, so the files below it are read
again. A :class:`Frame` is a directory being built next to the parent's entries for it;
:func:`keep` adds a node as the parent's very map when it equals it in every field, and
:func:`same_owner_mode` says whether a file the files cache keeps unread keeps its node too.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field

from snapkit.capture.nodes import owner_name
from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, Node, encode_node
from snapkit.format.raw_tree import RawNode, decode_tree_raw
from snapkit.store.repository import Repository

#: os.fsdecode of a stored name, as one C call per name
_FS_ENCODING = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


@dataclass
class Frame:
    """A directory being built: its nodes so far and the parent's entries for it."""

    nodes: list[Node | RawNode]  # a map: the parent's entry, equal in every field
    parent: dict[str, RawNode]  # the parent's entries, as stored
    names: frozenset[str] | None = None  # the directory's listing (None: a lone source file)
    skip: set[str] = field(default_factory=set)  # sidecars of databases already captured
    #: the parent's tree of this directory, when it was read and is in the index
    old_subtree: str | None = None
    same: int = 0  # entries appended as the parent's very node (equal in every field)


def keep(frame: Frame, node: Node) -> None:
    """Add ``node`` to the directory: as the parent's map when it equals it in every field."""
    old = frame.parent.get(node.name)
    if old is not None and old == encode_node(node):
        frame.nodes.append(old)
        frame.same += 1
    else:
        frame.nodes.append(node)


def same_owner_mode(old: RawNode, st: os.stat_result) -> bool:
    """An unchanged file's new node would be ``old`` (the files cache compared the rest)."""
    return bool(old["mode"] == stat.S_IMODE(st.st_mode) and old["uid"] == st.st_uid
                and old["gid"] == st.st_gid and old["user"] == owner_name("u", st.st_uid)
                and old["group"] == owner_name("g", st.st_gid))


class ParentTrees:
    """The parent snapshot's trees, read as the builder reaches them (none kept after)."""

    def __init__(self, repo: Repository, warnings: list[str]) -> None:
        self.repo = repo
        self.warnings = warnings  # the snapshot's: a tree found damaged is noted there

    def tree(self, tree_id: str) -> tuple[dict[str, RawNode], str | None]:
        """The entries of the parent's tree ``tree_id`` by name, as stored, and the id when
        the same entries make the same id (None: the tree itself may not be reused)."""
        if tree_id not in self.repo.index:  # unknown, or known damaged
            return {}, None
        try:
            nodes, canonical = decode_tree_raw(self.repo.load_blob(tree_id))
        except IntegrityError as exc:  # found damaged now (and recorded): read this part again
            self.warnings.append(f"the parent snapshot's tree {tree_id} cannot be read "
                                 f"({exc.message}); the files below it were read again")
            return {}, None
        enc, err = _FS_ENCODING
        return {d["name"].decode(enc, err): d for d in nodes}, tree_id if canonical else None

    def of_dir(self, old: RawNode | None) -> tuple[dict[str, RawNode], str | None]:
        """:meth:`tree` of the directory whose parent's node is ``old`` (nothing when it
        is none, or not a directory with a tree)."""
        if old is None or old["type"] != NODE_DIR or not old["subtree"]:
            return {}, None
        return self.tree(old["subtree"].hex())
