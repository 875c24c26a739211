"""The parent snapshot as the snapshot builder reads it, one directory at a time.

:class:`ParentTrees` gives the entries of a parent's tree by name, as their stored maps
(:mod:`snapkit.format.raw_tree`), and its id when a tree of the same maps would have that id;
a tree not in the index, or found damaged, gives nothing, so the files below it are read
again. A :class:`Frame` is a directory being built next to the parent's entries for it;
:func:`keep` adds a node as the parent's very map when it equals it in every field, and
:func:`same_owner_mode` says whether a file the files cache keeps unread keeps its node too.
:func:`all_kept` asks the files cache's question of a whole batch of a directory's files at
once, in a few passes of C-level operations (no Python code per file) — the common case of an
unchanged directory; any other answer sends the batch through the builder file by file.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter, itemgetter
from typing import cast

from snapkit.capture.nodes import owner_name
from snapkit.capture.sqlite import WAL
from snapkit.capture.walk import Files
from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, NODE_FILE, Node, encode_node
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
    no_wal: bool | None = None  # no name in the listing ends with -wal (None: not looked)
    #: the parent's tree, not read yet: the directory may be that tree as it is (its files'
    #: digest is cached), and ``pending`` holds its batches of files until that is known
    lazy: str | None = None
    pending: list[Files] | None = None

    def without_wal(self) -> bool:
        """No name of the directory ends with ``-wal``: no file has a ``-wal`` beside it."""
        if self.no_wal is None:
            self.no_wal = (self.names is not None
                           and WAL + "\0" not in "\0".join(self.names) + "\0")
        return self.no_wal


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


_NAME, _STAT = itemgetter(0), itemgetter(1)
_OLD = itemgetter("size", "mtime", "ctime", "inode", "uid", "gid")
_NOW = attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino", "st_uid", "st_gid")
_MODE, _ST_MODE, _TYPE, _HASH = itemgetter("mode"), attrgetter("st_mode"), itemgetter("type"), \
    itemgetter("hash")
_OWNER, _CONTENT, _SIZE = itemgetter("uid", "user", "gid", "group"), itemgetter("content"), \
    itemgetter("size")


def all_kept(items: list[tuple[str, os.stat_result]], frame: Frame,
             listed: Callable[[str], bool]) -> tuple[list[RawNode], int] | None:
    """The parent's maps of the regular files ``items`` (name, lstat) and their bytes, when
    each file keeps its map as it is: a file in the parent, same size, mtime, ctime, inode,
    mode and owner, hashed, every chunk ``listed`` (in the index, not known damaged). None
    when any does not. The caller knows the rest of the files cache's question: no -wal in
    the directory, no database the parent copied, no sidecar to skip, no ``--force``."""
    found = list(map(frame.parent.get, map(_NAME, items)))
    if None in found:
        return None
    olds = cast("list[RawNode]", found)
    stats = list(map(_STAT, items))
    if (list(map(_OLD, olds)) != list(map(_NOW, stats))
            or list(map(_MODE, olds)) != list(map(stat.S_IMODE, map(_ST_MODE, stats)))
            or list(map(_TYPE, olds)).count(NODE_FILE) != len(olds)
            or None in list(map(_HASH, olds))):
        return None
    try:
        owners = set(map(_OWNER, olds))
    except TypeError:  # an owner's name that is no string: left to the file-by-file test
        return None
    if any(owner_name("u", uid) != user or owner_name("g", gid) != group
           for uid, user, gid, group in owners):
        return None
    if not all(map(listed, map(bytes.hex, chain.from_iterable(map(_CONTENT, olds))))):
        return None
    return olds, sum(map(_SIZE, olds))
