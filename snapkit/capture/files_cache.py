"""The files cache: may a file keep the parent snapshot's content without being read?

The parent snapshot is the cache. A file keeps its parent node's chunk list when
:func:`decide` says :attr:`Verdict.UNCHANGED`; the snapshot builder reads every other file,
and the live diff (``snapkit diff SNAPSHOT``) reports it. Both ask this module, so they
cannot disagree. The decision is pure — it takes what ``lstat`` said, never a path — and
table-tested (``tests/test_files_cache.py``); :func:`wal_mtime` is the one look at the disk
it needs, done by the caller.

The rule (``docs/design.md``, "Live databases and the files cache"):

1. the file must be the same regular file, unmodified: type, size, mtime, ctime and inode
   equal. For a database the parent stored as a consistent copy (``copied``), size is not
   compared — the node's size is the copy's — and mtime and ctime carry the signal;
2. in WAL mode a commit appends to the ``-wal`` without touching the main file, so a file
   with a ``-wal`` beside it is unchanged only when that ``-wal`` was last written more than
   :data:`WAL_SLACK_NS` before the parent snapshot started (the slack covers filesystems with
   coarse timestamps, whose mtime can read up to 2 s earlier than the write). A ``-wal``
   written after that start is :attr:`~Verdict.CHANGED`; one within the slack, or one whose
   ``lstat`` failed, is :attr:`~Verdict.UNSURE`: its commits may or may not be in the copy.

The snapshot builder reads the file again unless the verdict is ``UNCHANGED``. The live diff
settles ``UNSURE`` by hashing a fresh consistent copy (as ``--content`` does for a changed
database), so it reports exactly the databases whose content moved.
"""

from __future__ import annotations

import enum
import os
import stat
from typing import Literal, NamedTuple

from snapkit.capture.sqlite import WAL
from snapkit.format.model import NODE_FILE, Node

#: How much earlier than the write a ``-wal``'s mtime may read (FAT's 2 s resolution).
WAL_SLACK_NS = 2_000_000_000
#: A ``-wal`` exists beside the file but its ``lstat`` failed.
WAL_UNKNOWN: Literal["unknown"] = "unknown"
#: A ``-wal``'s mtime (ns), None when there is none, or :data:`WAL_UNKNOWN`.
WalState = int | None | Literal["unknown"]


class Verdict(enum.Enum):
    UNCHANGED = "unchanged"  # keep the parent's content unread
    CHANGED = "changed"  # the file moved on
    UNSURE = "unsure"  # the -wal may hold commits the parent's copy lacks


class FileMeta(NamedTuple):
    """What the files cache compares, from an ``lstat`` or from a stored node."""

    regular: bool
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of_stat(cls, st: os.stat_result) -> FileMeta:
        return cls(stat.S_ISREG(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                   st.st_ino)

    @classmethod
    def of_node(cls, node: Node) -> FileMeta:
        return cls(node.type == NODE_FILE, node.size, node.mtime_ns, node.ctime_ns, node.inode)


def same_file(old: FileMeta | None, now: FileMeta, copied: bool = False) -> bool:
    """Rule 1: the same regular file, unmodified (size not compared for a ``copied``
    database)."""
    return (
        old is not None
        and old.regular
        and now.regular
        and (copied or old.size == now.size)
        and old.mtime_ns == now.mtime_ns
        and old.ctime_ns == now.ctime_ns
        and old.inode == now.inode
    )


def wal_verdict(wal: WalState, since_ns: int) -> Verdict:
    """Rule 2: what a ``-wal`` beside the file says, against the parent's start ``since_ns``."""
    if wal is None:
        return Verdict.UNCHANGED
    if wal == WAL_UNKNOWN:
        return Verdict.UNSURE
    assert isinstance(wal, int)
    if wal + WAL_SLACK_NS < since_ns:
        return Verdict.UNCHANGED
    return Verdict.CHANGED if wal > since_ns else Verdict.UNSURE


def decide(old: FileMeta | None, now: FileMeta, *, copied: bool = False, wal: WalState = None,
           since_ns: int = 0) -> Verdict:
    """The files cache's verdict on one file (see the module docstring).

    ``old`` is the parent's node (None: the parent has no file there), ``now`` the file's
    ``lstat``, ``copied`` whether the parent stored it as a consistent database copy, ``wal``
    the state of a ``-wal`` beside it (:func:`wal_mtime`), ``since_ns`` the parent snapshot's
    start.
    """
    if not same_file(old, now, copied):
        return Verdict.CHANGED
    return wal_verdict(wal, since_ns)


def file_unchanged(old: Node | None, st: os.stat_result, copied: bool = False) -> bool:
    """True when a file's lstat says it is the same file, unmodified, as ``old`` (rule 1)."""
    return same_file(None if old is None else FileMeta.of_node(old), FileMeta.of_stat(st), copied)


def wal_mtime(path: str, listing: frozenset[str] | None = None) -> WalState:
    """The state of the ``-wal`` beside ``path``: its mtime, None when there is none, or
    :data:`WAL_UNKNOWN`. ``listing``, the directory's names when the caller has them, saves
    the ``lstat`` for the (usual) file with no ``-wal``."""
    if listing is not None and os.path.basename(path) + WAL not in listing:
        return None
    try:
        return os.lstat(path + WAL).st_mtime_ns
    except FileNotFoundError:
        return None
    except OSError:
        return WAL_UNKNOWN
